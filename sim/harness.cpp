// C++ harness around the Verilator model of rtl/syna_core.v, built into a shared
// library and driven from Python through ctypes (syna_hw/rtl_core.py, RtlCore).
// It plays the host and the DMA: AXI4-Lite register accesses, the input stream
// (TLAST on the last word, or none), the output stream (always ready), and records
// the spike-map tap (every spike word a layer writes) for bit-exact checks.
// Weights in DDR: it also plays the DDR behind m_axi_gmem (syna_set_ddr: the image's bytes at a base
// address): AR always ready (up to 16 bursts queued), R beats in order, SLVERR for a beat outside the
// image (or any RRESP for an address range: syna_ddr_fault); it counts the bytes read (syna_ddr_bytes)
// and the refused beats. Its timing (syna_set_ddr_timing):
// a burst's first beat comes `latency` cycles after its AR handshake (default 1: the next cycle), and
// beats leave through a token bucket filled with `bytes per cycle` (a Q16 fixed-point number; 0: no
// limit, one beat per cycle) and holding at most one beat's bytes plus one cycle's fill, so the long-run
// rate is min(bytes per cycle, one beat per cycle). The defaults are the ideal DDR of the tests.
// The core's dbg_stall output (cycles its compute waits for a weight tile) is counted (syna_stall_cycles).
// The DDR model is also an AXI port checker: every AR handshake must be an INCR burst (ARBURST 1) of
// full-width beats (ARSIZE = log2 of the beat bytes) from a beat-aligned address, of at most the port's
// longest burst (syna_set_ddr_port: the board's HP port, 16 beats on a Zynq-7000 AXI3 port; default
// 256, AXI4), not crossing a 4 KiB boundary. The first violation is kept (syna_ddr_violation, a message;
// it stays until the model is closed) and syna_transfer returns -3 at once: a violation is an error,
// never a silent pass. syna_ddr_bursts / syna_ddr_max_beats count the bursts and the longest one seen.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>
#include <unistd.h>
#include <climits>

#include "Vsyna_core.h"
#include "verilated.h"

