"""`hlsgen sweep` and `hlsgen.sweep()` (this package is hlsgen.sweeps, so
that importing it never replaces the function hlsgen.sweep): many design points of one model (bit widths, foldings,
boards, clocks, architectures), each a Dask task, on an embedded LocalCluster
or an existing cluster; results as they arrive, cached by content hash.

grid.py   the points: a grid file or value lists -> checked option sets
spec.py   one point: its options, stages and content hash (the cache key)
task.py   what a worker runs for a point (generate, csim, lint, hlsgen build)
guard.py  runs a vendor stage's hlsgen build; ends its tools when the worker is gone
cluster.py  the Dask client: LocalCluster, a scheduler address or file
store.py  the output folder: sweep.json, points/<key>/, results.csv and .md
plot.py   the Pareto figure (frames/s against LUT and BRAM)
run.py    the sweep itself, called by hlsgen.sweep() and `hlsgen sweep`
"""
