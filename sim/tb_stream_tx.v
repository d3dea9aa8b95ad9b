// Unit bench wrapper of syna_stream_tx (sim/test_stream_tx.py): the caller's data for word `idx` is
// 0x1000 + idx (the core presents its output packet the same way: one word per index).
`default_nettype none
module tb_stream_tx #(
    parameter integer N = 5,
    parameter integer IW = 3
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        start,
    output wire        m_axis_tvalid,
    input  wire        m_axis_tready,
    output wire [31:0] m_axis_tdata,
    output wire        m_axis_tlast,
    output wire        done
);
    wire [IW-1:0] idx;
    syna_stream_tx #(.N(N), .IW(IW)) u_tx (.clk(clk), .rst(rst), .start(start), .idx(idx),
        .data(32'h1000 + {{(32 - IW){1'b0}}, idx}), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tlast(m_axis_tlast), .done(done));
endmodule
`default_nettype wire
