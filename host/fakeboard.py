"""A PYNQ board in software, to run the pynq backend without a board (tests, demos).

:class:`FakeBoard` is a pynq *device*: pynq's ``MMIO`` accepts any object with
``has_capability('REGISTER_RW')``, ``read_registers`` and ``write_registers``, and
``pynq.allocate(..., target=device)`` calls its ``allocate``. Behind those it models

- the core's AXI4-Lite registers at ``CORE_BASE`` (offsets from :mod:`syna_contract.protocol`,
  ``ap_ctrl_hs`` handshake, MODEL_HASH, VERSION, STATUS/CYCLES/SATURATIONS);
- an AXI DMA in simple mode at ``DMA_BASE`` (PG021 registers: DMACR, DMASR, SA/DA,
  LENGTH; soft reset; decode error for an address outside allocated memory;
  internal error for a packet longer than the receive buffer), whose MM2S
  transfer is one input packet (TLAST on its last word) and whose S2MM transfer
  receives one output packet;
- the core itself at stream level: any object with ``.transfer(words, steps)``,
  by default :class:`host.emulator.CoreEmulator` (the numpy reference);
- a DDR-mode core (``weights="ddr"``): WEIGHTS_BASE at 0x48/0x4C (``weights_base_1``/``_2`` in the .hwh, an
  ``m_axi_gmem`` data width in the IP's parameters), and at every ap_start the memory at WEIGHTS_BASE
  read as the core's DDR: the core is then, by default, the HLS core's DDR-mode C-simulation
  (``syna_hw.hls_core.HlsCore(weights="ddr")``) fed with those bytes (``load_ddr``), so what the host
  wrote there is what the core computes with; a model without ``load_ddr`` (e.g. the emulator) gets
  the bytes compared with the bundle's image instead. ap_start with WEIGHTS_BASE outside allocated
  memory raises :class:`FakeBoardError` (a real core would read whatever is there);
- a maps-in-DDR core (``maps="ddr"``, with ``weights="ddr"``): SCRATCH_BASE at 0x50/0x54 (``scratch_base_1``/``_2``)
  too, and at every ap_start the allocated buffer at SCRATCH_BASE becomes the C-sim's scratch buffer, used in
  place (``HlsCore.load_scratch``): the core writes its input and spike maps into the host's memory, where
  ``read_maps`` finds them. A SCRATCH_BASE the core refuses (0, misaligned, too high) gets STATUS scratch from
  the core itself; one it accepts but where no allocated buffer holds the scratch raises :class:`FakeBoardError`.

:meth:`FakeBoard.overlay` returns an overlay-like object whose IPs are pynq's own
``DefaultIP`` and ``pynq.lib.dma.DMA`` drivers bound to this device -- so the real
pynq code paths (register access, DMA channel programming, buffer cache
maintenance) run -- or, where pynq is not installed (``use_pynq=False``), small
stand-ins that follow pynq's documented API. Fault knobs: ``model_hash32``,
``version``, ``hang`` (the core never answers), ``dma_length_bits``,
``registers`` (the .hwh register map, or None), ``decode_error_once``, ``alloc_offset`` (bytes added
to the next allocation's physical address: a misaligned buffer).
"""
from __future__ import annotations

import numpy as np

from syna_contract.bundle import Bundle, load_bundle

from syna_contract import protocol as P
from .emulator import CoreEmulator

CORE_BASE = 0x4000_0000
DMA_BASE = 0x4040_0000
IP_RANGE = 0x1_0000
MEM_BASE = 0x1000_0000


class FakeBoardError(RuntimeError):
    """What the fake board's core cannot model: ap_start of a DDR-mode core without its image in memory."""

