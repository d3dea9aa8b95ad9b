# Vivado block design + bitstream for the SynA core (AMD Vivado 2023.1 or later).
#
#   vivado -mode batch -source hls/scripts/syna_bd.tcl -tclargs GEN_DIR BOARD OUT_DIR
#
# Two implementations of the same core (same ports, registers and streams, docs/core-interface.md):
# - IMPL=hls (default): `make bitstream [BOARD=<board>]` runs it after `make hls` exported the Vitis HLS
#   core as an IP (GEN_DIR/syna_<BOARD>/sol/impl/ip, VLNV syna:hls:syna_core:1.0);
# - IMPL=rtl: `make bitstream BOARD=<board> IMPL=rtl` runs it after hls/scripts/syna_rtl_ip.tcl packaged
#   the RTL twin (rtl/) as an IP (GEN_DIR/rtl_ip, VLNV syna:rtl:syna_core:1.0; a DDR-mode build's top
#   syna_core_top_ddr has the HLS IP's m_axi_gmem and address space Data_m_axi_gmem, so the design below
#   is the same for either IMPL).
# Part, PS IP, HP port width, clock, DDR size and address map come from GEN_DIR/board_<BOARD>.tcl,
# generated from syna_contract/boards.py. The design: Zynq PS (processing_system7 on Zynq 7000 boards,
# zynq_ultra_ps_e on UltraScale+ ones) -> AXI-Lite -> {AXI DMA, core s_axi_control}; DMA MM2S -> core
# s_axis_in, core m_axis_out -> DMA S2MM; DMA masters (and a DDR-mode core's m_axi_gmem) -> memory
# SmartConnect -> PS high-performance port HP0 (S_AXI_HP0 / S_AXI_HP0_FPD), with the PS's DDR segments
# mapped into each master's address space (syna_ddr_map); core and DMA interrupts -> PS. The core
# cell is syna_core_0 either way. Writes OUT_DIR/syna.bit, syna.hwh (for pynq.Overlay) and syna.model_hash.
# Never run in this repository's CI (no Vivado there); tests/test_hls.py and tests/test_vivado_bd.py
# source it with stubs.

if {[llength $argv] < 3} {
    error "usage: vivado -mode batch -source syna_bd.tcl -tclargs GEN_DIR BOARD OUT_DIR"
}
set gen_dir [file normalize [lindex $argv 0]]
set board [lindex $argv 1]
set out_dir [file normalize [lindex $argv 2]]
source [file join $gen_dir board_${board}.tcl]
if {![info exists syna_impl]} { set syna_impl hls }
# a DDR-mode core (weights="ddr") reads its weight image through its m_axi_gmem port: a third memory master
set ddr_core [expr {[info exists syna_weights] && $syna_weights eq "ddr"}]
if {$syna_impl eq "rtl"} {
    set ip_repo [file join $gen_dir rtl_ip]
    set core_vlnv syna:rtl:syna_core:1.0
    if {![file isdirectory $ip_repo]} {
        error "no packaged RTL IP at $ip_repo: run hls/scripts/syna_rtl_ip.tcl first (`make bitstream BOARD=$board IMPL=rtl` does)"
    }
} elseif {$syna_impl eq "hls"} {
    set ip_repo [file join $gen_dir syna_${board} sol impl ip]
    set core_vlnv syna:hls:syna_core:1.0
    if {![file isdirectory $ip_repo]} {
        error "no exported HLS IP at $ip_repo: run `make hls BOARD=$board` first"
    }
} else {
    error "syna_impl is '$syna_impl': expected hls or rtl"
}

create_project -force syna_overlay [file join $gen_dir vivado_${board}] -part $syna_part
set_property ip_repo_paths [list $ip_repo] [current_project]
update_ip_catalog
create_bd_design syna

