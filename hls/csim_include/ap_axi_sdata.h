// C-SIMULATION-ONLY SHIM of Vitis HLS's <ap_axi_sdata.h> (the hls4ml wheel ships ap_int.h and
// hls_stream.h but not this header). It is on the include path of the g++ builds only
// (syna_hw/hls_core.py, hls/hls.mk); the Vitis HLS Tcl flow (hls/scripts/syna_hls.tcl)
// never adds this directory, so Vitis uses its own header. Only the fields the core uses
// (data, keep, strb, last) are modelled; Vitis 2023.x omits user/id/dest when their width is 0.
#ifndef SYNA_CSIM_AP_AXI_SDATA_H
#define SYNA_CSIM_AP_AXI_SDATA_H

#ifdef __SYNTHESIS__
#error "hls/csim_include/ap_axi_sdata.h is a C-simulation shim; Vitis HLS must use its own ap_axi_sdata.h"
#endif

#include <ap_int.h>

template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
    ap_axiu() : data(0), keep(0), strb(0), last(0) {}
};

template <int D, int U, int TI, int TD>
struct ap_axis {
    ap_int<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
    ap_axis() : data(0), keep(0), strb(0), last(0) {}
};

#endif