namespace {

struct Burst {
    uint64_t addr;
    uint32_t beats, done;
    uint64_t ready_at;           // the cycle (Sim::cycles) from which its beats may come
};

struct Sim {
    VerilatedContext* ctx;
    Vsyna_core* top;
    uint64_t cycles;             // clock cycles since open
    // DDR model (weights in DDR)
    std::vector<uint8_t> ddr;    // the image
    uint64_t ddr_base = 0;       // its byte address
    int beat_bytes = 0;          // m_axi_gmem data width / 8 (0: no DDR model)
    uint64_t ddr_bytes = 0;      // bytes of beats delivered
    uint64_t ddr_bad = 0;        // beats refused (outside the image, or in the fault range)
    uint64_t fault_lo = 0, fault_hi = 0;   // beats in [lo, hi) answer fault_resp (syna_ddr_fault)
    int fault_resp = 0;
    std::deque<Burst> bursts;
    uint64_t bw_q16 = 0;         // bytes per cycle x 65536 (0: no limit)
    uint64_t credit_q16 = 0;     // the token bucket (at most one beat)
    uint32_t latency = 1;        // cycles from the AR handshake to the first R beat (>= 1)
    uint64_t stall = 0;          // cycles with dbg_stall high
    // AXI port checks (every AR handshake)
    uint32_t port_max_burst = 256;   // the longest burst the port takes (beats)
    uint64_t ar_count = 0;           // bursts requested
    uint32_t ar_max_beats = 0;       // the longest seen
    char violation[256] = {0};       // the first protocol violation ("" none)
};

// m_axi_gmem_RDATA of any width: Verilator's CData/SData/IData/QData or VlWide<N>
template <typename T>
inline void put_beat(T& d, const uint8_t* b, int n) {
    uint64_t v = 0;
    memcpy(&v, b, n < 8 ? n : 8);
    d = static_cast<T>(v);
}
template <std::size_t N>
inline void put_beat(VlWide<N>& d, const uint8_t* b, int n) {
    for (std::size_t i = 0; i < N; i++) {
        uint32_t w = 0;
        if ((int)(4 * i) < n) memcpy(&w, b + 4 * i, 4);
        d[i] = w;
    }
}

// Before settle: the R channel's beat (the head burst's next one).
inline void ddr_drive(Sim* s) {
    Vsyna_core* t = s->top;
    t->m_axi_gmem_ARREADY = s->beat_bytes > 0 && s->bursts.size() < 16;
    t->m_axi_gmem_RVALID = 0;
    t->m_axi_gmem_RLAST = 0;
    t->m_axi_gmem_RRESP = 0;
    t->m_axi_gmem_RID = 0;
    if (s->beat_bytes == 0) return;
    uint64_t beat_q16 = (uint64_t)s->beat_bytes << 16;
    if (s->bw_q16) {                      // the bucket fills every cycle, up to one beat + one cycle's fill
        s->credit_q16 += s->bw_q16;       // (a smaller cap would drop the fraction left after a beat)
        if (s->credit_q16 > beat_q16 + s->bw_q16) s->credit_q16 = beat_q16 + s->bw_q16;
    }
    if (s->bursts.empty()) return;
    const Burst& b = s->bursts.front();
    if (s->cycles < b.ready_at || (s->bw_q16 && s->credit_q16 < beat_q16)) return;
    uint64_t a = b.addr + (uint64_t)b.done * s->beat_bytes;
    static uint8_t zero[128] = {0};
    bool ok = a >= s->ddr_base && a + s->beat_bytes <= s->ddr_base + s->ddr.size();
    put_beat(t->m_axi_gmem_RDATA, ok ? &s->ddr[a - s->ddr_base] : zero, s->beat_bytes);
    const bool fault = a >= s->fault_lo && a < s->fault_hi;
    t->m_axi_gmem_RRESP = !ok ? 2 : fault ? s->fault_resp : 0;
    t->m_axi_gmem_RVALID = 1;
    t->m_axi_gmem_RLAST = b.done + 1 == b.beats;
}
// One AR handshake against the port's rules (the first violation is kept, with its cycle).
inline void check_ar(Sim* s, uint64_t addr, uint32_t beats, unsigned size, unsigned burst) {
    s->ar_count++;
    if (beats > s->ar_max_beats) s->ar_max_beats = beats;
    if (s->violation[0]) return;
    const uint64_t span = (uint64_t)beats * s->beat_bytes;
    const char* what = nullptr;
    char buf[160];
    if (beats > s->port_max_burst) {
        snprintf(buf, sizeof buf, "ARLEN %u: a burst of %u beats, the port takes at most %u", beats - 1, beats,
                 s->port_max_burst);
        what = buf;
    } else if (burst != 1) {
        snprintf(buf, sizeof buf, "ARBURST %u: expected INCR (1)", burst);
        what = buf;
    } else if ((1u << size) != (unsigned)s->beat_bytes) {
        snprintf(buf, sizeof buf, "ARSIZE %u: expected full-width beats of %d bytes", size, s->beat_bytes);
        what = buf;
    } else if (addr % (uint64_t)s->beat_bytes) {
        snprintf(buf, sizeof buf, "ARADDR not aligned to the %d-byte beat", s->beat_bytes);
        what = buf;
    } else if ((addr & 0xfffu) + span > 4096u) {
        snprintf(buf, sizeof buf, "a burst of %u beats crosses a 4 KiB boundary", beats);
        what = buf;
    }
    if (what)
        snprintf(s->violation, sizeof s->violation, "AXI read port violation at cycle %llu, ARADDR 0x%llx: %s",
                 (unsigned long long)s->cycles, (unsigned long long)addr, what);
}

// After settle (before the edge): the handshakes of this cycle.
inline void ddr_sample(Sim* s) {
    Vsyna_core* t = s->top;
    if (s->beat_bytes == 0) return;
    if (t->m_axi_gmem_RVALID && t->m_axi_gmem_RREADY) {
        Burst& b = s->bursts.front();
        if (s->bw_q16) s->credit_q16 -= (uint64_t)s->beat_bytes << 16;
        if (t->m_axi_gmem_RRESP == 0) s->ddr_bytes += s->beat_bytes;
        else s->ddr_bad++;
        if (++b.done == b.beats) s->bursts.pop_front();
    }
    if (t->m_axi_gmem_ARVALID && t->m_axi_gmem_ARREADY) {
        const uint64_t addr = (uint64_t)t->m_axi_gmem_ARADDR;
        const uint32_t beats = (uint32_t)t->m_axi_gmem_ARLEN + 1u;
        check_ar(s, addr, beats, t->m_axi_gmem_ARSIZE, t->m_axi_gmem_ARBURST);
        s->bursts.push_back(Burst{addr, beats, 0u, s->cycles + s->latency});
    }
    if (t->dbg_stall) s->stall++;
}

// One clock cycle: inputs were set by the caller; settle with clk low, let the
// caller sample (via the callback), then the rising edge.
inline void settle(Sim* s) {
    ddr_drive(s);
    s->top->ap_clk = 0;
    s->top->eval();
    ddr_sample(s);
}
inline void rise(Sim* s) {
    s->top->ap_clk = 1;
    s->top->eval();
    s->cycles++;
}
inline void idle_inputs(Sim* s) {
    Vsyna_core* t = s->top;
    t->s_axi_control_AWVALID = 0;
    t->s_axi_control_WVALID = 0;
    t->s_axi_control_BREADY = 1;
    t->s_axi_control_ARVALID = 0;
    t->s_axi_control_RREADY = 1;
    t->s_axis_in_TVALID = 0;
    t->s_axis_in_TLAST = 0;
    t->s_axis_in_TKEEP = 0xf;
    t->m_axis_out_TREADY = 1;
}
inline void cycle(Sim* s) {
    settle(s);
    rise(s);
}

}  // namespace

