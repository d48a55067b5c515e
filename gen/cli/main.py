"""The `hlsgen` command line."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from hlsgen.arch.registry import ARCHITECTURES, DEFAULT as DEFAULT_ARCH
from hlsgen.arch.select import AUTO
from hlsgen.cli import board as cli_board, report as cli_report, sweep as cli_sweep
from hlsgen.errors import HlsgenError, InternalError
from hlsgen.project.tables import table
from hlsgen.version import __version__


def cmd_generate(args) -> int:
    from hlsgen.api import convert
    project = convert(args.model, out=args.out, board=args.board, input_type=args.input_type,
                      output=args.output, force=args.force, weights=args.weights,
                      test_data=args.test_data, n_vectors=args.vectors, folding=args.folding,
                      clock_mhz=args.clock, fps=args.fps, max_util=args.max_util,
                      checkpoint=args.checkpoint, input_shape=args.input_shape, arch=args.arch)
    res = project.result
    report = project.report_json()
    print(f"generated {res.out} in {res.seconds:.2f} s")
    print(res.lint.summary() + ("" if res.lint.ok else
                                "; a generated project should never violate them: please report it"))
    if args.arch != DEFAULT_ARCH or report.get("arch") != DEFAULT_ARCH:
        print(f"architecture: {report['arch']} ({report['arch_reason']})")
    print(project.architecture.summary(report))
    if report.get("host_tail"):
        print(f"on the host: {report['host_tail']['detail']}")
    pct = 100.0 * res.exact_values / max(res.total_values, 1)
    print(f"golden executor vs framework on {res.n_vectors} test vectors: "
          f"{res.exact_values}/{res.total_values} output values equal ({pct:.2f}%)")
    print(f"next: hlsgen csim {shlex.quote(str(res.out))}")
    return 0


def cmd_csim(args) -> int:
    from hlsgen.sim.csim import csim, trace
    from hlsgen.sim.summary import format_csim
    if args.trace:
        rows = trace(Path(args.project), args.frames)
        print(table([(r.layer, r.tensor, r.stream, f"{r.equal}/{r.values}",
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
            raise HlsgenError(f"inputs '{args.inputs}' is not a .npy array, or an .npz with one "
                              f"array per input name ({e})")
        if hasattr(inputs, "files"):   # .npz: one array per input of the model
            inputs = {k: inputs[k] for k in inputs.files}
    if args.no_framework and inputs is None:
        raise HlsgenError("--no-framework applies with --inputs: the framework's outputs for the "
                          "test vectors were saved by generate; leave it out")
    res = csim(Path(args.project), inputs, threaded=args.threaded, fast=args.fast,
               synthesis_frames=args.synthesis_frames, framework=not args.no_framework)
    print(format_csim(res))
    return 0 if res.mismatches == 0 else 1


def cmd_lint(args) -> int:
    from hlsgen.lint import format_report, lint_project
    rep = lint_project(Path(args.project), compilers=args.compile)
    print(format_report(rep))
    return 0 if rep.ok else 1


def cmd_boards(args) -> int:
    from hlsgen.platform.boards import format_boards_table, list_boards
    print(format_boards_table(list_boards()))
    return 0


def cmd_demo(args) -> int:
    from hlsgen.demo import run_demo
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
    g.add_argument("--input-type", help="input type, e.g. ap_fixed<16,6> or bipolar (+-1) "
                   "(default: the model's input quantizer, else ap_fixed<16,6>)")
    g.add_argument("--output", default="logits", choices=["logits", "argmax"],
                   help="what the design outputs (default: pre-softmax logits)")
    g.add_argument("--test-data", help=".npy of float inputs for the test vectors (a model "
                   "with several inputs: .npz, one array per input name; default: random "
                   "inputs on the input grid)")
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
    g.add_argument("--arch", default=DEFAULT_ARCH, choices=[*ARCHITECTURES, AUTO],
                   help="; ".join(f"{a.name}: {a.description}" for a in ARCHITECTURES.values())
                   + "; auto: dataflow when it fits the board, and says why")
    g.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    g.set_defaults(fn=cmd_generate)

    c = sub.add_parser("csim", help="C simulation: prove the project bit-exact")
    c.add_argument("project", help="a folder written by `hlsgen generate`")
    c.add_argument("--inputs", help=".npy of float inputs (default: the project's test vectors); "
                   "a model with several inputs: .npz with one array per input name")
    c.add_argument("--threaded", action="store_true", help="run the dataflow processes "
                   "concurrently on FIFOs of their generated depths, as hardware does")
    c.add_argument("--trace", action="store_true", help="compare every intermediate tensor with "
                   "the golden executor and name the first divergent layer")
    c.add_argument("--frames", type=int, default=8, help="frames to trace (with --trace)")
    c.add_argument("--fast", action="store_true", help="run only the C-simulation branch, not the "
                   "synthesis branch (the code Vitis HLS compiles)")
    c.add_argument("--synthesis-frames", metavar="N", help="run the synthesis branch on the first "
                   "N frames, or 'all' (default: every test vector; of --inputs, the first "
                   "100: it runs lane by lane, as the hardware does, and is much slower)")
    c.add_argument("--no-framework", action="store_true", help="with --inputs, do not run the "
                   "model the project was made from beside the design")
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

    cli_board.register(sub)
    cli_report.register(sub)
    cli_sweep.register(sub)
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
