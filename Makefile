# syna-fpga — every target installs what it needs into .venv/ (Python 3.11, Debian).
#   make demo        the whole flow on scikit-learn digits (TRAIN=1 retrains the checkpoint first)
#   make test        the whole test suite
#   make bench       benchmarks (bench/), printed as tables

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: help venv demo test bench bench-reference bench-hls bench-events results-digits results-gestures clean

help:
	@sed -n '2,5p' Makefile | sed 's/^#//'

$(VPY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  rm -rf $(VENV); apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }

# torch==2.14.1 + torchvision==0.29.1 are pinned in pyproject.toml (see README, "Why torch 2.14.1").
# `make demo` installs what the demo runs ([train,hw]); `make test` adds the test tools, AEDAT 4 and NeuroBench
# ([dev,events,neurobench]).
# pip is not quiet: the first run downloads about 3 GB (torch), and its progress should show.
$(DEMO_STAMP): pyproject.toml | $(VPY)
	@echo "installing [train,hw] into $(VENV) (first run: about 3 GB download, 6 GB on disk; README, Installs)"
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -e '.[train,hw]'
	@touch $@

$(STAMP): $(DEMO_STAMP)
	$(VPY) -m pip install -e '.[train,hw,dev,events,neurobench]'
	@touch $@

venv: $(STAMP)

demo: $(DEMO_STAMP)
	$(VPY) -m model_export.demo --out build/demo $(if $(TRAIN),--train)

test: $(STAMP)
	$(VENV)/bin/lint-imports    # the layering of docs/architecture.md (contracts in pyproject.toml)
	OPENBLAS_NUM_THREADS=1 $(VPY) -m pytest -q -n $(PYTEST_WORKERS)

# every benchmark, one table each (bench/README.md); `make bench-reference` etc. run one
bench: bench-reference bench-hls bench-host bench-rtl bench-events

bench-reference: $(STAMP)
	$(VPY) bench/bench_reference.py $(BENCH_ARGS)

bench-hls: $(STAMP)
	$(VPY) bench/bench_hls.py

bench-events: $(STAMP)
	$(VPY) bench/bench_events.py

# docs/results.md: ADD vs OR vs OR+SynA-T vs OR+SynA-C, same budget, then the Table III-style table
# (about 8 minutes for digits and 20 for synthetic gestures on 2 CPU cores)
RESULTS_DIGITS   := --dataset digits --preset mnist --width 0.25 --input-size 8 --steps 4 --batch-size 64 \
                    --epochs 40 --lr 1e-2 --seed 2023 --threads 1
RESULTS_GESTURES := --dataset synthetic_gestures --preset dvs_gesture --width 0.25 --input-size 32 --steps 8 \
                    --batch-size 16 --epochs 40 --lr 1e-2 --seed 2023 --threads 1
RESULTS_VARIANTS := add:--merge=ADD or:--merge=OR synat:--merge=OR:--attention=T synac:--merge=OR:--attention=C

results-digits results-gestures: results-%: $(STAMP)
	@set -e; dir=build/results/$(if $(filter digits,$*),digits,synthetic_gestures); \
	for v in $(RESULTS_VARIANTS); do name=$${v%%:*}; opts=$$(echo $${v#*:} | tr ':=' '  '); \
	  $(VPY) -m model_export train $(RESULTS_$(shell echo $* | tr a-z A-Z)) $$opts --out $$dir/$$name.pt; done; \
	$(VPY) -m model_export table $$dir/add.pt $$dir/or.pt $$dir/synat.pt $$dir/synac.pt --threads 1 --markdown

clean:
	rm -rf build

# Stage-specific targets (HLS core, RTL twin, host driver) live beside their code.
-include hls/hls.mk rtl/rtl.mk host/host.mk
