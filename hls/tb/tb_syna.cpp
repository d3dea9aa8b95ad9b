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

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "golden.bin";
    FILE* f = fopen(path, "rb");
    char msg[512];
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
        syna_core(in, out, T, 0, status, cycles, saturations, hash, version);
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
    printf("HLS C-sim: PASS: %d samples x %d layers x T=%d, every spike, score, count and saturation equal to "
           "golden.npz (P=%d lanes, mean %.0f modelled cycles/inference, model %08x)\n",
           K, N_LAYERS, T, LANES, K ? (double)cycles_total / K : 0.0, MODEL_HASH32);
    return 0;
}
