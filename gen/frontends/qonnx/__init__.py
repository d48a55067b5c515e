"""QONNX files into the IR: reader (the graph walk), graph/layers/quant (the
node kinds), float_ops (float operations proven exact on their grids),
predict/compare (running the framework and explaining float32 differences),
env (onnx/onnxruntime imports)."""
