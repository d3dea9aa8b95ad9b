// SynA spiking core: one table-driven, event-driven engine for every layer of a bundle.
//
// Schedule: layer-major (docs/hls-core.md). The encoder (first conv, the only multiply layer)
// runs while the T input frames stream in; every later layer runs over all T steps before
// the next one starts, reading and writing bit-packed spike maps in on-chip buffers -- or, generated with
// maps="ddr" (SYNA_MAPS_DDR), in a DDR scratch buffer, the input received there first and every conv layer
// run in weight tiles x output-row bands (docs/hls-core.md "Spike maps in DDR").
// A conv step is event-driven: for each input position holding spikes, for each kernel
// offset that reaches an output, for each group of P output channels, add one weight row
// (P lanes) per spike to the output currents (accumulate only). Then one pass over the
// output neurons saturates the currents, runs the integer LIF and packs the spikes.
//
// Cycle counter: `cyc` counts the modelled schedule, the trip counts of the pipelined loops
// at II = 1 (one count per loop iteration below that says `cyc`), nothing else; pipeline
// fill/drain is not included. syna_hw/hls_core.py:cycle_model() is the same sum in numpy.
#include "syna_core.h"

using namespace syna;

// Pragmas whose values come from the generated header (syna_contract/protocol.py, lanes).
#define SYNA_PRAGMA_SUB(x) _Pragma(#x)
#define SYNA_PRAGMA(x) SYNA_PRAGMA_SUB(x)

#ifndef __SYNTHESIS__
SynaDebug* syna_debug = 0;
#endif

enum { MODE_PLAIN = 0, MODE_POOL = 1, MODE_GATED = 2 };

// ---------------------------------------------------------------------------- weights
// ROM mode (the default): W_CONV / W_FC are the generated header's ROMs, every layer's rows stacked.
// DDR mode (SYNA_WEIGHTS_DDR): they name WBUF, the on-chip weight buffer of WBUF_ROWS rows, which holds
// one output-channel tile (tile_g lane groups) of one layer in the ROM's row order [r][g]. Before a
// tile's event phase, load_tile bursts its rows from the DDR image; the datapath below is the same.
// A layer of G lane groups runs in tiles of tile_g groups (ROM mode: one tile of G), each re-scanning
// the layer's input events; the Layer a tile runs with has g = the tile's groups, its bias / threshold
// rows, and w_row 0 (DDR) -- its output channels start at lane group g0.
#ifdef SYNA_WEIGHTS_DDR
static wt_t WBUF[WBUF_ROWS][LANES];
static const int ROW_BITS_ = SYNA_ROW_BITS;
static const int ROW_WORDS64 = (SYNA_ROW_BITS + 63) / 64;
#define W_CONV WBUF
#define W_FC WBUF
#define SYNA_DDR_ARG , const ddr_row_t* ddr, uint64_t wrow
#define SYNA_DDR_PASS , ddr, wrow
#ifndef __SYNTHESIS__
SynaDdrModel syna_ddr_model = {0, 0, 0, 0};
// The C-sim's memory: syna_ddr_model.rows rows (the host's buffer) at row address at_row; a row outside
// them reads as 0 (a weights check then fails; a tile load outside them is refused in load_tile).
static inline ddr_row_t ddr_read(const ddr_row_t* ddr, uint64_t row) {
    const uint64_t at = (uint64_t)syna_ddr_model.at_row;
    return (row >= at && row - at < (uint64_t)syna_ddr_model.rows) ? ddr[row - at] : ddr_row_t(0);
}
#else
#define ddr_read(ddr, row) ((ddr)[row])
#endif

// The weights check, at every inference's start before the input is received (docs/core-interface.md,
// STATUS weights): WEIGHTS_BASE aligned to WEIGHTS_BASE_ALIGN (no read), the image inside the port's
// DDR_ADDR_BITS (no read), then the image's fixed header at WEIGHTS_BASE, DDR_CHECK_ROWS rows (one per
// cycle), byte for byte the header this core was generated for (model hash, lanes, total bytes...).
// The m_axi port gives no read response code: an SLVERR / DECERR read returns whatever data the
// interconnect drives, which the header comparison catches only at the header.
static bool weights_usable(const ddr_row_t* ddr, uint64_t base, count_t& cyc) {
    if (base % WEIGHTS_BASE_ALIGN != 0) return false;
    if (base > (1ULL << DDR_ADDR_BITS) - (uint64_t)DDR_IMAGE_BYTES) return false;
    const uint64_t row0 = base / ROW_BYTES;
    bool same = true;
#ifndef __SYNTHESIS__
    syna_ddr_model.bytes_read += (int64_t)DDR_CHECK_ROWS * ROW_BYTES;
#endif
WEIGHTS_CHECK:
    for (int r = 0; r < DDR_CHECK_ROWS; ++r) {
#pragma HLS PIPELINE II = 1
        const ddr_row_t w = ddr_read(ddr, row0 + r);
        for (int b = 0; b < ROW_BYTES; ++b) {
#pragma HLS UNROLL
            const int i = r * ROW_BYTES + b;
            if (i < DDR_HEADER_BYTES && (unsigned)w.range(8 * b + 7, 8 * b) != DDR_HEADER[i]) same = false;
        }
    }
    cyc += DDR_CHECK_ROWS;
    return same;
}

// Lane groups g0 .. g0+n-1 of one layer: blocks of d.blk image rows each, one contiguous range (one INCR
// transfer, split by the m_axi adapter into bursts of at most SYNA_DDR_MAX_BURST beats / 4 KiB), read
// in order; row r of group g0+j goes to WBUF[r * n + j]; the block's padding rows are read and dropped.
// One image row per cycle (the port is one row wide; cycles counted: n * blk). `wrow`: WEIGHTS_BASE in rows.
static void load_tile(const ddr_row_t* ddr, uint64_t wrow, const DdrW d, int g0, int n, count_t& cyc) {
    const int total = n * d.blk;
    const uint64_t base = wrow + (uint64_t)(d.off + g0 * d.blk);
#ifndef __SYNTHESIS__
    if (base < (uint64_t)syna_ddr_model.at_row ||
        base + total > (uint64_t)(syna_ddr_model.at_row + syna_ddr_model.rows)) {   // no such rows in the C-sim memory
        ++syna_ddr_model.out_of_range;
        return;
    }
    syna_ddr_model.bytes_read += (int64_t)total * ROW_BYTES;
#endif
    int r = 0, j = 0, dst = 0;
LOAD_TILE:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        const ddr_row_t w = ddr_read(ddr, base + i);
        // the row as 64-bit words (wires), then each lane: W_LANE_BITS bits at q * W_LANE_BITS, sign-extended
        uint64_t part[ROW_WORDS64 + 1];
#pragma HLS ARRAY_PARTITION variable = part type = complete
    LOAD_SPLIT:
        for (int k = 0; k < ROW_WORDS64; ++k) {
#pragma HLS UNROLL
            part[k] = (uint64_t)w.range(k * 64 + (ROW_BITS_ < (k + 1) * 64 ? ROW_BITS_ - k * 64 : 64) - 1, k * 64).to_uint64();
        }
        part[ROW_WORDS64] = 0;
        if (r < d.rows) {
        LOAD_LANES:
            for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
                const int b = q * W_LANE_BITS, lo = b & 63;
                uint64_t u = part[b >> 6] >> lo;
                if (lo + W_LANE_BITS > 64) u |= part[(b >> 6) + 1] << (64 - lo);
                const int64_t v = (int64_t)(u << (64 - W_LANE_BITS)) >> (64 - W_LANE_BITS);   // sign-extend
                WBUF[dst][q] = (wt_t)v;
            }
        }
        dst += n;
        if (++r == d.blk) { r = 0; dst = ++j; }
    }
    cyc += total;
}
#define LOAD_TILE(d, g0, n) load_tile(ddr, wrow, d, g0, n, cyc)
#define DDR_W_OF(l) DDR_W[l]
#define TILE_G(d, G) ((d).tile_g)
#define W_ROW_OF(L) 0
#define DDR_CHECK_CYCLES DDR_CHECK_ROWS
#else
#define DDR_CHECK_CYCLES 0
#define SYNA_DDR_ARG
#define SYNA_DDR_PASS
#define LOAD_TILE(d, g0, n) ((void)0)
#define DDR_W_OF(l) 0
#define TILE_G(d, G) (G)
#define W_ROW_OF(L) ((L).w_row)
#endif

