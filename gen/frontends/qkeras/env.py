"""Imports TensorFlow/QKeras the way hlsgen needs them: legacy tf-keras
(QKeras is written against Keras 2) and without TensorFlow's start-up chatter."""

import contextlib
import os
import sys


@contextlib.contextmanager
def _quiet_stderr():
    """TensorFlow's C++ runtime prints registration warnings straight to file
    descriptor 2 while importing; hide them, but only during the import."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_qkeras():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _quiet_stderr():
            import tensorflow as tf
            import qkeras
            from qkeras.utils import _add_supported_quantized_objects
    except ImportError as e:  # pragma: no cover - depends on the installation
        from hlsgen.errors import HlsgenError
        raise HlsgenError(f"QKeras support needs tensorflow-cpu, tf-keras and qkeras ({e}); "
                          "install them with: pip install 'hlsgen[qkeras]'")
    tf.get_logger().setLevel("ERROR")
    # QKeras' QSimpleRNN and QGRU cells call nest.is_sequence, which
    # TensorFlow renamed is_nested and later dropped (gone in 2.19): the same function.
    from tensorflow.python.util import nest
    if not hasattr(nest, "is_sequence"):
        nest.is_sequence = nest.is_nested
    import warnings
    warnings.filterwarnings("ignore", module="keras")
    warnings.filterwarnings("ignore", module="tf_keras")
    custom = {}
    _add_supported_quantized_objects(custom)
    return tf, qkeras, custom
