"""The Vivado flows to a bitstream, checked WITHOUT Vivado (none here): hls/scripts/tcl_check.tcl runs
syna_bd.tcl (the block design) and syna_rtl_ip.tcl (the RTL twin packaged as an IP) under tclsh with
every vendor command stubbed and recorded; these tests read the record as a netlist and an address map.

What they prove: for a DDR-mode core the m_axi_gmem port reaches the board's PS high-performance port
through the memory SmartConnect, that port is enabled and clocked, and the PS's DDR segments covering the
board's DDR (syna_contract/boards.py ddr_bytes) are mapped into the core's gmem address space; an on-chip
core has no m_axi connection; `make bitstream IMPL=rtl [WEIGHTS=ddr]` packages rtl/syna.f's files and the
bundle's generated configuration, infers the interfaces by the HLS IP's names (DDR: syna_core_top_ddr with
the AXI4 master m_axi_gmem and its address space Data_m_axi_gmem, WEIGHTS_BASE in the register map) and
wires the IP exactly as the HLS IP in the same weights mode. What only Vivado can confirm: that it accepts
every command, property and segment name."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import HW_CASES
from syna_contract import ddr_image as di
from syna_contract import protocol as pr
from syna_contract.boards import BOARDS
from syna_contract.bundle import load_bundle
from syna_hw import hls_core as hc
from syna_hw import rtl_core as rc
from syna_hw.hls_header import ddr_address_map, vivado_range
from syna_hw.limits import RTL
from syna_hw.lowering import ddr_weights, lower

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = hc.HLS_DIR / "scripts"
CASE = next(c for c in HW_CASES if c.name == "or-p16")

# Vivado's names of the HP0 port, its enable, its clock pin and its DDR segments' bus, per PS IP
# (UG585 / PG082 for processing_system7, UG1085 / PG201 for zynq_ultra_ps_e): written here, not taken
# from the script under test
HP0 = {"processing_system7": dict(port="S_AXI_HP0", enable="PCW_USE_S_AXI_HP0", clock="S_AXI_HP0_ACLK",
                                  width="PCW_S_AXI_HP0_DATA_WIDTH", segs="S_AXI_HP0"),
       "zynq_ultra_ps_e": dict(port="S_AXI_HP0_FPD", enable="PSU__USE__S_AXI_GP2", clock="saxihp0_fpd_aclk",
                               width="PSU__SAXIGP2__DATA_WIDTH", segs="SAXIGP2")}
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = CASE.write(tmp_path_factory.mktemp("vivado") / "b")
    di.add_image(load_bundle(root), 8)
    return load_bundle(root)


def _tcl_check(script: str, stub: Path, *args, ok: bool = True) -> str:
    exe = shutil.which("tclsh")
    assert exe, "tclsh is missing: the Tcl-flow check needs it (apt-get install tcl)"
    r = subprocess.run([exe, str(SCRIPTS / "tcl_check.tcl"), str(SCRIPTS / script), str(stub), *map(str, args)],
                       capture_output=True, text=True, timeout=60)
    if ok:
        assert r.returncode == 0 and "TCL-CHECK OK" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    else:
        assert r.returncode != 0 and "TCL-CHECK FAILED" in r.stdout, r.stdout[-3000:]
    return r.stdout


def _calls(log: str) -> list[list[str]]:
    return [l[5:].split() for l in log.splitlines() if l.startswith("CALL ")]


def _config(calls, cell: str) -> dict[str, str]:
    """Every CONFIG.<name> value set on ``cell`` by set_property -dict (last one wins)."""
    out = {}
    for c in calls:
        if c[:2] == ["set_property", "-dict"] and c[-1] == cell:
            out.update(zip([k[7:] for k in c[2:-1:2]], c[3:-1:2]))
    return out


def _reachable(calls, start: str) -> set[str]:
    """Interface pins reachable from ``start`` over connect_bd_intf_net nets and through SmartConnect cells
    (each slave port S<i>_AXI, i < NUM_SI, to each master port M<j>_AXI, j < NUM_MI)."""
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    adj = defaultdict(set)
    for c in calls:
        if c[0] == "connect_bd_intf_net":
            adj[c[1]].add(c[2])
            adj[c[2]].add(c[1])
    for cell, vlnv in cells.items():
        if vlnv.startswith("xilinx.com:ip:smartconnect:"):
            cfg = _config(calls, cell)
            ports = [f"{cell}/S{i:02d}_AXI" for i in range(int(cfg["NUM_SI"]))] + \
                    [f"{cell}/M{j:02d}_AXI" for j in range(int(cfg["NUM_MI"]))]
            for a in ports:
                adj[a].update(p for p in ports if p != a and (p.split("/")[1][0] != a.split("/")[1][0]))
    seen, todo = {start}, [start]
    while todo:
        for n in adj[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    return seen


def _ddr_maps(calls, space: str) -> list[tuple[str, int, int]]:
    """(segment, offset, bytes) of every assign_bd_address into ``space``."""
    out = []
    for c in calls:
        if c[0] == "assign_bd_address" and "-target_address_space" in c and c[c.index("-target_address_space") + 1] == space:
            rng = c[c.index("-range") + 1]
            m = re.fullmatch(r"(\d+)([KMG])", rng)
            assert m, f"range {rng!r} is not as Vivado names ranges (e.g. 512M, 2G)"
            out.append((c[-2] if c[-1] == "-force" else c[-1], int(c[c.index("-offset") + 1], 16),
                        int(m[1]) * UNITS[m[2]]))
    return out


def _stub_outputs(stub: Path) -> None:
    """The files syna_bd.tcl copies after implementation (the stubbed queries point into ``stub``)."""
    (stub / "syna_wrapper.bit").write_text("bit")
    (stub / "syna.hwh").write_text("hwh")


def _gen_hls(bundle, board, gen: Path, stub: Path, ddr: bool) -> None:
    hc.generate(bundle, 8, gen, weights="ddr" if ddr else "rom")
    hc.board_tcl(bundle, board, 8, gen, ddr_image=bundle.root / di.IMAGE_FILE if ddr else None)
    (gen / f"syna_{board}" / "sol" / "impl" / "ip").mkdir(parents=True, exist_ok=True)
    _stub_outputs(stub)


# ----------------------------------------------------------------------------- the DDR connection and address map
@pytest.mark.parametrize("impl", ["hls", "rtl"])
@pytest.mark.parametrize("board,expected", [("pynq-z2", [("ps/S_AXI_HP0/HP0_DDR_LOWOCM", 0, 512 << 20)]),
                                            ("zcu104", [("ps/SAXIGP2/HP0_DDR_LOW", 0, 2 << 30)])])
def test_ddr_core_reaches_the_hp_port_with_all_of_ddr_mapped(bundle, tmp_path, board, expected, impl):
    """Either core in DDR mode: the Vitis HLS IP, or the RTL twin's DDR top packaged by syna_rtl_ip.tcl."""
    b, hp = BOARDS[board], HP0[BOARDS[board].ps_ip]
    gen = tmp_path / "gen"
    if impl == "hls":
        _gen_hls(bundle, board, gen, tmp_path, ddr=True)
    else:
        _gen_rtl(bundle, board, gen, ddr=True)
        _stub_outputs(tmp_path)
        (gen / "rtl_ip").mkdir()
    calls = _calls(_tcl_check("syna_bd.tcl", tmp_path, gen, board, tmp_path / "out"))
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    assert cells["ps"].startswith(f"xilinx.com:ip:{b.ps_ip}:") and cells["syna_core_0"] == f"syna:{impl}:syna_core:1.0"
    # the path: m_axi_gmem -> memory SmartConnect -> the PS's HP0 port (and the DMA's masters share it)
    reach = _reachable(calls, "syna_core_0/m_axi_gmem")
    assert f"ps/{hp['port']}" in reach, sorted(reach)
    assert {"axi_dma_0/M_AXI_MM2S", "axi_dma_0/M_AXI_S2MM"} <= reach
    assert not any(p.startswith("ps/") and p != f"ps/{hp['port']}" for p in reach), sorted(reach)
    # the HP port enabled in the PS configuration, at the board's width, and clocked
    ps_cfg = _config(calls, "ps")
    assert ps_cfg.get(hp["enable"]) == "1", ps_cfg
    assert ps_cfg.get(hp["width"]) == str(b.hp_bits), ps_cfg
    clock = next(c[1] for c in calls if c[0] == "connect_bd_net" and c[2] == "syna_core_0/ap_clk")
    assert ["connect_bd_net", clock, f"ps/{hp['clock']}"] in calls
    # the address map: the PS's DDR segments of that port into the core's gmem space, covering the board's DDR
    maps = _ddr_maps(calls, "syna_core_0/Data_m_axi_gmem")
    assert maps == expected, maps
    assert all(seg.startswith(f"ps/{hp['segs']}/") for seg, _, _ in maps)
    assert sum(n for _, _, n in maps) >= b.ddr_bytes
    # the DMA sees the same DDR, and nothing is assigned before the connections exist
    for space in ("axi_dma_0/Data_MM2S", "axi_dma_0/Data_S2MM"):
        assert _ddr_maps(calls, space) == expected
    first_assign = next(i for i, c in enumerate(calls) if c[0] == "assign_bd_address")
    last_net = max(i for i, c in enumerate(calls) if c[0].startswith("connect_bd"))
    assert last_net < first_assign < next(i for i, c in enumerate(calls) if c[0] == "validate_bd_design")


