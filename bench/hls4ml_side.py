"""The hls4ml half of the hlsgen-vs-hls4ml benchmark. Runs inside hls4ml's
own virtualenv (bench/.venv-hls4ml, made by bench/hls4ml_client.py), never
imports hlsgen, and serves requests one JSON object per line on stdin:

  {"cmd": "predict", "model": M.h5, "inputs": X.npy, "outputs": Y.npy}
      the framework (QKeras under this environment's TensorFlow) on X
  {"cmd": "run", "model": M.h5, "io_type": "io_parallel"|"io_stream",
   "out_dir": D, "inputs": X.npy, "outputs": Y.npy}
      hls4ml's default conversion, its C-simulation build and predict
      ("generate_only": true stops after the conversion: a warm-up)

Answers go to the stdout it was started with: {"stage": S} when a stage
starts, then one final {"ok": true, ...timings} or {"ok": false, "stage": S,
"error": ...}. Everything else printed (hls4ml, TensorFlow, g++) goes to stderr.
"""

import json
import os
import sys
import time

PART = "xc7z020clg400-1"  # hlsgen's pynq-z2 board


def _load(path):
    import tensorflow as tf
    from qkeras.utils import _add_supported_quantized_objects
    custom = {}
    _add_supported_quantized_objects(custom)
    return tf.keras.models.load_model(path, custom_objects=custom, compile=False)


def predict(req, stage):
    import numpy as np
    stage("predict")
    x = np.load(req["inputs"])
    y = _load(req["model"]).predict(x.astype(np.float32), batch_size=256, verbose=0)
    np.save(req["outputs"], y.reshape(len(x), -1))
    return {}


def run(req, stage):
    import hls4ml
    import numpy as np
    stage("generate")
    t0 = time.perf_counter()
    model = _load(req["model"])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, backend="Vitis", output_dir=req["out_dir"], part=PART,
        io_type=req["io_type"])
    hls_model.write()
    gen_s = time.perf_counter() - t0
    if req.get("generate_only"):  # a warm-up
        return {"gen_s": gen_s}
    stage("build")
    t0 = time.perf_counter()
    hls_model._compile()  # hls_model.compile() is write() (timed above) and then this g++ build
    build_s = time.perf_counter() - t0
    stage("csim")
    x = np.ascontiguousarray(np.load(req["inputs"]), dtype=np.float64)
    t0 = time.perf_counter()
    y = hls_model.predict(x)
    run_s = time.perf_counter() - t0
    np.save(req["outputs"], np.asarray(y, dtype=np.float64).reshape(len(x), -1))
    return {"gen_s": gen_s, "build_s": build_s, "run_s": run_s, "n": len(x)}


def versions():
    from importlib.metadata import PackageNotFoundError, version
    found = {}
    for name in ("hls4ml", "tensorflow-cpu", "keras", "qkeras", "numpy", "tf-keras"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def main():
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    def say(obj):
        answers.write(json.dumps(obj) + "\n")

    import hls4ml  # noqa: F401  (imports TensorFlow: once, before the first request)
    say({"ready": versions()})
    handlers = {"predict": predict, "run": run}
    for line in sys.stdin:
        req = json.loads(line)
        current = {"stage": req["cmd"]}

        def stage(name):
            current["stage"] = name
            say({"stage": name})
        try:
            say({"ok": True, **handlers[req["cmd"]](req, stage)})
        except Exception as e:  # any failure is a result to report, with its stage
            say({"ok": False, "stage": current["stage"], "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