# ---- processing system, clock and reset
if {$syna_ps eq "processing_system7"} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config {make_external "FIXED_IO, DDR" apply_board_preset "0"} $ps
    set_property -dict [list CONFIG.PCW_USE_M_AXI_GP0 {1} CONFIG.PCW_USE_S_AXI_HP0 {1} \
        CONFIG.PCW_S_AXI_HP0_DATA_WIDTH $syna_hp_width CONFIG.PCW_USE_FABRIC_INTERRUPT {1} \
        CONFIG.PCW_IRQ_F2P_INTR {1} CONFIG.PCW_EN_CLK0_PORT {1} \
        CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $syna_clock_mhz] $ps
    set ps_clk ps/FCLK_CLK0
    set ps_rstn ps/FCLK_RESET0_N
    set ps_master ps/M_AXI_GP0
    set ps_hp ps/S_AXI_HP0
    set ps_irq ps/IRQ_F2P
    set ps_clk_pins [list ps/M_AXI_GP0_ACLK ps/S_AXI_HP0_ACLK]
    set ps_ctrl_base 0x40000000
} else {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:3.5 ps]
    apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "0"} $ps
    set_property -dict [list CONFIG.PSU__USE__M_AXI_GP0 {1} CONFIG.PSU__USE__M_AXI_GP1 {0} \
        CONFIG.PSU__USE__M_AXI_GP2 {0} CONFIG.PSU__USE__S_AXI_GP2 {1} CONFIG.PSU__SAXIGP2__DATA_WIDTH $syna_hp_width \
        CONFIG.PSU__USE__IRQ0 {1} CONFIG.PSU__FPGA_PL0_ENABLE {1} \
        CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $syna_clock_mhz] $ps
    set ps_clk ps/pl_clk0
    set ps_rstn ps/pl_resetn0
    set ps_master ps/M_AXI_HPM0_FPD
    set ps_hp ps/S_AXI_HP0_FPD
    set ps_irq ps/pl_ps_irq0
    set ps_clk_pins [list ps/maxihpm0_fpd_aclk ps/saxihp0_fpd_aclk]
    set ps_ctrl_base 0xA0000000
}
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset:5.0 rst]

# ---- the core and the DMA (simple mode; 23-bit length register: up to 8 MB per transfer)
set core [create_bd_cell -type ip -vlnv $core_vlnv syna_core_0]
set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_0]
set_property -dict [list CONFIG.c_include_sg {0} CONFIG.c_sg_length_width {23} \
    CONFIG.c_m_axi_mm2s_data_width {32} CONFIG.c_m_axis_mm2s_tdata_width {32} \
    CONFIG.c_m_axi_s2mm_data_width {32} CONFIG.c_s_axis_s2mm_tdata_width {32} \
    CONFIG.c_mm2s_burst_size {16} CONFIG.c_s2mm_burst_size {16}] $dma

set ctrl_ic [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 ctrl_ic]
set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {2}] $ctrl_ic
set mem_ic [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 mem_ic]
set_property -dict [list CONFIG.NUM_SI [expr {$ddr_core ? 3 : 2}] CONFIG.NUM_MI {1}] $mem_ic
set irqs [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 irqs]
set_property -dict [list CONFIG.NUM_PORTS {3}] $irqs

# ---- AXI connections
connect_bd_intf_net [get_bd_intf_pins $ps_master] [get_bd_intf_pins ctrl_ic/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M00_AXI] [get_bd_intf_pins axi_dma_0/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins ctrl_ic/M01_AXI] [get_bd_intf_pins syna_core_0/s_axi_control]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_MM2S] [get_bd_intf_pins mem_ic/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_S2MM] [get_bd_intf_pins mem_ic/S01_AXI]
if {$ddr_core} {
    connect_bd_intf_net [get_bd_intf_pins syna_core_0/m_axi_gmem] [get_bd_intf_pins mem_ic/S02_AXI]
}
connect_bd_intf_net [get_bd_intf_pins mem_ic/M00_AXI] [get_bd_intf_pins $ps_hp]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins syna_core_0/s_axis_in]
connect_bd_intf_net [get_bd_intf_pins syna_core_0/m_axis_out] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]

