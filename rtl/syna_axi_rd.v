// AXI4 read master (issue 16, weights in DDR; docs/rtl.md "External memory (in progress)").
// One command (byte address, byte length) -> INCR bursts on the AXI read channels -> the data,
// in order, on a valid/ready stream with a byte mask on the last beat.
//
// - The address must be beat-aligned (DATA_WIDTH/8 bytes; the DDR image aligns every block to
//   64 bytes), the length 1 or more, and the range inside the ADDR_WIDTH address space; anything
//   else is refused: done with err_cmd, no burst issued.
// - Bursts: at most MAX_BURST beats (256: AXI4, ZynqMP S_AXI_HP*_FPD; 16: AXI3, Zynq-7000
//   S_AXI_HP*), never across a 4 KiB boundary (the rule of syna_contract.ddr_image.axi_bursts).
// - A burst is issued only when the FIFO has room for all of its beats (FIFO_DEPTH beats,
//   counted with the beats still in flight), so RREADY is never low: back-pressure from the
//   consumer throttles the requests, never the interconnect. Up to MAX_OUTSTANDING bursts are in
//   flight at once. All bursts use ID 0, so their data returns in order.
// - A SLVERR or DECERR beat sets err_resp: that beat and everything after it is dropped, no new
//   burst is issued, the bursts in flight are drained (their beats accepted and dropped), the
//   FIFO is flushed, and done pulses with err_resp set; out_last is never given. Beats before
//   the bad one may have reached the consumer meanwhile (they are correct data); the rest is
//   discarded.
// - done pulses one cycle after the consumer takes the last beat (out_last), or after an error.
`default_nettype none
module syna_axi_rd #(
    parameter integer DATA_WIDTH = 64,        // 32, 64 (Zynq-7000 HP), 128 (ZynqMP HP), ... 1024
    parameter integer ADDR_WIDTH = 32,        // 32 (Zynq-7000), up to 49 (ZynqMP HP ports)
    parameter integer ID_WIDTH = 1,
    parameter integer LEN_WIDTH = 32,         // byte length of one command
    parameter integer MAX_BURST = 256,        // beats per burst, 1..256 (16 on an AXI3 port)
    parameter integer MAX_OUTSTANDING = 4,    // bursts in flight, 1..255
    parameter integer FIFO_DEPTH = 2 * MAX_BURST  // beats buffered: a power of two >= MAX_BURST
) (
    input  wire                    clk,
    input  wire                    rst,
    // command
    input  wire                    cmd_valid,
    output wire                    cmd_ready,
    input  wire [ADDR_WIDTH-1:0]   cmd_addr,
    input  wire [LEN_WIDTH-1:0]    cmd_len,
    // status
    output wire                    busy,
    output reg                     done,       // pulse: the command finished (look at err_*)
    output reg                     err_resp,   // a SLVERR / DECERR beat (until the next command)
    output reg                     err_cmd,    // command refused (misaligned, empty, past the address space)
    // data stream
    output reg                     out_valid,
    input  wire                    out_ready,
    output reg  [DATA_WIDTH-1:0]   out_data,
    output reg  [DATA_WIDTH/8-1:0] out_keep,   // all ones but on a last beat that is partly used
    output reg                     out_last,
    // AXI4 read address channel
    output wire [ID_WIDTH-1:0]     m_axi_arid,
    output reg  [ADDR_WIDTH-1:0]   m_axi_araddr,
    output reg  [7:0]              m_axi_arlen,
    output wire [2:0]              m_axi_arsize,
    output wire [1:0]              m_axi_arburst,
    output wire                    m_axi_arlock,
    output wire [3:0]              m_axi_arcache,
    output wire [2:0]              m_axi_arprot,
    output wire [3:0]              m_axi_arqos,
    output reg                     m_axi_arvalid,
    input  wire                    m_axi_arready,
    // AXI4 read data channel
    input  wire [ID_WIDTH-1:0]     m_axi_rid,
    input  wire [DATA_WIDTH-1:0]   m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready
);
    localparam integer BYTES = DATA_WIDTH / 8;
    localparam integer SIZE = $clog2(BYTES);               // AxSIZE
    localparam integer FAW = $clog2(FIFO_DEPTH);           // FIFO address bits
    localparam integer CW = FAW + 1;                       // 0..FIFO_DEPTH
    localparam integer BLW = 9;                            // a burst length 1..256
    localparam integer OW = 8;                             // outstanding bursts 0..255
    localparam integer FW = 1 + BYTES + DATA_WIDTH;        // FIFO word: {last, keep, data}

    // Parameters out of range stop elaboration (Verilator, Icarus and Yosys name the module below).
    generate
        if (DATA_WIDTH < 32 || DATA_WIDTH > 1024 || (1 << SIZE) != BYTES || BYTES * 8 != DATA_WIDTH ||
            MAX_BURST < 1 || MAX_BURST > 256 || MAX_OUTSTANDING < 1 || MAX_OUTSTANDING > 255 ||
            FIFO_DEPTH < MAX_BURST || (1 << FAW) != FIFO_DEPTH || LEN_WIDTH < 12 || LEN_WIDTH > 63 ||
            ADDR_WIDTH < 12 || ADDR_WIDTH > 63) begin : bad_parameters
            syna_axi_rd_parameters_out_of_range see_the_header_of_syna_axi_rd ();
        end
    endgenerate

    assign m_axi_arid = {ID_WIDTH{1'b0}};
    assign m_axi_arsize = SIZE[2:0];
    assign m_axi_arburst = 2'b01;                          // INCR
    assign m_axi_arlock = 1'b0;
    assign m_axi_arcache = 4'b0011;                        // normal, non-cacheable, bufferable
    assign m_axi_arprot = 3'b000;
    assign m_axi_arqos = 4'b0000;
    assign m_axi_rready = 1'b1;                            // room for every beat was reserved

    // ------------------------------------------------------------------ command state
    reg                  active;
    reg [ADDR_WIDTH-1:0] addr;                             // next burst's address
    reg [LEN_WIDTH-1:0]  beats_left;                       // beats not yet requested
    reg [LEN_WIDTH-1:0]  beats_total;
    reg [LEN_WIDTH-1:0]  beats_rx;                         // beats received
    reg [BYTES-1:0]      last_keep;
    reg [OW-1:0]         outstanding;                      // bursts issued, last beat not received
    reg [CW-1:0]         credit;                           // FIFO entries neither used nor reserved

    assign cmd_ready = !active;
    assign busy = active;

    // command checks (in LEN_WIDTH + ADDR_WIDTH + 1 bits: no wrap)
    localparam integer XW = (ADDR_WIDTH > LEN_WIDTH ? ADDR_WIDTH : LEN_WIDTH) + 1;
    wire [XW-1:0] cmd_end = {{(XW - ADDR_WIDTH){1'b0}}, cmd_addr} + {{(XW - LEN_WIDTH){1'b0}}, cmd_len};
    wire [XW-1:0] space = {{(XW - 1){1'b0}}, 1'b1} << ADDR_WIDTH;
    wire cmd_bad = (cmd_addr[SIZE-1:0] != {SIZE{1'b0}}) || cmd_len == {LEN_WIDTH{1'b0}} || cmd_end > space;
    wire [LEN_WIDTH:0] cmd_beats = ({1'b0, cmd_len} + (BYTES - 1)) >> SIZE;
    wire [SIZE-1:0] cmd_tail = cmd_len[SIZE-1:0];          // bytes used in the last beat (0: all)
    wire accept = cmd_valid && !active;

    // ------------------------------------------------------------------ next burst
    wire [12:0] page_bytes = 13'd4096 - {1'b0, addr[11:0]};
    wire [12:0] page_beats = page_bytes >> SIZE;
    localparam [12:0] MAX_BURST13 = MAX_BURST[12:0];
    localparam [OW-1:0] MAX_OUT = MAX_OUTSTANDING[OW-1:0];
    wire [BLW-1:0] cap = (page_beats < MAX_BURST13) ? page_beats[BLW-1:0] : MAX_BURST13[BLW-1:0];
    wire [BLW-1:0] blen = (beats_left < {{(LEN_WIDTH - BLW){1'b0}}, cap}) ? beats_left[BLW-1:0] : cap;
    wire [BLW-1:0] blen_m1 = blen - 1'b1;
    wire ar_free = !m_axi_arvalid || m_axi_arready;
    wire issue = active && !err_resp && beats_left != {LEN_WIDTH{1'b0}} && ar_free &&
                 outstanding < MAX_OUT && {{BLW{1'b0}}, credit} >= {{CW{1'b0}}, blen};

    // ------------------------------------------------------------------ read data -> FIFO
    wire r_hs = m_axi_rvalid;                              // RREADY is always high
    wire r_bad = m_axi_rresp[1];                           // SLVERR (10) or DECERR (11)
    wire r_is_last = beats_rx == beats_total - 1'b1;
    wire push = r_hs && active && !err_resp && !r_bad && beats_rx < beats_total;
    wire burst_end = r_hs && m_axi_rlast && outstanding != {OW{1'b0}};

    reg [FW-1:0]  mem [0:FIFO_DEPTH-1];
    reg [FAW-1:0] wr_ptr, rd_ptr;
    reg [CW-1:0]  used;                                    // entries in mem (out_* is one more register)
    wire pop = used != {CW{1'b0}} && (!out_valid || out_ready);
    wire [FW-1:0] push_word = {r_is_last, r_is_last ? last_keep : {BYTES{1'b1}}, m_axi_rdata};
    wire flush = active && err_resp && outstanding == {OW{1'b0}} && !(m_axi_arvalid);
    wire finish_ok = out_valid && out_ready && out_last;
    wire drop = r_hs && active && !push;                   // a dropped beat frees the place it reserved
    wire [CW+BLW-1:0] credit_next = {{BLW{1'b0}}, credit} - {{CW{1'b0}}, issue ? blen : {BLW{1'b0}}}
                                    + {{(CW + BLW - 1){1'b0}}, pop} + {{(CW + BLW - 1){1'b0}}, drop};

    // not needed: RID (one ID), RRESP[0] (both errors are errors), the carry bits of the arithmetic
    wire unused_ok = &{1'b0, m_axi_rid, m_axi_rresp[0], cmd_beats[LEN_WIDTH], blen_m1[BLW-1],
                       credit_next[CW+BLW-1:CW]};

    always @(posedge clk) begin
        if (push)
            mem[wr_ptr] <= push_word;
        if (pop)
            {out_last, out_keep, out_data} <= mem[rd_ptr];
    end

    always @(posedge clk) begin
        if (rst) begin
            active <= 1'b0;
            done <= 1'b0;
            err_resp <= 1'b0;
            err_cmd <= 1'b0;
            m_axi_arvalid <= 1'b0;
            m_axi_araddr <= {ADDR_WIDTH{1'b0}};
            m_axi_arlen <= 8'd0;
            addr <= {ADDR_WIDTH{1'b0}};
            beats_left <= {LEN_WIDTH{1'b0}};
            beats_total <= {LEN_WIDTH{1'b0}};
            beats_rx <= {LEN_WIDTH{1'b0}};
            last_keep <= {BYTES{1'b1}};
            outstanding <= {OW{1'b0}};
            credit <= FIFO_DEPTH[CW-1:0];
            wr_ptr <= {FAW{1'b0}};
            rd_ptr <= {FAW{1'b0}};
            used <= {CW{1'b0}};
            out_valid <= 1'b0;
        end else begin
            done <= 1'b0;
            // command
            if (accept) begin
                err_resp <= 1'b0;
                err_cmd <= cmd_bad;
                if (cmd_bad) begin
                    done <= 1'b1;
                end else begin
                    active <= 1'b1;
                    addr <= cmd_addr;
                    beats_left <= cmd_beats[LEN_WIDTH-1:0];
                    beats_total <= cmd_beats[LEN_WIDTH-1:0];
                    beats_rx <= {LEN_WIDTH{1'b0}};
                    last_keep <= cmd_tail == {SIZE{1'b0}} ? {BYTES{1'b1}} : ~({BYTES{1'b1}} << cmd_tail);
                end
            end
            // address channel
            if (m_axi_arvalid && m_axi_arready)
                m_axi_arvalid <= 1'b0;
            if (issue) begin
                m_axi_arvalid <= 1'b1;
                m_axi_araddr <= addr;
                m_axi_arlen <= blen_m1[7:0];
                addr <= addr + ({{(ADDR_WIDTH - BLW){1'b0}}, blen} << SIZE);
                beats_left <= beats_left - {{(LEN_WIDTH - BLW){1'b0}}, blen};
            end
            outstanding <= outstanding + {{(OW - 1){1'b0}}, issue} - {{(OW - 1){1'b0}}, burst_end};
            // data channel
            if (r_hs && active) begin
                if (r_bad)
                    err_resp <= 1'b1;
                if (beats_rx < beats_total)
                    beats_rx <= beats_rx + 1'b1;
            end
            // FIFO (credit: entries of mem that are neither used nor reserved by a burst in flight)
            if (push)
                wr_ptr <= wr_ptr + 1'b1;
            if (pop) begin
                rd_ptr <= rd_ptr + 1'b1;
                out_valid <= 1'b1;
            end else if (out_ready) begin
                out_valid <= 1'b0;
            end
            used <= used + {{(CW - 1){1'b0}}, push} - {{(CW - 1){1'b0}}, pop};
            credit <= credit_next[CW-1:0];
            // the end of a command
            if (finish_ok) begin
                active <= 1'b0;
                done <= 1'b1;
            end
            if (flush) begin                                  // error: everything drained, nothing in flight
                active <= 1'b0;
                done <= 1'b1;
                wr_ptr <= {FAW{1'b0}};
                rd_ptr <= {FAW{1'b0}};
                used <= {CW{1'b0}};
                out_valid <= 1'b0;
                credit <= FIFO_DEPTH[CW-1:0];
            end
        end
    end
endmodule
`default_nettype wire