@pytest.mark.parametrize("board", ["pynq-z2", "zcu104"])
def test_on_chip_core_has_no_memory_master(bundle, tmp_path, board):
    gen = tmp_path / "gen"
    _gen_hls(bundle, board, gen, tmp_path, ddr=False)
    log = _tcl_check("syna_bd.tcl", tmp_path, gen, board, tmp_path / "out")
    calls = _calls(log)
    assert "m_axi_gmem" not in log and "Data_m_axi_gmem" not in log
    assert _config(calls, "mem_ic")["NUM_SI"] == "2"
    assert _ddr_maps(calls, "axi_dma_0/Data_MM2S")            # the DMA still reaches DDR


def test_ddr_address_map_covers_every_board():
    """syna_hw.hls_header.ddr_address_map: powers of two as Vivado writes them, covering ddr_bytes, inside
    the PS's windows (DDR_LOW is 2 GB on UltraScale+, the rest at 0x8_0000_0000)."""
    for name, b in BOARDS.items():
        m = ddr_address_map(name)
        sizes = [int(r[:-1]) * UNITS[r[-1]] for _, _, r in m]
        assert sum(sizes) >= b.ddr_bytes and sum(sizes[:-1]) < b.ddr_bytes, (name, m)
        assert m[0][1] == 0 and all(s & (s - 1) == 0 for s in sizes)
    assert ddr_address_map("zcu102") == [("SAXIGP2/HP0_DDR_LOW", 0, "2G"), ("SAXIGP2/HP0_DDR_HIGH", 0x8_0000_0000, "2G")]
    assert [vivado_range(n) for n in (4096, 64 << 10, 512 << 20, 2 << 30, 32 << 30)] == ["4K", "64K", "512M", "2G", "32G"]
    for bad in (0, 100, 3 << 20):
        with pytest.raises(ValueError, match="power of two"):
            vivado_range(bad)


