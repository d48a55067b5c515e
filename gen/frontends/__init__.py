"""Frontends read a framework's model into the IR; they never emit C++.

select.py picks the frontend for a path or an in-memory model. Every
frontend returns an object with this protocol (see qkeras/reader.py KerasModel):
  framework: str                      e.g. "qkeras", "brevitas"
  to_ir(output_mode) -> Graph         the IR (channels-last tensors)
  predict(x, gold=None) -> float32    the framework's own pre-softmax outputs for
                                      inputs x in the IR's layout (channels last);
                                      gold: golden.output_values of the same frames,
                                      for a frontend that explains differences
  input_to_ir(x) -> array             user-supplied test data, in the framework's
                                      layout, to the IR's layout
  softmax_dropped: bool               a trailing softmax was kept out of the design

The QONNX frontend's predict also records, in graph.meta["framework_differences"],
the output codes where the framework's float32 arithmetic lands on a
quantization boundary (counted and explained, see qonnx/compare.py).
"""
