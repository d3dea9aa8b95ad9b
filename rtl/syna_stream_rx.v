// Input stream receiver (docs/core-interface.md, "Input stream"): T frames of
// C x H x W values, LANE bits per value, 32/LANE values per word, every frame on
// a new word, TLAST on the last word of the last frame. One value per cycle is
// written to input bank `chan` at t*H*W + y*W + x (taken modulo 2^IB).
// Framing: TLAST before the last word -> err_short (stop); no TLAST on the last
// word -> err_long, then the stream is drained up to TLAST, or until it has been
// idle for DRAIN_IDLE cycles (so a sender that never sends TLAST cannot hang the core).
`default_nettype none
module syna_stream_rx #(
    parameter integer LANE = 8,
    parameter integer IB = 5,
    parameter integer CIN = 1,
    parameter integer H = 8,
    parameter integer W = 8,
    parameter integer T = 4,
    parameter integer WPF = 16,         // words per frame
    parameter integer IAW = 8,
    parameter integer CW = 4,           // channel index width
    parameter integer DRAIN_IDLE = 4096
) (
    input  wire           clk,
    input  wire           rst,
    input  wire           start,        // pulse: receive one inference
    input  wire           store,        // write the values (0: only check the framing)
    input  wire           s_axis_tvalid,
    output wire           s_axis_tready,
    input  wire [31:0]    s_axis_tdata,
    input  wire           s_axis_tlast,
    output reg            done,         // pulse
    output reg            err_short,
    output reg            err_long,
    output wire           in_we,
    output wire [CW-1:0]  in_chan,
    output wire [IAW-1:0] in_addr,
    output wire [IB-1:0]  in_val
);
    localparam integer LPW = 32 / LANE;
    localparam integer HW = H * W;
    localparam integer N = T * WPF;
    localparam [1:0] R_IDLE = 2'd0, R_RUN = 2'd1, R_DRAIN = 2'd2;

    reg  [1:0]  state;
    reg         wv, wlast;
    reg  [31:0] wdata;
    reg  [5:0]  lane;
    reg  [31:0] vidx, p, tbase, widx, idle;
    reg  [CW-1:0] c;

    wire frame_end = vidx == CIN * HW - 1;
    wire word_done = wv && (lane == LPW - 1 || frame_end);
    wire last_word = widx == N - 1;
    wire finish_ok = word_done && last_word && wlast;
    wire go_long = word_done && last_word && !wlast;
    wire go_short = word_done && !last_word && wlast;
    wire take_next = !wv || (word_done && !last_word && !wlast);
    assign s_axis_tready = (state == R_RUN && take_next) || state == R_DRAIN;

    wire [31:0] lane_val = wdata >> (lane * LANE);
    assign in_we = state == R_RUN && wv && store;
    assign in_chan = c;
    assign in_addr = tbase[IAW-1:0] + p[IAW-1:0];
    assign in_val = lane_val[IB-1:0];

    always @(posedge clk) begin
        if (rst) begin
            state <= R_IDLE;
            wv <= 1'b0;
            done <= 1'b0;
            err_short <= 1'b0;
            err_long <= 1'b0;
        end else begin
            done <= 1'b0;
            case (state)
                R_IDLE: if (start) begin
                    state <= R_RUN;
                    wv <= 1'b0;
                    lane <= 6'd0; vidx <= 32'd0; p <= 32'd0; tbase <= 32'd0; widx <= 32'd0; c <= {CW{1'b0}};
                    err_short <= 1'b0;
                    err_long <= 1'b0;
                end
                R_RUN: begin
                    if (wv) begin
                        if (word_done) begin
                            lane <= 6'd0;
                            widx <= widx + 32'd1;
                        end else begin
                            lane <= lane + 6'd1;
                        end
                        if (frame_end) begin
                            vidx <= 32'd0; p <= 32'd0; c <= {CW{1'b0}}; tbase <= tbase + HW;
                        end else begin
                            vidx <= vidx + 32'd1;
                            if (p == HW - 1) begin
                                p <= 32'd0;
                                c <= c + 1'b1;
                            end else begin
                                p <= p + 32'd1;
                            end
                        end
                    end
                    if (finish_ok || go_short) begin
                        state <= R_IDLE;
                        wv <= 1'b0;
                        done <= 1'b1;
                        err_short <= go_short;
                    end else if (go_long) begin
                        state <= R_DRAIN;
                        wv <= 1'b0;
                        err_long <= 1'b1;
                        idle <= 32'd0;
                    end else if (take_next) begin
                        wv <= s_axis_tvalid;
                        wdata <= s_axis_tdata;
                        wlast <= s_axis_tlast;
                    end
                end
                R_DRAIN: begin
                    idle <= s_axis_tvalid ? 32'd0 : idle + 32'd1;
                    if ((s_axis_tvalid && s_axis_tlast) || idle + 32'd1 >= DRAIN_IDLE) begin
                        state <= R_IDLE;
                        done <= 1'b1;
                    end
                end
                default: state <= R_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