# ----------------------------------------------------------------------------- IMPL=rtl: the RTL twin as an IP
def _gen_rtl(bundle, board, gen: Path, ddr: bool = False) -> None:
    assert rc.main(["generate", str(bundle.root), "--out", str(gen), "--lanes", "8", "--board", board]
                   + (["--weights", "ddr"] if ddr else [])) == 0


AXI4_MASTER = {f"m_axi_gmem_{ch}{s}" for ch, sigs in (
    ("AR", "ADDR LEN SIZE BURST LOCK CACHE PROT QOS REGION ID VALID READY"),
    ("AW", "ADDR LEN SIZE BURST LOCK CACHE PROT QOS REGION ID VALID READY"),
    ("R", "ID DATA RESP LAST VALID READY"), ("W", "DATA STRB LAST VALID READY"), ("B", "ID RESP VALID READY"))
    for s in sigs.split()}


def _ports(module: str) -> dict[str, str]:
    text = (rc.RTL_DIR / f"{module}.v").read_text()
    return dict((n, w or "") for w, n in re.findall(r"^\s*(?:input|output)\s+wire\s*(\[[^\]]+\])?\s*(\w+)", text, re.M))


def test_rtl_ports_carry_the_interface_prefixes():
    """Vivado infers AXI interfaces from port-name prefixes: syna_core_top's ports must be exactly the
    s_axi_control_* (AXI4-Lite, 7 address bits = the IP's 128-byte block), s_axis_in_T* / m_axis_out_T*
    (AXI4-Stream with TKEEP, TLAST) groups plus ap_clk, ap_rst_n, interrupt."""
    ports = _ports("syna_core_top")
    lite = {f"s_axi_control_{s}" for s in "AWVALID AWREADY AWADDR WVALID WREADY WDATA WSTRB BVALID BREADY BRESP "
            "ARVALID ARREADY ARADDR RVALID RREADY RDATA RRESP".split()}
    streams = {f"{p}_{s}" for p in ("s_axis_in", "m_axis_out") for s in ("TVALID", "TREADY", "TDATA", "TKEEP", "TLAST")}
    assert set(ports) == lite | streams | {"ap_clk", "ap_rst_n", "interrupt"}
    assert ports["s_axi_control_AWADDR"] == ports["s_axi_control_ARADDR"] == "[6:0]"
    assert max(pr.REGISTERS.values()) + 4 <= 128
    # the DDR top: the same ports plus the whole AXI4 master m_axi_gmem (64-bit addresses, GMEM_DW data)
    ddr = _ports("syna_core_top_ddr")
    assert set(ddr) == set(ports) | AXI4_MASTER and all(ddr[p] == w for p, w in ports.items())
    assert ddr["m_axi_gmem_ARADDR"] == ddr["m_axi_gmem_AWADDR"] == "[63:0]" and ddr["m_axi_gmem_ARLEN"] == "[7:0]"
    assert ddr["m_axi_gmem_RDATA"] == ddr["m_axi_gmem_WDATA"] == "[GMEM_DW-1:0]"
    assert max({**pr.REGISTERS, **pr.DDR_REGISTERS}.values()) + 4 <= 128


