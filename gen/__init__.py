"""hlsgen: quantized, binarized and compressed neural networks (QKeras,
Brevitas, QONNX) to bit-exact HLS C++ projects for FPGA boards.

    import hlsgen
    project = hlsgen.convert(model, board="pynq-z2")
    project.csim(); project.predict(x); project.report()

Public API: convert, open, boards, sweep, Project, Options, HlsgenError.
The package: ir/ (graph, types, golden executor), frontends/, passes/,
arch/ (dataflow, tiled), platform/ (boards, build, deploy), project/
(writing a project folder), lint/, sim/ (C simulation), sweeps/ (design
space sweeps on Dask), cli/.
"""

from hlsgen.api import Project, Report, boards, convert, open, sweep  # noqa: F401,A004
from hlsgen.errors import HlsgenError, InternalError  # noqa: F401
from hlsgen.options import Options  # noqa: F401
from hlsgen.version import __version__  # noqa: F401

__all__ = ["convert", "open", "boards", "sweep", "Project", "Report", "Options", "HlsgenError",
           "InternalError", "__version__"]
