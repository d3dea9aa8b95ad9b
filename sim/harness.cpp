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
// Spike maps in DDR: the model also holds a scratch buffer (syna_set_scratch: a byte pattern at a base
// address), readable like the image and the only place a write may land. The write channels: AW ready
// while fewer than 16 bursts wait for data; W ready while a burst is open (the DDR bandwidth of
// syna_set_ddr_timing is shared with R: a W beat takes its bytes from the same token bucket, R first);
// the bytes are stored lane by lane under WSTRB; a burst's B comes `latency` cycles after its last beat,
// OKAY, or SLVERR when a beat fell outside the scratch buffer, or the response of syna_ddr_wfault for a
// beat in its range. Every AW is checked as every AR (INCR, full-width beats, beat-aligned, at most the
// port's longest burst, no 4 KiB crossing) and every W beat's WLAST (on the burst's last beat and only
// there); a violation stops syna_transfer with -3 as on the read side. syna_scratch_read reads the
// scratch back after a run; syna_ddr_wbytes counts the bytes written (strobed), syna_ddr_wbursts the bursts,
// syna_scratch_rbytes the bytes read from the scratch (syna_ddr_bytes: from the image only).
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

struct WBurst {
    uint64_t addr;
    uint32_t beats, done;
    int resp;                    // the response its B will carry
};
struct BResp {
    int resp;
    uint64_t ready_at;
};