def test_rtl_ip_is_packaged_from_the_file_list_with_the_hls_ip_names(bundle, tmp_path):
    gen = tmp_path / "gen"
    _gen_rtl(bundle, "pynq-z2", gen)
    tcl = (gen / "board_pynq-z2.tcl").read_text()
    assert "set syna_impl rtl" in tcl and "set syna_weights rom" in tcl
    calls = _calls(_tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "pynq-z2"))
    added = [[f.strip("{}") for f in c[2:]] for c in calls if c[:2] == ["add_files", "-norecurse"]]
    assert added[0] == [str(p) for p in rc.rtl_sources(top=True)]          # rtl/syna.f, in its order
    assert added[1] == [str((gen / f).resolve()) for f in (rc.CFG_VH, *rc.ROM_FILES)]
    assert all(Path(f).is_file() for f in added[1])
    assert ["set_property", "top", "syna_core_top", "current_fileset"] in calls
    pkg = next(c for c in calls if c[0] == "ipx::package_project")
    assert pkg[pkg.index("-root_dir") + 1] == str(gen / "rtl_ip") and "-import_files" in pkg
    assert pkg[pkg.index("-vendor") + 1] == "syna" and pkg[pkg.index("-library") + 1] == "rtl"
    assert ["set_property", "name", "syna_core", "ipx::current_core"] in calls
    i_pkg = calls.index(pkg)
    assert all(calls.index(c) > i_pkg for c in calls if c[0].startswith("ipx::infer"))
    inferred = {tuple(c[1:3]) for c in calls if c[0] == "ipx::infer_bus_interface"}
    assert inferred == {("ap_clk", "xilinx.com:signal:clock_rtl:1.0"), ("ap_rst_n", "xilinx.com:signal:reset_rtl:1.0"),
                        ("interrupt", "xilinx.com:signal:interrupt_rtl:1.0")}
    assert {c[1] for c in calls if c[0] == "ipx::infer_bus_interfaces"} == {
        "xilinx.com:interface:aximm_rtl:1.0", "xilinx.com:interface:axis_rtl:1.0"}
    for busif in ("s_axi_control", "s_axis_in", "m_axis_out"):
        assert ["ipx::associate_bus_interfaces", "-busif", busif, "-clock", "ap_clk", "ipx::current_core"] in calls
    assert ["ipx::associate_bus_interfaces", "-clock", "ap_clk", "-reset", "ap_rst_n", "ipx::current_core"] in calls
    for param, busif, value in (("POLARITY", "ap_rst_n", "ACTIVE_LOW"), ("SENSITIVITY", "interrupt", "LEVEL_HIGH")):
        i = calls.index(["ipx::add_bus_parameter", param, busif])
        assert calls[i + 1][:3] == ["set_property", "value", value]
    # the register map of syna_contract/protocol.py in address block Reg (the HLS IP's name), 128 bytes
    assert ["ipx::add_memory_map", "s_axi_control", "ipx::current_core"] in calls
    assert ["set_property", "slave_memory_map_ref", "s_axi_control", "s_axi_control"] in calls
    i = next(i for i, c in enumerate(calls) if c[:2] == ["ipx::add_address_block", "Reg"])
    assert ["set_property", "range", "128"] in [c[:3] for c in calls[i + 1:i + 4]]
    regs = {}
    for i, c in enumerate(calls):
        if c[0] == "ipx::add_register":
            regs[c[1]] = int(calls[i + 1][2], 16)
            assert calls[i + 1][:2] == ["set_property", "address_offset"]
    assert regs == {n: o for n, o in pr.REGISTERS.items() if n not in pr.DDR_REGISTERS}   # no WEIGHTS_BASE on chip
    assert not any("m_axi_gmem" in " ".join(c) or c[0] == "ipx::add_address_space" for c in calls)
    assert [c[0] for c in calls[-3:]] == ["ipx::save_core", "close_project", "exit"]


