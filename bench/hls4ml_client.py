"""hls4ml's own virtualenv for the benchmark, made on first use, and a client
of the worker (bench/hls4ml_side.py) that runs in it.

Why a separate environment: hls4ml 1.3 under hlsgen's TensorFlow 2.19 sends
QKeras (tf-keras) models to its Keras 3 parser, which fails ("'Node' object
has no attribute 'arguments'"). It converts them under TensorFlow/Keras 2.15
with tf-keras absent, the pins below.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-hls4ml"
SIDE = BENCH / "hls4ml_side.py"
# The top-level requirements; bench/hls4ml.lock.txt pins them and everything
# they pull in (exact versions and hashes; `make lock` refreshes it).
REQUIREMENTS = ["tensorflow-cpu==2.15.1", "keras==2.15.0", "tensorflow-model-optimization==0.7.5",
                "qkeras==0.9.0", "pyparsing==3.3.3", "hls4ml==1.3.0", "numpy==1.26.4"]
LOCK = BENCH / "hls4ml.lock.txt"


class Hls4mlUnavailable(RuntimeError):
    """hls4ml's virtualenv could not be made or its worker did not start."""


def _installer(python: Path) -> list[str]:
    """uv (installed beside hlsgen from its own lock) syncs the venv to the
    lock exactly; pip, checking the same hashes, where uv is absent."""
    uv = Path(sys.executable).with_name("uv")
    if uv.is_file():
        return [str(uv), "pip", "sync", "-q", "--python", str(python), str(LOCK)]
    return [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
            "--require-hashes", "--no-deps", "-r", str(LOCK)]


def ensure_venv(venv: Path = VENV) -> Path:
    """The virtualenv's python; creates it from LOCK unless it holds exactly
    that lock already."""
    python, stamp = venv / "bin" / "python", venv / ".requirements"
    wanted = LOCK.read_text()
    if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    print(f"creating hls4ml's virtualenv {venv} from {LOCK.name} (about a minute)", flush=True)
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    for cmd in ([sys.executable, "-m", "venv", str(venv)], _installer(python)):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise Hls4mlUnavailable(f"could not create {venv} ({' '.join(cmd[:4])} ...): {tail}")
    stamp.write_text(wanted)
    return python


class Worker:
    """One hls4ml_side.py process. Each stage of a request (generate, build,
    csim) may take at most `timeout` seconds; past that the process is killed
    (and restarted by the next request) and the request reported unfinished."""

    def __init__(self, python: Path, log: Path):
        self.python, self.log = python, log
        self.proc = None
        self.versions = None
        self.starts = 0  # how many processes so far (a restarted one is cold again)
        self._buf = b""

    def start(self):
        self._buf = b""
        self.starts += 1
        # Not this process's settings: TF_USE_LEGACY_KERAS (set for hlsgen's
        # TensorFlow 2.19) would send TensorFlow 2.15 looking for tf-keras.
        env = {k: v for k, v in os.environ.items()
               if k not in ("TF_USE_LEGACY_KERAS", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.python), str(SIDE)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, env=env,
                                         start_new_session=True)
        ready = self._next(time.monotonic() + 300)
        if not ready or "ready" not in ready:
            self.stop()
            raise Hls4mlUnavailable(f"hls4ml's worker did not start: {self._log_tail()}")
        self.versions = ready["ready"]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its g++ children
        if self.proc is not None:
            self.proc.wait()
        self.proc = None

    def request(self, req: dict, timeout: float) -> dict:
        if self.proc is None:
            self.start()
        log_start = self.log.stat().st_size
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        deadline, stage = time.monotonic() + timeout, req["cmd"]
        while True:
            msg = self._next(deadline)
            if msg is None:
                alive = self.proc.poll() is None
                self.stop()
                why = (f"did not finish within {timeout:.0f} s" if alive
                       else f"hls4ml's process died ({self._log_tail(log_start)})")
                return {"ok": False, "stage": stage, "error": why}
            if "stage" in msg and "ok" not in msg:
                stage, deadline = msg["stage"], time.monotonic() + timeout
                continue
            if not msg["ok"]:
                detail = self._first_error(log_start)
                if detail and detail not in msg["error"]:
                    msg["error"] += f" ({detail})"
            return msg

    def _next(self, deadline: float):
        """The next JSON line from the worker, or None at the deadline or its exit."""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def _log_text(self, start: int = 0) -> str:
        with open(self.log, "rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def _log_tail(self, start: int = 0) -> str:
        lines = [l for l in self._log_text(start).splitlines() if l.strip()]
        return " | ".join(lines[-3:])[-400:] or "no output"

    def _first_error(self, start: int) -> str | None:
        return next((l.strip()[:300] for l in self._log_text(start).splitlines() if "error:" in l), None)


if __name__ == "__main__" and sys.argv[1:] == ["--requirements"]:
    print("\n".join(REQUIREMENTS))   # the input of `make lock`
