// Output packet sender: N words, word i = data (the caller muxes it from idx),
// TLAST on the last. AXI4-Stream master with a registered output.
`default_nettype none
module syna_stream_tx #(
    parameter integer N = 8,
    parameter integer IW = 8
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          start,         // pulse
    output reg  [IW-1:0] idx,           // index of the word the caller presents on data
    input  wire [31:0]   data,
    output reg           m_axis_tvalid,
    input  wire          m_axis_tready,
    output reg  [31:0]   m_axis_tdata,
    output reg           m_axis_tlast,
    output reg           done           // pulse after the last word's handshake
);
    reg active;
    wire load = active && (!m_axis_tvalid || m_axis_tready) && idx != N;
    always @(posedge clk) begin
        if (rst) begin
            active <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
            done <= 1'b0;
            idx <= {IW{1'b0}};
        end else begin
            done <= 1'b0;
            if (start) begin
                active <= 1'b1;
                idx <= {IW{1'b0}};
            end else begin
                if (m_axis_tvalid && m_axis_tready) begin
                    m_axis_tvalid <= 1'b0;
                    if (m_axis_tlast) begin
                        active <= 1'b0;
                        done <= 1'b1;
                    end
                end
                if (load) begin
                    m_axis_tvalid <= 1'b1;
                    m_axis_tdata <= data;
                    m_axis_tlast <= idx == N - 1;
                    idx <= idx + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