def test_rtl_ddr_ip_has_the_master_its_address_space_and_the_ddr_registers(bundle, tmp_path):
    """WEIGHTS=ddr: the DDR top (syna_core_top_ddr) packaged with the DDR configuration's files; m_axi_gmem
    inferred, clocked by ap_clk and given the address space Data_m_axi_gmem (the HLS IP's name, which
    syna_bd.tcl maps DDR into), 64-bit (16E), of the port's width; GMEM_DW fixed to the configuration's;
    WEIGHTS_BASE(_HI) in the register map."""
    gen = tmp_path / "gen"
    _gen_rtl(bundle, "zcu104", gen, ddr=True)
    tcl = (gen / "board_zcu104.tcl").read_text()
    assert "set syna_impl rtl" in tcl and "set syna_weights ddr" in tcl and "set syna_rtl_top syna_core_top_ddr" in tcl
    assert f"set syna_ddr_image {{{(bundle.root / di.IMAGE_FILE).resolve()}}}" in tcl
    gmem_dw = int(re.search(r"SYNA_GMEM_DW = (\d+);", (gen / rc.CFG_VH).read_text())[1])
    assert f"set syna_gmem_dw {gmem_dw}" in tcl
    calls = _calls(_tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "zcu104"))
    added = [[f.strip("{}") for f in c[2:]] for c in calls if c[:2] == ["add_files", "-norecurse"]]
    assert added[1] == [str((gen / f).resolve()) for f in (rc.CFG_VH, *rc.ROM_FILES, rc.DDR_MEM, rc.DDR_HEAD_MEM,
                                                       rc.TILES_MEM)
                        if f != rc.WEIGHTS_MEM]
    assert ["set_property", "top", "syna_core_top_ddr", "current_fileset"] in calls
    assert ["set_property", "generic", f"GMEM_DW={gmem_dw}", "current_fileset"] in calls
    assert ["ipx::get_bus_interfaces", "m_axi_gmem", "-of_objects", "ipx::current_core"] in calls     # checked
    assert ["ipx::associate_bus_interfaces", "-busif", "m_axi_gmem", "-clock", "ap_clk", "ipx::current_core"] in calls
    i = calls.index(["ipx::add_address_space", "Data_m_axi_gmem", "ipx::current_core"])
    assert [c[:3] for c in calls[i + 1:i + 3]] == [["set_property", "range", "16E"], ["set_property", "width", str(gmem_dw)]]
    j = calls.index(["ipx::get_bus_interfaces", "m_axi_gmem", "-of_objects", "ipx::current_core"], i)
    assert calls[j + 1][:3] == ["set_property", "master_address_space_ref", "Data_m_axi_gmem"]
    k = next(k for k, c in enumerate(calls) if c[:2] == ["ipx::get_bus_parameters", "PROTOCOL"])
    assert calls[k + 1][:3] == ["set_property", "value", "AXI4"] and k > j       # the HLS IP's m_axi protocol
    assert _gmem_params(calls) == {"PROTOCOL": "AXI4", "MAX_BURST_LENGTH": "256",      # ZynqMP HP_FPD: AXI4 bursts
                                   "NUM_READ_OUTSTANDING": str(pr.DDR_READ_OUTSTANDING), "SUPPORTS_NARROW_BURST": "0"}
    assert "SYNA_AXI_MAX_BURST = 256;" in (gen / rc.CFG_VH).read_text()
    for kind in ("user", "hdl"):
        k = calls.index([f"ipx::get_{kind}_parameters", "GMEM_DW", "-of_objects", "ipx::current_core"])
        assert ["set_property", "value", str(gmem_dw)] in [c[:3] for c in calls[k:k + 3]], calls[k:k + 3]
    regs = {c[1]: int(calls[i + 1][2], 16) for i, c in enumerate(calls) if c[0] == "ipx::add_register"}
    assert regs == {**pr.REGISTERS, **pr.DDR_REGISTERS} and regs["WEIGHTS_BASE"] == 0x48
    assert [c[0] for c in calls[-3:]] == ["ipx::save_core", "close_project", "exit"]
    # the width comes from the board Tcl, not a constant in the script
    (gen / "board_zcu104.tcl").write_text(tcl.replace(f"set syna_gmem_dw {gmem_dw}", "set syna_gmem_dw 256"))
    calls = _calls(_tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "zcu104"))
    assert ["set_property", "width", "256", "ipx::current_core"] in calls


