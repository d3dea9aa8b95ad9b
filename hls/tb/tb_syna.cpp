// C-simulation testbench (g++ `make csim`, and Vitis HLS csim_design): runs the core on the
// bundle's golden vectors and checks every layer's spikes at every time step (through the
// C-sim debug tap), the output packet (scores, per-layer spike counts, TLAST on its last word),
// the registers and the per-layer saturation totals. Prints one verdict line; exits non-zero
// at the first mismatch, naming layer, sample, step and neuron.
//
// golden.bin (written by syna_hw/hls_core.py:write_golden_bin from golden.npz), little-endian:
//   u32 magic 0x31444C47 ("GLD1"), u32 K samples, u32 layers, u32 words per sample, u32 classes
//   K x { u32 input words[words]; i32 scores[classes]; per layer u8 spikes[T*C*H*W] }
//   i64 saturations[layers] (totals over the K samples)
//
// A core generated with weights="ddr" takes the bundle's DDR weight image (weights.ddr.bin) as its
// second argument: its bytes become the memory behind the m_axi port, and the bytes the core reads
// must be K x DDR_BYTES_PER_INFERENCE (the tiling's prediction, docs/hls-core.md).
//
// A core generated with maps="ddr" gets a scratch buffer of SCRATCH_BYTES at byte address SCRATCH_TB_BASE
// (SCRATCH_BASE = that): every layer's spikes are checked as the core left them there (the debug tap reads
// the scratch), and the scratch bytes read / written must be K x SCRATCH_READ_PER_INFERENCE / _WRITTEN_,
// with no access outside the buffer.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include "syna_core.h"

using namespace syna;

static int fail(const char* msg) {
    printf("HLS C-sim: FAIL: %s\n", msg);
    return 1;
}

#ifdef SYNA_WEIGHTS_DDR
// The DDR image file as rows of the m_axi port (little-endian), after checking its header (docs/bundle-format.md).
static const char* load_ddr(const char* path, std::vector<ddr_row_t>& mem) {
    FILE* f = path ? fopen(path, "rb") : 0;
    if (!f) return "cannot open the DDR weight image (second argument: the bundle's weights.ddr.bin)";
    std::vector<uint8_t> b;
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + n);
    fclose(f);
    uint32_t lanes = 0;
    if (b.size() >= 20) memcpy(&lanes, &b[16], 4);
    if (b.size() < 128 || memcmp(&b[0], "SYNADDR", 8) != 0) return "the DDR image has no SYNADDR header";
    if ((int)lanes != LANES) return "the DDR image is laid out for another lane count P";
    if ((long long)b.size() != DDR_IMAGE_BYTES) return "the DDR image's size is not the one the core was generated for";
    mem.assign(b.size() / ROW_BYTES, ddr_row_t(0));
    for (size_t r = 0; r < mem.size(); ++r) {
        ddr_row_t w = 0;
        for (int k = ROW_BYTES - 1; k >= 0; --k) {
            w <<= 8;
            w.range(7, 0) = b[r * ROW_BYTES + k];
        }
        mem[r] = w;
    }
    syna_ddr_model.rows = (int64_t)mem.size();
    syna_ddr_model.at_row = 0;                  // the image at byte address 0: WEIGHTS_BASE = 0 below
    syna_ddr_model.bytes_read = 0;
    syna_ddr_model.out_of_range = 0;
    return 0;
}
#define TB_DDR , (ap_uint<64>)0, ddr.data()
#else
#define TB_DDR
#endif
#ifdef SYNA_MAPS_DDR
// the scratch array: byte addresses 0 .. SCRATCH_TB_BASE + SCRATCH_BYTES - 1 (cosim: SYNA_SCRATCH_DEPTH words)
static std::vector<word_t> tb_scratch(SYNA_SCRATCH_DEPTH, 0u);
#define TB_SCRATCH , (ap_uint<64>)SCRATCH_TB_BASE, tb_scratch.data()
#else
#define TB_SCRATCH
#endif

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "golden.bin";
    char msg[512];
#ifdef SYNA_WEIGHTS_DDR
    std::vector<ddr_row_t> ddr;
    if (const char* err = load_ddr(argc > 2 ? argv[2] : 0, ddr)) return fail(err);
