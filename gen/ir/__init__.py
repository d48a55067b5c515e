"""The IR: a small typed graph (graph), exact tensor types (qtype), the
integer arithmetic both the golden executor and the generators use (intmath),
and the golden executor, the specification the C++ must meet (golden)."""
