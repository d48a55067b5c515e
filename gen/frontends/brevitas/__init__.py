"""Brevitas (PyTorch) modules: exported to QONNX, then read by the QONNX
frontend (loader)."""
