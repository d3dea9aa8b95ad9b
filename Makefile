# syna-fpga — every target installs what it needs into .venv/ (Python 3.11, Debian).
#   make demo        the whole flow on scikit-learn digits (TRAIN=1 retrains the checkpoint first)
#   make test        the whole test suite
#   make bench       benchmarks (bench/), printed as tables

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: help venv demo test bench bench-reference bench-hls bench-events clean

help:
	@sed -n '2,5p' Makefile | sed 's/^#//'

$(VPY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  rm -rf $(VENV); apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }

# torch==2.14.1 + torchvision==0.29.1 are pinned in pyproject.toml (see README, "Why torch 2.14.1").
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[train,dev,hw,events]'
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(VPY) -m model_export.demo --out build/demo $(if $(TRAIN),--train)

test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(VPY) -m pytest -q -n $(PYTEST_WORKERS)

# every benchmark, one table each (bench/README.md); `make bench-reference` etc. run one
bench: bench-reference bench-hls bench-host bench-rtl bench-events

bench-reference: $(STAMP)
	$(VPY) bench/bench_reference.py $(BENCH_ARGS)

bench-hls: $(STAMP)
	$(VPY) bench/bench_hls.py

bench-events: $(STAMP)
	$(VPY) bench/bench_events.py

clean:
	rm -rf build

# Stage-specific targets (HLS core, RTL twin, host driver) live beside their code.
-include hls/hls.mk rtl/rtl.mk host/host.mk