// ---------------------------------------------------------------------------- spike maps
// On chip (the default): every map in one of the N_BUF liveness-shared buffers spk[b] (word i of a map at
// spk[b][i]). In DDR (SYNA_MAPS_DDR, docs/hls-core.md "Spike maps in DDR"): the input and every map in the
// scratch buffer, read and written one 32-bit word at a time through the m_axi pointer `scratch` (word i of
// a map at word address SCRATCH_BASE / 4 + the map's offset + i); the functions below take (pointer, word
// address) in both cases. A maps-in-DDR core keeps no map on chip.
#ifdef SYNA_MAPS_DDR
#ifndef __SYNTHESIS__
SynaScratchModel syna_scratch_model = {0, 0, 0, 0, 0};
static uint64_t scr_lo = 0, scr_hi = 0;           // this inference's window [SCRATCH_BASE, + SCRATCH_BYTES), words
// C-sim: word address a must be in the window and in the host's buffer; else counted, not performed.
static inline bool scr_ok(uint64_t a) {
    const uint64_t at = (uint64_t)syna_scratch_model.at_word;
    if (a < scr_lo || a >= scr_hi || a < at || a - at >= (uint64_t)syna_scratch_model.words) {
        ++syna_scratch_model.out_of_range;
        return false;
    }
    return true;
}
static inline word_t map_read(const word_t* m, uint64_t a) {
    if (!scr_ok(a)) return 0;
    syna_scratch_model.bytes_read += 4;
    return m[a - (uint64_t)syna_scratch_model.at_word];
}
static inline void map_write(word_t* m, uint64_t a, word_t v) {
    if (!scr_ok(a)) return;
    syna_scratch_model.bytes_written += 4;
    m[a - (uint64_t)syna_scratch_model.at_word] = v;
}
// the debug tap's view of the scratch (not the core's traffic: not counted)
static inline word_t map_peek(const word_t* m, uint64_t a) {
    const uint64_t at = (uint64_t)syna_scratch_model.at_word;
    return (a >= at && a - at < (uint64_t)syna_scratch_model.words) ? m[a - at] : 0u;
}
#else
#define map_read(m, a) ((m)[a])
#define map_write(m, a, v) ((m)[a] = (v))
#endif
// One scratch word per cycle: a loop iteration that moves a second word (the read of a read-modify-write,
// a merge's second input and its output, a pool's output) costs a cycle more than on chip.
#define MAP_EXTRA 1

// The scratch check at every inference's start (no access): SCRATCH_BASE not 0, a multiple of
// SCRATCH_BASE_ALIGN, and the buffer (SCRATCH_BYTES) inside the port's DDR_ADDR_BITS. Else STATUS_SCRATCH.
static bool scratch_usable(uint64_t base) {
    if (base == 0 || base % SCRATCH_BASE_ALIGN != 0) return false;
    if (base > (1ULL << DDR_ADDR_BITS) - (uint64_t)SCRATCH_BYTES) return false;
    return true;
}
#else
static inline word_t map_read(const word_t* m, uint64_t a) { return m[a]; }
static inline void map_write(word_t* m, uint64_t a, word_t v) { m[a] = v; }
#define map_peek(m, a) ((m)[a])
#define MAP_EXTRA 0
#endif

// The Layer one output-channel tile runs with: lane groups g0 .. g0 + min(tg, G - g0) - 1.
static inline Layer tile_of(const Layer L, int g0, int tg) {
    Layer t = L;
    t.g = L.g - g0 < tg ? L.g - g0 : tg;
    t.bt_row = L.bt_row + g0;
    t.w_row = W_ROW_OF(L);
    return t;
}

// ---------------------------------------------------------------------------- bit helpers
// Plain 32-bit logic (synthesisable: adder tree / 5-level priority encoder).
static inline int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int)((x * 0x01010101u) >> 24);
}

// x != 0: index of the lowest set bit (a 32-bit priority encoder). Vitis HLS synthesises the
// builtin (Xilinx's own ap_int_base.h calls it under __SYNTHESIS__); g++ makes it one instruction.
static inline int ctz32(uint32_t x) { return __builtin_ctz(x); }

// Lowest set bit over a position's channel words; clears it. (A CW_MAX x 32-bit priority encoder.)
static inline int pop_lowest(uint32_t bits[CW_MAX], int cw) {
    int idx = 0;
    bool found = false;
POP_WORDS:
    for (int w = 0; w < CW_MAX; ++w) {
#pragma HLS UNROLL
        if (!found && w < cw && bits[w] != 0) {
            idx = (w << 5) + ctz32(bits[w]);
            bits[w] &= bits[w] - 1;
            found = true;
        }
    }
    return idx;
}

// Kernel offsets that carry input coordinate `y` to an output: offsets k0, k0 + s, ... (n of
// them), reaching outputs o0, o0 - 1, ... (stride s = 2^ls, zero padding p).
struct Taps { int k0, n, o0; };

static inline Taps taps_for(int y, int k, int ls, int p, int out) {
    Taps t;
    int hi = (y + p) >> ls;
    if (hi > out - 1) hi = out - 1;
    const int a = y + p - k + 1;
    const int lo = a > 0 ? (a + (1 << ls) - 1) >> ls : 0;
    t.n = hi >= lo ? hi - lo + 1 : 0;
    t.o0 = hi;
    t.k0 = y + p - (hi << ls);
    return t;
}

// A band of output rows [y0, y0 + ny) (maps in DDR: a layer's output in bands of at most BAND_ROWS rows,
// so its currents / membranes fit ACC_ROWS; on chip: one band, every row). iy0 .. iy1 - 1: the input rows
// that reach it, the only ones scanned (syna_hw/spill.py SpillPlan.input_rows).
struct Band { int y0, ny, iy0, iy1; };

static inline Band band_of(const Layer L, int y0, int ny) {
    Band b;
    b.y0 = y0;
    b.ny = ny;
    const int lo = (y0 << L.ls) - L.p, hi = ((y0 + ny - 1) << L.ls) - L.p + L.k;
    b.iy0 = lo > 0 ? lo : 0;
    b.iy1 = hi < L.hin ? hi : L.hin;
    return b;
}

// taps_for clipped to the band's output rows; o0 relative to the band's first row.
static inline Taps taps_band(int y, int k, int ls, int p, const Band b) {
    Taps t;
    int hi = (y + p) >> ls;
    if (hi > b.y0 + b.ny - 1) hi = b.y0 + b.ny - 1;
    const int a = y + p - k + 1;
    int lo = a > 0 ? (a + (1 << ls) - 1) >> ls : 0;
    if (lo < b.y0) lo = b.y0;
    t.n = hi >= lo ? hi - lo + 1 : 0;
    t.o0 = hi - b.y0;
    t.k0 = y + p - (hi << ls);
    return t;
}

// h = (v + i) >> 1 needs M + 1 bits: a 32-bit integer unless M = 32
typedef syna_int<(MEM_BITS < 32 ? 32 : 64)>::type h_t;
static const int32_t MEM_MAX = (int32_t)((((int64_t)1) << (MEM_BITS - 1)) - 1);   // sat_M range
static const int32_t MEM_MIN = (int32_t)(-(((int64_t)1) << (MEM_BITS - 1)));

static inline wide_t sat32(wide_t x, count_t& sat) {
    const wide_t hi = 2147483647, lo = -2147483647 - 1;
    if (x > hi) { ++sat; return hi; }
    if (x < lo) { ++sat; return lo; }
    return x;
}

