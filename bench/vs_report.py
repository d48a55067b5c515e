"""The hlsgen-vs-hls4ml results document (bench/vs_hls4ml.py) as a Markdown
table, the issue's targets checked against it, and a PNG chart.
Usage: python bench/vs_report.py bench/results/<run>.json  (writes the .md and .png again)"""

from __future__ import annotations

TOOLS = ["hlsgen", "hls4ml io_parallel", "hls4ml io_stream"]
TARGET_THROUGHPUT = {"cnn": 5.0, "mlp": 1.0}  # hlsgen's C-sim throughput over hls4ml's, at least


def _num(v: float, fmt: str) -> str:
    return f"{v:{fmt}}" if v >= 100 or fmt != ",.0f" else f"{v:.3g}"  # 3 digits for slow rates


def _spread(s: dict, fmt: str) -> str:
    return f"{_num(s['median'], fmt)} ({_num(s['min'], fmt)}–{_num(s['max'], fmt)})"


def _row(model: dict, tool: str) -> list[str]:
    s = model["tools"][tool]["summary"]
    if "failed" in s:
        return [f"cannot: {s['failed']}"[:220].replace("|", "/")] + [""] * 7
    e = s["exactness"]
    same = "" if s["exactness_same_every_rep"] else " (varied)"
    return [_spread(s["gen_s"], ".2f"), _spread(s["build_s"], ".2f"), _spread(s["inferences_per_s"], ",.0f"),
            f"{e['rows_exact_pct']:.1f}%{same}", f"{e['values_exact_pct']:.1f}%", f"{e['max_abs_diff']:.3g}",
            f"{e['top1_pct']:.1f}%"]


def _ratio(r: dict | None) -> str:
    return "n/a (hls4ml failed)" if r is None else f"{r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"


def targets(doc: dict) -> list[dict]:
    """Per model: does hlsgen meet issue 8's targets (medians, against the
    faster hls4ml variant)?"""
    out = []
    for m in doc["models"]:
        s = m["tools"]["hlsgen"]["summary"]
        rows = None if "failed" in s else s["exactness"]["rows_exact_pct"]
        ratios = m["ratios"]
        thr = [r["csim_throughput"]["median"] for r in ratios.values()]
        bld = [r["build_time"]["median"] for r in ratios.values()]
        goal = TARGET_THROUGHPUT[m["kind"]]
        out.append({"model": m["key"], "rows_exact_100": rows == 100.0,
                    "throughput_goal": goal, "throughput_met": bool(thr) and min(thr) >= goal,
                    "build_met": bool(bld) and min(bld) >= 1.0, "compared": bool(ratios)})
    return out


def markdown(doc: dict) -> str:
    mc, v = doc["machine"], doc["versions"]
    h4 = v["hls4ml_env"] or {}
    lines = [f"# hlsgen vs hls4ml {h4.get('hls4ml', '?')}: {doc['date']}", "",
             f"Machine: {mc['cpu']}, {mc['cores']} cores, {mc['memory_gib']} GiB, {mc['os']}, Python "
             f"{mc['python']}; load average {mc['load_average_start'][0]:.1f} at the start, "
             f"{mc['load_average_end'][0]:.1f} at the end. hlsgen {mc['hlsgen_commit']} (TensorFlow "
             f"{v['hlsgen_env'].get('tensorflow') or v['hlsgen_env'].get('tensorflow-cpu')}, QKeras {v['hlsgen_env']['qkeras']}); hls4ml in "
             f"`{doc['settings']['hls4ml_venv']}` (TensorFlow {h4.get('tensorflow-cpu')}, Keras "
             f"{h4.get('keras')}, QKeras {h4.get('qkeras')}), {doc['settings']['hls4ml']}.",
             f"{doc['settings']['reps']} repetitions, tools alternating; median (min–max). "
             f"Whole run: {doc['wall_seconds'] / 60:.1f} min.", "",
             "| model | tool | generate (s) | C-sim build, cold (s) | C-sim inferences/s | exact rows | "
             "exact values | max abs diff | top-1 agree |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in doc["models"]:
        for i, tool in enumerate(TOOLS):
            name = f"{m['title']}, {m['inputs']} inputs" if i == 0 else ""
            lines.append("| " + " | ".join([name, tool] + _row(m, tool)) + " |")
    lines += ["", "Exactness is against the framework's (QKeras) pre-softmax outputs on inputs on the input "
              "grid. Framework outputs equal in both environments: "
              + ", ".join(f"{m['key']} {'yes' if m['framework_same_in_both_envs'] else 'NO'}"
                          for m in doc["models"]) + ".", "",
              "## hlsgen against issue 8's targets", "",
              "| model | exact rows 100% | C-sim throughput, hlsgen ÷ hls4ml io_parallel | ÷ io_stream | target "
              "| build time, hls4ml ÷ hlsgen, io_parallel | io_stream | target ≥ 1 |",
              "|---|---|---|---|---|---|---|---|"]
    for m, t in zip(doc["models"], targets(doc)):
        r = m["ratios"]
        cells = [m["key"], "yes" if t["rows_exact_100"] else "NO"]
        cells += [_ratio(r.get(tool, {}).get("csim_throughput")) for tool in TOOLS[1:]]
        cells.append(f"≥ {t['throughput_goal']:g}: " + ("met" if t["throughput_met"] else
                                                         "missed" if t["compared"] else "no comparison"))
        cells += [_ratio(r.get(tool, {}).get("build_time")) for tool in TOOLS[1:]]
        cells.append("met" if t["build_met"] else "missed" if t["compared"] else "no comparison")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(doc: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np
    panels = [("gen_s", "generate (s)", True), ("build_s", "C-sim build, cold (s)", True),
              ("inferences_per_s", "C-sim inferences/s", True), ("rows_exact_pct", "exact rows (%)", False)]
    models = doc["models"]
    x = np.arange(len(models))
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    for ax, (key, title, log) in zip(axes.flat, panels):
        for i, tool in enumerate(TOOLS):
            pos = x + (i - 1) * 0.27
            for j, m in enumerate(models):
                s = m["tools"][tool]["summary"]
                if "failed" in s:
                    ax.text(pos[j], 0.02, "×", transform=ax.get_xaxis_transform(), ha="center",
                            color=f"C{i}", fontsize=14, fontweight="bold")
                    continue
                if key == "rows_exact_pct":
                    pct = s["exactness"][key]
                    ax.bar(pos[j], pct, 0.27, color=f"C{i}")
                    ax.text(pos[j], pct + 1, f"{pct:.0f}", ha="center", fontsize=7)
                else:
                    v = s[key]
                    ax.bar(pos[j], v["median"], 0.27, color=f"C{i}",
                           yerr=[[v["median"] - v["min"]], [v["max"] - v["median"]]], capsize=2)
        ax.set_title(title)
        ax.set_xticks(x, [m["key"] for m in models], fontsize=8)
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(TOOLS))]
    fig.suptitle(f"hlsgen vs hls4ml, {doc['date']}: median, bars min–max; × = the tool cannot run the model",
                 fontsize=10)
    fig.legend(handles, TOOLS, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.965))
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path
    source = Path(sys.argv[1])
    document = json.loads(source.read_text())
    source.with_suffix(".md").write_text(markdown(document))
    plot(document, source.with_suffix(".png"))