# AXI DMA (PG021) simple-mode registers, offsets within a channel (MM2S at 0x00, S2MM at 0x30)
DMACR, DMASR, ADDR, ADDR_MSB, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
S2MM = 0x30
CR_RS, CR_RESET = 1 << 0, 1 << 2
SR_HALTED, SR_IDLE, SR_INTERR, SR_SLVERR, SR_DECERR, SR_IOC = 1 << 0, 1 << 1, 1 << 4, 1 << 5, 1 << 6, 1 << 12

HWH_REGISTERS = {  # what Vitis HLS writes into the .hwh for the interface's s_axilite map
    "CTRL": P.REG_CTRL, "GIER": P.REG_GIE, "IP_IER": P.REG_IER, "IP_ISR": P.REG_ISR, "steps": P.REG_STEPS,
    "status": P.REG_STATUS, "cycles": P.REG_CYCLES, "saturations": P.REG_SATURATIONS,
    "model_hash": P.REG_MODEL_HASH, "version": P.REG_VERSION, "idle_timeout": P.REG_IDLE_TIMEOUT,
}


def hwh_registers(offsets: dict[str, int] | None = None) -> dict:
    """A register map as pynq parses it from a .hwh (name -> address_offset, size, access, ...)."""
    offsets = dict(HWH_REGISTERS, **(offsets or {}))
    return {name: {"address_offset": off, "size": 32, "access": "read-write", "description": name, "fields": {}}
            for name, off in offsets.items()}


def pynq_available() -> bool:
    try:
        import pynq.lib.dma  # noqa: F401
        return True
    except ImportError:
        return False


class _Channel:
    def __init__(self):
        self.cr = 0
        self.halted = True
        self.idle = False
        self.err = 0
        self.ioc = False
        self.addr = 0
        self.length = 0

    def sr(self) -> int:
        return (SR_HALTED if self.halted else 0) | (SR_IDLE if self.idle else 0) | self.err | (SR_IOC if self.ioc else 0)


