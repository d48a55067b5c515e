"""`hlsgen report` (registered by hlsgen/cli/main.py)."""

from __future__ import annotations

from pathlib import Path

from hlsgen.arch.registry import of_project
from hlsgen.errors import HlsgenError
from hlsgen.project.folder import read_json


def cmd_report(args) -> int:
    project = Path(args.project)
    if not project.is_dir():
        raise HlsgenError(f"project folder '{project}' not found; give a folder written by "
                          "`hlsgen generate`")
    # report.json names the architecture ("arch"), as hlsgen.json does.
    arch = of_project(read_json(project / "report.json", project))
    print(arch.refresh_report(project, args.board, args.clock))
    return 0


def register(sub) -> None:
    """Adds this module's subcommands to the argparse subparsers `sub`."""
    r = sub.add_parser("report", help="estimated resources, throughput and latency of a project")
    r.add_argument("project", help="a folder written by `hlsgen generate`")
    r.add_argument("--board", help="estimate against this board instead of the project's")
    r.add_argument("--clock", type=float, help="clock in MHz (default: the project's)")
    r.set_defaults(fn=cmd_report)