// ---------------------------------------------------------------------------- input stream
// docs/core-interface.md, "Input stream". `limit` is the idle timeout in cycles (REG_IDLE_TIMEOUT,
// 0 -> DEFAULT_IDLE_TIMEOUT): a sender that stops for that long ends the receive. One poll per cycle.
// C-sim: nothing writes the stream while the core runs, so an empty stream stays empty and the wait's
// outcome is known at once: its `limit` idle cycles are counted without polling (same status, cycles).

// The next input word; false when none arrived for `limit` consecutive cycles.
static bool read_word(hls::stream<axis_word>& in, axis_word& a, uint32_t limit, count_t& cyc) {
    uint32_t idle = 0;
#ifndef __SYNTHESIS__
    if (in.empty()) {
        cyc += limit;
        return false;
    }
#endif
READ_WAIT:
    while (true) {
#pragma HLS PIPELINE II = 1
        cyc += 1;                                      // one stream word (or one idle poll) per cycle
        if (in.read_nb(a)) return true;
        if (++idle >= limit) return false;
    }
}

// drain the input up to TLAST (after a frame without TLAST), or until it has been idle `limit` cycles
static void drain(hls::stream<axis_word>& in, uint32_t limit, count_t& cyc) {
    uint32_t idle = 0;
DRAIN:
    while (idle < limit) {
#pragma HLS PIPELINE II = 1
#ifndef __SYNTHESIS__
        if (in.empty()) {
            cyc += limit - idle;
            return;
        }
#endif
        axis_word a;
        cyc += 1;
        if (in.read_nb(a)) {
            if (a.last) return;
            idle = 0;
        } else {
            ++idle;
        }
    }
}

// The bits word w of a frame may have set: input.bits in each value lane, none in the unused lanes
// at the frame's end. Anything else is STATUS_INPUT_RANGE.
static inline uint32_t allowed_bits(int w) {
    uint32_t m = 0;
ALLOWED:
    for (int j = 0; j < VALS_PER_WORD; ++j) {
#pragma HLS UNROLL
        if (w * VALS_PER_WORD + j < IN_C * IN_H * IN_W) m |= VALUE_MASK << (j * LANE_BITS);
    }
    return m;
}

// Receive word w of frame t and check it. Returns the error bits; `stop` when the receive ends here:
// TLAST early or the idle timeout -> FRAME_SHORT; no TLAST on the last word -> FRAME_LONG (drained).
// Lanes out of range add INPUT_RANGE without stopping (the frame is read to its end; `d` holds the
// word with those lanes cleared, so what is computed from it is bounded -- and then discarded).
static uint32_t receive_word(hls::stream<axis_word>& in, int t, int w, uint32_t limit, word_t& d,
                             count_t& cyc, bool& stop) {
    axis_word a;
    if (!read_word(in, a, limit, cyc)) {              // the sender stopped
        stop = true;
        return STATUS_FRAME_SHORT;
    }
    const uint32_t allowed = allowed_bits(w);
    const uint32_t raw = (uint32_t)a.data;
    d = raw & allowed;
    uint32_t st = (raw & ~allowed) ? STATUS_INPUT_RANGE : 0u;
    const bool final_word = (t == T - 1) && (w == WORDS_PER_FRAME - 1);
    if (a.last && !final_word) {                       // TLAST early: frame short
        stop = true;
        st |= STATUS_FRAME_SHORT;
    } else if (final_word && !a.last) {                // no TLAST where expected: frame long
        drain(in, limit, cyc);
        stop = true;
        st |= STATUS_FRAME_LONG;
    }
    return st;
}

// STEPS != T: receive and check one inference's words as the encoder would, compute nothing.
static uint32_t receive_only(hls::stream<axis_word>& in, uint32_t limit, count_t& cyc) {
    uint32_t st = 0;
RECEIVE_ONLY:
    for (int i = 0; i < IN_WORDS; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        bool stop = false;
        word_t d;
        st |= receive_word(in, i / WORDS_PER_FRAME, i % WORDS_PER_FRAME, limit, d, cyc, stop);
        if (stop) break;
    }
    return st;
}

// ---------------------------------------------------------------------------- encoder
// The encoder's work on input word w (the lanes of values idx_lo .. idx_hi - 1 only): each nonzero input
// value v at (c, y, x) is an event: v x weight row, per valid offset (clipped to band b) and group.
static void encode_word(const Layer L, int w, word_t d, int idx_lo, int idx_hi, const Band b,
                        acc_t acc[ACC_ROWS][LANES], count_t& cyc) {
    const int KKG = L.k * L.k * L.g;
    // nonzero lanes of this word (values past the frame's end are 0 by the stream format)
    uint32_t mask = 0;
    int total = 0;
ENC_MASK:
    for (int j = 0; j < VALS_PER_WORD; ++j) {
#pragma HLS UNROLL
        const int idx = w * VALS_PER_WORD + j;
        const int v = (d >> (j * LANE_BITS)) & ((1u << LANE_BITS) - 1);   // lane j
        if (v != 0 && idx >= idx_lo && idx < idx_hi) {
            const int pos = idx % (IN_H * IN_W);
            const Taps ty = taps_band(pos / IN_W, L.k, L.ls, L.p, b);
            const Taps tx = taps_for(pos % IN_W, L.k, L.ls, L.p, L.wout);
            if (ty.n > 0 && tx.n > 0) {
                mask |= 1u << j;
                total += ty.n * tx.n * L.g;
            }
        }
    }
    // flattened (value, offset y, offset x, group) loop, one weight row per cycle
    int ay = 0, ax = 0, g = 0, v = 0, wbase = 0;
    Taps ty = {0, 0, 0}, tx = {0, 0, 0};
ENC_WORK:
    for (int it = 0; it < total; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
#pragma HLS DEPENDENCE variable = acc type = inter dependent = false
        if (ay == 0 && ax == 0 && g == 0) {         // next nonzero value of the word
            const int j = ctz32(mask);
            mask &= mask - 1;
            const int idx = w * VALS_PER_WORD + j;
            const int c = idx / (IN_H * IN_W), pos = idx % (IN_H * IN_W);
            v = (d >> (j * LANE_BITS)) & ((1u << LANE_BITS) - 1);
            ty = taps_band(pos / IN_W, L.k, L.ls, L.p, b);
            tx = taps_for(pos % IN_W, L.k, L.ls, L.p, L.wout);
            wbase = L.w_row + c * KKG;
        }
        const int ky = ty.k0 + (ay << L.ls), kx = tx.k0 + (ax << L.ls);
        const int row = wbase + (ky * L.k + kx) * L.g + g;
        const int o = ((ty.o0 - ay) * L.wout + (tx.o0 - ax)) * L.g + g;
    ENC_LANES:
        for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
            acc[o][q] += v * W_CONV[row][q];      // the only multiplies of the network
        }
        if (++g == L.g) {
            g = 0;
            if (++ax == tx.n) { ax = 0; ++ay; }
            if (ay == ty.n) ay = 0;
        }
    }
    cyc += total;
}

// One time step of the encoder conv, fused with reading that step's frame from the stream (maps on chip).
// Returns error bits (receive_word); `stop` is set when the receive ended (frame short or long).
static uint32_t encoder_step(hls::stream<axis_word>& in, const Layer L, int t, uint32_t limit,
                             acc_t acc[ACC_ROWS][LANES], count_t& cyc, bool& stop) {
    uint32_t err = 0;
    const Band all = band_of(L, 0, L.hout);
ENC_WORDS:
    for (int w = 0; w < WORDS_PER_FRAME; ++w) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
        word_t d;
        err |= receive_word(in, t, w, limit, d, cyc, stop);
        if (stop) return err;
        encode_word(L, w, d, 0, IN_C * IN_H * IN_W, all, acc, cyc);
    }
    return err;
}