class FakeBoard:
    """A pynq device with the core's registers, an AXI DMA and a core model behind them."""

    def __init__(self, bundle: Bundle | str, model=None, *, model_hash32: int | None = None,
                 version: int = P.INTERFACE_VERSION, hang: bool = False, dma_length_bits: int = 26,
                 registers: dict | None | str = "hwh", use_pynq: bool | None = None, cycles_per_word: int = 0,
                 weights: str = "rom", lanes: int | None = None, hls_build_root=None, maps: str = "chip",
                 acc_rows: int | None = None):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.weights = weights
        if maps not in ("chip", "ddr") or (maps == "ddr" and weights != "ddr"):
            raise ValueError(f"maps={maps!r} with weights={weights!r}; expected 'chip', or 'ddr' with weights='ddr'")
        self.maps = maps
        self.image: bytes | None = None
        if weights == "ddr":
            from syna_contract import ddr_image
            from .ddr import bundle_image
            img = bundle_image(self.bundle, lanes)               # the image the bitstream was built with
            self.lanes, self.image = img.lanes, img.data
            self.gmem_data_width = 8 * ddr_image.row_bytes(self.lanes, ddr_image.image_weight_bits(self.bundle.manifest))
            if model is None:
                from syna_hw.hls_core import HlsCore
                spill = dict(maps="ddr", acc_rows=acc_rows) if maps == "ddr" else {}
                model = HlsCore(self.bundle, self.lanes, build_root=hls_build_root, weights="ddr", **spill).compile()
        elif weights != "rom":
            raise ValueError(f"weights={weights!r}; expected 'rom' or 'ddr'")
        self.model = model if model is not None else CoreEmulator(self.bundle)
        self.model_base = getattr(self.model, "weights_base", None)   # a DDR C-sim's own image address
        self.hash32 = int(self.model.model_hash32 if model_hash32 is None else model_hash32)
        self.version = version
        self.hang = hang
        self.dma_length_bits = dma_length_bits
        ddr_regs = ({"weights_base_1": P.REG_WEIGHTS_BASE, "weights_base_2": P.REG_WEIGHTS_BASE + 4}
                    if weights == "ddr" else None)
        if maps == "ddr":
            ddr_regs.update(scratch_base_1=P.REG_SCRATCH_BASE, scratch_base_2=P.REG_SCRATCH_BASE + 4)
        self.hwh = hwh_registers(ddr_regs) if registers == "hwh" else registers
        self.use_pynq = pynq_available() if use_pynq is None else use_pynq
        self.cycles_per_word = cycles_per_word
        self.capabilities = {"REGISTER_RW": True}
        self.name = "fake-pynq-board"
        self._memory: list[tuple[int, np.ndarray]] = []
        self._next_addr = MEM_BASE
        self.flushes = self.invalidates = 0
        self.decode_error_once = False
        self.buffer_kind = None
        self.dma_resets = 0
        self.power_on_resets = 0
        self.inferences = 0
        self.register_reads = self.register_writes = 0
        self.alloc_offset = 0
        self.freed: list[int] = []
        self.ddr_bytes_read = 0                                  # counted by a C-sim core (load_ddr / ddr_stats)
        self.ddr_starts: dict[int, int] = {}                     # WEIGHTS_BASE -> inferences started with it
        self.scratch_starts: dict[int, int] = {}                 # SCRATCH_BASE -> inferences started with it
        self.power_on_reset()

    # ------------------------------------------------------------------ state
    def power_on_reset(self) -> None:
        """What (re)loading the bitstream does: every register to its reset value."""
        self.power_on_resets += 1
        self.regs = {P.REG_GIE: 0, P.REG_IER: 0, P.REG_ISR: 0, P.REG_STEPS: 0, P.REG_STATUS: 0, P.REG_CYCLES: 0,
                     P.REG_SATURATIONS: 0, P.REG_IDLE_TIMEOUT: 0}
        if self.weights == "ddr":
            self.regs.update({P.REG_WEIGHTS_BASE: 0, P.REG_WEIGHTS_BASE + 4: 0})
        if self.maps == "ddr":
            self.regs.update({P.REG_SCRATCH_BASE: 0, P.REG_SCRATCH_BASE + 4: 0})
        self.start_pending = False
        self.done = False
        self.busy = False
        self._reset_dma()

    def _reset_dma(self) -> None:
        self.mm2s, self.s2mm = _Channel(), _Channel()
        self.in_packets: list[np.ndarray] = []
        self.out_packets: list[np.ndarray] = []

    def has_capability(self, cap: str) -> bool:
        return bool(self.capabilities.get(cap))

    # ------------------------------------------------------------------ memory (pynq.allocate target)
    def allocate(self, shape, dtype="u4", **kwargs):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        addr = self._next_addr + self.alloc_offset
        self._next_addr += -(-max(nbytes + self.alloc_offset, 1) // 4096) * 4096
        self.alloc_offset = 0
        buf = None
        if self.use_pynq:
            from pynq.buffer import PynqBuffer
            try:
                buf = PynqBuffer(shape, dtype, device=self, device_address=addr, bo=0, coherent=False)
                self.buffer_kind = "pynq.buffer.PynqBuffer"
            except AttributeError:
                # pynq 4.0's PynqBuffer sets ``.device``, which numpy >= 2 made a read-only ndarray
                # property (array API); PYNQ images ship numpy 1.x. Use the stand-in buffer then.
                buf = None
        if buf is None:
            buf = _Buffer(shape, dtype, device=self, device_address=addr)
            self.buffer_kind = "stand-in (host.fakeboard._Buffer)"
        self._memory.append((addr, buf))
        return buf

    def free(self, addr: int) -> None:
        """A buffer's memory given back (``freebuffer``): no longer mapped."""
        self.freed.append(addr)
        self._memory = [(a, b) for a, b in self._memory if a != addr]

    def flush(self, bo, offset, vaddr, nbytes):
        self.flushes += 1

    def invalidate(self, bo, offset, vaddr, nbytes):
        self.invalidates += 1

    def _region(self, addr: int, nbytes: int) -> np.ndarray | None:
        for base, buf in self._memory:
            raw = buf.view(np.uint8).reshape(-1)
            if base <= addr and addr + nbytes <= base + raw.size:
                return raw[addr - base:addr - base + nbytes]
        return None

    # ------------------------------------------------------------------ register bus
    def read_registers(self, address: int, length: int) -> bytes:
        self.register_reads += 1
        return (self._read(address) & 0xFFFFFFFF).to_bytes(4, "little")[:length]

    def write_registers(self, address: int, data: bytes) -> None:
        self.register_writes += 1
        self._write(address, int.from_bytes(bytes(data[:4]).ljust(4, b"\0"), "little"))

    def _read(self, address: int) -> int:
        if CORE_BASE <= address < CORE_BASE + IP_RANGE:
            off = address - CORE_BASE
            if off == P.REG_CTRL:
                v = (P.CTRL_START if self.start_pending else 0) | (P.CTRL_DONE if self.done else 0) | \
                    (0 if self.busy else P.CTRL_IDLE) | (0 if self.busy or self.start_pending else P.CTRL_READY)
                self.done = False                                  # ap_done clears on read
                return v
            if off == P.REG_MODEL_HASH:
                return self.hash32
            if off == P.REG_VERSION:
                return self.version
            return self.regs.get(off, 0)
        if DMA_BASE <= address < DMA_BASE + IP_RANGE:
            off = address - DMA_BASE
            ch, reg = (self.s2mm, off - S2MM) if off >= S2MM else (self.mm2s, off)
            if reg == DMACR:
                return ch.cr
            if reg == DMASR:
                return ch.sr()
            if reg == ADDR:
                return ch.addr
            if reg == LENGTH:
                return ch.length
            return 0
        raise MemoryError(f"fake board: read of unmapped address 0x{address:08x}")

    def _write(self, address: int, value: int) -> None:
        if CORE_BASE <= address < CORE_BASE + IP_RANGE:
            off = address - CORE_BASE
            if off == P.REG_CTRL:
                if value & P.CTRL_START:
                    self.start_pending = True
            elif off == P.REG_ISR:
                self.regs[off] ^= value & 1
            elif off in (P.REG_GIE, P.REG_IER, P.REG_STEPS, P.REG_IDLE_TIMEOUT):
                self.regs[off] = value
            elif self.weights == "ddr" and off in (P.REG_WEIGHTS_BASE, P.REG_WEIGHTS_BASE + 4):
                self.regs[off] = value
            elif self.maps == "ddr" and off in (P.REG_SCRATCH_BASE, P.REG_SCRATCH_BASE + 4):
                self.regs[off] = value
            self._advance()
            return
        if DMA_BASE <= address < DMA_BASE + IP_RANGE:
            off = address - DMA_BASE
            ch, reg = (self.s2mm, off - S2MM) if off >= S2MM else (self.mm2s, off)
            if reg == DMACR:
                if value & CR_RESET:                                 # soft reset: the whole DMA
                    self.dma_resets += 1
                    self._reset_dma()
                    return
                ch.cr = value
                ch.halted = not value & CR_RS
            elif reg == DMASR:
                if value & SR_IOC:
                    ch.ioc = False
            elif reg == ADDR:
                ch.addr = value
            elif reg == LENGTH:
                self._start_transfer(ch, value)
            self._advance()
            return
        raise MemoryError(f"fake board: write to unmapped address 0x{address:08x}")

    # ------------------------------------------------------------------ streams
    def _start_transfer(self, ch: _Channel, nbytes: int) -> None:
        if ch.halted:
            return                                                 # a halted channel ignores LENGTH
        nbytes &= (1 << self.dma_length_bits) - 1
        ch.idle = False
        mem = self._region(ch.addr, nbytes)
        if mem is None or self.decode_error_once:
            self.decode_error_once = False
            ch.err |= SR_DECERR
            ch.halted = True
            return
        if ch is self.mm2s:
            self.in_packets.append(mem.view(np.uint32).copy())     # TLAST on the transfer's last word
            ch.length = nbytes
        else:
            ch.length = nbytes                                      # armed; LENGTH reads back bytes received

    def _advance(self) -> None:
        if self.start_pending and self.in_packets and not self.busy:
            words = self.in_packets.pop(0)
            self.start_pending = False
            self.busy = True
            self.mm2s.idle, self.mm2s.ioc = True, True              # the core took the whole packet
            if self.hang:
                return                                              # never answers
            if self.weights == "ddr":
                self._weights_from_memory()
            if self.maps == "ddr":
                self._scratch_from_memory()
            out = np.asarray(self.model.transfer(words, self.regs[P.REG_STEPS]), dtype=np.uint32)
            if self.weights == "ddr" and hasattr(self.model, "load_ddr"):
                got, outside = self.model.ddr_stats()
                self.ddr_bytes_read += got
                self.model.load_ddr(self.model.image, at=self.model_base)   # leave the shared C-sim DDR as it was
                self.model.weights_base = self.model_base
            self.inferences += 1
            if self.cycles_per_word and out.size >= 3:
                out[-3] = self.cycles_per_word * words.size
            self.regs[P.REG_CYCLES], self.regs[P.REG_SATURATIONS], self.regs[P.REG_STATUS] = (int(v) for v in out[-3:])
            self.out_packets.append(out)
            self.busy = False
            self.done = True
        ch = self.s2mm
        if self.out_packets and not ch.halted and not ch.idle and ch.length and not ch.err:
            pkt = self.out_packets.pop(0)
            n = min(pkt.size * 4, ch.length)
            self._region(ch.addr, n)[:] = pkt.view(np.uint8)[:n]
            if pkt.size * 4 > ch.length:
                ch.err |= SR_INTERR
                ch.halted = True
                return
            ch.length = n
            ch.idle, ch.ioc = True, True

    def weights_base(self) -> int:
        return self.regs[P.REG_WEIGHTS_BASE] | self.regs[P.REG_WEIGHTS_BASE + 4] << 32

    def _weights_from_memory(self) -> None:
        """ap_start of a DDR-mode core: the C-sim's memory is the allocated buffer that holds WEIGHTS_BASE (at
        its physical address, whatever it holds), or none, and its WEIGHTS_BASE register the board's: the
        core's own weights check (STATUS weights) judges what the host did."""
        base = self.weights_base()
        self.ddr_starts[base] = self.ddr_starts.get(base, 0) + 1
        if hasattr(self.model, "load_ddr"):
            at, buf = next(((a, b) for a, b in self._memory
                            if a <= base < a + b.nbytes and a % self.model.ddr.row_bytes == 0), (0, None))
            mem = np.zeros(0, np.uint8) if buf is None else np.asarray(buf).reshape(-1).view(np.uint8)
            self.model.load_ddr(mem, at=at)                        # the C-sim reads what the host wrote
            self.model.weights_base = base
            return
        mem = self._region(base, len(self.image))
        if mem is None:
            raise FakeBoardError(f"fake board: ap_start of a DDR-mode core with WEIGHTS_BASE 0x{base:x}, where no "
                                 f"allocated buffer holds the {len(self.image)} bytes of its weight image (the host "
                                 "must allocate the image, copy it and write its address before ap_start)")
        if mem.tobytes() != self.image:
            raise FakeBoardError(f"fake board: the memory at WEIGHTS_BASE 0x{base:x} differs from the bundle's DDR "
                                 "image (the host wrote something else there)")

    def scratch_base(self) -> int:
        return self.regs[P.REG_SCRATCH_BASE] | self.regs[P.REG_SCRATCH_BASE + 4] << 32

    def _scratch_from_memory(self) -> None:
        """ap_start of a maps-in-DDR core: the allocated buffer holding its scratch buffer at SCRATCH_BASE becomes
        the C-sim's (in place), SCRATCH_BASE its register; a base the core refuses is left to the core."""
        from syna_hw.spill import scratch_error
        base = self.scratch_base()
        self.scratch_starts[base] = self.scratch_starts.get(base, 0) + 1
        self.model.scratch_base = base
        need = self.model.spill.scratch_bytes
        if scratch_error(base, self.model.spill) is not None:
            self.model.load_scratch(np.zeros(0, np.uint32), 0)     # the core answers STATUS scratch, touches nothing
            return
        at, buf = next(((a, b) for a, b in self._memory if a <= base and base + need <= a + b.nbytes), (None, None))
        if buf is None:
            raise FakeBoardError(f"fake board: ap_start of a maps-in-DDR core with SCRATCH_BASE 0x{base:x}, where no "
                                 f"allocated buffer holds its {need} bytes of scratch (the host must allocate it and "
                                 "write its address before ap_start)")
        raw = np.asarray(buf).reshape(-1).view(np.uint8)
        self.model.load_scratch(raw[base - at:base - at + need].view(np.uint32), base)

    # ------------------------------------------------------------------ the overlay
    def overlay(self, core_name: str = "syna_core_0", dma_name: str = "axi_dma_0") -> "FakeOverlay":
        return FakeOverlay(self, core_name, dma_name)

    def descriptions(self, core_name: str, dma_name: str) -> dict:
        core = {"phys_addr": CORE_BASE, "addr_range": IP_RANGE, "device": self, "type": "xilinx.com:hls:syna_core:1.0",
                "interrupts": {}, "gpio": {}, "fullpath": core_name}
        if self.hwh:
            core["registers"] = self.hwh
        if self.weights == "ddr" and self.hwh:
            core["parameters"] = {"C_M_AXI_GMEM_DATA_WIDTH": str(self.gmem_data_width), "C_M_AXI_GMEM_ADDR_WIDTH": "64"}
        dma = {"phys_addr": DMA_BASE, "addr_range": IP_RANGE, "device": self, "type": "xilinx.com:ip:axi_dma:7.1",
               "interrupts": {}, "gpio": {}, "fullpath": dma_name,
               "parameters": {"c_include_sg": "0", "c_sg_length_width": str(self.dma_length_bits),
                              "c_include_mm2s": "1", "c_include_s2mm": "1", "c_m_axi_mm2s_data_width": "32",
                              "c_m_axi_s2mm_data_width": "32", "c_include_mm2s_dre": "0",
                              "c_include_s2mm_dre": "0", "c_micro_dma": "0"}}
        return {core_name: core, dma_name: dma}


class FakeOverlay:
    """What the driver uses of ``pynq.Overlay``: ``ip_dict``, the IPs as attributes, ``download()``."""

    def __init__(self, board: FakeBoard, core_name: str, dma_name: str):
        self.board = board
        self.ip_dict = board.descriptions(core_name, dma_name)
        if board.use_pynq:
            from pynq.lib.dma import DMA
            from pynq.overlay import DefaultIP
        else:
            DMA, DefaultIP = _DMA, _IP
        setattr(self, core_name, DefaultIP(self.ip_dict[core_name]))
        setattr(self, dma_name, DMA(self.ip_dict[dma_name]))
        self.downloads = 0

    def download(self):
        self.downloads += 1
        self.board.power_on_reset()

    def allocate(self, shape, dtype="u4", **kwargs):
        """``pynq.allocate`` with this board as the target."""
        if self.board.use_pynq:
            import pynq
            return pynq.allocate(shape, dtype, target=self.board, **kwargs)
        return self.board.allocate(shape, dtype)


# ============================================================================ stand-ins without pynq
# Minimal versions of pynq's MMIO, DefaultIP, simple-mode AXI DMA channel and PynqBuffer,
# following pynq's documented API, for machines where pynq is not installed.
class _MMIO:
    def __init__(self, base: int, length: int, device):
        self.base_addr, self.length, self.device = base, length, device

    def read(self, offset: int = 0, length: int = 4) -> int:
        return int.from_bytes(self.device.read_registers(self.base_addr + offset, 4), "little")

    def write(self, offset: int, value: int) -> None:
        self.device.write_registers(self.base_addr + offset, int(value).to_bytes(4, "little"))


class _IP:
    def __init__(self, description: dict):
        self.device = description["device"]
        self.mmio = _MMIO(description["phys_addr"], description["addr_range"], self.device)

    def read(self, offset: int = 0) -> int:
        return self.mmio.read(offset)

    def write(self, offset: int, value: int) -> None:
        self.mmio.write(offset, value)


class _SimpleChannel:
    def __init__(self, mmio: _MMIO, max_size: int, rx: bool):
        self._mmio, self._max_size, self._offset = mmio, max_size, S2MM if rx else 0
        self._flush_before = not rx
        self._active_buffer = None
        self.transferred = 0
        self.start()

    running = property(lambda self: self._mmio.read(self._offset + 4) & 1 == 0)
    idle = property(lambda self: self._mmio.read(self._offset + 4) & 2 == 2)
    error = property(lambda self: self._mmio.read(self._offset + 4) & 0x70 != 0)

    def start(self):
        self._mmio.write(self._offset, CR_RS)
        self._first_transfer = True

    def stop(self):
        self._mmio.write(self._offset, 0)

    def transfer(self, array, start: int = 0, nbytes: int = 0):
        if not self.running:
            raise RuntimeError("DMA channel not started")
        if not self.idle and not self._first_transfer:
            raise RuntimeError("DMA channel not idle")
        nbytes = nbytes or array.nbytes - start
        if nbytes > self._max_size:
            raise ValueError(f"Transfer size is {nbytes} bytes, which exceeds the maximum DMA buffer size "
                             f"{self._max_size}.")
        if self._flush_before:
            array.flush()
        self._mmio.write(self._offset + ADDR, (array.physical_address + start) & 0xFFFFFFFF)
        self._mmio.write(self._offset + ADDR_MSB, 0)
        self._mmio.write(self._offset + LENGTH, nbytes)
        self._active_buffer = array
        self._first_transfer = False

    def wait(self):
        while not self.idle:
            if self.error:
                raise RuntimeError("DMA error")
        if not self._flush_before:
            self._active_buffer.invalidate()
        self.transferred = self._mmio.read(self._offset + LENGTH)
        self._active_buffer = None


class _DMA(_IP):
    def __init__(self, description: dict):
        super().__init__(description)
        self.buffer_max_size = (1 << int(description["parameters"]["c_sg_length_width"])) - 1
        self.sendchannel = _SimpleChannel(self.mmio, self.buffer_max_size, rx=False)
        self.recvchannel = _SimpleChannel(self.mmio, self.buffer_max_size, rx=True)


class _Buffer(np.ndarray):
    def __new__(cls, shape, dtype, device=None, device_address=0):
        self = super().__new__(cls, shape, dtype)
        self._board, self.device_address = device, device_address
        return self

    def __array_finalize__(self, obj):
        if isinstance(obj, _Buffer) and getattr(obj, "device_address", None) is not None:
            self._board = obj._board
            self.device_address = obj.device_address + (self.__array_interface__["data"][0] -
                                                        obj.__array_interface__["data"][0])
        else:
            self._board, self.device_address = None, None

    physical_address = property(lambda self: self.device_address)

    def flush(self):
        self._board.flush(0, 0, 0, self.nbytes)

    def invalidate(self):
        self._board.invalidate(0, 0, 0, self.nbytes)

    def freebuffer(self):
        if self._board is not None and self.device_address is not None:
            self._board.free(self.device_address)
            self._board = None