def _gmem_params(calls) -> dict[str, str]:
    """The bus parameters syna_rtl_ip.tcl sets on m_axi_gmem (get/add_bus_parameter, then set_property value)."""
    out = {}
    for i, c in enumerate(calls):
        if c[0] in ("ipx::get_bus_parameters", "ipx::add_bus_parameter") and "m_axi_gmem" in c[2:]:
            nxt = calls[i + 1]
            if nxt[:2] == ["set_property", "value"]:
                out[c[1]] = nxt[2]
    return out


def test_rtl_ddr_ip_bursts_are_the_boards(bundle, tmp_path):
    """PYNQ-Z2 (Zynq 7000, an AXI3 HP port of 16-beat bursts, syna_contract/boards.py): `generate --board pynq-z2
    --weights ddr` configures the read master for 16-beat bursts (syna_cfg.vh), the board Tcl carries the port's
    limit and the configuration's, and the packaged m_axi_gmem declares MAX_BURST_LENGTH 16. A configuration
    with longer bursts than the board's port takes is refused by vivado_tcl and by the IP script."""
    gen = tmp_path / "gen"
    _gen_rtl(bundle, "pynq-z2", gen, ddr=True)
    assert "localparam integer SYNA_AXI_MAX_BURST = 16;" in (gen / rc.CFG_VH).read_text()
    tcl = (gen / "board_pynq-z2.tcl").read_text()
    for line in ("set syna_hp_protocol AXI3", "set syna_hp_max_burst 16", "set syna_axi_max_burst 16",
                 f"set syna_axi_outstanding {pr.DDR_READ_OUTSTANDING}"):
        assert line in tcl.splitlines(), line
    calls = _calls(_tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "pynq-z2"))
    assert _gmem_params(calls) == {"PROTOCOL": "AXI4", "MAX_BURST_LENGTH": "16",
                                   "NUM_READ_OUTSTANDING": str(pr.DDR_READ_OUTSTANDING), "SUPPORTS_NARROW_BURST": "0"}
    # the IP script refuses a board Tcl whose configuration bursts longer than the port takes
    (gen / "board_pynq-z2.tcl").write_text(tcl.replace("set syna_axi_max_burst 16", "set syna_axi_max_burst 256"))
    out = _tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "pynq-z2", ok=False)
    assert "bursts of up to '256' beats" in out and "takes at most 16" in out, out[-2000:]
    assert not any(c[0] == "create_project" for c in _calls(out))          # refused before anything is made
    # a configuration generated without the board (AXI4's 256 beats) is not packaged for the PYNQ-Z2
    plain = tmp_path / "plain"
    assert rc.main(["generate", str(bundle.root), "--out", str(plain), "--lanes", "8", "--weights", "ddr"]) == 0
    assert "SYNA_AXI_MAX_BURST = 256;" in (plain / rc.CFG_VH).read_text()
    plan = ddr_weights(lower(bundle, 8, target=RTL))
    with pytest.raises(ValueError, match="up to 256 beats, but pynq-z2's HP port \\(AXI3\\) takes at most 16"):
        rc.vivado_tcl(bundle.root, "pynq-z2", 8, plain, ddr=plan)
    rc.vivado_tcl(bundle.root, "zcu104", 8, plain, ddr=plan)                   # AXI4: 256 beats are fine


def test_rtl_ddr_generate_needs_the_bundles_image(bundle, tmp_path, capsys):
    """As the HLS route: no (matching) DDR image, no board Tcl for a DDR build; the message says what to export."""
    assert rc.main(["generate", str(bundle.root), "--out", str(tmp_path / "g"), "--lanes", "4", "--board", "pynq-z2",
                    "--weights", "ddr"]) == 2
    err = capsys.readouterr().err
    assert "P = 8" in err and "--ddr-image --lanes 4" in err, err
    assert not (tmp_path / "g" / "board_pynq-z2.tcl").exists()
    assert rc.main(["generate", str(bundle.root), "--out", str(tmp_path / "h"), "--wbuf-rows", "64"]) == 2
    assert "add --weights ddr" in capsys.readouterr().err
    # the board Tcl follows the configuration in the directory, never a mode it was not generated for
    _gen_rtl(bundle, "pynq-z2", tmp_path / "rom")
    plan = ddr_weights(lower(bundle, 8, target=RTL))
    with pytest.raises(ValueError, match="generated with weights=rom"):
        rc.vivado_tcl(bundle.root, "pynq-z2", 8, tmp_path / "rom", ddr=plan)