# ---- clock, reset, interrupts
set clk_pins [concat $ps_clk_pins [list rst/slowest_sync_clk syna_core_0/ap_clk axi_dma_0/s_axi_lite_aclk \
    axi_dma_0/m_axi_mm2s_aclk axi_dma_0/m_axi_s2mm_aclk ctrl_ic/aclk mem_ic/aclk]]
foreach pin $clk_pins {
    connect_bd_net [get_bd_pins $ps_clk] [get_bd_pins $pin]
}
connect_bd_net [get_bd_pins $ps_rstn] [get_bd_pins rst/ext_reset_in]
foreach pin [list syna_core_0/ap_rst_n axi_dma_0/axi_resetn ctrl_ic/aresetn mem_ic/aresetn] {
    connect_bd_net [get_bd_pins rst/peripheral_aresetn] [get_bd_pins $pin]
}
connect_bd_net [get_bd_pins syna_core_0/interrupt] [get_bd_pins irqs/In0]
connect_bd_net [get_bd_pins axi_dma_0/mm2s_introut] [get_bd_pins irqs/In1]
connect_bd_net [get_bd_pins axi_dma_0/s2mm_introut] [get_bd_pins irqs/In2]
connect_bd_net [get_bd_pins irqs/dout] [get_bd_pins $ps_irq]

# ---- address map
# control: the core and the DMA at fixed offsets of the PS's master window (the same for IMPL=hls and rtl)
assign_bd_address -offset $ps_ctrl_base -range 64K -target_address_space [get_bd_addr_spaces ps/Data] \
    [get_bd_addr_segs syna_core_0/s_axi_control/Reg] -force
assign_bd_address -offset [format 0x%08X [expr {$ps_ctrl_base + 0x10000}]] -range 64K \
    -target_address_space [get_bd_addr_spaces ps/Data] [get_bd_addr_segs axi_dma_0/S_AXI_LITE/Reg] -force
# DDR: the PS's DDR segments behind HP0 (syna_ddr_map: segment, offset, range, covering the board's
# syna_ddr_bytes) in the address space of every master on the memory SmartConnect; the DMA's 32-bit
# addresses reach only the windows below 4 GB, the DDR-mode core's 64-bit m_axi_gmem all of them
set ddr_masters [list axi_dma_0/Data_MM2S axi_dma_0/Data_S2MM]
if {$ddr_core} { lappend ddr_masters syna_core_0/Data_m_axi_gmem }
foreach space $ddr_masters {
    foreach window $syna_ddr_map {
        lassign $window seg offset range
        if {$space ne "syna_core_0/Data_m_axi_gmem" && $offset >= 0x100000000} { continue }
        assign_bd_address -offset $offset -range $range -target_address_space [get_bd_addr_spaces $space] \
            [get_bd_addr_segs ps/$seg] -force
    }
}
# anything left unassigned (none expected) gets Vivado's default
assign_bd_address
validate_bd_design
save_bd_design

set bd_file [get_files syna.bd]
make_wrapper -files $bd_file -top
add_files -norecurse [file join [get_property DIRECTORY [current_project]] syna_overlay.gen sources_1 bd syna hdl syna_wrapper.v]
set_property top syna_wrapper [current_fileset]
launch_runs impl_1 -to_step write_bitstream -jobs 2
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    error "implementation of the SynA overlay for $syna_board did not complete; see the impl_1 run log"
}

# ---- outputs: .bit and .hwh (names must match for pynq.Overlay), the model hash beside them
file mkdir $out_dir
set run_dir [get_property DIRECTORY [get_runs impl_1]]
file copy -force [file join $run_dir syna_wrapper.bit] [file join $out_dir syna.bit]
set hwh [lindex [get_files -all -of_objects $bd_file syna.hwh] 0]
file copy -force $hwh [file join $out_dir syna.hwh]
set f [open [file join $out_dir syna.model_hash] w]
puts $f $syna_model_hash
close $f
puts "syna: wrote [file join $out_dir syna.bit], syna.hwh and syna.model_hash (model $syna_model_hash16, $syna_board)"
exit
