"""The tiled architecture (Zhang et al. 2015): one engine runs every layer
from DDR tile by tile. design: the engine and its layer programme; roofline:
tile search against the board's compute and bandwidth roofs; board: AXI
masters and registers; project: rendering and reports."""
