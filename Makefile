# syna-fpga — every target installs what it needs into .venv/ (Python 3.11, Debian).
#   make demo        the whole flow on scikit-learn digits (TRAIN=1 retrains the checkpoint first)
#   make demo-paper  the paper's ResNet21s at full size, weights in DDR: plan, HLS C-sim, RTL twin (about 2-3 min)
#   make test        the whole test suite
#   make bench       benchmarks (bench/), printed as tables

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: help venv demo demo-paper test bench bench-reference bench-hls bench-events bench-targets results-digits results-gestures clean

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

# Issue 16: the Table IX ResNet21s (11.2 M weights, calibrated random weights) with their weights in DDR:
# per network the planner on PYNQ-Z2 and ZCU104, the HLS core's C-simulation and the RTL twin (Verilator) reading
# the DDR image, bit-exact on every spike -> build/demo-paper/summary.json (model_export/demo_paper.py).
# PAPER_NETS: the networks (default: dvs_gesture mnist; the first one's figures head summary.json);
# PAPER_LANES: P (default: syna_hw/limits.py's lane default)
PAPER_NETS  ?=
PAPER_LANES ?=
demo-paper: $(DEMO_STAMP)
	$(VPY) -m model_export.demo_paper --out build/demo-paper $(if $(PAPER_NETS),--nets $(PAPER_NETS)) \
	  $(if $(PAPER_LANES),--lanes $(PAPER_LANES))

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

# issue 16's targets (docs/benchmarks.md): planner figures at paper size, RTL-measured small DVS networks
bench-targets: $(STAMP)
	$(VPY) bench/bench_targets.py $(BENCH_ARGS)

# docs/results.md: OR vs OR+SynA-T vs OR+SynA-C (and ADD on the gestures), same budget, two seeds, then
# one Table III-style table per seed. Digits at T = 16 (the paper's MNIST setting). A checkpoint that
# exists is resumed (`train --resume`: a complete run does nothing), so an interrupted target continues.
# On the shared 2-core machine: digits about 15-40 min per run (SynA about 2x OR), gestures a few minutes.
RESULTS_SEEDS    := 2023 1
RESULTS_DIGITS   := --dataset digits --preset mnist --width 0.25 --input-size 8 --steps 16 --batch-size 64 \
                    --epochs 40 --lr 1e-2 --threads 1 --no-plots
RESULTS_GESTURES := --dataset synthetic_gestures --preset dvs_gesture --width 0.25 --input-size 32 --steps 8 \
                    --batch-size 16 --epochs 40 --lr 1e-2 --threads 1 --no-plots
RESULTS_VARIANTS_DIGITS   := or:--merge=OR synat:--merge=OR:--attention=T synac:--merge=OR:--attention=C
RESULTS_VARIANTS_GESTURES := add:--merge=ADD $(RESULTS_VARIANTS_DIGITS)

results-digits results-gestures: results-%: $(STAMP)
	@set -e; base=build/results/$(if $(filter digits,$*),digits,synthetic_gestures); \
	variants="$(if $(filter digits,$*),$(RESULTS_VARIANTS_DIGITS),$(RESULTS_VARIANTS_GESTURES))"; \
	for seed in $(RESULTS_SEEDS); do dir=$$base/seed$$seed; runs=""; \
	  for v in $$variants; do name=$${v%%:*}; opts=$$(echo $${v#*:} | tr ':=' '  '); runs="$$runs $$dir/$$name.pt"; \
	    if [ -f $$dir/$$name.pt ]; then $(VPY) -m model_export train --resume $$dir/$$name.pt --threads 1; \
	    else $(VPY) -m model_export train $(if $(filter digits,$*),$(RESULTS_DIGITS),$(RESULTS_GESTURES)) $$opts \
	      --seed $$seed --out $$dir/$$name.pt; fi; done; \
	  echo "seed $$seed:"; $(VPY) -m model_export table $$runs --threads 1 --markdown; done

clean:
	rm -rf build

# Stage-specific targets (HLS core, RTL twin, host driver) live beside their code.
-include hls/hls.mk rtl/rtl.mk host/host.mk