@pytest.mark.parametrize("ddr,busif", [(False, "m_axis_out"), (True, "m_axi_gmem")])
def test_rtl_ip_packaging_stops_when_an_interface_is_not_inferred(bundle, tmp_path, ddr, busif):
    gen = tmp_path / "gen"
    _gen_rtl(bundle, "pynq-z2", gen, ddr=ddr)
    (tmp_path / "missing_bus_interfaces").write_text(busif + "\n")
    log = _tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "pynq-z2", ok=False)
    assert f"inferred no bus interface '{busif}'" in log and "ipx::save_core" not in log


@pytest.mark.parametrize("ddr", [False, True], ids=["rom", "ddr"])
@pytest.mark.parametrize("board", ["pynq-z2", "zcu104"])
def test_rtl_ip_takes_the_hls_ip_place_in_the_block_design(bundle, tmp_path, board, ddr):
    """Same cells, nets, interrupts and address map as the HLS core's design in the same weights mode (on chip,
    or DDR: m_axi_gmem on the memory SmartConnect, DDR mapped into Data_m_axi_gmem); only the core's VLNV and
    IP repository differ."""
    hls_gen, rtl_gen = tmp_path / "hls", tmp_path / "rtl"
    _gen_hls(bundle, board, hls_gen, tmp_path, ddr=ddr)
    hls = _calls(_tcl_check("syna_bd.tcl", tmp_path, hls_gen, board, tmp_path / "out-hls"))
    _gen_rtl(bundle, board, rtl_gen, ddr=ddr)
    _tcl_check("syna_bd.tcl", tmp_path, rtl_gen, board, tmp_path / "out-rtl", ok=False)   # not packaged yet
    (rtl_gen / "rtl_ip").mkdir()
    rtl = _calls(_tcl_check("syna_bd.tcl", tmp_path, rtl_gen, board, tmp_path / "out-rtl"))
    assert ["set_property", "ip_repo_paths", str(rtl_gen / "rtl_ip"), "current_project"] in rtl
    core = lambda calls: next(c for c in calls if c[0] == "create_bd_cell" and c[-1] == "syna_core_0")
    assert core(rtl)[core(rtl).index("-vlnv") + 1] == "syna:rtl:syna_core:1.0"
    wiring = lambda calls: [c for c in calls if c[0] in ("connect_bd_intf_net", "connect_bd_net", "assign_bd_address")]
    assert wiring(rtl) == wiring(hls) and len(wiring(hls)) > 20
    for pin in ("syna_core_0/s_axi_control", "syna_core_0/s_axis_in", "syna_core_0/m_axis_out"):
        assert any(pin in c for c in wiring(rtl) if c[0] == "connect_bd_intf_net"), pin
    assert ["connect_bd_net", "syna_core_0/interrupt", "irqs/In0"] in rtl
    gmem = [c for c in wiring(rtl) if "syna_core_0/m_axi_gmem" in c or "syna_core_0/Data_m_axi_gmem" in c]
    assert len(gmem) == (1 + len(ddr_address_map(board)) if ddr else 0), gmem
    assert (tmp_path / "out-rtl" / "syna.model_hash").read_text().strip() == bundle.model_hash


def test_rtl_ip_packaging_refuses_a_top_of_the_other_weights_mode(bundle, tmp_path):
    """A board Tcl whose top does not match its weights mode (edited, or left from another generate) stops
    before anything is packaged: the on-chip top has no m_axi_gmem, the DDR top needs its image's port."""
    gen = tmp_path / "gen"
    _gen_rtl(bundle, "pynq-z2", gen)
    tcl = gen / "board_pynq-z2.tcl"
    tcl.write_text(tcl.read_text() + "set syna_weights ddr\n")
    log = _tcl_check("syna_rtl_ip.tcl", tmp_path, gen, "pynq-z2", ok=False)
    assert "top syna_core_top with syna_weights ddr (expected syna_core_top_ddr)" in log and "package_project" not in log


# ----------------------------------------------------------------------------- make bitstream IMPL=...
def _make(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(REPO), "bitstream", *args], capture_output=True, text=True,
                          timeout=60)


def test_make_bitstream_rtl_stops_at_once_without_vivado():
    r = _make("BOARD=pynq-z2", "IMPL=rtl", "VIVADO=/nonexistent/vivado")
    assert r.returncode != 0
    assert "AMD Vivado 2023.1 or later" in r.stderr and "Nothing was run" in r.stderr, r.stderr


