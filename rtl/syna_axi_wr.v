// AXI4 write master (issue 16, spike maps in DDR; docs/rtl.md "Spike maps in DDR").
// One command (byte address, byte length) + a stream of bus-aligned beats -> INCR bursts on the AXI
// write channels (AW, W, B). The twin of syna_axi_rd.v on the write side.
//
// - The address may start anywhere inside a beat (the scratch maps are 32-bit words): the bursts start
//   at the address rounded down to the beat (DATA_WIDTH/8 bytes), and WSTRB masks the bytes before the
//   first one and after the last one. The producer gives the beats bus-aligned: byte A of the command
//   sits in byte lane A mod (DATA_WIDTH/8) of its beat; ceil((A mod BYTES + len) / BYTES) beats in all.
//   An empty command, or one past the ADDR_WIDTH address space, is refused: done with err_cmd, no burst.
// - Bursts: at most MAX_BURST beats (16: AXI3, Zynq-7000 S_AXI_HP*; 256: AXI4), never across a 4 KiB
//   boundary (syna_contract.ddr_image.axi_bursts, the same rule as the reads). The AW of a burst is
//   issued before its data; W beats of a burst go out only after its AW was issued (some interconnects
//   want it so), while later AWs may run ahead. At most MAX_OUTSTANDING bursts wait for their B.
// - A SLVERR or DECERR on B sets err_resp. The command still writes all of its beats (the W channel
//   must finish every burst it announced; no new work is refused mid-way: it keeps the logic small);
//   done pulses once every B came back, with err_resp kept until the next command.
// - The producer's stream: in_valid / in_ready / in_data, exactly the command's beats (no last flag:
//   the master counts).
`default_nettype none
module syna_axi_wr #(
    parameter integer DATA_WIDTH = 64,        // 32, 64 (Zynq-7000 HP), 128 (ZynqMP HP), ... 1024
    parameter integer ADDR_WIDTH = 32,        // 32 (Zynq-7000), up to 49 (ZynqMP HP ports)
    parameter integer ID_WIDTH = 1,
    parameter integer LEN_WIDTH = 32,         // byte length of one command
    parameter integer MAX_BURST = 256,        // beats per burst, 1..256 (16 on an AXI3 port)
    parameter integer MAX_OUTSTANDING = 4     // bursts waiting for their response, 1..255
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
    output reg                     err_resp,   // a SLVERR / DECERR response (until the next command)
    output reg                     err_cmd,    // command refused (empty, past the address space)
    // data stream (bus-aligned beats)
    input  wire                    in_valid,
    output wire                    in_ready,
    input  wire [DATA_WIDTH-1:0]   in_data,
    // AXI4 write address channel
    output wire [ID_WIDTH-1:0]     m_axi_awid,
    output reg  [ADDR_WIDTH-1:0]   m_axi_awaddr,
    output reg  [7:0]              m_axi_awlen,
    output wire [2:0]              m_axi_awsize,
    output wire [1:0]              m_axi_awburst,
    output wire                    m_axi_awlock,
    output wire [3:0]              m_axi_awcache,
    output wire [2:0]              m_axi_awprot,
    output wire [3:0]              m_axi_awqos,
    output reg                     m_axi_awvalid,
    input  wire                    m_axi_awready,
    // AXI4 write data channel
    output wire [DATA_WIDTH-1:0]   m_axi_wdata,
    output wire [DATA_WIDTH/8-1:0] m_axi_wstrb,
    output wire                    m_axi_wlast,
    output wire                    m_axi_wvalid,
    input  wire                    m_axi_wready,
    // AXI4 write response channel
    input  wire [ID_WIDTH-1:0]     m_axi_bid,
    input  wire [1:0]              m_axi_bresp,
    input  wire                    m_axi_bvalid,
    output wire                    m_axi_bready
);
    localparam integer BYTES = DATA_WIDTH / 8;
    localparam integer SIZE = $clog2(BYTES);               // AxSIZE
    localparam integer BLW = 9;                            // a burst length 1..256
    localparam integer OW = 8;                             // bursts 0..255

    generate
        if (DATA_WIDTH < 32 || DATA_WIDTH > 1024 || (1 << SIZE) != BYTES || BYTES * 8 != DATA_WIDTH ||
            MAX_BURST < 1 || MAX_BURST > 256 || MAX_OUTSTANDING < 1 || MAX_OUTSTANDING > 255 ||
            LEN_WIDTH < 12 || LEN_WIDTH > 63 || ADDR_WIDTH < 12 || ADDR_WIDTH > 63) begin : bad_parameters
            syna_axi_wr_parameters_out_of_range see_the_header_of_syna_axi_wr ();
        end
    endgenerate

    assign m_axi_awid = {ID_WIDTH{1'b0}};
    assign m_axi_awsize = SIZE[2:0];
    assign m_axi_awburst = 2'b01;                          // INCR
    assign m_axi_awlock = 1'b0;
    assign m_axi_awcache = 4'b0011;                        // normal, non-cacheable, bufferable
    assign m_axi_awprot = 3'b000;
    assign m_axi_awqos = 4'b0000;
    assign m_axi_bready = 1'b1;

    // ------------------------------------------------------------------ command state
    reg                  active;
    reg [ADDR_WIDTH-1:0] aw_addr;                          // next burst's address (AW side)
    reg [LEN_WIDTH-1:0]  aw_left;                          // beats not yet in an AW
    reg [ADDR_WIDTH-1:0] w_addr;                           // address of the W side's burst (same split)
    reg [LEN_WIDTH-1:0]  w_left;                           // beats not yet sent
    reg [BLW-1:0]        w_cnt;                            // beats left in the W side's burst (0: none open)
    reg [LEN_WIDTH-1:0]  w_sent;                           // beats sent
    reg [LEN_WIDTH-1:0]  beats_total;
    reg [BYTES-1:0]      first_strb, last_strb;
    reg [OW-1:0]         aw_ahead;                         // AWs issued whose data is not yet all sent
    reg [OW-1:0]         wait_b;                           // bursts issued, B not received

    assign cmd_ready = !active;
    assign busy = active;

    localparam integer XW = (ADDR_WIDTH > LEN_WIDTH ? ADDR_WIDTH : LEN_WIDTH) + 1;
    wire [XW-1:0] cmd_end = {{(XW - ADDR_WIDTH){1'b0}}, cmd_addr} + {{(XW - LEN_WIDTH){1'b0}}, cmd_len};
    wire [XW-1:0] space = {{(XW - 1){1'b0}}, 1'b1} << ADDR_WIDTH;
    wire cmd_bad = cmd_len == {LEN_WIDTH{1'b0}} || cmd_end > space;
    wire [SIZE-1:0] cmd_off = cmd_addr[SIZE-1:0];
    wire [LEN_WIDTH:0] cmd_span = {1'b0, cmd_len} + {{(LEN_WIDTH + 1 - SIZE){1'b0}}, cmd_off};
    wire [LEN_WIDTH:0] cmd_beats = (cmd_span + (BYTES - 1)) >> SIZE;
    wire [SIZE-1:0] cmd_tail = cmd_span[SIZE-1:0];         // bytes used in the last beat (0: all)
    wire accept = cmd_valid && !active;
    wire [ADDR_WIDTH-1:0] cmd_base = {cmd_addr[ADDR_WIDTH-1:SIZE], {SIZE{1'b0}}};

    // ------------------------------------------------------------------ burst split (AW side and W side)
    localparam [12:0] MAX_BURST13 = MAX_BURST[12:0];
    localparam [OW-1:0] MAX_OUT = MAX_OUTSTANDING[OW-1:0];
    wire [12:0] aw_page = (13'd4096 - {1'b0, aw_addr[11:0]}) >> SIZE;
    wire [BLW-1:0] aw_cap = (aw_page < MAX_BURST13) ? aw_page[BLW-1:0] : MAX_BURST13[BLW-1:0];
    wire [BLW-1:0] aw_blen = (aw_left < {{(LEN_WIDTH - BLW){1'b0}}, aw_cap}) ? aw_left[BLW-1:0] : aw_cap;
    wire [BLW-1:0] aw_blen_m1 = aw_blen - 1'b1;
    wire [12:0] w_page = (13'd4096 - {1'b0, w_addr[11:0]}) >> SIZE;
    wire [BLW-1:0] w_cap = (w_page < MAX_BURST13) ? w_page[BLW-1:0] : MAX_BURST13[BLW-1:0];
    wire [BLW-1:0] w_blen = (w_left < {{(LEN_WIDTH - BLW){1'b0}}, w_cap}) ? w_left[BLW-1:0] : w_cap;

    wire aw_free = !m_axi_awvalid || m_axi_awready;
    wire aw_issue = active && aw_left != {LEN_WIDTH{1'b0}} && aw_free && wait_b < MAX_OUT;
    wire aw_hs = m_axi_awvalid && m_axi_awready;

    // W: a burst opens when an AW for it has been issued (aw_ahead counts AWs handshaken or pending
    // whose data is not yet all sent)
    wire w_open = w_cnt != {BLW{1'b0}};
    wire w_start = active && !w_open && w_left != {LEN_WIDTH{1'b0}} && aw_ahead != {OW{1'b0}};
    assign m_axi_wvalid = w_open && in_valid;
    assign in_ready = w_open && m_axi_wready;
    wire w_hs = m_axi_wvalid && m_axi_wready;
    assign m_axi_wdata = in_data;
    assign m_axi_wlast = w_cnt == {{(BLW - 1){1'b0}}, 1'b1};
    wire w_first = w_sent == {LEN_WIDTH{1'b0}};
    wire w_final = w_sent + 1'b1 == beats_total;
    assign m_axi_wstrb = (w_first ? first_strb : {BYTES{1'b1}}) & (w_final ? last_strb : {BYTES{1'b1}});

    wire b_hs = m_axi_bvalid && active;
    wire b_bad = m_axi_bresp[1];                           // SLVERR (10) or DECERR (11)

    wire unused_ok = &{1'b0, m_axi_bid, m_axi_bresp[0], cmd_beats[LEN_WIDTH], aw_blen_m1[BLW-1],
                       cmd_span[LEN_WIDTH]};

    always @(posedge clk) begin
        if (rst) begin
            active <= 1'b0;
            done <= 1'b0;
            err_resp <= 1'b0;
            err_cmd <= 1'b0;
            m_axi_awvalid <= 1'b0;
            m_axi_awaddr <= {ADDR_WIDTH{1'b0}};
            m_axi_awlen <= 8'd0;
            aw_addr <= {ADDR_WIDTH{1'b0}};
            aw_left <= {LEN_WIDTH{1'b0}};
            w_addr <= {ADDR_WIDTH{1'b0}};
            w_left <= {LEN_WIDTH{1'b0}};
            w_cnt <= {BLW{1'b0}};
            w_sent <= {LEN_WIDTH{1'b0}};
            beats_total <= {LEN_WIDTH{1'b0}};
            first_strb <= {BYTES{1'b1}};
            last_strb <= {BYTES{1'b1}};
            aw_ahead <= {OW{1'b0}};
            wait_b <= {OW{1'b0}};
        end else begin
            done <= 1'b0;
            if (accept) begin
                err_resp <= 1'b0;
                err_cmd <= cmd_bad;
                if (cmd_bad) begin
                    done <= 1'b1;
                end else begin
                    active <= 1'b1;
                    aw_addr <= cmd_base;
                    aw_left <= cmd_beats[LEN_WIDTH-1:0];
                    w_addr <= cmd_base;
                    w_left <= cmd_beats[LEN_WIDTH-1:0];
                    w_cnt <= {BLW{1'b0}};
                    w_sent <= {LEN_WIDTH{1'b0}};
                    beats_total <= cmd_beats[LEN_WIDTH-1:0];
                    first_strb <= {BYTES{1'b1}} << cmd_off;
                    last_strb <= cmd_tail == {SIZE{1'b0}} ? {BYTES{1'b1}} : ~({BYTES{1'b1}} << cmd_tail);
                end
            end
            // address channel
            if (aw_hs)
                m_axi_awvalid <= 1'b0;
            if (aw_issue) begin
                m_axi_awvalid <= 1'b1;
                m_axi_awaddr <= aw_addr;
                m_axi_awlen <= aw_blen_m1[7:0];
                aw_addr <= aw_addr + ({{(ADDR_WIDTH - BLW){1'b0}}, aw_blen} << SIZE);
                aw_left <= aw_left - {{(LEN_WIDTH - BLW){1'b0}}, aw_blen};
            end
            // data channel: open the next burst once its AW is out
            if (w_start) begin
                w_cnt <= w_blen;
                w_addr <= w_addr + ({{(ADDR_WIDTH - BLW){1'b0}}, w_blen} << SIZE);
                w_left <= w_left - {{(LEN_WIDTH - BLW){1'b0}}, w_blen};
            end
            if (w_hs) begin
                w_cnt <= w_cnt - 1'b1;
                w_sent <= w_sent + 1'b1;
            end
            aw_ahead <= aw_ahead + {{(OW - 1){1'b0}}, aw_issue} - {{(OW - 1){1'b0}}, w_start};
            wait_b <= wait_b + {{(OW - 1){1'b0}}, aw_issue} - {{(OW - 1){1'b0}}, b_hs};
            // response channel
            if (b_hs && b_bad)
                err_resp <= 1'b1;
            // the end: every beat sent, every burst answered
            if (active && !accept && aw_left == {LEN_WIDTH{1'b0}} && w_left == {LEN_WIDTH{1'b0}} && !w_open
                && !m_axi_awvalid && (wait_b == {OW{1'b0}} || (wait_b == 1 && b_hs))) begin
                active <= 1'b0;
                done <= 1'b1;
            end
        end
    end
endmodule
`default_nettype wire
