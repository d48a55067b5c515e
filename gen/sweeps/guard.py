"""`python -m hlsgen.sweeps.guard PARENT_PID COMMAND...`: runs COMMAND (a
vendor stage's `hlsgen build`) in this process's group and ends the whole
group, vendor tools included, when the worker PARENT_PID is gone (killed,
shut down) or when this process is signalled. The worker starts it in a new
session, so a terminal's Ctrl-C never reaches the tools directly: this is
what stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

POLL = 0.5     # seconds between checks that the worker still runs


def _end(*_args) -> None:
    os.killpg(0, signal.SIGKILL)     # the group: the tools, the build, this guard


def main(argv: list[str]) -> int:
    parent, cmd = int(argv[0]), argv[1:]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _end)
    proc = subprocess.Popen(cmd)      # inherits this group, stdout and stderr
    while True:
        try:
            return proc.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:      # the worker died: we were re-parented
                _end()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
