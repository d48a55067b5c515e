# Two commands on a fresh machine:  make demo   and   make test
# Each creates .venv and installs everything into it on first use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch first, at the exact version whose CPU build this machine provides,
	# so that no later requirement pulls a CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[all]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hlsgen demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/python bench/spine.py

clean:
	rm -rf $(VENV) hls_projects/*/ hls_projects/models

# hlsgen against hls4ml 1.3 (bench/README.md); makes bench/.venv-hls4ml on first use.
.PHONY: bench-hls4ml
bench-hls4ml: $(STAMP)
	$(VENV)/bin/python bench/vs_hls4ml.py
