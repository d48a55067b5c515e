"""QKeras (Keras) models into the IR: reader (layers and quantizers) and env
(importing TensorFlow quietly, with the legacy Keras it needs)."""