#endif
#ifdef SYNA_MAPS_DDR
    syna_scratch_model.words = (int64_t)tb_scratch.size();
    syna_scratch_model.at_word = 0;
    syna_scratch_model.bytes_read = syna_scratch_model.bytes_written = syna_scratch_model.out_of_range = 0;
#endif
    FILE* f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open %s", path);
        return fail(msg);
    }
    uint32_t hdr[5];
    if (fread(hdr, 4, 5, f) != 5 || hdr[0] != 0x31444C47u) return fail("golden.bin: bad header");
    const int K = hdr[1], NL = hdr[2], WPS = hdr[3], NC = hdr[4];
    if (NL != N_LAYERS || WPS != IN_WORDS || NC != CLASSES) {
        snprintf(msg, sizeof msg, "golden.bin has %d layers, %d words, %d classes; the core %d, %d, %d "
                 "(generated for another bundle?)", NL, WPS, NC, N_LAYERS, IN_WORDS, CLASSES);
        return fail(msg);
    }
    std::vector<uint32_t> words(WPS);
    std::vector<int32_t> scores(NC);
    std::vector<uint8_t> gold(DBG_TOTAL), got(DBG_TOTAL);
    std::vector<int64_t> sats(N_LAYERS, 0), lsat(N_LAYERS), lcyc(N_LAYERS + 2);
    SynaDebug dbg = {got.data(), lsat.data(), lcyc.data()};
    uint64_t cycles_total = 0;
    for (int s = 0; s < K; ++s) {
        if (fread(words.data(), 4, WPS, f) != (size_t)WPS || fread(scores.data(), 4, NC, f) != (size_t)NC ||
            fread(gold.data(), 1, DBG_TOTAL, f) != (size_t)DBG_TOTAL)
            return fail("golden.bin: truncated");
        hls::stream<axis_word> in("s_axis_in"), out("m_axis_out");
        for (int i = 0; i < WPS; ++i) {
            axis_word a;
            a.data = words[i];
            a.keep = -1;
            a.strb = -1;
            a.last = (i == WPS - 1);
            in.write(a);
        }
        ap_uint<32> status, cycles, saturations, hash, version;
        syna_debug = &dbg;
        syna_core(in, out, T, 0, status, cycles, saturations, hash, version TB_DDR TB_SCRATCH);
        syna_debug = 0;
        if ((uint32_t)hash != MODEL_HASH32 || (int)version != INTERFACE_VERSION) return fail("MODEL_HASH / VERSION registers");
        if ((uint32_t)status & STATUS_ERRORS) {
            snprintf(msg, sizeof msg, "sample %d: status 0x%x on a well-formed frame", s, (unsigned)status);
            return fail(msg);
        }
        if (!in.empty()) return fail("the core left input words unread");
        // every layer's spikes at every step
        for (int l = 0; l < N_LAYERS; ++l) {
            const Layer& L = LAYERS[l];
            const uint8_t* g = gold.data() + DBG_OFF[l];
            const uint8_t* h = got.data() + DBG_OFF[l];
            const int n = DBG_OFF[l + 1] - DBG_OFF[l];
            for (int i = 0; i < n; ++i) {
                if (g[i] != h[i]) {
                    const int hw = L.hout * L.wout, chw = L.cout * hw;
                    snprintf(msg, sizeof msg, "layer %s, sample %d, step %d, neuron (c=%d, y=%d, x=%d): core %d, golden %d",
                             LAYER_NAMES[l], s, i / chw, (i % chw) / hw, (i % hw) / L.wout, i % L.wout, h[i], g[i]);
                    return fail(msg);
                }
            }
            sats[l] += lsat[l];
        }
        // the output packet
        std::vector<uint32_t> pkt;
        bool tlast_ok = true;
        while (!out.empty()) {
            axis_word o = out.read();
            pkt.push_back((uint32_t)o.data);
            if ((bool)o.last != out.empty()) tlast_ok = false;
        }
        if ((int)pkt.size() != OUT_WORDS || !tlast_ok) {
            snprintf(msg, sizeof msg, "sample %d: output packet of %d words (expected %d), TLAST %s", s,
                     (int)pkt.size(), OUT_WORDS, tlast_ok ? "ok" : "misplaced");
            return fail(msg);
        }
        for (int k = 0; k < NC; ++k) {
            if ((int32_t)pkt[k] != scores[k]) {
                snprintf(msg, sizeof msg, "sample %d, score of class %d: core %d, golden %d", s, k, (int32_t)pkt[k], scores[k]);
                return fail(msg);
            }
        }
        for (int l = 0; l < N_LAYERS; ++l) {
            uint32_t cnt = 0;
            for (int i = DBG_OFF[l]; i < DBG_OFF[l + 1]; ++i) cnt += gold[i];
            if (pkt[NC + l] != cnt) {
                snprintf(msg, sizeof msg, "sample %d, layer %s: spike count %u in the packet, golden %u", s,
                         LAYER_NAMES[l], pkt[NC + l], cnt);
                return fail(msg);
            }
        }
        if (pkt[NC + N_LAYERS] != (uint32_t)cycles || pkt[NC + N_LAYERS + 1] != (uint32_t)saturations ||
            pkt[NC + N_LAYERS + 2] != (uint32_t)status)
            return fail("packet tail differs from the CYCLES / SATURATIONS / STATUS registers");
        cycles_total += (uint32_t)cycles;
    }
    std::vector<int64_t> gsat(N_LAYERS);
    if (fread(gsat.data(), 8, N_LAYERS, f) != (size_t)N_LAYERS) return fail("golden.bin: no saturation totals");
    fclose(f);
    for (int l = 0; l < N_LAYERS; ++l) {
        if (gsat[l] != sats[l]) {
            snprintf(msg, sizeof msg, "layer %s: %lld saturations over %d samples, golden %lld", LAYER_NAMES[l],
                     (long long)sats[l], K, (long long)gsat[l]);
            return fail(msg);
        }
    }
