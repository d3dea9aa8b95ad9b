// Input stream receiver (docs/core-interface.md, "Input stream"): T frames of
// C x H x W values, LANE bits per value, 32/LANE values per word, every frame on
// a new word, TLAST on the last word of the last frame. One value per cycle is
// written to input bank `chan` at t*H*W + y*W + x (its low IB bits).
// Checks (docs/core-interface.md): TLAST before the last word -> err_short (stop);
// no word for `idle_limit` cycles while words are expected -> err_short (stop: the
// sender stopped); no TLAST on the last word -> err_long, then the stream is drained
// up to TLAST, or until it has been idle for `idle_limit` cycles; a value lane with
// bits above IB, or a nonzero unused lane at a frame's end -> err_range (the receive
// goes on to the end of the packet). So no sender can hang the core.
// `hold` (maps-in-DDR cores: the scratch writer is not ready) stops the taking of new words; `wtake`
// pulses with each word taken in a receive (s_axis_tdata is that word), for the scratch writer.
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
    parameter integer CW = 4            // channel index width
) (
    input  wire           clk,
    input  wire           rst,
    input  wire           start,        // pulse: receive one inference
    input  wire           store,        // write the values (0: only check the framing and ranges)
    input  wire [31:0]    idle_limit,   // idle timeout in cycles (>= 1)
    input  wire           hold,         // take no new word (0: never held)
    output wire           wtake,        // a word of the receive is taken this cycle
    input  wire           s_axis_tvalid,
    output wire           s_axis_tready,
    input  wire [31:0]    s_axis_tdata,
    input  wire           s_axis_tlast,
    output reg            done,         // pulse
    output reg            err_short,
    output reg            err_long,
    output reg            err_range,
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
    wire take_ok = !wv || (word_done && !last_word && !wlast);
    wire take_next = take_ok && !hold;
    assign s_axis_tready = (state == R_RUN && take_next) || state == R_DRAIN;
    assign wtake = state == R_RUN && take_next && s_axis_tvalid;

    wire [31:0] lane_val = wdata >> (lane * LANE);
    localparam [31:0] HIGH_MASK = ((32'd1 << LANE) - 32'd1) & ~((32'd1 << IB) - 32'd1);   // lane bits above IB
    wire [31:0] next_lanes = wdata >> (({26'd0, lane} + 32'd1) * LANE);                   // 0 past bit 31
    wire        lane_bad = (lane_val & HIGH_MASK) != 32'd0 || (frame_end && next_lanes != 32'd0);
    wire        stalled = !s_axis_tvalid && idle + 32'd1 >= idle_limit;                   // the sender stopped
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
            err_range <= 1'b0;
        end else begin
            done <= 1'b0;
            case (state)
                R_IDLE: if (start) begin
                    state <= R_RUN;
                    wv <= 1'b0;
                    lane <= 6'd0; vidx <= 32'd0; p <= 32'd0; tbase <= 32'd0; widx <= 32'd0; c <= {CW{1'b0}};
                    idle <= 32'd0;
                    err_short <= 1'b0;
                    err_long <= 1'b0;
                    err_range <= 1'b0;
                end
                R_RUN: begin
                    if (wv && lane_bad) err_range <= 1'b1;
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
                    end else if (take_next && stalled) begin      // no word for idle_limit cycles
                        state <= R_IDLE;
                        wv <= 1'b0;
                        done <= 1'b1;
                        err_short <= 1'b1;
                    end else if (take_next) begin
                        wv <= s_axis_tvalid;
                        wdata <= s_axis_tdata;
                        wlast <= s_axis_tlast;
                        idle <= s_axis_tvalid ? 32'd0 : idle + 32'd1;
                    end else if (take_ok) begin                   // held: the word is done, none taken
                        wv <= 1'b0;
                    end
                end
                R_DRAIN: begin
                    idle <= s_axis_tvalid ? 32'd0 : idle + 32'd1;
                    if ((s_axis_tvalid && s_axis_tlast) || stalled) begin
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