#ifdef SYNA_MAPS_DDR
// Maps in DDR: the receive writes every input word (its lanes checked and masked as for the encoder) to
// the INPUT region, word t * WORDS_PER_FRAME + w at word address `in0` + that; one stream word and its
// write per cycle. Returns the error bits; after an error the words are not used.
static uint32_t receive_input(hls::stream<axis_word>& in, uint32_t limit, word_t* scratch, uint64_t in0,
                              count_t& cyc) {
    uint32_t st = 0;
RECEIVE_INPUT:
    for (int i = 0; i < IN_WORDS; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        bool stop = false;
        word_t d = 0;
        st |= receive_word(in, i / WORDS_PER_FRAME, i % WORDS_PER_FRAME, limit, d, cyc, stop);
        if (stop) break;
        map_write(scratch, in0 + i, d);
    }
    return st;
}

// One time step of the encoder on one band (maps in DDR): frame t from the INPUT region at word address
// `in0`, per input channel only the words holding its rows iy0 .. iy1 - 1 (one word read per cycle; a word
// shared by two channels is read for each, its other channel's lanes ignored).
static void encoder_band_step(const Layer L, const word_t* scratch, uint64_t in0, int t, const Band b,
                              acc_t acc[ACC_ROWS][LANES], count_t& cyc) {
ENC_CHANNELS:
    for (int c = 0; c < IN_C; ++c) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
        const int lo = (c * IN_H + b.iy0) * IN_W, hi = (c * IN_H + b.iy1) * IN_W;
        if (hi <= lo) continue;
    ENC_BAND_WORDS:
        for (int w = lo / VALS_PER_WORD; w <= (hi - 1) / VALS_PER_WORD; ++w) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
            const word_t d = map_read(scratch, in0 + (uint64_t)t * WORDS_PER_FRAME + w);
            cyc += 1;
            encode_word(L, w, d, lo, hi, b, acc, cyc);
        }
    }
}
#endif

// ---------------------------------------------------------------------------- spike conv
// The work of one input position holding n spikes (called by conv_step, inlined): a flattened
// (offset y, offset x, group, spike) loop, one weight row per cycle. The current row of P lanes is
// read once per (offset, group), gets its n weight rows added in the register r, and is written
// back once. The first (offset, group) pass pulls the spiking channels out of the words with a
// priority encoder and keeps their weight base rows for the other passes. The weight row and the
// current row are stepped by additions (tap, o), no multiplier in the loop:
//   next group:                    tap + 1,                 o + 1
//   next offset x (group wraps):   tap + s*G - (G - 1),     o - G - (G - 1)
//   next offset y (offset x wraps): from the start of the offset row, tap + s*K*G, o - Wout*G
// (A function of its own only for the g++ C-simulation: it vectorises r's P-lane loops far better.)
static void conv_work(const Layer L, const Taps ty, const Taps tx, const int n, uint32_t bits[CW_MAX],
                      acc_t acc[ACC_ROWS][LANES]) {
#pragma HLS INLINE
    const int KKG = L.k * L.k * L.g;
    int chl[CIN_MAX];                                     // weight base row of each spiking channel
    int32_t r[LANES];                                     // the current row being accumulated
#pragma HLS ARRAY_PARTITION variable = r type = complete
    const int work = ty.n * tx.n * L.g * n;
    const int dtap_x = (L.g << L.ls) - L.g + 1, do_x = 1 - 2 * L.g;
    const int dtap_y = (L.k * L.g) << L.ls, do_y = -L.wout * L.g;
    int tap_row = (ty.k0 * L.k + tx.k0) * L.g, o_row = (ty.o0 * L.wout + tx.o0) * L.g;
    int tap = tap_row, o = o_row;
    int ax = 0, g = 0, k = 0;
    bool first_pass = true;
CONV_WORK:
    for (int it = 0; it < work; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4608
#pragma HLS DEPENDENCE variable = acc type = inter dependent = false
        int wb;
        if (first_pass) {
            wb = L.w_row + pop_lowest(bits, L.cw_in) * KKG;
            chl[k] = wb;
        } else {
            wb = chl[k];
        }
        const int row = wb + tap;
        if (k == 0) {
        CONV_LOAD:
            for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
                r[q] = (int32_t)acc[o][q];
            }
        }
    CONV_LANES:
        for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
            r[q] += W_CONV[row][q];                       // accumulate only (cannot overflow: proven at export)
        }
        if (k == n - 1) {
        CONV_STORE:
            for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
                acc[o][q] = r[q];
            }
        }
        if (++k == n) {                                   // next group / offset x / offset y
            k = 0;
            first_pass = false;
            if (++g < L.g) {
                ++tap;
                ++o;
            } else {
                g = 0;
                if (++ax < tx.n) {
                    tap += dtap_x;
                    o += do_x;
                } else {
                    ax = 0;
                    tap_row += dtap_y;
                    o_row += do_y;
                    tap = tap_row;
                    o = o_row;
                }
            }
        }
    }
}

#ifdef SYNA_MAPS_DDR
// Maps in DDR: one input row of a spike map (Win x ceil(Cin/32) words), read from the scratch in one burst
// before its positions are scanned (ROW_WORDS: the longest row of any spike conv's input).
static word_t ROWBUF[ROW_WORDS];
#endif

// One time step of a conv on a spike map (word i of it at map[m0 + i]), for the output rows of band b:
// scan the band's input rows' positions (one word read per cycle); a position with n spikes runs
// conv_work (ty.n x tx.n x G x n cycles, taps clipped to the band). Maps in DDR: each scanned row is first
// read into ROWBUF, one sequential burst of Win x ceil(Cin/32) words (one per cycle), then scanned from there.
static void conv_step(const Layer L, const word_t* map, uint64_t m0, int t, const Band b,
                      acc_t acc[ACC_ROWS][LANES], count_t& cyc) {
    uint32_t bits[CW_MAX];
#pragma HLS ARRAY_PARTITION variable = bits type = complete
CONV_ROWS:
    for (int y = b.iy0; y < b.iy1; ++y) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
        const Taps ty = taps_band(y, L.k, L.ls, L.p, b);
        if (ty.n == 0) continue;                          // rows that reach no output are not scanned
#ifdef SYNA_MAPS_DDR
        const int row_words = L.win * L.cw_in;
        const uint64_t row0 = m0 + (uint64_t)(t * L.hin + y) * row_words;
    ROW_BURST:
        for (int i = 0; i < row_words; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 2048
            ROWBUF[i] = map_read(map, row0 + i);
        }
        cyc += row_words;
#endif
    CONV_COLS:
        for (int x = 0; x < L.win; ++x) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
            const Taps tx = taps_for(x, L.k, L.ls, L.p, L.wout);
            if (tx.n == 0) continue;
            const int base = ((t * L.hin + y) * L.win + x) * L.cw_in;
            int n = 0;
        CONV_SCAN:
            for (int w = 0; w < L.cw_in; ++w) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
#ifdef SYNA_MAPS_DDR
                bits[w] = (uint32_t)ROWBUF[x * L.cw_in + w];
#else
                bits[w] = (uint32_t)map_read(map, m0 + base + w);
#endif
                n += popcount32(bits[w]);
            }
            cyc += L.cw_in;
            if (n == 0) continue;
            conv_work(L, ty, tx, n, bits, acc);
            cyc += ty.n * tx.n * L.g * n;
        }
    }
}

// ---------------------------------------------------------------------------- neuron pass
struct Gate {
    const Att* a;        // attention of the layer (POOL, GATED)
    const int* gate;     // MA: g per step (dim T) or channel (dim C), 0..256
    const bool* q;       // IA: gate spike per step (dim T) or channel at this step (dim C)
    wide_t* psum;        // POOL: sums per step / channel
    mem_t* pmax;         // POOL: maxima
};

