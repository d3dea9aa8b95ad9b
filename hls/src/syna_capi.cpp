// C-SIMULATION-ONLY C API around the top function, for syna_hw/hls_core.py (ctypes).
// Not a synthesis source: hls/scripts/syna_hls.tcl adds only syna_core.cpp to the Vitis project.
#ifdef __SYNTHESIS__
#error "syna_capi.cpp is the C-sim binding, not a synthesis source"
#endif
#include <string.h>
#include <vector>

#include "syna_core.h"

using namespace syna;

extern "C" {

// Model constants as the compiled core sees them: T, C, H, W, input bits, classes, spiking
// layers, input words, output words, debug bytes, lanes, MODEL_HASH32, interface version.
int syna_info(int64_t* out, int n) {
    const int64_t v[13] = {T, IN_C, IN_H, IN_W, IN_BITS, CLASSES, N_LAYERS, IN_WORDS, OUT_WORDS,
                           DBG_TOTAL, LANES, (int64_t)MODEL_HASH32, INTERFACE_VERSION};
    for (int i = 0; i < n && i < 13; ++i) out[i] = v[i];
    return 13;
}

#ifdef SYNA_WEIGHTS_DDR
// The DDR the core's m_axi port reads, C-sim model: the image's bytes as rows of the port's type.
static std::vector<ddr_row_t> csim_ddr;

// DDR mode: the model's DDR constants (row bytes, weight-buffer rows, image bytes, the DDR bytes the
// tiling reads per inference, lanes, weight lane bits).
int syna_ddr_info(int64_t* out, int n) {
    const int64_t v[6] = {ROW_BYTES, WBUF_ROWS, DDR_IMAGE_BYTES, DDR_BYTES_PER_INFERENCE, LANES, W_LANE_BITS};
    for (int i = 0; i < n && i < 6; ++i) out[i] = v[i];
    return 6;
}

// The WEIGHTS_BASE register (what the host writes at 0x48 / 0x4C), read by the next inference.
static uint64_t csim_weights_base = 0;
void syna_set_weights_base(uint64_t base) { csim_weights_base = base; }

// Load `n` bytes (a DDR image, or whatever the host's buffer holds; little-endian rows of ROW_BYTES) as
// the memory behind the m_axi port, at byte address `at`; nothing else exists in the C-sim memory.
// Returns the rows loaded, or -1 when the size is not a whole number of rows or `at` not a row address.
int64_t syna_set_ddr(const uint8_t* bytes, int64_t n, uint64_t at) {
    if (n < 0 || n % ROW_BYTES || at % ROW_BYTES) return -1;
    const int64_t rows = n / ROW_BYTES;
    csim_ddr.assign((size_t)(rows > 0 ? rows : 1), ddr_row_t(0));
    for (int64_t r = 0; r < rows; ++r) {
        ddr_row_t w = 0;
        for (int b = ROW_BYTES - 1; b >= 0; --b) {
            w <<= 8;
            w.range(7, 0) = bytes[r * ROW_BYTES + b];
        }
        csim_ddr[(size_t)r] = w;
    }
    syna_ddr_model.rows = rows;
    syna_ddr_model.at_row = (int64_t)(at / ROW_BYTES);
    syna_ddr_model.bytes_read = 0;
    syna_ddr_model.out_of_range = 0;
    return rows;
}

// The C-sim DDR counters since the last call: [0] bytes read, [1] reads outside the image (not performed).
void syna_ddr_stats(int64_t* out) {
    out[0] = syna_ddr_model.bytes_read;
    out[1] = syna_ddr_model.out_of_range;
    syna_ddr_model.bytes_read = 0;
    syna_ddr_model.out_of_range = 0;
}
#define CSIM_DDR_ARG , csim_weights_base, csim_ddr.data()
#else
#define CSIM_DDR_ARG
#endif

#ifdef SYNA_MAPS_DDR
// Maps in DDR: the scratch buffer is the caller's memory (the host's buffer: a numpy array the binding
// keeps alive), used in place, so the caller reads the maps back after a run.
static word_t* csim_scratch = 0;
static uint64_t csim_scratch_base = 0;

// The model's scratch constants: scratch bytes, accumulator rows, the INPUT region's word offset, the bytes
// one inference reads and writes.
int syna_scratch_info(int64_t* out, int n) {
    const int64_t v[5] = {SCRATCH_BYTES, ACC_ROWS, IN_OFF, SCRATCH_READ_PER_INFERENCE, SCRATCH_WRITTEN_PER_INFERENCE};
    for (int i = 0; i < n && i < 5; ++i) out[i] = v[i];
    return 5;
}

// The SCRATCH_BASE register (0x50 / 0x54), read by the next inference.
void syna_set_scratch_base(uint64_t base) { csim_scratch_base = base; }

// The memory behind the `scratch` port: `words` 32-bit words at `mem`, at byte address `at` (a multiple of 4);
// nothing else exists there. Resets the counters. Returns 0, or -1 when `at` is not a word address.
int syna_set_scratch(word_t* mem, int64_t words, uint64_t at) {
    if (at % 4 || words < 0) return -1;
    csim_scratch = mem;
    syna_scratch_model.words = words;
    syna_scratch_model.at_word = (int64_t)(at / 4);
    syna_scratch_model.bytes_read = syna_scratch_model.bytes_written = syna_scratch_model.out_of_range = 0;
    return 0;
}

// The C-sim scratch counters since the last call: [0] bytes read, [1] bytes written, [2] accesses outside the
// buffer or the SCRATCH_BASE window (not performed).
void syna_scratch_stats(int64_t* out) {
    out[0] = syna_scratch_model.bytes_read;
    out[1] = syna_scratch_model.bytes_written;
    out[2] = syna_scratch_model.out_of_range;
    syna_scratch_model.bytes_read = syna_scratch_model.bytes_written = syna_scratch_model.out_of_range = 0;
}
#define CSIM_SCRATCH_ARG , csim_scratch_base, csim_scratch
#else
#define CSIM_SCRATCH_ARG
#endif

static int run_one(const uint32_t* in, int n_in, int tlast_at, uint32_t steps, uint32_t idle_timeout,
                   uint32_t* out, int cap, int64_t* regs) {
    hls::stream<axis_word> sin("s_axis_in"), sout("m_axis_out");
    for (int i = 0; i < n_in; ++i) {
        axis_word a;
        a.data = in[i];
        a.keep = -1;
        a.strb = -1;
        a.last = (i == tlast_at);
        sin.write(a);
    }
    ap_uint<32> status, cycles, sats, hash, version;
    syna_core(sin, sout, steps, idle_timeout, status, cycles, sats, hash, version CSIM_DDR_ARG CSIM_SCRATCH_ARG);
    int got = 0, tlast_ok = 1;
    while (!sout.empty()) {
        axis_word o = sout.read();
        if (got < cap) out[got] = (uint32_t)o.data;
        const bool is_last = sout.empty();
        if ((bool)o.last != is_last) tlast_ok = 0;
        ++got;
    }
    if (got == 0) tlast_ok = 0;
    int left = 0;
    while (!sin.empty()) { sin.read(); ++left; }
    if (regs) {
        regs[0] = (uint32_t)status; regs[1] = (uint32_t)cycles; regs[2] = (uint32_t)sats;
        regs[3] = (uint32_t)hash; regs[4] = (uint32_t)version; regs[5] = tlast_ok; regs[6] = left;
        regs[7] = got;
    }
    return got < cap ? got : cap;
}

// One inference at stream level: TLAST on word `tlast_at` (-1: none), STEPS = steps, IDLE_TIMEOUT =
// idle_timeout (0: the default). The words are all in the stream when the core starts; after the last
// one the stream stays empty, as if the sender had stopped.
int syna_transfer(const uint32_t* in, int n_in, int tlast_at, uint32_t steps, uint32_t idle_timeout, uint32_t* out,
                  int cap, int64_t* regs) {
    return run_one(in, n_in, tlast_at, steps, idle_timeout, out, cap, regs);
}

// N well-formed inferences; per sample the output packet, and through the debug tap (any may be
// NULL) every layer's spikes [DBG_TOTAL], per-layer saturations [N_LAYERS] and cycles [N_LAYERS + 2].
// Returns 0, or the index + 1 of the first sample whose packet had TLAST misplaced.
int syna_run_batch(const uint32_t* in, int n, uint32_t* out, uint8_t* spikes, int64_t* sats, int64_t* lcyc) {
    SynaDebug dbg;
    int64_t regs[8];
    for (int i = 0; i < n; ++i) {
        dbg.spikes = spikes ? spikes + (size_t)i * DBG_TOTAL : 0;
        dbg.layer_sats = sats ? sats + (size_t)i * N_LAYERS : 0;
        dbg.layer_cycles = lcyc ? lcyc + (size_t)i * (N_LAYERS + 2) : 0;
        if (dbg.layer_sats) memset(dbg.layer_sats, 0, sizeof(int64_t) * N_LAYERS);
        syna_debug = (spikes || sats || lcyc) ? &dbg : 0;
        run_one(in + (size_t)i * IN_WORDS, IN_WORDS, IN_WORDS - 1, T, 0, out + (size_t)i * OUT_WORDS, OUT_WORDS, regs);
        syna_debug = 0;
        if (!regs[5] || regs[7] != OUT_WORDS) return i + 1;
    }
    return 0;
}

}  // extern "C"