struct Sim {
    VerilatedContext* ctx;
    Vsyna_core* top;
    uint64_t cycles;             // clock cycles since open
    // DDR model (weights in DDR)
    std::vector<uint8_t> ddr;    // the image
    uint64_t ddr_base = 0;       // its byte address
    int beat_bytes = 0;          // m_axi_gmem data width / 8 (0: no DDR model)
    uint64_t ddr_bytes = 0;      // bytes of the image's beats delivered
    uint64_t scr_rbytes = 0;     // bytes of the scratch buffer's beats delivered (maps in DDR)
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
    // the scratch buffer (maps in DDR) and the write channels
    std::vector<uint8_t> scratch;
    uint64_t scratch_base = 0;
    std::deque<WBurst> wbursts;      // AWs taken, data not complete
    std::deque<BResp> bresps;        // responses due
    uint64_t wfault_lo = 0, wfault_hi = 0;
    int wfault_resp = 0;
    uint64_t w_bytes = 0;            // bytes written (strobed)
    uint64_t aw_count = 0;           // write bursts
    bool r_beat = false;             // an R beat is offered this cycle (it goes before a W beat)
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

// m_axi_gmem_WDATA of any width, to bytes
template <typename T>
inline void get_beat(const T& d, uint8_t* b, int n) {
    uint64_t v = static_cast<uint64_t>(d);
    memcpy(b, &v, n < 8 ? n : 8);
}
template <std::size_t N>
inline void get_beat(const VlWide<N>& d, uint8_t* b, int n) {
    for (std::size_t i = 0; i < N && (int)(4 * i) < n; i++) {
        uint32_t w = d[i];
        memcpy(b + 4 * i, &w, 4);
    }
}

// A beat's bytes for a read at a: from the image or the scratch buffer (nullptr: neither)
inline const uint8_t* ddr_at(Sim* s, uint64_t a) {
    if (a >= s->ddr_base && a + s->beat_bytes <= s->ddr_base + s->ddr.size()) return &s->ddr[a - s->ddr_base];
    if (!s->scratch.empty() && a >= s->scratch_base && a + s->beat_bytes <= s->scratch_base + s->scratch.size())
        return &s->scratch[a - s->scratch_base];
    return nullptr;
}

// Before settle: the write channels' ready / response (after the R beat: W yields the bandwidth to R).
inline void ddr_drive_w(Sim* s) {
    Vsyna_core* t = s->top;
    t->m_axi_gmem_AWREADY = s->beat_bytes > 0 && s->wbursts.size() < 16;
    t->m_axi_gmem_BVALID = 0;
    t->m_axi_gmem_BRESP = 0;
    t->m_axi_gmem_BID = 0;
    t->m_axi_gmem_WREADY = 0;
    if (s->beat_bytes == 0) return;
    if (!s->bresps.empty() && s->bresps.front().ready_at <= s->cycles) {
        t->m_axi_gmem_BVALID = 1;
        t->m_axi_gmem_BRESP = s->bresps.front().resp;
    }
    if (s->wbursts.empty()) return;
    uint64_t beat_q16 = (uint64_t)s->beat_bytes << 16;
    uint64_t need = beat_q16 * (s->r_beat ? 2 : 1);
    t->m_axi_gmem_WREADY = !s->bw_q16 || s->credit_q16 >= need;
}

inline void ddr_drive_r(Sim* s);
// Before settle: the R channel's beat (the head burst's next one), then the write channels.
inline void ddr_drive(Sim* s) {
    ddr_drive_r(s);
    ddr_drive_w(s);
}
inline void ddr_drive_r(Sim* s) {
    Vsyna_core* t = s->top;
    s->r_beat = false;
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
    const uint8_t* src = ddr_at(s, a);
    bool ok = src != nullptr;
    put_beat(t->m_axi_gmem_RDATA, ok ? src : zero, s->beat_bytes);
    s->r_beat = true;
    const bool fault = a >= s->fault_lo && a < s->fault_hi;
    t->m_axi_gmem_RRESP = !ok ? 2 : fault ? s->fault_resp : 0;
    t->m_axi_gmem_RVALID = 1;
    t->m_axi_gmem_RLAST = b.done + 1 == b.beats;
}
// One AR handshake against the port's rules (the first violation is kept, with its cycle).
// ch: 'R' (an AR) or 'W' (an AW)
inline void check_ax(Sim* s, char ch, uint64_t addr, uint32_t beats, unsigned size, unsigned burst) {
    if (beats > s->ar_max_beats) s->ar_max_beats = beats;
    if (s->violation[0]) return;
    const uint64_t span = (uint64_t)beats * s->beat_bytes;
    const char* what = nullptr;
    char buf[160];
    if (beats > s->port_max_burst) {
        snprintf(buf, sizeof buf, "A%cLEN %u: a burst of %u beats, the port takes at most %u", ch, beats - 1, beats,
                 s->port_max_burst);
        what = buf;
    } else if (burst != 1) {
        snprintf(buf, sizeof buf, "A%cBURST %u: expected INCR (1)", ch, burst);
        what = buf;
    } else if ((1u << size) != (unsigned)s->beat_bytes) {
        snprintf(buf, sizeof buf, "A%cSIZE %u: expected full-width beats of %d bytes", ch, size, s->beat_bytes);
        what = buf;
    } else if (addr % (uint64_t)s->beat_bytes) {
        snprintf(buf, sizeof buf, "A%cADDR not aligned to the %d-byte beat", ch, s->beat_bytes);
        what = buf;
    } else if ((addr & 0xfffu) + span > 4096u) {
        snprintf(buf, sizeof buf, "a burst of %u beats crosses a 4 KiB boundary", beats);
        what = buf;
    }
    if (what)
        snprintf(s->violation, sizeof s->violation, "AXI %s port violation at cycle %llu, A%cADDR 0x%llx: %s",
                 ch == 'R' ? "read" : "write", (unsigned long long)s->cycles, ch, (unsigned long long)addr, what);
}

// After settle (before the edge): the handshakes of this cycle.
inline void ddr_sample(Sim* s) {
    Vsyna_core* t = s->top;
    if (s->beat_bytes == 0) return;
    if (t->m_axi_gmem_RVALID && t->m_axi_gmem_RREADY) {
        Burst& b = s->bursts.front();
        if (s->bw_q16) s->credit_q16 -= (uint64_t)s->beat_bytes << 16;
        if (t->m_axi_gmem_RRESP == 0) {
            const uint64_t a = b.addr + (uint64_t)b.done * s->beat_bytes;
            if (a >= s->ddr_base && a + s->beat_bytes <= s->ddr_base + s->ddr.size()) s->ddr_bytes += s->beat_bytes;
            else s->scr_rbytes += s->beat_bytes;
        }
        else s->ddr_bad++;
        if (++b.done == b.beats) s->bursts.pop_front();
    }
    if (t->m_axi_gmem_ARVALID && t->m_axi_gmem_ARREADY) {
        const uint64_t addr = (uint64_t)t->m_axi_gmem_ARADDR;
        const uint32_t beats = (uint32_t)t->m_axi_gmem_ARLEN + 1u;
        s->ar_count++;
        check_ax(s, 'R', addr, beats, t->m_axi_gmem_ARSIZE, t->m_axi_gmem_ARBURST);
        s->bursts.push_back(Burst{addr, beats, 0u, s->cycles + s->latency});
    }
    // write data: stored under WSTRB into the scratch buffer; a beat outside it answers SLVERR
    if (t->m_axi_gmem_WVALID && t->m_axi_gmem_WREADY) {
        WBurst& b = s->wbursts.front();
        if (s->bw_q16) s->credit_q16 -= (uint64_t)s->beat_bytes << 16;
        const uint64_t a = b.addr + (uint64_t)b.done * s->beat_bytes;
        const bool last = b.done + 1 == b.beats;
        if ((bool)t->m_axi_gmem_WLAST != last && !s->violation[0])
            snprintf(s->violation, sizeof s->violation,
                     "AXI write port violation at cycle %llu, beat %u of a %u-beat burst at AWADDR 0x%llx: WLAST %d",
                     (unsigned long long)s->cycles, b.done, b.beats, (unsigned long long)b.addr,
                     (int)t->m_axi_gmem_WLAST);
        uint8_t data[128];
        get_beat(t->m_axi_gmem_WDATA, data, s->beat_bytes);
        const uint64_t strb = (uint64_t)t->m_axi_gmem_WSTRB;
        const bool in = !s->scratch.empty() && a >= s->scratch_base
                        && a + s->beat_bytes <= s->scratch_base + s->scratch.size();
        if (!in) {
            b.resp = 2;
        } else {
            for (int i = 0; i < s->beat_bytes; i++)
                if ((strb >> i) & 1) {
                    s->scratch[a - s->scratch_base + i] = data[i];
                    s->w_bytes++;
                }
            if (a >= s->wfault_lo && a < s->wfault_hi && s->wfault_resp > b.resp) b.resp = s->wfault_resp;
        }
        if (++b.done == b.beats) {
            s->bresps.push_back(BResp{b.resp, s->cycles + s->latency});
            s->wbursts.pop_front();
        }
    }
    if (t->m_axi_gmem_AWVALID && t->m_axi_gmem_AWREADY) {
        const uint64_t addr = (uint64_t)t->m_axi_gmem_AWADDR;
        const uint32_t beats = (uint32_t)t->m_axi_gmem_AWLEN + 1u;
        s->aw_count++;
        check_ax(s, 'W', addr, beats, t->m_axi_gmem_AWSIZE, t->m_axi_gmem_AWBURST);
        s->wbursts.push_back(WBurst{addr, beats, 0u, 0});
    }
    if (t->m_axi_gmem_BVALID && t->m_axi_gmem_BREADY) s->bresps.pop_front();
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
    s->wbursts.clear();
    s->bresps.clear();
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
// The scratch buffer (maps in DDR): n bytes at byte address base, every byte `fill` (0..255).
int syna_set_scratch(void* h, uint64_t base, uint64_t n, int fill) {
    Sim* s = static_cast<Sim*>(h);
    if (fill < 0 || fill > 255) return -1;
    s->scratch.assign(n, (uint8_t)fill);
    s->scratch_base = base;
    return 0;
}
// Copy n bytes of the scratch buffer from byte offset off to dst (after a run).
int syna_scratch_read(void* h, uint8_t* dst, uint64_t off, uint64_t n) {
    Sim* s = static_cast<Sim*>(h);
    if (off > s->scratch.size() || n > s->scratch.size() - off) return -1;
    memcpy(dst, s->scratch.data() + off, n);
    return 0;
}
// Write fault injection: a burst with a beat in [lo, hi) is answered BRESP = resp (2 SLVERR, 3 DECERR; 0 clears).
int syna_ddr_wfault(void* h, uint64_t lo, uint64_t hi, int resp) {
    Sim* s = static_cast<Sim*>(h);
    if (resp < 0 || resp > 3) return -1;
    s->wfault_lo = lo;
    s->wfault_hi = hi;
    s->wfault_resp = resp;
    return 0;
}
uint64_t syna_ddr_wbytes(void* h) { return static_cast<Sim*>(h)->w_bytes; }
uint64_t syna_ddr_wbursts(void* h) { return static_cast<Sim*>(h)->aw_count; }
const char* syna_ddr_violation(void* h) { return static_cast<Sim*>(h)->violation; }
uint64_t syna_ddr_bursts(void* h) { return static_cast<Sim*>(h)->ar_count; }
uint32_t syna_ddr_max_beats(void* h) { return static_cast<Sim*>(h)->ar_max_beats; }
uint64_t syna_stall_cycles(void* h) { return static_cast<Sim*>(h)->stall; }
uint64_t syna_ddr_bytes(void* h) { return static_cast<Sim*>(h)->ddr_bytes; }
uint64_t syna_scratch_rbytes(void* h) { return static_cast<Sim*>(h)->scr_rbytes; }
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
// start was not accepted, -3 on an AXI port violation (syna_ddr_violation).
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
