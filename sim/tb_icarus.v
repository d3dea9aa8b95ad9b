// Plain Verilog testbench for Icarus (the fallback simulator): one inference on
// syna_core_top. Reads tb_in.hex (input packet words; +NWORDS=<n>), writes STEPS
// (+STEPS=<T>) and ap_start over AXI4-Lite, streams the words (TLAST on the last),
// writes the output packet to tb_out.hex and the cycle count to stdout.
// Run in the directory that holds the generated ROM files (tests/test_rtl_synth.py).
`timescale 1ns / 1ps
`default_nettype none
module tb_icarus;
    reg clk = 1'b0, rst_n = 1'b0;
    always #5 clk = ~clk;

    reg         awvalid = 0, wvalid = 0, bready = 1, arvalid = 0, rready = 1;
    reg  [6:0]  awaddr = 0, araddr = 0;
    reg  [31:0] wdata = 0;
    wire        awready, wready, bvalid, arready, rvalid, interrupt;
    wire [1:0]  bresp, rresp;
    wire [31:0] rdata;
    reg         in_valid = 0, in_last = 0;
    reg  [31:0] in_data = 0;
    wire        in_ready;
    wire        out_valid, out_last;
    wire [31:0] out_data;
    wire [3:0]  out_keep;

    syna_core_top dut (
        .ap_clk(clk), .ap_rst_n(rst_n),
        .s_axi_control_AWVALID(awvalid), .s_axi_control_AWREADY(awready), .s_axi_control_AWADDR(awaddr),
        .s_axi_control_WVALID(wvalid), .s_axi_control_WREADY(wready), .s_axi_control_WDATA(wdata),
        .s_axi_control_WSTRB(4'hf), .s_axi_control_BVALID(bvalid), .s_axi_control_BREADY(bready),
        .s_axi_control_BRESP(bresp), .s_axi_control_ARVALID(arvalid), .s_axi_control_ARREADY(arready),
        .s_axi_control_ARADDR(araddr), .s_axi_control_RVALID(rvalid), .s_axi_control_RREADY(rready),
        .s_axi_control_RDATA(rdata), .s_axi_control_RRESP(rresp),
        .s_axis_in_TVALID(in_valid), .s_axis_in_TREADY(in_ready), .s_axis_in_TDATA(in_data),
        .s_axis_in_TKEEP(4'hf), .s_axis_in_TLAST(in_last),
        .m_axis_out_TVALID(out_valid), .m_axis_out_TREADY(1'b1), .m_axis_out_TDATA(out_data),
        .m_axis_out_TKEEP(out_keep), .m_axis_out_TLAST(out_last), .interrupt(interrupt));

    task axil_write(input [6:0] a, input [31:0] d);
        begin
            @(negedge clk);
            awaddr = a; wdata = d; awvalid = 1; wvalid = 1;
            while (awvalid || wvalid) begin
                @(posedge clk);
                if (awready) awvalid <= 0;
                if (wready) wvalid <= 0;
                @(negedge clk);
            end
            while (!bvalid) @(negedge clk);
            @(negedge clk);
        end
    endtask

    reg [31:0] words [0:65535];
    integer nwords, steps, i, n_out, fd, cycles;
    initial begin
        if (!$value$plusargs("NWORDS=%d", nwords)) nwords = 0;
        if (!$value$plusargs("STEPS=%d", steps)) steps = 0;
        $readmemh("tb_in.hex", words);
        fd = $fopen("tb_out.hex", "w");
        repeat (4) @(posedge clk);
        rst_n = 1;
        axil_write(7'h10, steps);
        axil_write(7'h00, 32'd1);
        // stream the input
        i = 0;
        while (i < nwords) begin
            @(negedge clk);
            in_valid = 1; in_data = words[i]; in_last = (i == nwords - 1);
            @(posedge clk);
            if (in_ready) i = i + 1;
        end
        @(negedge clk);
        in_valid = 0; in_last = 0;
    end
    // collect the output packet
    initial begin
        n_out = 0;
        cycles = 0;
        forever begin
            @(posedge clk);
            cycles = cycles + 1;
            if (out_valid) begin
                $fdisplay(fd, "%08x", out_data);
                n_out = n_out + 1;
                if (out_last) begin
                    $fclose(fd);
                    $display("DONE %0d words, %0d cycles", n_out, cycles);
                    $finish;
                end
            end
            if (cycles > 20000000) begin
                $display("TIMEOUT");
                $finish;
            end
        end
    end
endmodule
`default_nettype wire