#ifdef SYNA_WEIGHTS_DDR
    if (syna_ddr_model.out_of_range || syna_ddr_model.bytes_read != (int64_t)K * DDR_BYTES_PER_INFERENCE) {
        snprintf(msg, sizeof msg, "the core read %lld DDR bytes (%lld tiles outside the image); the tiling predicts "
                 "%d x %lld", (long long)syna_ddr_model.bytes_read, (long long)syna_ddr_model.out_of_range, K,
                 DDR_BYTES_PER_INFERENCE);
        return fail(msg);
    }
    printf("HLS C-sim: weights from DDR: %lld bytes read per inference (buffer %d rows of P lanes)\n",
           DDR_BYTES_PER_INFERENCE, WBUF_ROWS);
#endif
#ifdef SYNA_MAPS_DDR
    if (syna_scratch_model.out_of_range || syna_scratch_model.bytes_read != (int64_t)K * SCRATCH_READ_PER_INFERENCE ||
        syna_scratch_model.bytes_written != (int64_t)K * SCRATCH_WRITTEN_PER_INFERENCE) {
        snprintf(msg, sizeof msg, "scratch: %lld bytes read, %lld written, %lld accesses outside the buffer; the "
                 "plan predicts %d x (%lld, %lld)", (long long)syna_scratch_model.bytes_read,
                 (long long)syna_scratch_model.bytes_written, (long long)syna_scratch_model.out_of_range, K,
                 SCRATCH_READ_PER_INFERENCE, SCRATCH_WRITTEN_PER_INFERENCE);
        return fail(msg);
    }
    printf("HLS C-sim: spike maps in DDR: %lld scratch bytes, %lld read and %lld written per inference "
           "(accumulators %d rows of P lanes)\n", SCRATCH_BYTES, SCRATCH_READ_PER_INFERENCE,
           SCRATCH_WRITTEN_PER_INFERENCE, ACC_ROWS);
#endif
    printf("HLS C-sim: PASS: %d samples x %d layers x T=%d, every spike, score, count and saturation equal to "
           "golden.npz (P=%d lanes, mean %.0f modelled cycles/inference, model %08x)\n",
           K, N_LAYERS, T, LANES, K ? (double)cycles_total / K : 0.0, MODEL_HASH32);
    return 0;
}
