"""Writing a project folder safely: everything goes into a temporary folder
beside the target and is moved into place only when complete, so a failure
leaves nothing half-written and a user's folder is never touched without
--force."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from hlsgen.errors import HlsgenError


def check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise HlsgenError(f"output '{out}' exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise HlsgenError(f"output folder '{out}' exists and is not empty; choose another --out "
                          "or add --force to replace it")


@contextlib.contextmanager
def staged_folder(out: Path, force: bool):
    """Yields a temporary folder; on success it replaces `out`."""
    out = Path(out)
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.hlsgen-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.hlsgen-old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: Path, project: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise HlsgenError(f"'{project}' has no {path.name}; give a folder written by "
                          "`hlsgen generate`") from None
    except (OSError, ValueError) as e:
        raise HlsgenError(f"{path} cannot be read ({e}); regenerate the project") from None


def write_atomic(path: Path, text: str) -> None:
    """Replaces `path` whole, keeping its permissions: never a half-written report."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
