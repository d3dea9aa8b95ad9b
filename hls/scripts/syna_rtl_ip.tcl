# Package the RTL twin (rtl/, configured for one bundle) as a Vivado IP (AMD Vivado 2023.1 or later).
#
#   vivado -mode batch -source hls/scripts/syna_rtl_ip.tcl -tclargs GEN_DIR BOARD
#
# `make bitstream BOARD=<board> IMPL=rtl` runs it, then syna_bd.tcl, which puts the IP in the same block
# design as the HLS core (cell syna_core_0). GEN_DIR is written by
# `python -m syna_hw.rtl_core generate BUNDLE --out GEN_DIR --board BOARD`: the generated syna_cfg.vh and
# ROM files, and board_<BOARD>.tcl with the board's variables (syna_contract/boards.py) and the RTL's:
# syna_rtl_top, syna_rtl_sources (rtl/syna.f, in order), syna_rtl_generated, syna_registers
# (syna_contract/protocol.py), syna_gmem_dw, syna_axi_max_burst, syna_axi_outstanding. Writes the IP (VLNV
# syna:rtl:syna_core:1.0) to GEN_DIR/rtl_ip.
# The IP's interfaces are those of docs/core-interface.md, the names the HLS core's IP has:
# s_axi_control (AXI4-Lite slave, address block Reg with the registers), s_axis_in / m_axis_out
# (AXI4-Stream), ap_clk (clock of all of them), ap_rst_n (active-low reset), interrupt (level, high).
# Weights in DDR (syna_weights ddr, `generate --weights ddr`): the top is syna_core_top_ddr and the IP
# also has the HLS IP's AXI4 master m_axi_gmem, with its address space Data_m_axi_gmem (64-bit
# addresses, 16E) so that syna_bd.tcl maps the PS's DDR segments into it exactly as for the HLS IP;
# its data width GMEM_DW is fixed to the configuration's (syna_gmem_dw = syna_cfg.vh SYNA_GMEM_DW), and
# the register map has WEIGHTS_BASE(_HI) at 0x48/0x4C. Its read bursts are at most the board's HP port takes
# (syna_axi_max_burst, the configuration's SYNA_AXI_MAX_BURST, `generate --board` sets it to syna_hp_max_burst:
# 16 beats on a Zynq-7000 AXI3 port, 256 on Zynq UltraScale+); a longer one is refused here, and m_axi_gmem
# declares them (MAX_BURST_LENGTH, NUM_READ_OUTSTANDING, SUPPORTS_NARROW_BURST 0) for the SmartConnect.
# Never run in this repository's CI (no Vivado there); tests/test_vivado_bd.py sources it with stubs.

if {[llength $argv] < 2} {
    error "usage: vivado -mode batch -source syna_rtl_ip.tcl -tclargs GEN_DIR BOARD"
}
set gen_dir [file normalize [lindex $argv 0]]
set board [lindex $argv 1]
set board_tcl [file join $gen_dir board_${board}.tcl]
if {![file exists $board_tcl]} {
    error "$board_tcl is missing: generate it with `python -m syna_hw.rtl_core generate BUNDLE --out $gen_dir --board $board`"
}
source $board_tcl
if {![info exists syna_impl] || $syna_impl ne "rtl"} {
    error "$board_tcl was not written for the RTL twin (syna_impl rtl): use `python -m syna_hw.rtl_core generate ... --board $board`"
}
set ddr_core [expr {$syna_weights eq "ddr"}]
set want_top [expr {$ddr_core ? "syna_core_top_ddr" : "syna_core_top"}]
if {$syna_rtl_top ne $want_top} {
    error "$board_tcl: top $syna_rtl_top with syna_weights $syna_weights (expected $want_top): generate it again"
}
if {$ddr_core && !($syna_gmem_dw >= 32 && ($syna_gmem_dw & ($syna_gmem_dw - 1)) == 0)} {
    error "$board_tcl: syna_gmem_dw '$syna_gmem_dw' is not the DDR read port's width (a power of two, 32 or more)"
}
# a DDR build's bursts must fit the board's HP port: an AXI3 port (Zynq 7000) takes 16 beats; a SmartConnect
# would split longer ones, but nothing proves it here and an AXI Interconnect then accepts one at a time (PG059)
if {$ddr_core && !([string is integer -strict $syna_axi_max_burst] && $syna_axi_max_burst >= 1 &&
                   $syna_axi_max_burst <= $syna_hp_max_burst)} {
    error "$board_tcl: the RTL configuration reads DDR in bursts of up to '$syna_axi_max_burst' beats, but $syna_board's HP port ($syna_hp_protocol) takes at most $syna_hp_max_burst: generate it with `python -m syna_hw.rtl_core generate ... --board $syna_board --weights ddr`"
}
foreach f [concat $syna_rtl_sources $syna_rtl_generated] {
    if {![file exists $f]} { error "RTL IP: $f is missing (rtl/syna.f or the generated configuration)" }
}
set ip_dir [file join $gen_dir rtl_ip]
file delete -force $ip_dir

# ---- a project with the RTL (rtl/syna.f order) and this bundle's configuration
create_project -force syna_rtl_ip [file join $gen_dir vivado_rtl_ip] -part $syna_part
add_files -norecurse $syna_rtl_sources
add_files -norecurse $syna_rtl_generated
# syna_core.v `include`s syna_cfg.vh; the syna_mem instances $readmemh the ROM files by bare name
set_property file_type {Verilog Header} [get_files syna_cfg.vh]
set_property file_type {Memory File} [get_files *.mem]
set_property top $syna_rtl_top [current_fileset]
if {$ddr_core} {
    # the project elaborates the DDR top at the configuration's width (the default 64 may not be it)
    set_property generic "GMEM_DW=$syna_gmem_dw" [current_fileset]
}
update_compile_order -fileset sources_1

