"""hlsgen: quantized neural networks to bit-exact HLS C++ projects."""

__version__ = "0.1.0"
