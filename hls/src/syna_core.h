// SynA spiking core for Vitis HLS 2023.x: the top function and its types.
// docs/hls-core.md describes the architecture; docs/numerics.md is the integer contract;
// docs/core-interface.md and syna_contract/protocol.py the ports, registers and stream formats.
// syna_model.h is generated per model by syna_hw/hls_core.py (never edited by hand).
#ifndef SYNA_CORE_H
#define SYNA_CORE_H

#include <ap_int.h>
#include <ap_axi_sdata.h>   // Vitis HLS; for g++ C-sim only, hls/csim_include/ provides a shim
#include <hls_stream.h>
#include <stdint.h>

#include "syna_model.h"

typedef ap_axiu<32, 0, 0, 0> axis_word;   // TDATA 32, TKEEP/TSTRB 4, TLAST
// Where the hardware width is a C width, the C type is used (the same hardware; Vitis treats
// uint32_t like ap_uint<32>), because g++ runs ap_int arithmetic much slower in the C-simulation.
typedef uint32_t word_t;                  // 32 spikes, or 32/lane input values (= ap_uint<32>)
// Exactly-B-bit signed storage: ap_int<B>, or the C type of that width where one exists.
template <int B> struct syna_int { typedef ap_int<B> type; };
template <> struct syna_int<8> { typedef int8_t type; };
template <> struct syna_int<16> { typedef int16_t type; };
template <> struct syna_int<32> { typedef int32_t type; };
typedef syna_int<32>::type acc_t;         // synaptic accumulator, 32 bits (proven not to overflow at export)
typedef syna_int<syna::MEM_BITS>::type mem_t;   // saturated current, membrane (M bits)
typedef int64_t wide_t;                   // attention pools and MLP sums (= ap_int<64>)
typedef uint64_t count_t;                 // cycle / saturation counters before the 32-bit clamp (= ap_uint<64>)

#ifdef SYNA_WEIGHTS_DDR
// A core generated with weights="ddr": the conv / fc weights come from the DDR weight image through
// the m_axi port `ddr` (one image row of P lanes per element, addressing the whole memory from 0) at the
// byte address in weights_base (the WEIGHTS_BASE register, 64 bits).
typedef ap_uint<SYNA_ROW_BITS> ddr_row_t;
#define SYNA_DDR_PORT , ap_uint<64> weights_base, const ddr_row_t* ddr
#else
#define SYNA_DDR_PORT
#endif
#ifdef SYNA_MAPS_DDR
// A core generated with maps="ddr" (requires weights="ddr"): the input and every spike map live in the DDR
// scratch buffer (docs/hls-core.md "Spike maps in DDR"), read and written through the m_axi pointer
// `scratch` (32-bit words, the same bundle gmem as `ddr`, addressing the whole memory from 0) at the byte
// address in scratch_base (the SCRATCH_BASE register, 64 bits).
#define SYNA_SCRATCH_PORT , ap_uint<64> scratch_base, word_t* scratch
#else
#define SYNA_SCRATCH_PORT
#endif

void syna_core(hls::stream<axis_word>& s_axis_in, hls::stream<axis_word>& m_axis_out,
               ap_uint<32> steps, ap_uint<32> idle_timeout, ap_uint<32>& status, ap_uint<32>& cycles,
               ap_uint<32>& saturations, ap_uint<32>& model_hash, ap_uint<32>& version SYNA_DDR_PORT
               SYNA_SCRATCH_PORT);

#ifndef __SYNTHESIS__
// C-simulation-only debug tap (compiled out for synthesis): when syna_debug is set, the core
// copies every layer's spike map ([T][C][H][W] bytes at DBG_OFF[layer]), each layer's
// saturations and modelled cycles out after computing it. Used by the testbench and the
// Python binding to check every spike against the golden vectors / the numpy reference.
struct SynaDebug {
    uint8_t* spikes;        // DBG_TOTAL bytes, or 0
    int64_t* layer_sats;    // N_LAYERS, or 0
    int64_t* layer_cycles;  // N_LAYERS + 2 (fc, output), or 0
};
extern SynaDebug* syna_debug;
#ifdef SYNA_WEIGHTS_DDR
// C-simulation model of the DDR the m_axi port reads: how many rows exist (the host's buffer, set by the
// caller) and at which row address (its byte address / ROW_BYTES), the bytes the core read, and tile
// loads that would have left those rows (counted, not performed).
struct SynaDdrModel {
    int64_t rows;
    int64_t at_row;
    int64_t bytes_read;
    int64_t out_of_range;
};
extern SynaDdrModel syna_ddr_model;
#endif
#ifdef SYNA_MAPS_DDR
// C-simulation model of the scratch buffer behind `scratch`: the host's buffer of `words` 32-bit words at
// word address at_word (byte address / 4). Every access must fall inside it AND inside the window the
// SCRATCH_BASE register gives the core, [SCRATCH_BASE, SCRATCH_BASE + SCRATCH_BYTES): one that does not is
// not performed (a read gives 0) and counted in out_of_range (the Python binding raises on it). The bytes
// the core read and wrote are counted.
struct SynaScratchModel {
    int64_t words;
    int64_t at_word;
    int64_t bytes_read;
    int64_t bytes_written;
    int64_t out_of_range;
};
extern SynaScratchModel syna_scratch_model;
#endif
#endif

#endif