// One pass over the output neurons of step t: saturate the current (counted), [attention gate],
// integer LIF, pack the spikes into the map, reset the current to the bias for the next step.
// MODE_POOL (attention, first pass) only saturates (counted), pools and resets; MODE_GATED
// (attention, second pass) gates the recomputed current (its saturations were counted in pass 1).
// L is a tile's Layer (tile_of): its lane groups start at g0 of the layer; a spike word the previous
// tile began (P < 32, g0 * P not a multiple of 32) keeps that tile's low bits (read-modify-write).
// The neurons of band b's rows; the map's word i at map[m0 + i].
template <int MODE>
static void neuron_pass(const Layer L, int g0, int t, const Band b, acc_t acc[ACC_ROWS][LANES],
                        mem_t vmem[ACC_ROWS][LANES], word_t* map, uint64_t m0, const Gate& gt, count_t& sat,
                        count_t& spikes, count_t& cyc) {
    const int n = b.ny * L.wout * L.g;
    const int pos0 = b.y0 * L.wout;                     // the band's first position in the map
    int rmw = 0;                                        // read-modify-writes (maps in DDR: a cycle each)
    const int keep_word = (g0 * LANES) >> 5;
    const uint32_t keep = (g0 * LANES) & 31 ? (1u << ((g0 * LANES) & 31)) - 1u : 0u;
    int pos = 0, g = 0;
    uint32_t wreg = 0;
    const int dim = MODE == MODE_PLAIN ? 0 : gt.a->dim;
    const int akind = MODE == MODE_PLAIN ? 0 : gt.a->kind;
NEURONS:
    for (int it = 0; it < n; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        uint32_t fired = 0;
        int nsat = 0;
        int64_t lane_sum = 0;
        int32_t lane_max = 0;
        const int gg = g0 + g;                          // lane group in the layer
        const int valid_lanes = L.cout - gg * LANES;    // lanes past Cout are padding
    NEURON_LANES:
        for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
            const bool valid = q < valid_lanes;
            const int32_t a = (int32_t)acc[it][q];
            int32_t cur = a > MEM_MAX ? MEM_MAX : a < MEM_MIN ? MEM_MIN : a;       // sat_M
            if (MODE != MODE_GATED) nsat += (int)(valid & (cur != a));      // clamped
            acc[it][q] = BIAS[L.bt_row + g][q];
            if (MODE == MODE_POOL) {
                if (valid) {
                    const int c = gg * LANES + q;
                    if (dim == 0) {
                        lane_sum += cur;
                        if (q == 0 || cur > lane_max) lane_max = cur;
                    } else {
                        gt.psum[c] += cur;
                        if ((t == 0 && pos == 0) || cur > gt.pmax[c]) gt.pmax[c] = cur;
                    }
                }
            } else {
                if (MODE == MODE_GATED) {
                    const int idx = dim == 0 ? t : (valid ? gg * LANES + q : 0);
                    if (akind == 0) {                  // MA: i' = max(0, (i * g) >> 8)
                        const int64_t prod = ((int64_t)cur * gt.gate[idx]) >> GATE_FRAC_BITS;
                        cur = prod < 0 ? 0 : (int32_t)prod;
                    } else {                            // IA: i' = q * max(0, i)
                        cur = (gt.q[idx] && cur > 0) ? cur : 0;
                    }
                }
                // integer LIF: h = (v + i) >> 1 (M+1 bits, floor), fire h >= theta, hard reset
                const h_t h = ((h_t)vmem[it][q] + cur) >> 1;
                const bool fire = valid & (h >= THRESH[L.bt_row + g][q]);
                vmem[it][q] = fire ? (mem_t)0 : (mem_t)h;
                fired |= (uint32_t)fire << q;
            }
        }
        sat += nsat;
        if (MODE == MODE_POOL) {
            if (dim == 0) {
                if ((pos == 0 && gg == 0) || lane_max > gt.pmax[t]) gt.pmax[t] = lane_max;
                gt.psum[t] += lane_sum;
            }
        } else {
            const int off = (gg * LANES) & 31;
            wreg |= fired << off;
            if (off + LANES == 32 || g == L.g - 1) {
                const int word = (gg * LANES) >> 5;
                const uint64_t addr = m0 + (uint64_t)((t * L.hout * L.wout + pos0 + pos) * L.cw_out + word);
                word_t o = wreg;
                if (keep != 0 && word == keep_word) {   // the previous tile's lanes
                    o |= map_read(map, addr) & keep;
                    ++rmw;
                }
                map_write(map, addr, o);
                spikes += popcount32(wreg);
                wreg = 0;
            }
        }
        if (++g == L.g) { g = 0; ++pos; }
    }
    cyc += n + MAP_EXTRA * rmw;
}

// ---------------------------------------------------------------------------- attention MLP
// numerics.md section 6: pooled avg/max -> shared MLP -> MA sigmoid table or IA input.
static void attention_mlp(const Att& a, const wide_t* psum, const mem_t* pmax, int* gate, mem_t* ia_in,
                          count_t& sat, count_t& cyc) {
    wide_t avg[ATT_MAX], hid[HIDDEN_MAX];
AVG:
    for (int i = 0; i < a.size; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
        avg[i] = (psum[i] * (wide_t)a.avg_m) >> a.avg_sh;
    }
HIDDEN:
    for (int j = 0; j < a.hidden; ++j) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
        wide_t za = 0, zm = 0;
    HIDDEN_MAC:
        for (int i = 0; i < a.size; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
            const wide_t w = ATT_W1[a.w1 + j * a.size + i];
            za += avg[i] * w;
            zm += (wide_t)pmax[i] * w;
        }
        za = sat32(za, sat);
        zm = sat32(zm, sat);
        hid[j] = sat32((za > 0 ? za : (wide_t)0) + (zm > 0 ? zm : (wide_t)0), sat);
    }
OUT:
    for (int i = 0; i < a.size; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
        wide_t o = 0;
    OUT_MAC:
        for (int j = 0; j < a.hidden; ++j) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
            o += hid[j] * (wide_t)ATT_W2[a.w2 + i * a.hidden + j];
        }
        o = sat32(o, sat);
        const wide_t scaled = (o * (wide_t)a.out_m) >> a.out_sh;
        if (a.kind == 0) {
            wide_t k = scaled + SIG_HALF;
            if (k < 0) k = 0;
            if (k > 2 * SIG_HALF - 1) k = 2 * SIG_HALF - 1;
            gate[i] = SIGMOID[(int)k];
        } else {
            bool clamped;
            const wide_t hi = (((wide_t)1) << (MEM_BITS - 1)) - 1, lo = -(((wide_t)1) << (MEM_BITS - 1));
            clamped = scaled > hi || scaled < lo;
            ia_in[i] = (mem_t)(scaled > hi ? hi : scaled < lo ? lo : scaled);
            if (clamped) ++sat;
        }
    }
    // modelled as one MAC per cycle: 2 x hidden x size (w1 on avg and max) + size x hidden (w2),
    // plus one cycle per output for the gate / IA input
    cyc += 3 * a.hidden * a.size + a.size;
}

// integer LIF with theta = 256 on the IA input (numerics.md section 6.4)
static inline bool ia_lif(mem_t& v, mem_t in) {
    const int64_t h = ((int64_t)v + in) >> 1;         // M+1 bits, floor
    const bool fire = h >= IA_THETA;                  // theta = 256 may not fit M bits: never fires then
    v = fire ? (mem_t)0 : (mem_t)h;
    return fire;
}

// ---------------------------------------------------------------------------- layers
// The currents (bias) and membranes (0) of band b's rows, the tile's groups.
static void init_layer(const Layer L, const Band b, acc_t acc[ACC_ROWS][LANES], mem_t vmem[ACC_ROWS][LANES],
                       count_t& cyc) {
    const int n = b.ny * L.wout * L.g;
    int g = 0;
INIT:
    for (int it = 0; it < n; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
    INIT_LANES:
        for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
            acc[it][q] = BIAS[L.bt_row + g][q];
            vmem[it][q] = 0;
        }
        if (++g == L.g) g = 0;
    }
    cyc += n;
}