extern "C" {

// Open the model; the ROM files ($readmemh) are read from romdir.
void* syna_open(const char* romdir) {
    Sim* s = new Sim;
    s->ctx = new VerilatedContext;
    s->top = new Vsyna_core{s->ctx};
    s->cycles = 0;
    char old[PATH_MAX];
    if (!getcwd(old, sizeof old)) old[0] = 0;
    if (romdir && chdir(romdir) != 0) {
        delete s->top;
        delete s->ctx;
        delete s;
        return nullptr;
    }
    idle_inputs(s);
    s->top->dbg_dense = 0;
    s->top->ap_rst_n = 0;
    s->top->ap_clk = 0;
    s->top->eval();                       // initial blocks: $readmemh
    if (old[0] && chdir(old) != 0) { /* keep going: the ROMs are loaded */ }
    for (int i = 0; i < 4; i++) cycle(s);
    s->top->ap_rst_n = 1;
    cycle(s);
    return s;
}

void syna_close(void* h) {
    Sim* s = static_cast<Sim*>(h);
    if (!s) return;
    s->top->final();
    delete s->top;
    delete s->ctx;
    delete s;
}

// Hold ap_rst_n low for n cycles (the stream sources stop too; the DDR model drops the bursts in flight,
// as an interconnect reset with the core would).
void syna_reset(void* h, int n) {
    Sim* s = static_cast<Sim*>(h);
    idle_inputs(s);
    s->top->ap_rst_n = 0;
    for (int i = 0; i < n; i++) cycle(s);
    s->bursts.clear();                    // the DDR side is reset with the core: no beats of old bursts
    s->credit_q16 = 0;
    s->top->ap_rst_n = 1;
    cycle(s);
}

// The DDR behind m_axi_gmem: n bytes at byte address base, beats of beat_bytes (m_axi_gmem's width / 8).
int syna_set_ddr(void* h, const uint8_t* img, uint64_t n, uint64_t base, int beat_bytes) {
    Sim* s = static_cast<Sim*>(h);
    if (beat_bytes < 4 || beat_bytes > 128 || (beat_bytes & (beat_bytes - 1))) return -1;
    s->ddr.assign(img, img + n);
    s->ddr_base = base;
    s->beat_bytes = beat_bytes;
    s->bursts.clear();
    return 0;
}
// Fault injection: a beat whose address is in [lo, hi) is answered with RRESP = resp (2 SLVERR, 3 DECERR;
// 0 clears) and its data as usual.
int syna_ddr_fault(void* h, uint64_t lo, uint64_t hi, int resp) {
    Sim* s = static_cast<Sim*>(h);
    if (resp < 0 || resp > 3) return -1;
    s->fault_lo = lo;
    s->fault_hi = hi;
    s->fault_resp = resp;
    return 0;
}
// The DDR's timing: latency >= 1 cycles from AR to the first beat; bw_q16 bytes per cycle x 65536 (0: no limit).
int syna_set_ddr_timing(void* h, uint32_t latency, uint64_t bw_q16) {
    Sim* s = static_cast<Sim*>(h);
    if (latency < 1 || latency > 1000000) return -1;
    s->latency = latency;
    s->bw_q16 = bw_q16;
    s->credit_q16 = 0;
    return 0;
}
// The port's longest burst in beats (1..256); a longer one is a violation (syna_ddr_violation).
int syna_set_ddr_port(void* h, uint32_t max_burst) {
    Sim* s = static_cast<Sim*>(h);
    if (max_burst < 1 || max_burst > 256) return -1;
    s->port_max_burst = max_burst;
    return 0;
}
const char* syna_ddr_violation(void* h) { return static_cast<Sim*>(h)->violation; }
uint64_t syna_ddr_bursts(void* h) { return static_cast<Sim*>(h)->ar_count; }
uint32_t syna_ddr_max_beats(void* h) { return static_cast<Sim*>(h)->ar_max_beats; }
uint64_t syna_stall_cycles(void* h) { return static_cast<Sim*>(h)->stall; }
uint64_t syna_ddr_bytes(void* h) { return static_cast<Sim*>(h)->ddr_bytes; }
uint64_t syna_ddr_bad(void* h) { return static_cast<Sim*>(h)->ddr_bad; }

void syna_set_dense(void* h, int dense) { static_cast<Sim*>(h)->top->dbg_dense = dense ? 1 : 0; }

uint64_t syna_cycles(void* h) { return static_cast<Sim*>(h)->cycles; }

int syna_reg_write(void* h, uint32_t addr, uint32_t data) {
    Sim* s = static_cast<Sim*>(h);
    Vsyna_core* t = s->top;
    bool aw = false, w = false;
    t->s_axi_control_AWADDR = addr & 0x7f;
    t->s_axi_control_WDATA = data;
    t->s_axi_control_WSTRB = 0xf;
    t->s_axi_control_BREADY = 1;
    for (int i = 0; i < 1000; i++) {
        t->s_axi_control_AWVALID = !aw;
        t->s_axi_control_WVALID = !w;
        settle(s);
        bool aw_hs = !aw && t->s_axi_control_AWREADY;
        bool w_hs = !w && t->s_axi_control_WREADY;
        bool b_hs = t->s_axi_control_BVALID;
        rise(s);
        aw |= aw_hs;
        w |= w_hs;
        if (b_hs) {
            t->s_axi_control_AWVALID = 0;
            t->s_axi_control_WVALID = 0;
            return 0;
        }
    }
    return -1;
}

int64_t syna_reg_read(void* h, uint32_t addr) {
    Sim* s = static_cast<Sim*>(h);
    Vsyna_core* t = s->top;
    bool ar = false;
    t->s_axi_control_ARADDR = addr & 0x7f;
    t->s_axi_control_RREADY = 1;
    for (int i = 0; i < 1000; i++) {
        t->s_axi_control_ARVALID = !ar;
        settle(s);
        bool ar_hs = !ar && t->s_axi_control_ARREADY;
        bool r_hs = t->s_axi_control_RVALID;
        uint32_t d = t->s_axi_control_RDATA;
        rise(s);
        ar |= ar_hs;
        if (r_hs) {
            t->s_axi_control_ARVALID = 0;
            return d;
        }
    }
    return -1;
}

// One inference at stream level: STEPS, ap_start, the input words (TLAST on the
// last one when tlast != 0), the output packet (up to max_out words, until TLAST).
// Tap records (when tap != nullptr): per spike word written, tap_u32 words:
// [layer, index, word bits 0..31, 32..63, ...]; at most tap_cap records.
// stop_after_in >= 0: return right after that many input words were accepted
// (for reset-in-the-middle tests), leaving the core busy.
// Returns the number of output words, -1 on timeout (max_cycles), -2 if the
// start was not accepted, -3 on an AXI read port violation (syna_ddr_violation).
// *n_tap receives the number of tap records; *run_cycles the cycles from ap_start
// written to the last output word.
int syna_transfer(void* h, const uint32_t* in, int n_in, int tlast, uint32_t steps, uint32_t* out, int max_out,
                  uint32_t* tap, int tap_u32, int tap_cap, int* n_tap, uint64_t max_cycles, uint64_t* run_cycles,
                  int stop_after_in) {
    Sim* s = static_cast<Sim*>(h);
    Vsyna_core* t = s->top;
    if (syna_reg_write(h, 0x10, steps) != 0) return -2;
    if (syna_reg_write(h, 0x00, 1) != 0) return -2;
    uint64_t t0 = s->cycles;
    int i_in = 0, n_out = 0, taps = 0;
    bool last_seen = false;
    int words_tap = tap_u32 - 2;
    for (uint64_t c = 0; c < max_cycles; c++) {
        if (i_in < n_in) {
            t->s_axis_in_TVALID = 1;
            t->s_axis_in_TDATA = in[i_in];
            t->s_axis_in_TLAST = (tlast && i_in == n_in - 1) ? 1 : 0;
        } else {
            t->s_axis_in_TVALID = 0;
            t->s_axis_in_TLAST = 0;
        }
        t->m_axis_out_TREADY = 1;
        settle(s);
        bool in_hs = t->s_axis_in_TVALID && t->s_axis_in_TREADY;
        if (t->m_axis_out_TVALID) {
            if (n_out < max_out) out[n_out] = t->m_axis_out_TDATA;
            n_out++;
            last_seen = t->m_axis_out_TLAST;
        }
        if (t->tap_valid && tap && taps < tap_cap) {
            uint32_t* r = tap + (size_t)taps * tap_u32;
            r[0] = t->tap_layer;
            r[1] = t->tap_index;
            for (int k = 0; k < words_tap; k++) r[2 + k] = t->tap_word[k];
            taps++;
        } else if (t->tap_valid) {
            taps++;
        }
        rise(s);
        if (s->violation[0]) {                        // an AXI port violation: stop here (-3)
            if (n_tap) *n_tap = taps;
            if (run_cycles) *run_cycles = s->cycles - t0;
            t->s_axis_in_TVALID = 0;
            return -3;
        }
        if (in_hs) i_in++;
        if (stop_after_in >= 0 && i_in >= stop_after_in) {
            if (n_tap) *n_tap = taps;
            if (run_cycles) *run_cycles = s->cycles - t0;
            t->s_axis_in_TVALID = 0;
            return n_out;
        }
        if (last_seen) {
            if (run_cycles) *run_cycles = s->cycles - t0;
            t->s_axis_in_TVALID = 0;
            t->s_axis_in_TLAST = 0;
            for (int k = 0; k < 2; k++) cycle(s);     // let the core return to idle
            if (n_tap) *n_tap = taps;
            return n_out;
        }
    }
    if (n_tap) *n_tap = taps;
    if (run_cycles) *run_cycles = s->cycles - t0;
    return -1;
}

}  // extern "C"
