"""Locates the AMD/Xilinx arbitrary-precision headers (ap_int.h, ap_fixed.h,
hls_stream.h; Apache-2.0) inside the installed hls4ml package. They are
never copied into this repository."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hlsgen.errors import HlsgenError


def ap_headers_dir() -> Path:
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise HlsgenError("C simulation needs the ap_int.h/hls_stream.h headers that ship with "
                          "hls4ml; install it with: pip install 'hls4ml==1.3.*'")
    for root in spec.submodule_search_locations:
        for candidate in sorted(Path(root).glob("templates/*/ap_types")):
            if (candidate / "ap_int.h").is_file() and (candidate / "hls_stream.h").is_file():
                return candidate
    raise HlsgenError("the installed hls4ml package has no ap_types/ap_int.h; reinstall it with: "
                      "pip install --force-reinstall 'hls4ml==1.3.*'")