def test_make_bitstream_refuses_unknown_weights_and_impl():
    r = _make("BOARD=pynq-z2", "IMPL=rtl", "WEIGHTS=dram", "VIVADO=/nonexistent/vivado")
    assert r.returncode != 0 and "WEIGHTS=dram" in r.stderr and "rom" in r.stderr and "ddr" in r.stderr, r.stderr
    assert "Vivado" not in r.stderr                      # refused before the tool is looked for
    r = _make("BOARD=pynq-z2", "IMPL=verilog", "VIVADO=/nonexistent/vivado")
    assert r.returncode != 0 and "IMPL=verilog" in r.stderr and "hls" in r.stderr and "rtl" in r.stderr, r.stderr
    r = _make("BOARD=zcu104", "WEIGHTS=ddr", "WBUF_RAM=block", "VIVADO=/nonexistent/vivado")   # IMPL=hls
    assert r.returncode != 0 and "WBUF / WBUF_RAM" in r.stderr and "IMPL=rtl" in r.stderr, r.stderr


STAND_IN_VIVADO = """#!/bin/sh
# a stand-in for vivado: runs the script it is given under hls/scripts/tcl_check.tcl (stubbed commands)
if [ "$1" = -version ]; then echo "Vivado v2023.1 (64-bit) [stand-in]"; exit 0; fi
script=$4; shift 5
echo "$(basename $script) $*" >> {log}
{tclsh} {check} $script {stub} "$@" > {stub}/$(basename $script).log || exit 1
case $script in *syna_rtl_ip.tcl) mkdir -p $1/rtl_ip;; esac     # what ipx::package_project would write
"""


@pytest.mark.parametrize("board,weights,extra", [("pynq-z2", "rom", ()), ("zcu104", "rom", ()), ("pynq-z2", "ddr", ()),
                                                ("zcu104", "ddr", ("WBUF=double", "WBUF_RAM=block"))])
def test_make_bitstream_rtl_runs_packaging_then_the_block_design(bundle, tmp_path, board, weights, extra):
    """The make target's plumbing with a stand-in vivado: generate, package, block design, in that order,
    with the generated directory and the board; the overlay files land in build/overlays/<board>/.
    WEIGHTS=ddr reaches the generator: the DDR top, its master in the block design; WBUF / WBUF_RAM (the
    line `syna plan` prints) reach syna_cfg.vh."""
    stub, log = tmp_path / "stub", tmp_path / "vivado.log"
    stub.mkdir()
    (stub / "syna_wrapper.bit").write_text("bit")
    (stub / "syna.hwh").write_text("hwh")
    vivado = tmp_path / "vivado"
    vivado.write_text(STAND_IN_VIVADO.format(log=log, tclsh=shutil.which("tclsh"), check=SCRIPTS / "tcl_check.tcl",
                                             stub=stub))
    vivado.chmod(0o755)
    stamp = tmp_path / "stamp"
    stamp.touch()
    gen, out = tmp_path / "rtl-ip", tmp_path / "overlay"       # never a stand-in's files in build/overlays
    r = _make(f"BOARD={board}", "IMPL=rtl", f"WEIGHTS={weights}", f"BUNDLE={bundle.root}", "LANES=8",
              f"VIVADO={vivado}", f"VPY={sys.executable}", f"DEMO_STAMP={stamp}", f"RTL_IP_DIR={gen}",
              f"OVERLAY_DIR={out}", *extra)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    if weights == "ddr":
        vh = (gen / "syna_cfg.vh").read_text()
        assert f"SYNA_NBUF = {2 if extra else 1};" in vh and f"SYNA_WBRAM = {1 if extra else 0};" in vh
    assert log.read_text().splitlines() == [f"syna_rtl_ip.tcl {gen} {board}", f"syna_bd.tcl {gen} {board} {out}"]
    tcl = (gen / f"board_{board}.tcl").read_text()
    assert "set syna_impl rtl" in tcl and f"set syna_weights {weights}" in tcl
    ddr = weights == "ddr"
    assert f"set syna_rtl_top {'syna_core_top_ddr' if ddr else 'syna_core_top'}" in tcl
    assert ("ipx::add_address_space Data_m_axi_gmem" in (stub / "syna_rtl_ip.tcl.log").read_text()) == ddr
    assert ("syna_core_0/m_axi_gmem" in (stub / "syna_bd.tcl.log").read_text()) == ddr
    assert (out / "syna.model_hash").read_text().strip() == bundle.model_hash
