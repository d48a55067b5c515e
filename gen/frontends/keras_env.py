"""Imports TensorFlow/QKeras the way hlsgen needs them: legacy tf-keras
(QKeras is written against Keras 2) and without TensorFlow's start-up chatter."""

import os


def import_qkeras():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        import tensorflow as tf
        import qkeras
        from qkeras.utils import _add_supported_quantized_objects
    except ImportError as e:  # pragma: no cover - depends on the installation
        from gen.errors import HlsgenError
        raise HlsgenError(f"QKeras support needs tensorflow-cpu, tf-keras and qkeras ({e}); "
                          "install them with: pip install 'hlsgen[qkeras]'")
    tf.get_logger().setLevel("ERROR")
    custom = {}
    _add_supported_quantized_objects(custom)
    return tf, qkeras, custom