#ifdef SYNA_MAPS_DDR
// One conv layer with its maps in DDR (the encoder too), tile by tile, band by band (docs/hls-core.md
// "Spike maps in DDR"): per tile load its weights; per band of BAND_ROWS[l] output rows initialise the
// band's currents / membranes, then per step scan the band's input rows (the encoder: its frame in the
// INPUT region) and run the band's neurons, writing the tile's lanes of the band's output words. No
// attention (refused at generation). src0 / dst: word addresses of the input and output maps (encoder:
// the INPUT region).
static void conv_layer_spill(const int l, const Layer L, word_t* scratch, uint64_t src0, uint64_t dst,
                             acc_t acc[ACC_ROWS][LANES], mem_t vmem[ACC_ROWS][LANES], count_t& sat,
                             count_t& spikes, count_t& cyc SYNA_DDR_ARG) {
    const int tg = TILE_G(DDR_W_OF(l), L.g), br = BAND_ROWS[l];
    Gate gt = {0, 0, 0, 0, 0};
SPILL_TILES:
    for (int g0 = 0; g0 < L.g; g0 += tg) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
        const Layer Lt = tile_of(L, g0, tg);
        LOAD_TILE(DDR_W_OF(l), g0, Lt.g);
    SPILL_BANDS:
        for (int y0 = 0; y0 < L.hout; y0 += br) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
            const Band b = band_of(L, y0, L.hout - y0 < br ? L.hout - y0 : br);
            init_layer(Lt, b, acc, vmem, cyc);
        SPILL_STEPS:
            for (int t = 0; t < T; ++t) {
                if (L.kind == KIND_ENC)
                    encoder_band_step(Lt, scratch, src0, t, b, acc, cyc);
                else
                    conv_step(Lt, scratch, src0, t, b, acc, cyc);
                neuron_pass<MODE_PLAIN>(Lt, g0, t, b, acc, vmem, scratch, dst, gt, sat, spikes, cyc);
            }
        }
    }
}
#else
// One conv layer, tile by tile (ROM mode: one tile). Without attention each tile runs all T steps;
// with attention every tile runs pass 1 (pooling), the MLP makes the gate from all channels' pools, then
// every tile runs pass 2 (a layer of 2+ tiles reloads and re-initialises each tile for it).
static void conv_layer(const int l, const Layer L, word_t spk[N_BUF][BUF_WORDS], acc_t acc[ACC_ROWS][LANES],
                       mem_t vmem[ACC_ROWS][LANES], count_t& sat, count_t& spikes, count_t& cyc SYNA_DDR_ARG) {
    const int tg = TILE_G(DDR_W_OF(l), L.g);
    const bool tiled = tg < L.g;
    const Band all = band_of(L, 0, L.hout);
    Gate gt = {0, 0, 0, 0, 0};
    if (L.att < 0) {
    TILES:
        for (int g0 = 0; g0 < L.g; g0 += tg) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
            const Layer Lt = tile_of(L, g0, tg);
            LOAD_TILE(DDR_W_OF(l), g0, Lt.g);
            init_layer(Lt, all, acc, vmem, cyc);
        STEPS:
            for (int t = 0; t < T; ++t) {
                conv_step(Lt, spk[L.src0], 0, t, all, acc, cyc);
                neuron_pass<MODE_PLAIN>(Lt, g0, t, all, acc, vmem, spk[L.dst], 0, gt, sat, spikes, cyc);
            }
        }
        return;
    }
    // attention: pass 1 pools the saturated currents over all T, the MLP makes the gate,
    // pass 2 recomputes the currents and runs the gated LIF (no T x C x H x W current buffer)
    const Att& a = ATTS[L.att];
    wide_t psum[ATT_MAX];
    mem_t pmax[ATT_MAX];
    int gate[ATT_MAX];
    mem_t ia_in[ATT_MAX], ia_v[ATT_MAX];
    bool q[ATT_MAX];
    SYNA_PRAGMA(HLS ARRAY_PARTITION variable = psum type = cyclic factor = SYNA_LANES)
    SYNA_PRAGMA(HLS ARRAY_PARTITION variable = pmax type = cyclic factor = SYNA_LANES)
    SYNA_PRAGMA(HLS ARRAY_PARTITION variable = gate type = cyclic factor = SYNA_LANES)
    SYNA_PRAGMA(HLS ARRAY_PARTITION variable = q type = cyclic factor = SYNA_LANES)
POOL_RESET:
    for (int i = 0; i < ATT_MAX; ++i) {
        psum[i] = 0;
        pmax[i] = 0;
        ia_v[i] = 0;
        q[i] = false;
    }
    gt.a = &a;
    gt.psum = psum;
    gt.pmax = pmax;
PASS1_TILES:
    for (int g0 = 0; g0 < L.g; g0 += tg) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
        const Layer Lt = tile_of(L, g0, tg);
        LOAD_TILE(DDR_W_OF(l), g0, Lt.g);
        init_layer(Lt, all, acc, vmem, cyc);
    PASS1:
        for (int t = 0; t < T; ++t) {
            conv_step(Lt, spk[L.src0], 0, t, all, acc, cyc);
            neuron_pass<MODE_POOL>(Lt, g0, t, all, acc, vmem, spk[L.dst], 0, gt, sat, spikes, cyc);
        }
    }
    attention_mlp(a, psum, pmax, gate, ia_in, sat, cyc);
    bool qt[T];
    if (a.kind == 1 && a.dim == 0) {                  // IA over T: the gate spike train, once
    IA_T:
        for (int t = 0; t < T; ++t) qt[t] = ia_lif(ia_v[0], ia_in[t]);
        cyc += T;
    }
    gt.gate = gate;
    gt.q = (a.dim == 0) ? qt : q;
PASS2_TILES:
    for (int g0 = 0; g0 < L.g; g0 += tg) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
        const Layer Lt = tile_of(L, g0, tg);
        if (tiled) {                                   // one tile keeps its weights, currents (bias) and membranes (0)
            LOAD_TILE(DDR_W_OF(l), g0, Lt.g);
            init_layer(Lt, all, acc, vmem, cyc);
        }
        const int c_lo = g0 * LANES, c_hi = (g0 + Lt.g) * LANES < a.size ? (g0 + Lt.g) * LANES : a.size;
    PASS2:
        for (int t = 0; t < T; ++t) {
            conv_step(Lt, spk[L.src0], 0, t, all, acc, cyc);
            if (a.kind == 1 && a.dim == 1) {          // IA over C: the tile's channels' gate LIF, one step
            IA_C:
                for (int c = c_lo; c < c_hi; ++c) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
                    q[c] = ia_lif(ia_v[c], ia_in[c]);
                }
                cyc += Lt.g;                           // P lanes
            }
            neuron_pass<MODE_GATED>(Lt, g0, t, all, acc, vmem, spk[L.dst], 0, gt, sat, spikes, cyc);
        }
    }
}
#endif

// Word-wise merge of the maps at a0 (backbone) and a1 (shortcut) into the map at o (word addresses in the
// map memories m0, m1, mo: the spike buffers, or the scratch). Maps in DDR: 3 scratch words per word.
static void merge_layer(const Layer L, const word_t* m0, uint64_t a0, const word_t* m1, uint64_t a1,
                        word_t* mo, uint64_t o, count_t& spikes, count_t& cyc) {
    const int n = T * L.hout * L.wout * L.cw_out;
MERGE:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        const word_t m = map_read(m0, a0 + i), r = map_read(m1, a1 + i);   // backbone, shortcut
        const word_t v = L.op == OP_OR ? (word_t)(m | r) : L.op == OP_AND ? (word_t)(m & r) : (word_t)(r & ~m);
        map_write(mo, o + i, v);
        spikes += popcount32((uint32_t)v);
    }
    cyc += n * (1 + 2 * MAP_EXTRA);
}

