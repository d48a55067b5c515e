# Two commands on a fresh machine:  make demo   and   make test
# Each creates .venv on first use and installs into it exactly the versions in
# requirements.lock.txt (hashes checked), with uv; `make lock` refreshes the lock.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
LOCK := requirements.lock.txt
UV_LOCK := requirements-uv.lock.txt
BENCH_LOCK := bench/hls4ml.lock.txt
UV := $(VENV)/bin/uv
# torch is locked at 2.13.0+cpu, a build PyPI does not serve: take it from the
# wheel folder this kind of machine ships, else from PyTorch's CPU index.
TORCH_SOURCE ?= $(if $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl),--find-links /opt/wheels,--extra-index-url https://download.pytorch.org/whl/cpu)
# qonnx's QKeras converter (qonnx 0.4 + tf2onnx), beside the environment: see the lock's header.
CONVERTER_LOCK := requirements-converter.lock.txt
CONVERTER := $(VENV)/qkeras-converter
UV_RESOLVE := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --generate-hashes --quiet

.PHONY: demo test test-fast bench clean lock install fuzz

$(STAMP): $(LOCK) $(UV_LOCK) $(CONVERTER_LOCK) pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# uv itself, pinned with its hashes; then the lock, exactly (nothing more, nothing less).
	$(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes -r $(UV_LOCK)
	$(UV) pip sync -q --python $(VENV)/bin/python $(TORCH_SOURCE) $(LOCK)
	$(UV) pip install -q --python $(VENV)/bin/python --no-deps -e .
	rm -rf $(CONVERTER)
	$(UV) pip install -q --python $(VENV)/bin/python --no-deps --require-hashes --target $(CONVERTER) -r $(CONVERTER_LOCK)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hlsgen demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

# The unit tier only (tiers: tests/conftest.py TIERS): no TensorFlow, PyTorch,
# g++ or sshd; under a minute. `make test` runs every tier.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -m unit

# Refresh every lock against today's registry, reinstall from it and run the
# whole suite: use it to take up new releases, then commit the locks if green.
lock: $(STAMP)
	$(UV) pip compile $(UV_RESOLVE) --upgrade --extra all $(TORCH_SOURCE) -o $(LOCK) pyproject.toml
	echo "uv" | $(UV) pip compile $(UV_RESOLVE) --upgrade -o $(UV_LOCK) -
	$(VENV)/bin/python bench/hls4ml_client.py --requirements | $(UV) pip compile $(UV_RESOLVE) --upgrade -o $(BENCH_LOCK) -
	$(MAKE) test

# A model-fuzzing campaign (tests/fuzz/): N random QKeras and Brevitas models
# from seed SEED; prints a table per category, keeps each failing model in
# fuzz_runs/ with a one-line reproduction.
SEED ?= 1
N ?= 100
fuzz: $(STAMP)
	$(VENV)/bin/python tests/fuzz/campaign.py --seed $(SEED) -n $(N) --out fuzz_runs

bench: $(STAMP)
	$(VENV)/bin/python bench/spine.py

clean:
	rm -rf $(VENV) hls_projects/*/ hls_projects/models

# hlsgen against hls4ml 1.3 (bench/README.md); makes bench/.venv-hls4ml from $(BENCH_LOCK) on first use.
.PHONY: bench-hls4ml
bench-hls4ml: $(STAMP)
	$(VENV)/bin/python bench/vs_hls4ml.py
