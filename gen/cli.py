"""The `hlsgen` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gen import __version__
from gen.errors import HlsgenError, InternalError


def _table(rows: list[tuple], header: tuple | None = None) -> str:
    rows = ([header] if header else []) + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_generate(args) -> int:
    from gen.generate import generate
    res = generate(args.model, args.out, board=args.board, input_type=args.input_type,
                   output=args.output, force=args.force, weights=args.weights,
                   test_data=args.test_data, n_vectors=args.vectors, folding=args.folding,
                   clock_mhz=args.clock, fps=args.fps, max_util=args.max_util,
                   checkpoint=args.checkpoint, input_shape=args.input_shape, arch=args.arch)
    import json
    report = json.loads((res.out / "report.json").read_text())
    print(f"generated {res.out} in {res.seconds:.2f} s")
    print(res.lint.summary() + ("" if res.lint.ok else
                                "; a generated project should never violate them: please report it"))
    if args.arch == "auto" or report.get("arch") == "tiled":
        print(f"architecture: {report['arch']} ({report['arch_reason']})")
    if report.get("arch") == "tiled":
        from gen.tiled_project import format_engine
        print(format_engine(report["engine"]))
        _print_exactness(res)
        return 0
    print(_table([(l["id"], l["kind"], f"{l['in']['count']}x{l['in']['type']}",
                   f"{l['out']['count']}x{l['out']['type']}",
                   f"{l.get('simd', '')}x{l.get('pe', '')}" if l["kind"] == "mvu" else "",
                   l["cycles"]) for l in report["layers"]],
                 ("layer", "kernel", "in", "out", "SIMDxPE", "cycles")))
    print(f"slowest layer {report['max_cycles_per_frame']} cycles/frame: about "
          f"{report['estimated_fps']:,.0f} frames/s at {report['clock_mhz']:g} MHz")
    est = report.get("estimates", {})
    if est.get("utilisation"):
        print("estimated use of " + report["board"] + ": " + ", ".join(
            f"{k.upper()} {100 * v:.1f}%" for k, v in est["utilisation"].items()))
    _print_exactness(res)
    return 0


def _print_exactness(res) -> None:
    pct = 100.0 * res.exact_values / max(res.total_values, 1)
    print(f"golden executor vs framework on {res.n_vectors} test vectors: "
          f"{res.exact_values}/{res.total_values} output values equal ({pct:.2f}%)")
    print(f"next: hlsgen csim {res.out}")


def print_csim(res) -> None:
    s = res.summary()
    cg = s["csim_vs_golden"]
    ok = cg["equal_values"] == cg["values"]
    rows = [("C-simulation branch vs golden", f"{cg['equal_values']}/{cg['values']}",
             f"{100.0 * cg['equal_values'] / cg['values']:.2f}%",
             f"{cg['rows_exact']}/{s['frames']}", "0" if ok else
             str(int(abs(res.csim - res.golden).max())), "", "PASS" if ok else "FAIL")]
    sy = res.synthesis
    if sy is not None:
        sok = sy.mismatches == 0
        rows.append(("synthesis branch vs golden", f"{sy.golden.size - sy.mismatches}/{sy.golden.size}",
                     f"{100.0 * (1 - sy.mismatches / max(sy.golden.size, 1)):.2f}%",
                     f"{sy.rows_exact}/{sy.frames}",
                     "0" if sok else str(int(abs(sy.out - sy.golden).max())), "", "PASS" if sok else "FAIL"))
    fw = s["golden_vs_framework"]
    if fw:
        rows.append(("golden vs framework", f"{fw['equal_values']}/{fw['values']}",
                     f"{100.0 * fw['equal_values'] / fw['values']:.2f}%",
                     f"{fw['rows_exact']}/{s['frames']}", f"{fw['max_abs_diff']:g}",
                     f"{100.0 * fw['top1_agreement']:.2f}%",
                     "exact" if fw["equal_values"] == fw["values"] else "differs"))
    build = "cached" if s["build_cached"] else f"{s['build_seconds']:.2f} s"
    print(f"C simulation of {res.project}: {s['frames']} frames, build {build}, "
          f"run {s['run_seconds']:.3f} s")
    if sy is not None:
        sbuild = "cached" if sy.build_cached else f"{sy.build_seconds:.2f} s"
        print(f"synthesis branch (the code Vitis HLS compiles): {sy.frames} frames, build {sbuild}, "
              f"run {sy.run_seconds:.3f} s")
    else:
        print("synthesis branch not run (--fast): only the C-simulation branch is proven")
    print(_table(rows, ("comparison", "equal values", "exact", "exact rows", "max |diff|",
                        "top-1", "result")))
    if fw and fw["equal_values"] != fw["values"]:
        print(_differences_line(res.project) or
              explain_framework_differences(res.project, fw["values"] - fw["equal_values"]))


def explain_framework_differences(project: Path, n: int) -> str:
    """Why the golden executor (the exact value) and the framework differ."""
    import json
    layers = json.loads((Path(project) / "report.json").read_text()).get("layers", [])
    rounding = [l["id"] for l in layers if l.get("float32_exact") is False]
    if rounding:
        return (f"{n} output values differ from the framework: layer(s) {', '.join(rounding)} "
                "accumulate beyond float32's 24-bit significand, where the framework's float32 "
                "arithmetic rounds; the hardware and the golden executor compute the exact value")
    return (f"{n} output values differ from the framework although every layer is float32-exact; "
            "this is a bug, please report it with the model")


def _differences_line(project: Path) -> str:
    """The differences counted and explained, frame by frame, by the model's
    frontend at generate time (the QONNX frontend records them in the IR's
    meta); "" when it did not."""
    import json
    try:
        d = json.loads((Path(project) / "ir" / "graph.json").read_text())["meta"].get(
            "framework_differences")
    except (OSError, ValueError, KeyError):
        d = None
    if not d or "explained_values" not in d:
        return ""
    where = ", ".join(f"{k} in {v} frame{'s' * (v > 1)}"
                      for k, v in d["first_differing_quantizer"].items())
    line = (f"golden vs framework: {d['values']} output values differ in {d['frames']} "
            f"frame{'s' * (d['frames'] != 1)}; "
            f"{d['explained_values']} explained: {d['cause']} (first differing quantizer: {where}")
    if d.get("max_boundary_distance_steps") is not None:
        line += f"; at most {d['max_boundary_distance_steps']:.2g} steps from it"
    line += ")"
    if d["unexplained_values"]:
        line += f"; {d['unexplained_values']} NOT explained: a bug, please report it"
    return line


def cmd_csim(args) -> int:
    from sim.csim import csim, trace
    if args.trace:
        rows = trace(Path(args.project), args.frames)
        print(_table([(r.layer, r.tensor, r.stream, f"{r.equal}/{r.values}",
                       "exact" if r.exact else "DIFFERS") for r in rows],
                     ("layer", "tensor", "stream", "equal values", "result")))
        first = next((r for r in rows if not r.exact), None)
        print(f"first divergent layer: {first.layer} (tensor {first.tensor})" if first else
              f"every intermediate tensor equals the golden executor on {args.frames} frames")
        return 1 if first else 0
    inputs = None
    if args.inputs:
        import numpy as np
        try:
            inputs = np.load(args.inputs)
        except (OSError, ValueError) as e:
            raise HlsgenError(f"inputs '{args.inputs}' is not a .npy array ({e})")
    if args.synthesis_frames is not None and args.synthesis_frames < 1:
        raise HlsgenError(f"--synthesis-frames {args.synthesis_frames} must be at least 1; "
                          "use --fast to skip the synthesis branch")
    res = csim(Path(args.project), inputs, threaded=args.threaded, fast=args.fast,
               synthesis_frames=args.synthesis_frames)
    print_csim(res)
    return 0 if res.mismatches == 0 else 1


def cmd_lint(args) -> int:
    from gen.lint import format_report, lint_project
    rep = lint_project(Path(args.project), compilers=args.compile)
    print(format_report(rep))
    return 0 if rep.ok else 1


def cmd_boards(args) -> int:
    from gen.boards import format_boards_table, list_boards
    print(format_boards_table(list_boards()))
    return 0


def cmd_demo(args) -> int:
    from gen.demo import run_demo
    return run_demo(out_root=Path(args.out), force=args.force, epochs=args.epochs)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hlsgen", description="Quantized neural networks to "
                                "bit-exact HLS C++ projects for FPGA boards.")
    p.add_argument("--version", action="version", version=f"hlsgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="model file -> HLS project")
    g.add_argument("model", help="QKeras model (.h5, .keras, or .json with --weights), QONNX "
                   "model (.onnx), or Brevitas model as file.py:function")
    g.add_argument("--out", required=True, help="project folder to create (hls_projects/NAME)")
    g.add_argument("--board", default="pynq-z2", help="target board (see `hlsgen boards`)")
    g.add_argument("--weights", help="weights .h5 for a .json architecture")
    g.add_argument("--input-type", help="input type, e.g. ap_fixed<16,6> (default: the model's "
                   "input quantizer, else ap_fixed<16,6>)")
    g.add_argument("--output", default="logits", choices=["logits", "argmax"],
                   help="what the design outputs (default: pre-softmax logits)")
    g.add_argument("--test-data", help=".npy of float inputs for the test vectors "
                   "(default: random inputs on the input grid)")
    g.add_argument("--vectors", type=int, default=200, help="number of random test vectors")
    g.add_argument("--folding", help="JSON of {layer: {simd, pe}} or a report.json")
    g.add_argument("--clock", type=float, help="clock in MHz (default: the board's)")
    g.add_argument("--fps", type=float, help="folding search: the cheapest design reaching this "
                   "many frames/s on the board")
    g.add_argument("--max-util", type=float, help="folding search: the fastest design using at "
                   "most this fraction (0-1] of every board resource")
    g.add_argument("--checkpoint", help="Brevitas model given as file.py:function: the "
                   "state dict saved with torch.save(model.state_dict(), path)")
    g.add_argument("--input-shape", help="Brevitas model given as file.py:function: its input "
                   "shape with the batch dimension, e.g. 1,1,8,8")
    g.add_argument("--arch", default="dataflow", choices=["dataflow", "tiled", "auto"],
                   help="dataflow (a pipeline, weights on chip), tiled (one engine, weights in "
                   "DDR), auto (dataflow when it fits the board, and says why)")
    g.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    g.set_defaults(fn=cmd_generate)

    c = sub.add_parser("csim", help="C simulation: prove the project bit-exact")
    c.add_argument("project", help="a folder written by `hlsgen generate`")
    c.add_argument("--inputs", help=".npy of float inputs (default: the project's test vectors)")
    c.add_argument("--threaded", action="store_true", help="run the dataflow processes "
                   "concurrently on FIFOs of their generated depths, as hardware does")
    c.add_argument("--trace", action="store_true", help="compare every intermediate tensor with "
                   "the golden executor and name the first divergent layer")
    c.add_argument("--frames", type=int, default=8, help="frames to trace (with --trace)")
    c.add_argument("--fast", action="store_true", help="run only the C-simulation branch, not the "
                   "synthesis branch (the code Vitis HLS compiles)")
    c.add_argument("--synthesis-frames", type=int, metavar="N", help="run the synthesis branch on "
                   "the first N frames only (default: all; it is slower)")
    c.set_defaults(fn=cmd_csim)

    li = sub.add_parser("lint", help="check the synthesis branch against the rules Vitis HLS "
                        "enforces (widths, interfaces, pragmas, streams, partitions, ...)")
    li.add_argument("project", help="a folder written by `hlsgen generate`")
    li.add_argument("--compile", action="store_true", help="also type-check the synthesis branch "
                    "with clang++ and g++ (-fsyntax-only; a missing compiler is skipped)")
    li.set_defaults(fn=cmd_lint)

    b = sub.add_parser("boards", help="list the boards hlsgen knows")
    b.set_defaults(fn=cmd_boards)

    d = sub.add_parser("demo", help="train QKeras and Brevitas MLPs and CNNs on the 8x8 digits "
                       "and run the whole path")
    d.add_argument("--out", default="hls_projects", help="folder for the demo's projects")
    d.add_argument("--epochs", type=int, help="training epochs (default: 60 MLP, 30 CNN)")
    d.add_argument("--force", action="store_true", help="replace earlier demo projects")
    d.set_defaults(fn=cmd_demo)

    from gen import cli_board, cli_report
    cli_board.register(sub)
    cli_report.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except HlsgenError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a crash is hlsgen's bug: one line, the traceback kept in a file
        return _report_crash(e, argv)


def _report_crash(e: Exception, argv) -> int:
    import tempfile
    import traceback
    with tempfile.NamedTemporaryFile("w", prefix="hlsgen-crash-", suffix=".txt", delete=False) as f:
        f.write(f"hlsgen {' '.join(sys.argv[1:] if argv is None else argv)}\n")
        traceback.print_exc(file=f)
    err = InternalError(f"{type(e).__name__}: {str(e).strip()[:200]}")
    print(f"error: {err} (traceback in {f.name})", file=sys.stderr)
    return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
