"""The estimates of a design, as a table, a report.json section, a PNG and a
Markdown section; and `report_project`, which does all of it for a project
folder written by `hlsgen generate`. The numbers come from gen/arch/dataflow/cost.py."""

from __future__ import annotations

import json
from pathlib import Path

from hlsgen.arch.dataflow.cost import RESOURCES, Estimate, estimate, shapes_from_design
from hlsgen.arch.dataflow.recurrent import report_fields
from hlsgen.errors import HlsgenError
from hlsgen.project.folder import read_json, write_atomic

_LABELS = {"lut": "LUT", "ff": "FF", "dsp": "DSP", "bram18": "BRAM18"}
MODEL_NOTE = ("estimates from hlsgen's cost model (gen/arch/dataflow/cost.py), calibrated against published "
              "BNN-PYNQ utilisation on the Zynq-7020; synthesis decides the real figures")


def estimate_design(design, board, clock_mhz: float | None = None) -> Estimate:
    """Estimates of a gen/arch/dataflow/design.py Design on `board` (a hlsgen.platform.boards.Board)."""
    return estimate(shapes_from_design(design), board, clock_mhz)


def _rows(est: Estimate) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, per-layer rows and summary rows shared by the text and Markdown tables."""
    header = ["layer", "kernel", "folding", "cycles"] + [_LABELS[r] for r in RESOURCES]
    layers = [[l.name, l.kind, l.folding, f"{l.cycles:,}"] + [f"{l.resource(r):,}"
                                                             for r in RESOURCES]
              for l in est.layers]
    tot, avail, util = est.totals, est.available, est.utilisation
    summary = [
        ["platform shell", "", "DMA, interconnect", ""] + [f"{est.shell[r]:,}" for r in RESOURCES],
        ["total", "", "", f"{est.max_cycles:,} max"] + [f"{tot[r]:,}" for r in RESOURCES],
        [f"{est.board.name}", "", "available", ""] + [f"{avail[r]:,}" for r in RESOURCES],
        ["utilisation", "", "", ""] + [f"{100 * util[r]:.1f}%" for r in RESOURCES],
    ]
    return header, layers, summary


def _performance_lines(est: Estimate) -> list[str]:
    return [f"throughput: {est.fps:,.0f} frames/s at {est.clock_mhz:g} MHz "
            f"(slowest layer {est.bottleneck}: {est.max_cycles:,} cycles/frame)",
            f"latency: {est.latency_cycles:,} cycles = {est.latency_us:,.1f} us per frame "
            f"(upper bound: every layer's cycles and pipeline depth added)"]


def compression_lines(est: Estimate) -> list[str]:
    """One line per unit whose weights have zeros or a codebook: density,
    tiles visited, cycles and weight memory bits against the same unit dense,
    and how much of the zeros the PE x SIMD tiles recover."""
    out = []
    for l in est.layers:
        c = l.compression
        if not c or (c["density"] == 1.0 and not c["codebook"]):
            continue
        parts = []
        if c["density"] < 1.0:
            zeros = 1 - c["density"]
            if c["block_sparse"]:
                skipped = 1 - c["tiles"] / c["dense_tiles"]   # the tiles actually not stored
                parts.append(f"{zeros:.1%} zero weights; at {l.folding} {c['tiles']:,} of "
                             f"{c['dense_tiles']:,} tiles stored and visited ({skipped:.1%} "
                             f"skipped: the tile structure recovers {skipped / zeros:.0%} of "
                             "the zeros)")
            else:
                parts.append(f"{zeros:.1%} zero weights; at {l.folding} every one of the "
                             f"{c['dense_tiles']:,} tiles stored (skipping the all-zero ones "
                             "would not pay)")
        if c["codebook"]:
            parts.append(f"{c['codebook']} shared weights: {c['code_bits']}-bit codes")
        saved = c["dense_cycles"] - l.cycles
        if saved > 0:
            parts.append(f"{l.cycles:,} cycles/frame (dense {c['dense_cycles']:,}, "
                         f"{saved:,} saved, {c['dense_cycles'] / l.cycles:.2f}x)")
        elif saved == 0:
            parts.append(f"{l.cycles:,} cycles/frame (as dense)")
        else:
            parts.append(f"{l.cycles:,} cycles/frame (dense {c['dense_cycles']:,}: the tile "
                         f"walk takes {-saved:,} more)")
        parts.append(f"weight memory {c['weight_bits']:,} bits (dense {c['dense_weight_bits']:,}, "
                     f"{c['dense_weight_bits'] / max(1, c['weight_bits']):.2f}x)")
        out.append(f"{l.name}: " + "; ".join(parts))
    return out


def format_table(est: Estimate) -> str:
    """The per-layer table with totals against the board, then throughput and latency."""
    header, layers, summary = _rows(est)
    rows = [header] + layers + summary
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # Text columns left-aligned, numbers right-aligned.
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(header), rule] + [line(r) for r in layers] + [rule] + [line(r) for r in summary]
    comp = compression_lines(est)
    return "\n".join(out + [""] + _performance_lines(est) + (["", "compression:"] + comp if comp else []))


def report_markdown(est: Estimate) -> str:
    """A Markdown section for the generated project's README."""
    header, layers, summary = _rows(est)

    def md(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"

    lines = ["## Estimated resources and throughput", "",
             f"Board {est.board.name} at {est.clock_mhz:g} MHz; {MODEL_NOTE}.", "",
             md(header), "|" + "---|" * len(header)]
    lines += [md(r) for r in layers] + [md([f"**{r[0]}**"] + r[1:]) for r in summary]
    return "\n".join(lines + [""] + [f"- {s}" for s in _performance_lines(est) + compression_lines(est)]) + "\n"


def estimates_json(est: Estimate) -> dict:
    """The "estimates" section of report.json."""
    return {
        "board": est.board.name, "clock_mhz": est.clock_mhz, "model": MODEL_NOTE,
        "layers": [{"name": l.name, "kind": l.kind, "folding": l.folding, "cycles": l.cycles,
                    "pipeline_depth": l.depth, **{r: l.resource(r) for r in RESOURCES},
                    "memories": {k: m.text for k, m in l.memories.items() if m.text},
                    **({"compression": l.compression} if l.compression else {})}
                   for l in est.layers],
        "shell": est.shell, "totals": est.totals, "available": est.available,
        "utilisation": {r: round(u, 4) for r, u in est.utilisation.items()},
        "max_cycles_per_frame": est.max_cycles, "bottleneck": est.bottleneck,
        "fps": est.fps, "latency_cycles": est.latency_cycles, "latency_us": est.latency_us,
    }


def plot_png(est: Estimate, path: Path) -> None:
    """Utilisation bars and the per-layer cycle balance, as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    util = est.utilisation
    names = [l.name for l in est.layers]
    fig, (ax_u, ax_c) = plt.subplots(
        1, 2, figsize=(12, max(3.5, 0.3 * len(names) + 1.5)),
        gridspec_kw={"width_ratios": [1, 2]})
    labels = [_LABELS[r] for r in RESOURCES]
    values = [100 * util[r] for r in RESOURCES]
    ax_u.bar(labels, values, color=["#c0392b" if v > 100 else "#2e86c1" for v in values])
    ax_u.axhline(100, color="black", linewidth=0.8)
    for x, v in enumerate(values):
        ax_u.text(x, v, f"{v:.0f}%", ha="center", va="bottom", fontsize=8)
    ax_u.set_ylabel(f"% of {est.board.name}")
    ax_u.set_title("resource utilisation")

    cycles = [l.cycles for l in est.layers]
    ax_c.barh(names, cycles, color=["#c0392b" if c == est.max_cycles else "#7f8c8d"
                                    for c in cycles])
    ax_c.invert_yaxis()
    ax_c.tick_params(axis="y", labelsize=7)
    ax_c.set_xlabel("cycles per frame")
    ax_c.set_title(f"cycle balance: {est.fps:,.0f} frames/s at {est.clock_mhz:g} MHz")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- a project folder ---------------------------------------------------------

def load_project_design(project: Path):
    """(report.json contents, Design) of a generated project, rebuilt from its
    lowered model (ir/) with the folding its report.json records."""
    from hlsgen.arch.dataflow.design import build_design
    from hlsgen.ir.graph import Graph

    report = read_json(project / "report.json", project)
    if not (project / "ir" / "graph.json").is_file():
        raise HlsgenError(f"'{project}' has no ir/graph.json; regenerate it with "
                          "`hlsgen generate`")
    try:
        graph = Graph.load(project / "ir")
    except (OSError, ValueError, KeyError) as e:
        raise HlsgenError(f"{project / 'ir'} cannot be read ({e}); regenerate the project") \
            from None
    name = report.get("name") or project.name
    return report, build_design(graph, name, report.get("folding") or None)


def report_project(project: str | Path, board: str | None = None,
                   clock_mhz: float | None = None) -> Estimate:
    """Estimates a project, writes them into its report.json ("estimates")
    and report.png, and returns them."""
    from hlsgen.platform.boards import load_board

    project = Path(project)
    if not project.is_dir():
        raise HlsgenError(f"project folder '{project}' not found; give a folder written by "
                          "`hlsgen generate`")
    report, design = load_project_design(project)
    board_info = load_board(board or report.get("board") or "pynq-z2")
    clock = report.get("clock_mhz") if clock_mhz is None else clock_mhz
    est = estimate_design(design, board_info, clock)
    report["estimates"] = estimates_json(est)
    write_atomic(project / "report.json", json.dumps(report, indent=1))
    plot_png(est, project / "report.png")
    return est


# --- report.json --------------------------------------------------------------

def report_json(d, board, clock: float, exact: int, total: int) -> dict:
    """report.json of a dataflow design (without "estimates" and "budget",
    which the architecture adds)."""
    max_cycles = max(k.cycles for k in d.kernels)
    return {
        "name": d.name, "board": board.name, "part": board.part, "clock_mhz": clock,
        "folding": {k.attrs["layer"]: {"simd": k.attrs["simd"], "pe": k.attrs.get("pe", k.attrs["simd"])}
                    for k in d.kernels if k.kind in ("mvu", "dwu", "rnn")},
        "layers": [{"id": k.id, "kind": k.kind, "source": k.source,
                    "in": {"count": k.inp.count, "type": k.inp.qtype.cpp, "lanes": k.inp.lanes},
                    "out": {"count": k.out.count, "type": k.out.qtype.cpp, "lanes": k.out.lanes},
                    "cycles": k.cycles,
                    **({"mw": k.attrs["mw"], "mh": k.attrs["mh"], "simd": k.attrs["simd"],
                        "pe": k.attrs["pe"], "pixels": k.attrs["pixels"],
                        "weight_type": k.attrs["w_type"].cpp, "acc_type": k.attrs["acc_type"].cpp,
                        "loop_trip_count": k.cycles, "unroll": k.attrs["simd"] * k.attrs["pe"],
                        "float32_exact": k.attrs["float32_exact"]} if k.kind == "mvu" else {}),
                    # an add of differently scaled branches: each times its scale's integer
                    **({"multipliers": [k.attrs["mul_a"], k.attrs["mul_b"]],
                        "acc_type": k.attrs["acc_type"].cpp, "float32_exact": k.attrs["float32_exact"]}
                       if k.kind == "add" else {}),
                    **(report_fields(k) if k.kind == "rnn" else {}),
                    **({"array_partition": _partition_factors(k)}
                       if k.kind in ("mvu", "dwu") or {"thr", "lut"} & set(k.params) else {}),
                    **({"requant": k.attrs["requant"]} if "requant" in k.attrs else {})}
                   for k in d.kernels],
        "streams": [{"name": s.name, "tensor": s.tensor, "lanes": s.lanes, "count": s.count,
                     "type": s.qtype.cpp, "depth": s.depth,
                     "kernel": next((k.source for k in d.kernels if s in k.outs), "input")}
                    for s in d.streams],
        "max_cycles_per_frame": max_cycles,
        "estimated_fps": clock * 1e6 / max_cycles,
        "golden_vs_framework": {"equal_values": exact, "values": total},
    }


def _partition_factors(k) -> dict:
    """The array partitioning the kernel asks of synthesis (visible, so that a
    reader can check it stays within the tools' limits)."""
    a = k.attrs
    out = {}
    if k.kind == "mvu":
        out = {"weights": f"{a['pe']} banks of {a['simd']}-lane words, depth "
                          f"{a.get('tiles') or (a['mw'] // a['simd']) * (a['mh'] // a['pe'])}",
               "accumulators": a["pe"], "input_buffer": f"{a['mw'] // a['simd']} words of {a['simd']} lanes"}
    elif k.kind == "dwu":
        out = {"weights": f"{a['kk']} x {a['c'] // a['simd']} words of {a['simd']} lanes",
               "accumulators": a["c"]}
    # Requantization tables: partitioned so that every output lane reads its
    # thresholds (all of them) or its table entry in the cycle it needs them.
    lanes = k.out.lanes if k.kind == "mvu" else k.inp.lanes
    if "thr" in k.params:
        ch, nt = k.params["thr"].shape
        out["thresholds"] = (f"{min(lanes, ch)} x {nt} banks of {-(-ch // lanes)} words "
                             f"({ch} channel(s) cyclic by {min(lanes, ch)} lanes, {nt} thresholds "
                             "complete)")
    if "lut" in k.params:
        ch, n = k.params["lut"].shape
        out["table"] = f"{lanes} banks of {-(-ch // lanes) * n} entries ({ch} channel(s) x {n})"
    return out
