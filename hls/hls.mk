# HLS core targets (included by the top Makefile; VPY and STAMP come from there).
#   make csim      [BUNDLE=build/demo/bundle] [LANES=P]   g++ C-simulation against the bundle's golden vectors
#   make hls       [BOARD=<board>]                        Vitis HLS: csim, csynth, [HLS_COSIM=1] cosim, IP export
#   make bitstream [BOARD=<board>] [IMPL=hls|rtl]          Vivado: block design, .bit + .hwh in build/overlays/<board>/
#     IMPL=hls (default): the Vitis HLS core (runs `make hls` first when its IP is not exported);
#     IMPL=rtl: the RTL twin (rtl/syna.f + the bundle's syna_cfg.vh / ROM files) packaged as a Vivado IP
#     (hls/scripts/syna_rtl_ip.tcl, in build/rtl-ip/<board>/) in the same block design; with WEIGHTS=ddr its
#     top is syna_core_top_ddr (AXI4 master m_axi_gmem to the PS's HP0 port, as the HLS core's).
# LANES and BOARD default to the lane default (syna_hw/limits.py) and the default board; the boards, their part,
# clock, PS and HP port come from syna_contract/boards.py (`python -m syna_contract.boards` lists them; generated
# into board_<board>.tcl).
# hls and bitstream stop at once when vitis_hls / vivado (2023.1 or later) are not on PATH.
# WEIGHTS=ddr [WBUF_ROWS=N]: the core reads its conv/fc weights from the bundle's DDR image (exported with
# --ddr-image --lanes P) through an m_axi port, via an on-chip buffer of N rows (docs/hls-core.md).
# IMPL=rtl WEIGHTS=ddr also takes WBUF=single|double and WBUF_RAM=auto|block (the RTL twin's weight buffers
# and their RAM; `syna plan` prints the line for its placement).
# MAPS=ddr [ACC_ROWS=N] (needs WEIGHTS=ddr): the input and every spike map in a DDR scratch buffer through the
# same m_axi port, layers in tiles x output-row bands of at most N accumulator rows (docs/hls-core.md
# "Spike maps in DDR"; syna_hw/spill.py). MAPS=chip (the default) keeps them on chip. IMPL=rtl takes them too
# (the RTL twin's maps in DDR, docs/rtl.md "Spike maps in DDR": they reach its generator with RTL_WEIGHTS).

BUNDLE ?= build/demo/bundle
LANES ?=
WEIGHTS ?= rom
WBUF_ROWS ?=
MAPS ?= chip
ACC_ROWS ?=
HLS_WEIGHTS = --weights $(WEIGHTS) $(if $(WBUF_ROWS),--wbuf-rows $(WBUF_ROWS)) \
	$(if $(filter ddr,$(MAPS)),--maps ddr) $(if $(ACC_ROWS),--acc-rows $(ACC_ROWS))
WBUF ?=
WBUF_RAM ?=
RTL_WEIGHTS = $(HLS_WEIGHTS) $(if $(WBUF),--wbuf $(WBUF)) $(if $(WBUF_RAM),--wbuf-ram $(WBUF_RAM))
BOARD ?= $(shell $(PYTHON) -m syna_contract.boards --default)
VITIS_HLS ?= vitis_hls
VIVADO ?= vivado
HLS_MIN_VERSION := 2023.1
OVERLAY_DIR = build/overlays/$(BOARD)
IMPL ?= hls
RTL_IP_DIR = build/rtl-ip/$(BOARD)

.PHONY: csim hls bitstream

# MAPS / ACC_ROWS are checked before anything else (no tool needed to refuse them)
maps_args = @case "$(MAPS)" in chip|ddr) ;; *) \
	  echo "error: MAPS=$(MAPS): expected chip (spike maps on chip, the default) or ddr (in a DDR scratch buffer)." \
	       "Nothing was run." >&2; exit 2;; esac; \
	if [ "$(MAPS)" = ddr ] && [ "$(WEIGHTS)" != ddr ]; then \
	  echo "error: MAPS=ddr needs WEIGHTS=ddr: the scratch buffer shares the m_axi port of the weights read from the" \
	       "bundle's DDR image (export it with --ddr-image --lanes P). Nothing was run." >&2; exit 2; fi; \
	if [ -n "$(ACC_ROWS)" ] && [ "$(MAPS)" != ddr ]; then \
	  echo "error: ACC_ROWS bounds the accumulators of a core with its maps in DDR; add MAPS=ddr WEIGHTS=ddr." \
	       "Nothing was run." >&2; exit 2; fi

# The demo bundle is made on demand (`make demo`, about a minute); any other BUNDLE must exist.
hls_bundle = @test -f $(BUNDLE)/manifest.json || { \
	  if [ "$(BUNDLE)" = build/demo/bundle ]; then $(MAKE) --no-print-directory demo; \
	  else echo "error: no bundle at $(BUNDLE) (manifest.json missing)" >&2; exit 2; fi; }

