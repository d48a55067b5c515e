"""Architectures: each turns the lowered IR into a design for a board, and
renders, reports and rebuilds it. `registry` holds them by name (dataflow,
tiled); `select` picks one for --arch auto."""