// OR max-pool of the map at a0 into the map at o (as merge_layer). Maps in DDR: the write a cycle more.
static void pool_layer(const Layer L, const word_t* m0, uint64_t a0, word_t* mo, uint64_t ao, count_t& spikes,
                       count_t& cyc) {
    const int n = T * L.hout * L.wout * L.cw_out;
    int t = 0, oy = 0, ox = 0, w = 0;
POOL:
    for (int i = 0; i < n; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        word_t o = 0;
    POOL_WIN:
        for (int kk = 0; kk < L.k * L.k; ++kk) {        // one input word per cycle
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 9
            const int iy = (oy << L.ls) + kk / L.k - L.p, ix = (ox << L.ls) + kk % L.k - L.p;
            if (iy >= 0 && iy < L.hin && ix >= 0 && ix < L.win)
                o |= map_read(m0, a0 + ((t * L.hin + iy) * L.win + ix) * L.cw_in + w);
        }
        map_write(mo, ao + i, o);
        spikes += popcount32((uint32_t)o);
        if (++w == L.cw_out) { w = 0; if (++ox == L.wout) { ox = 0; if (++oy == L.hout) { oy = 0; ++t; } } }
    }
    cyc += n * (L.k * L.k + MAP_EXTRA);
}

// global sum-pool + FC over T: every spike of the last map adds its FC weight row. In tiles of tg class
// groups (ROM mode: one tile of FC_G), each re-scanning the map; weight row of channel c, tile group g:
// c * n + g (n: the tile's groups).
static void fc_layer(const word_t* map, uint64_t m0, acc_t score[FC_G][LANES], count_t& cyc SYNA_DDR_ARG) {
FC_INIT_ROWS:
    for (int g = 0; g < FC_G; ++g) {
#pragma HLS PIPELINE II = 1
        for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
            score[g][q] = FC_INIT[g][q];
        }
    }
    cyc += FC_G;
    uint32_t bits[CW_MAX];
#pragma HLS ARRAY_PARTITION variable = bits type = complete
    const int tg = TILE_G(DDR_FC, FC_G);
FC_TILES:
    for (int g0 = 0; g0 < FC_G; g0 += tg) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
    const int ng = FC_G - g0 < tg ? FC_G - g0 : tg;
    LOAD_TILE(DDR_FC, g0, ng);
FC_POS:
    for (int i = 0; i < T * FC_H * FC_W; ++i) {
    FC_SCAN:
        for (int w = 0; w < FC_CW; ++w) {
#pragma HLS PIPELINE II = 1
            bits[w] = (uint32_t)map_read(map, m0 + i * FC_CW + w);
        }
        cyc += FC_CW;
        int n = 0;
        for (int w = 0; w < FC_CW; ++w) n += popcount32(bits[w]);
        const int work = n * ng;
        int g = 0, row = 0;
    FC_WORK:
        for (int it = 0; it < work; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
            if (g == 0) row = pop_lowest(bits, FC_CW) * ng;
            for (int q = 0; q < LANES; ++q) {
#pragma HLS UNROLL
                score[g0 + g][q] += W_FC[row + g][q];
            }
            if (++g == ng) g = 0;
        }
        cyc += work;
    }
    }
}

#ifndef __SYNTHESIS__
static void debug_layer(int l, const word_t* map, uint64_t m0, count_t sat, count_t cyc) {
    if (!syna_debug) return;
    const Layer& L = LAYERS[l];
    if (syna_debug->spikes) {
        uint8_t* o = syna_debug->spikes + DBG_OFF[l];
        for (int t = 0; t < T; ++t)
            for (int c = 0; c < L.cout; ++c)
                for (int y = 0; y < L.hout; ++y)
                    for (int x = 0; x < L.wout; ++x) {
                        const uint32_t w = map_peek(map, m0 + ((t * L.hout + y) * L.wout + x) * L.cw_out + (c >> 5));
                        *o++ = (uint8_t)((w >> (c & 31)) & 1u);
                    }
    }
    if (syna_debug->layer_sats) syna_debug->layer_sats[l] = (int64_t)sat;
    if (syna_debug->layer_cycles) syna_debug->layer_cycles[l] = (int64_t)cyc;
}
#endif

static inline uint32_t clamp32(count_t v) { return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)v; }

// ---------------------------------------------------------------------------- top
void syna_core(hls::stream<axis_word>& s_axis_in, hls::stream<axis_word>& m_axis_out,
               ap_uint<32> steps, ap_uint<32> idle_timeout, ap_uint<32>& status, ap_uint<32>& cycles,
               ap_uint<32>& saturations, ap_uint<32>& model_hash, ap_uint<32>& version SYNA_DDR_PORT
               SYNA_SCRATCH_PORT) {
#pragma HLS INTERFACE mode = axis port = s_axis_in
#pragma HLS INTERFACE mode = axis port = m_axis_out
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = steps offset = SYNA_REG_STEPS bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = idle_timeout offset = SYNA_REG_IDLE_TIMEOUT bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = status offset = SYNA_REG_STATUS bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = cycles offset = SYNA_REG_CYCLES bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = saturations offset = SYNA_REG_SATURATIONS bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = model_hash offset = SYNA_REG_MODEL_HASH bundle = control)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = version offset = SYNA_REG_VERSION bundle = control)
#pragma HLS INTERFACE mode = s_axilite port = return bundle = control
#pragma HLS INTERFACE mode = ap_ctrl_hs port = return
#ifdef SYNA_WEIGHTS_DDR
    // the weight image: an AXI4 read master addressing the whole memory (offset = off: element i at byte
    // i * ROW_BYTES), and its base address WEIGHTS_BASE, a 64-bit s_axilite scalar the core checks and adds.
    // Its read bursts: at most SYNA_DDR_MAX_BURST beats (the board's HP port: syna_hls.tcl passes 16 for a
    // Zynq-7000 AXI3 port, 256 on Zynq UltraScale+), SYNA_DDR_READ_OUTSTANDING in flight (the RTL twin's too)
    // Writes: none through `ddr`; a maps-in-DDR core writes its scratch through the same bundle, whose two
    // pointers then carry the same bundle options (SYNA_GMEM_WRITE_*).
#ifdef SYNA_MAPS_DDR
#define SYNA_GMEM_WRITE_BURST SYNA_DDR_MAX_BURST
#define SYNA_GMEM_WRITE_OUTSTANDING SYNA_DDR_READ_OUTSTANDING
#else
#define SYNA_GMEM_WRITE_BURST 2
#define SYNA_GMEM_WRITE_OUTSTANDING 1
#endif
    SYNA_PRAGMA(HLS INTERFACE mode = m_axi port = ddr offset = off bundle = gmem depth = SYNA_DDR_DEPTH max_read_burst_length = SYNA_DDR_MAX_BURST num_read_outstanding = SYNA_DDR_READ_OUTSTANDING max_write_burst_length = SYNA_GMEM_WRITE_BURST num_write_outstanding = SYNA_GMEM_WRITE_OUTSTANDING latency = 64)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = weights_base offset = SYNA_REG_WEIGHTS_BASE bundle = control)
#endif
#ifdef SYNA_MAPS_DDR
    // the scratch buffer: 32-bit words through the same AXI4 master (bundle gmem), addressing the whole memory
    // (offset = off: element i at byte 4 i); its base address SCRATCH_BASE, a 64-bit s_axilite scalar the core
    // checks and adds. depth: the testbench's scratch array (the buffer at byte 4096), for cosim.
    SYNA_PRAGMA(HLS INTERFACE mode = m_axi port = scratch offset = off bundle = gmem depth = SYNA_SCRATCH_DEPTH max_read_burst_length = SYNA_DDR_MAX_BURST num_read_outstanding = SYNA_DDR_READ_OUTSTANDING max_write_burst_length = SYNA_GMEM_WRITE_BURST num_write_outstanding = SYNA_GMEM_WRITE_OUTSTANDING latency = 64)
    SYNA_PRAGMA(HLS INTERFACE mode = s_axilite port = scratch_base offset = SYNA_REG_SCRATCH_BASE bundle = control)
