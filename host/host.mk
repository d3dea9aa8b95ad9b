# Host driver (host/): included by the top Makefile (VPY, STAMP come from there).
#   make host-venv    pynq (no deps, see docs/host-driver.md) + what the notebook test needs, into .venv
#   make host-test    the host driver's tests (pynq required: the fake-board tests run pynq's own drivers)
#   make notebook     execute host/notebooks/syna_demo.ipynb on build/demo/bundle -> build/host/syna_demo.ipynb
#   make bench-host   packing / event-integration throughput table (bench/bench_host.py)
#   make fault-matrix tests/test_fault_matrix.py in one process; writes the counts per outcome to docs/fault-matrix.md

HOST_STAMP := $(VENV)/.host-installed
# pynq 4.0.0 pins numpy<2 and grpcio 1.64 for its board/remote parts; the parts the driver uses
# (MMIO, DMA, DefaultIP) import and run with numpy 2, so pynq and its two helper packages go in
# without dependencies, and only what `import pynq` needs comes after them.
HOST_PYNQ  := pynq==4.0.0 pynqmetadata==0.2.0 pynqutils==0.1.3
HOST_DEPS  := "setuptools<=80" "pycparser<3" pydantic==2.14.4 cffi==2.1.1 nest_asyncio==1.6.0 \
              jsonschema==4.26.0 tqdm ipython==9.18.1 nbclient==0.11.0 nbformat==5.11.1 ipykernel==7.4.0

.PHONY: host-venv host-test notebook bench-host fault-matrix

$(HOST_STAMP): $(STAMP) host/host.mk
	$(VPY) -m pip install -q $(HOST_DEPS)
	$(VPY) -m pip install -q --no-deps $(HOST_PYNQ)
	$(VPY) -c "import pynq.lib.dma, nbclient, ipykernel; print('pynq', pynq.__version__, 'ok')"
	@touch $@

host-venv: $(HOST_STAMP)

# `make test` (CI) runs the host tests too: give it pynq and nbclient, and make their absence a
# failure rather than a skip (the fake-board and notebook tests would otherwise skip silently).
test: $(HOST_STAMP)
test: export SYNA_REQUIRE_HOST_DEPS := 1

host-test: $(HOST_STAMP)
	SYNA_REQUIRE_HOST_DEPS=1 OPENBLAS_NUM_THREADS=1 $(VPY) -m pytest -q -n $(PYTEST_WORKERS) tests/test_host_driver.py tests/test_host_events.py \
	  tests/test_host_pynq.py tests/test_host_isolation.py tests/test_host_notebook.py tests/test_host_faults.py \
	  tests/test_host_recordings.py tests/test_fault_matrix.py

# One process (the report needs every case's outcome): the table in docs/fault-matrix.md, with the commit.
fault-matrix: $(HOST_STAMP)
	SYNA_REQUIRE_HOST_DEPS=1 SYNA_FAULT_MATRIX_REPORT=docs/fault-matrix.md OPENBLAS_NUM_THREADS=1 \
	  $(VPY) -m pytest -q -p no:xdist tests/test_fault_matrix.py
	@cat docs/fault-matrix.md

build/demo/bundle/manifest.json:
	$(MAKE) demo

notebook: $(HOST_STAMP) build/demo/bundle/manifest.json
	OPENBLAS_NUM_THREADS=1 $(VPY) -m host notebook build/demo/bundle --out build/host/syna_demo.ipynb

bench-host: $(STAMP)
	$(VPY) bench/bench_host.py $(BENCH_ARGS)
