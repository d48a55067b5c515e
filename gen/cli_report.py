"""`hlsgen report` (registered by gen/cli.py)."""

from __future__ import annotations


def cmd_report(args) -> int:
    import json
    from pathlib import Path
    from gen.report import MODEL_NOTE, format_table, report_project
    report = Path(args.project) / "report.json"
    if report.is_file() and json.loads(report.read_text()).get("arch") == "tiled":
        from gen.tiled_project import engine_json, format_engine, report_tiled_project
        t = report_tiled_project(args.project, args.board, args.clock)
        print(format_engine(engine_json(t)))
        print(f"wrote the engine into {args.project}/report.json and {args.project}/roofline.png")
        return 0
    est = report_project(args.project, board=args.board, clock_mhz=args.clock)
    print(f"{args.project}: {est.board.name} at {est.clock_mhz:g} MHz ({MODEL_NOTE})")
    print(format_table(est))
    print(f"wrote the estimates into {args.project}/report.json and {args.project}/report.png")
    return 0


def register(sub) -> None:
    """Adds this module's subcommands to the argparse subparsers `sub`."""
    r = sub.add_parser("report", help="estimated resources, throughput and latency of a project")
    r.add_argument("project", help="a folder written by `hlsgen generate`")
    r.add_argument("--board", help="estimate against this board instead of the project's")
    r.add_argument("--clock", type=float, help="clock in MHz (default: the project's)")
    r.set_defaults(fn=cmd_report)