#define STATUS_CHECKS (STATUS_WEIGHTS | STATUS_SCRATCH)
#else
#define STATUS_CHECKS STATUS_WEIGHTS
    // on-chip state: spike maps (liveness-shared buffers)
    static word_t spk[N_BUF][BUF_WORDS];
#pragma HLS ARRAY_PARTITION variable = spk type = complete dim = 1
#endif
    // one layer's (maps in DDR: one band's) currents and membranes
    static acc_t acc[ACC_ROWS][LANES];
#pragma HLS ARRAY_PARTITION variable = acc type = complete dim = 2
    static mem_t vmem[ACC_ROWS][LANES];
#pragma HLS ARRAY_PARTITION variable = vmem type = complete dim = 2
    acc_t score[FC_G][LANES];
#pragma HLS ARRAY_PARTITION variable = score type = complete dim = 2
    // ROMs (DDR mode: the weight buffer): P lanes read in parallel
#ifdef SYNA_WEIGHTS_DDR
#pragma HLS ARRAY_PARTITION variable = WBUF type = complete dim = 2
#else
#pragma HLS ARRAY_PARTITION variable = W_CONV type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = W_FC type = complete dim = 2
#endif
#pragma HLS ARRAY_PARTITION variable = BIAS type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = THRESH type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = FC_INIT type = complete dim = 2

    count_t cyc = 0, sat_total = 0;
    uint32_t st = 0;
    uint32_t counts[N_LAYERS];
    model_hash = MODEL_HASH32;
    version = INTERFACE_VERSION;
    const uint32_t limit = idle_timeout == 0 ? DEFAULT_IDLE_TIMEOUT : (uint32_t)idle_timeout;

COUNTS_RESET:
    for (int l = 0; l < N_LAYERS; ++l) counts[l] = 0;

#ifdef SYNA_WEIGHTS_DDR
    const uint64_t wbase = (uint64_t)weights_base, wrow = wbase / ROW_BYTES;
    if (!weights_usable(ddr, wbase, cyc)) st |= STATUS_WEIGHTS;   // then nothing computed, as for STEPS
#endif
#ifdef SYNA_MAPS_DDR
    const uint64_t sbase = (uint64_t)scratch_base, sw = sbase / 4;   // word addresses: sw + a map's offset
    if (!scratch_usable(sbase)) st |= STATUS_SCRATCH;                // then nothing computed, as for STEPS
#ifndef __SYNTHESIS__
    scr_lo = sw;
    scr_hi = sw + (uint64_t)SCRATCH_BYTES / 4;
#endif
#endif
    if (steps != (ap_uint<32>)T || (st & STATUS_CHECKS)) {
        if (steps != (ap_uint<32>)T) st |= STATUS_STEPS_MISMATCH;   // nothing computed; the words are received and checked
        st |= receive_only(s_axis_in, limit, cyc);
    } else {
    LAYERS_LOOP:
        for (int l = 0; l < N_LAYERS; ++l) {
            const Layer L = LAYERS[l];                  // a copy: g++ then knows no store changes it
            count_t sat = 0, spikes = 0, c0 = cyc;
#ifdef SYNA_MAPS_DDR
            if (L.kind == KIND_ENC) {                   // first the input, received into the INPUT region
                st |= receive_input(s_axis_in, limit, scratch, sw + IN_OFF, cyc);
                if (st & STATUS_ERRORS) break;          // an input error: nothing is computed
            }
            if (L.kind == KIND_ENC || L.kind == KIND_CONV) {
                conv_layer_spill(l, L, scratch, sw + MAP_SRC0[l], sw + MAP_DST[l], acc, vmem, sat, spikes,
                                 cyc SYNA_DDR_PASS);
            } else if (L.kind == KIND_MERGE) {
                merge_layer(L, scratch, sw + MAP_SRC0[l], scratch, sw + MAP_SRC1[l], scratch, sw + MAP_DST[l],
                            spikes, cyc);
            } else {
                pool_layer(L, scratch, sw + MAP_SRC0[l], scratch, sw + MAP_DST[l], spikes, cyc);
            }
#else
            if (L.kind == KIND_ENC) {
                // the input streams in once: the encoder's weights are one tile (syna_hw.lowering.ddr_weights)
                const Layer Le = tile_of(L, 0, L.g);
                LOAD_TILE(DDR_W_OF(l), 0, L.g);
                const Band all = band_of(L, 0, L.hout);
                init_layer(Le, all, acc, vmem, cyc);
                bool stop = false;
                Gate gt = {0, 0, 0, 0, 0};
            ENC_STEPS:
                for (int t = 0; t < T && !stop; ++t) {
                    st |= encoder_step(s_axis_in, Le, t, limit, acc, cyc, stop);
                    if (stop) break;
                    neuron_pass<MODE_PLAIN>(Le, 0, t, all, acc, vmem, spk[L.dst], 0, gt, sat, spikes, cyc);
                }
            } else if (L.kind == KIND_CONV) {
                conv_layer(l, L, spk, acc, vmem, sat, spikes, cyc SYNA_DDR_PASS);
            } else if (L.kind == KIND_MERGE) {
                merge_layer(L, spk[L.src0], 0, spk[L.src1], 0, spk[L.dst], 0, spikes, cyc);
            } else {
                pool_layer(L, spk[L.src0], 0, spk[L.dst], 0, spikes, cyc);
            }
#endif
            counts[l] = clamp32(spikes);
            sat_total += sat;
#ifndef __SYNTHESIS__
#ifdef SYNA_MAPS_DDR
            debug_layer(l, scratch, sw + MAP_DST[l], sat, cyc - c0);
#else
            debug_layer(l, spk[L.dst], 0, sat, cyc - c0);
#endif
#endif
            if (st & STATUS_ERRORS) break;              // an input error: the rest is not computed
        }
        if (!(st & STATUS_ERRORS)) {
            count_t c0 = cyc;
#ifdef SYNA_MAPS_DDR
            fc_layer(scratch, sw + FC_SRC_OFF, score, cyc SYNA_DDR_PASS);
#else
            fc_layer(spk[FC_SRC], 0, score, cyc SYNA_DDR_PASS);
#endif
#ifndef __SYNTHESIS__
            if (syna_debug && syna_debug->layer_cycles) syna_debug->layer_cycles[N_LAYERS] = (int64_t)(cyc - c0);
#endif
        }
    }

    const bool error = (st & STATUS_ERRORS) != 0;
    if (error) sat_total = 0;
    if (sat_total > 0) st |= STATUS_SATURATED;
    cyc += OUT_WORDS;                                   // the output packet, one word per cycle
#ifndef __SYNTHESIS__
    if (syna_debug && syna_debug->layer_cycles)         // the output packet (DDR: and the weights check)
        syna_debug->layer_cycles[N_LAYERS + 1] = OUT_WORDS + DDR_CHECK_CYCLES;
#endif
    const uint32_t cyc32 = clamp32(cyc), sat32v = clamp32(sat_total);

OUTPUT:
    for (int i = 0; i < OUT_WORDS; ++i) {
#pragma HLS PIPELINE II = 1
        uint32_t d;
        if (i < CLASSES)
            d = error ? 0u : (uint32_t)(int32_t)score[i / LANES][i % LANES];
        else if (i < CLASSES + N_LAYERS)
            d = error ? 0u : counts[i - CLASSES];
        else if (i == CLASSES + N_LAYERS)
            d = cyc32;
        else if (i == CLASSES + N_LAYERS + 1)
            d = sat32v;
        else
            d = st;
        axis_word o;
        o.data = d;
        o.keep = -1;
        o.strb = -1;
        o.last = (i == OUT_WORDS - 1);
        m_axis_out.write(o);
    }
    status = st;
    cycles = cyc32;
    saturations = sat32v;
}