# ---- package (the files are copied into the IP: it does not depend on this checkout or GEN_DIR)
ipx::package_project -root_dir $ip_dir -vendor syna -library rtl -taxonomy /UserIP -import_files -set_current true
set core [ipx::current_core]
set_property name syna_core $core
set_property version 1.0 $core
set_property display_name "SynA spiking core (RTL twin)" $core
set_property description "SynA spiking core, RTL twin, model $syna_model_hash16, P=$syna_lanes, [expr {$ddr_core ? {weights in DDR (m_axi_gmem)} : {on-chip weights}}]" $core

# ---- interfaces: whatever package_project guessed is replaced by an explicit inference, so the
# names are the HLS core's (the block design connects the same pins for either IMPL)
foreach busif [ipx::get_bus_interfaces -of_objects $core] {
    ipx::remove_bus_interface [get_property NAME $busif] $core
}
foreach mmap [ipx::get_memory_maps -of_objects $core] {
    ipx::remove_memory_map [get_property NAME $mmap] $core
}
foreach space [ipx::get_address_spaces -of_objects $core] {
    ipx::remove_address_space [get_property NAME $space] $core
}
# AXI4-Lite, AXI4 (DDR: m_axi_gmem_ARADDR, ...) and AXI4-Stream from the port prefixes (s_axi_control_AWADDR,
# s_axis_in_TDATA, m_axis_out_TDATA, ...); Vivado takes master or slave from the ports' directions
ipx::infer_bus_interfaces xilinx.com:interface:aximm_rtl:1.0 $core
ipx::infer_bus_interfaces xilinx.com:interface:axis_rtl:1.0 $core
ipx::infer_bus_interface ap_clk xilinx.com:signal:clock_rtl:1.0 $core
ipx::infer_bus_interface ap_rst_n xilinx.com:signal:reset_rtl:1.0 $core
ipx::infer_bus_interface interrupt xilinx.com:signal:interrupt_rtl:1.0 $core
set busifs {s_axi_control s_axis_in m_axis_out ap_clk ap_rst_n interrupt}
set streams {s_axi_control s_axis_in m_axis_out}
if {$ddr_core} {
    lappend busifs m_axi_gmem
    lappend streams m_axi_gmem
}
foreach busif $busifs {
    if {[llength [ipx::get_bus_interfaces $busif -of_objects $core]] != 1} {
        error "RTL IP: Vivado inferred no bus interface '$busif' from $syna_rtl_top's ports (expected the names of docs/core-interface.md)"
    }
}
set_property value ACTIVE_LOW [ipx::add_bus_parameter POLARITY [ipx::get_bus_interfaces ap_rst_n -of_objects $core]]
set_property value LEVEL_HIGH [ipx::add_bus_parameter SENSITIVITY [ipx::get_bus_interfaces interrupt -of_objects $core]]
foreach busif $streams {
    ipx::associate_bus_interfaces -busif $busif -clock ap_clk $core
}
ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n $core

# ---- the register map (address block Reg, as the HLS IP names it; s_axi_control_AWADDR is 7 bits: 128 bytes)
set mmap [ipx::add_memory_map s_axi_control $core]
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces s_axi_control -of_objects $core]
set block [ipx::add_address_block Reg $mmap]
set_property range 128 $block
set_property width 32 $block
set_property usage register $block
foreach reg $syna_registers {
    lassign $reg name offset
    set r [ipx::add_register $name $block]
    set_property address_offset $offset $r
    set_property size 32 $r
}

# ---- weights in DDR: the master's address space (named as the HLS IP names it, so the block design's
# assign_bd_address into syna_core_0/Data_m_axi_gmem is the same for either IMPL) and the port width
if {$ddr_core} {
    set space [ipx::add_address_space Data_m_axi_gmem $core]
    set_property range 16E $space
    set_property width $syna_gmem_dw $space
    set gmem [ipx::get_bus_interfaces m_axi_gmem -of_objects $core]
    set_property master_address_space_ref Data_m_axi_gmem $gmem
    # AXI4, not the AXI3 a 2-bit *LOCK could be taken for (the HLS IP's m_axi is AXI4 too); its bursts are at
    # most syna_axi_max_burst beats (syna_axi_rd MAX_BURST: 16 for an AXI3 HP port, so the SmartConnect
    # converts the protocol without splitting), full-width (never narrow), syna_axi_outstanding in flight
    foreach {name value} [list PROTOCOL AXI4 MAX_BURST_LENGTH $syna_axi_max_burst \
                              NUM_READ_OUTSTANDING $syna_axi_outstanding SUPPORTS_NARROW_BURST 0] {
        set param [ipx::get_bus_parameters $name -of_objects $gmem]
        if {[llength $param] == 0} { set param [ipx::add_bus_parameter $name $gmem] }
        set_property value $value $param
    }
    # GMEM_DW (a parameter of syna_core_top_ddr, default 64) must be the configuration's: syna_core stops
    # elaboration otherwise. Fixed in the IP (not a user choice in the block design).
    foreach param [list [ipx::get_user_parameters GMEM_DW -of_objects $core] [ipx::get_hdl_parameters GMEM_DW -of_objects $core]] {
        if {[llength $param] != 1} {
            error "RTL IP: $syna_rtl_top has no parameter GMEM_DW (expected the DDR top's data-width parameter)"
        }
        set_property value $syna_gmem_dw $param
    }
    set_property enablement_value false [ipx::get_user_parameters GMEM_DW -of_objects $core]
}

ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity $core
ipx::save_core $core
close_project
puts "syna: RTL IP syna:rtl:syna_core:1.0 (model $syna_model_hash16, P=$syna_lanes, top $syna_rtl_top) in $ip_dir"
exit
