"""The Dask client a sweep submits to: an embedded LocalCluster (one
single-threaded worker process per core) by default, or an existing cluster
by its scheduler address (tcp://HOST:8786) or scheduler file (as
`dask scheduler --scheduler-file` and dask-jobqueue write)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.version import __version__

CONNECT_TIMEOUT = "15s"
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\[?[^\s/\]]+\]?:\d+/?$")


def import_dask():
    try:
        import distributed
    except ImportError:
        raise HlsgenError("hlsgen sweep needs Dask (dask.distributed); install it with "
                          "pip install 'hlsgen[sweep]'") from None
    return distributed


def check_scheduler(scheduler: str | None) -> str | None:
    """A bad --scheduler is refused before anything is written; the address
    to connect to (a scheduler file's `address`)."""
    if scheduler is None or _ADDRESS.match(scheduler):
        return scheduler
    if Path(scheduler).is_file():
        return _file_address(scheduler)
    raise HlsgenError(f"--scheduler '{scheduler}' is neither a scheduler address such as "
                      "tcp://HOST:8786 nor an existing scheduler file; give the address "
                      "`dask scheduler` prints, or its --scheduler-file")


def _file_address(path: str) -> str:
    """The scheduler address a scheduler file holds (JSON with `address`)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise HlsgenError(f"--scheduler file '{path}' is not a Dask scheduler file (not JSON: "
                          f"{' '.join(str(e).split())[:80]}); give the file `dask scheduler "
                          "--scheduler-file` writes") from None
    address = data.get("address") if isinstance(data, dict) else None
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise HlsgenError(f"--scheduler file '{path}' holds no scheduler address (`address`: "
                          f"{address!r}); give the file `dask scheduler --scheduler-file` writes")
    return address


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None):
    """Yields (client, where): the Client and a line saying which cluster."""
    address = check_scheduler(scheduler)
    distributed = import_dask()
    cluster = None
    try:
        if scheduler is None:
            n = workers or os.cpu_count() or 1
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                               dashboard_address="127.0.0.1:0",
                                               silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
            where = f"a LocalCluster of {n} worker processes"
        else:
            _probe(address)
            _identify(address)
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            where = (f"the Dask scheduler at {scheduler}" if address == scheduler else
                     f"the Dask scheduler of {scheduler} ({address})")
    except (OSError, TimeoutError, ValueError) as e:
        if cluster is not None:
            cluster.close()
        raise HlsgenError(f"cannot reach the Dask scheduler {address} "
                          f"({' '.join(str(e).split())[:160]}); start one with `dask scheduler` "
                          "or check the address") from None
    try:
        _check_workers(client)
        yield client, where
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _probe(address: str) -> None:
    """A tcp:// address nobody listens on fails now, not after Dask's retries."""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://"):].rstrip("/").rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10):
        pass


IDENTIFY_SECONDS = 10.0


def _identify(address: str, seconds: float = IDENTIFY_SECONDS) -> None:
    """The address answers as a Dask scheduler within `seconds` (an HTTP
    server, such as the dashboard's port, never does: Client would wait forever).
    tcp:// only (other protocols need their security settings to ask)."""
    if not address.startswith("tcp://"):
        return
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as Late

    async def ask():
        from distributed.core import rpc
        r = rpc(address, timeout=seconds)
        try:
            return await asyncio.wait_for(r.identity(), seconds)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(r.close_rpc(), 2)

    pool = ThreadPoolExecutor(1)     # its own event loop, also under Jupyter's
    try:
        info = pool.submit(asyncio.run, ask()).result(timeout=seconds + 5)
        kind = info.get("type") if isinstance(info, dict) else None
    except (Exception, Late):   # noqa: BLE001: a timeout, a closed comm, a garbled reply
        kind = None
    finally:
        pool.shutdown(wait=False)
    if kind != "Scheduler":
        what = f"a Dask {kind}" if kind else f"no Dask scheduler within {seconds:g} s"
        raise HlsgenError(f"--scheduler {address} answers, but not as a Dask scheduler ({what}); "
                          "give the scheduler's own address (port 8786 by default, not the "
                          "dashboard's 8787), as `dask scheduler` prints it")


def _worker_version():
    from hlsgen.version import __version__ as version
    return version


def _check_workers(client) -> None:
    """Every worker connected now runs this hlsgen version."""
    try:
        versions = client.run(_worker_version)
    except ImportError:   # a worker without hlsgen
        raise HlsgenError("a Dask worker cannot import hlsgen; install this hlsgen "
                          f"({__version__}) in the workers' environment") from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        worker, version = next(iter(wrong.items()))
        raise HlsgenError(f"the Dask worker {worker} runs hlsgen {version}, this is {__version__}; "
                          "install the same hlsgen on every worker (the point hashes include it)")


def dashboard(client, local: bool) -> str:
    """The dashboard line to print (local: whether this environment serves it)."""
    link = getattr(client, "dashboard_link", None)
    if not link:
        return "Dask dashboard: not served by this scheduler"
    if not local:
        return f"Dask dashboard: {link}"
    try:
        import bokeh  # noqa: F401
        return f"Dask dashboard: {link}"
    except ImportError:
        return f"Dask dashboard: {link} (its pages need bokeh: pip install bokeh)"
