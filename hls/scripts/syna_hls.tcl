# Vitis HLS flow for the SynA spiking core (AMD Vitis HLS 2023.1 or later).
#
#   vitis_hls -f hls/scripts/syna_hls.tcl -tclargs GEN_DIR BOARD ?cosim?
#
# `make hls [BOARD=<board>]` runs it after generating GEN_DIR (build/hls/<hash16>/p<P>/):
# syna_model.h (the model), golden.bin (the C-sim vectors) and board_<BOARD>.tcl, which sets
# syna_part / syna_clock_ns / ... from syna_contract/boards.py, the one board table.
# Stages: csim_design (the same testbench as `make csim`, here with Vitis's own headers),
# csynth_design, cosim_design when asked, export_design -format ip_catalog.
# Never run in this repository's CI (no Vitis there); tests/test_hls.py sources it with stubs.

if {[llength $argv] < 2} {
    error "usage: vitis_hls -f syna_hls.tcl -tclargs GEN_DIR BOARD ?cosim?"
}
set gen_dir [file normalize [lindex $argv 0]]
set board [lindex $argv 1]
set stages [lrange $argv 2 end]
set board_tcl [file join $gen_dir board_${board}.tcl]
if {![file exists $board_tcl]} {
    error "$board_tcl is missing: generate it with `python -m syna_hw.hls_core gen --board $board`"
}
source $board_tcl
# weights="ddr" (syna_weights ddr): the core has an m_axi port `ddr` (bundle gmem, offset=off) and the
# 64-bit scalar `weights_base` in s_axi_control at WEIGHTS_BASE, declared by the pragmas in syna_core.cpp;
# csim and cosim read the bundle's DDR image (syna_ddr_image) as that memory, at address 0 (the testbench
# sets weights_base = 0), passed to the testbench as its second argument.
# maps="ddr" (syna_maps ddr; the header defines SYNA_MAPS_DDR): the input and every spike map in a scratch
# buffer through a second pointer `scratch` on the same m_axi bundle gmem (offset=off) and the 64-bit scalar
# `scratch_base` at SCRATCH_BASE; the testbench gives it its own array (the buffer at byte 4096).
if {![info exists syna_maps]} {
    set syna_maps chip
}
if {$syna_maps eq "ddr" && $syna_weights ne "ddr"} {
    error "$board_tcl: syna_maps ddr needs syna_weights ddr (the scratch shares the weights' m_axi port)"
}
set tb_argv [file join $syna_gen_dir golden.bin]
if {$syna_weights eq "ddr"} {
    if {![file exists $syna_ddr_image]} {
        error "DDR-mode core, but its weight image $syna_ddr_image is missing: export the bundle with --ddr-image --lanes $syna_lanes"
    }
    lappend tb_argv $syna_ddr_image
}

# Only the generated header and the core's sources: never hls/csim_include (the g++ C-sim shim).
set cflags "-std=c++14 -I$syna_gen_dir -I$syna_src_dir"
# the m_axi port's longest read burst is the board's HP port's (syna_contract/boards.py hp_max_burst: 16 on a
# Zynq-7000 AXI3 port, 256 on Zynq UltraScale+), not the header's AXI4 default: the IP asks for what the port takes
if {$syna_weights eq "ddr"} {
    if {!([string is integer -strict $syna_hp_max_burst] && $syna_hp_max_burst >= 1 && $syna_hp_max_burst <= 256)} {
        error "$board_tcl: syna_hp_max_burst '$syna_hp_max_burst' is not a burst length (1 to 256 beats)"
    }
    append cflags " -DSYNA_DDR_MAX_BURST=$syna_hp_max_burst"
}
cd $gen_dir
open_project -reset syna_${board}
set_top syna_core
add_files [file join $syna_src_dir syna_core.cpp] -cflags $cflags
add_files [file join $syna_src_dir syna_core.h] -cflags $cflags
add_files [file join $syna_gen_dir syna_model.h] -cflags $cflags
add_files -tb [file join $syna_tb_dir tb_syna.cpp] -cflags $cflags
add_files -tb [file join $syna_gen_dir golden.bin]
if {$syna_weights eq "ddr"} {
    add_files -tb $syna_ddr_image
}

open_solution -reset sol -flow_target vivado
set_part $syna_part
create_clock -period $syna_clock_ns -name default
config_export -format ip_catalog -rtl verilog -vendor syna -library hls -version 1.0 \
    -ipname syna_core -description "SynA spiking core, model $syna_model_hash16, P=$syna_lanes, weights $syna_weights, maps $syna_maps"
if {$syna_weights eq "ddr"} {
    # 64-bit m_axi addresses (WEIGHTS_BASE is two s_axilite words); every tile starts 64-byte aligned
    # (the image layout; WEIGHTS_BASE must be 4096-aligned), which lets Vitis widen the bursts (maps in DDR:
    # SCRATCH_BASE and every scratch region are 4096-aligned too)
    config_interface -m_axi_addr64=true -m_axi_alignment_byte_size 64
}

puts "syna: C simulation ($syna_board, model $syna_model_hash16)"
csim_design -argv $tb_argv
puts "syna: C synthesis for $syna_part at $syna_clock_mhz MHz"
csynth_design
if {[lsearch -exact $stages cosim] >= 0} {
    puts "syna: C/RTL co-simulation"
    cosim_design -argv $tb_argv -rtl verilog
}
export_design -format ip_catalog
puts "syna: IP exported to [file join $gen_dir syna_${board} sol impl ip]"
exit