csim: $(DEMO_STAMP)
	$(maps_args)
	$(hls_bundle)
	$(VPY) -m syna_hw.hls_core csim --bundle $(BUNDLE) $(if $(LANES),--lanes $(LANES)) $(HLS_WEIGHTS)

# $(call hls_need_tool,command,product): stop unless the vendor tool is on PATH and new enough.
define hls_need_tool
	@command -v $(1) >/dev/null 2>&1 || { \
	  echo "error: '$(1)' not found on PATH. This target needs AMD $(2) $(HLS_MIN_VERSION) or later" \
	       "(source <install>/settings64.sh first). Nothing was run." >&2; exit 2; }
	@v=$$($(1) -version 2>/dev/null | grep -o 'v20[0-9][0-9]\.[0-9]' | head -1 | tr -d v); \
	  if [ -z "$$v" ] || [ "$$(printf '%s\n%s\n' $(HLS_MIN_VERSION) $$v | sort -V | head -1)" != "$(HLS_MIN_VERSION)" ]; then \
	    echo "error: $(1) reports version '$$v'; this target needs $(2) $(HLS_MIN_VERSION) or later." >&2; exit 2; fi
endef

hls:
	$(maps_args)
	$(call hls_need_tool,$(VITIS_HLS),Vitis HLS)
	@$(MAKE) --no-print-directory $(DEMO_STAMP)
	$(hls_bundle)
	@gen=$$($(VPY) -m syna_hw.hls_core gen --bundle $(BUNDLE) $(if $(LANES),--lanes $(LANES)) --board $(BOARD) $(HLS_WEIGHTS)) && \
	  echo "vitis_hls in $$gen" && cd $$gen && \
	  $(VITIS_HLS) -f $(CURDIR)/hls/scripts/syna_hls.tcl -tclargs $$gen $(BOARD) $(if $(HLS_COSIM),cosim)

# IMPL and WEIGHTS are checked before anything else (no tool needed to refuse them)
bitstream_args = @case "$(IMPL)" in hls|rtl) ;; *) \
	  echo "error: IMPL=$(IMPL): expected hls (the Vitis HLS core, the default) or rtl (the RTL twin)" >&2; exit 2;; esac; \
	case "$(WEIGHTS)" in rom|ddr) ;; *) \
	  echo "error: WEIGHTS=$(WEIGHTS): expected rom (weights on chip, the default) or ddr (read from the bundle's DDR image)." \
	       "Nothing was run." >&2; exit 2;; esac; \
	if [ "$(IMPL)" != rtl ] && [ -n "$(WBUF)$(WBUF_RAM)" ]; then \
	  echo "error: WBUF / WBUF_RAM shape the RTL twin's weight buffer; add IMPL=rtl (the HLS core has one buffer, its RAM" \
	       "chosen by Vitis). Nothing was run." >&2; exit 2; fi

bitstream:
	$(maps_args)
	$(bitstream_args)
	$(call hls_need_tool,$(VIVADO),Vivado)
	@$(MAKE) --no-print-directory $(DEMO_STAMP)
	$(hls_bundle)
ifeq ($(IMPL),rtl)
	@gen=$(abspath $(RTL_IP_DIR)) && \
	  $(VPY) -m syna_hw.rtl_core generate $(BUNDLE) --out $$gen $(if $(LANES),--lanes $(LANES)) --board $(BOARD) $(RTL_WEIGHTS) >/dev/null && \
	  mkdir -p $(OVERLAY_DIR) && cd $$gen && echo "vivado in $$gen (RTL twin)" && \
	  $(VIVADO) -mode batch -source $(CURDIR)/hls/scripts/syna_rtl_ip.tcl -tclargs $$gen $(BOARD) && \
	  $(VIVADO) -mode batch -source $(CURDIR)/hls/scripts/syna_bd.tcl -tclargs $$gen $(BOARD) $(abspath $(OVERLAY_DIR))
else
	@gen=$$($(VPY) -m syna_hw.hls_core gen --bundle $(BUNDLE) $(if $(LANES),--lanes $(LANES)) --board $(BOARD) $(HLS_WEIGHTS)) && \
	  if [ ! -d $$gen/syna_$(BOARD)/sol/impl/ip ]; then $(MAKE) --no-print-directory hls BOARD=$(BOARD) || exit $$?; fi && \
	  mkdir -p $(OVERLAY_DIR) && cd $$gen && \
	  $(VIVADO) -mode batch -source $(CURDIR)/hls/scripts/syna_bd.tcl -tclargs $$gen $(BOARD) $(abspath $(OVERLAY_DIR))
endif
