"""`hlsgen build` and `hlsgen deploy` (registered by hlsgen/cli/main.py)."""

from __future__ import annotations

from pathlib import Path


def cmd_build(args) -> int:
    from hlsgen.platform.build import build
    build(Path(args.project), args.stage, verbose=args.verbose)
    return 0


def cmd_deploy(args) -> int:
    from hlsgen.platform.deploy import Target, deploy
    target = Target(host=args.host, port=args.port, user=args.user, key=args.key,
                    known_hosts=Path(args.known_hosts), timeout=args.timeout,
                    accept_new_host_key=args.accept_new_host_key)
    return deploy(Path(args.project), target, remote_dir=args.remote_dir, python=args.python,
                  benchmark=args.benchmark)


def register(sub) -> None:
    """Adds this module's subcommands to the argparse subparsers `sub`."""
    from hlsgen.platform.board_files import HLS_STEPS
    from hlsgen.platform.build import EXPECTED
    from hlsgen.platform.deploy import DEFAULT_KNOWN_HOSTS

    b = sub.add_parser("build", help="Vitis HLS / Vivado: synthesis, co-simulation, IP, bitstream",
                       description="Runs Vitis HLS and Vivado (" + EXPECTED + ", on PATH) on a "
                       "project; files the synthesis report into report.json.")
    b.add_argument("project", help="a folder written by `hlsgen generate`")
    b.add_argument("--stage", required=True, choices=list(HLS_STEPS),
                   help="csim: C simulation in Vitis HLS; synth: HLS synthesis; cosim: synthesis + "
                   "RTL co-simulation; ip: synthesis + IP export; bitstream: IP + Vivado block "
                   "design + bitstream and .hwh in deploy/")
    b.add_argument("--verbose", action="store_true", help="print the tools' whole log")
    b.set_defaults(fn=cmd_build)

    d = sub.add_parser("deploy", help="copy the overlay to a PYNQ board over SSH, run its "
                       "self-test and benchmark there",
                       description="Copies deploy/ (bitstream, .hwh), the driver and the test "
                       "vectors to the board, runs `<name>_driver.py --selftest --benchmark` there "
                       "and exits with its status.")
    d.add_argument("project", help="a folder written by `hlsgen generate`, with a built bitstream")
    d.add_argument("--host", required=True, help="the board's address")
    d.add_argument("--user", default="xilinx", help="login (default: xilinx)")
    d.add_argument("--port", type=int, default=22, help="SSH port (default: 22)")
    d.add_argument("--key", help="SSH private key file (default: ask for the password)")
    d.add_argument("--remote-dir", help="folder on the board, relative to the login's home "
                   "(default: hlsgen/<name>)")
    d.add_argument("--known-hosts", default=str(DEFAULT_KNOWN_HOSTS),
                   help="known_hosts file the board's host key is checked against "
                   "(default: ~/.ssh/known_hosts)")
    d.add_argument("--accept-new-host-key", action="store_true",
                   help="trust a board whose host key is not yet known, and remember it; a "
                   "changed key is always refused")
    d.add_argument("--python", default="python3",
                   help="the board's Python with pynq, as a command (default: python3; on a PYNQ "
                   "image, the pynq virtualenv's python run by a user allowed to load overlays)")
    d.add_argument("--benchmark", type=int, default=1000, help="frames in the benchmark batch")
    d.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the board")
    d.set_defaults(fn=cmd_deploy)
