"""The dataflow architecture (FINN/CNP style): one process per layer, all
weights on chip. design: the mapping from the lowered IR to kernels and
streams; folding: lane counts and word limits; cost: the resource model;
search: the folding search against a budget; render: the project; report:
estimates and the figure."""
