"""The HLS core's C-simulation toolchain: g++ and Xilinx's ap_int / hls_stream headers (from the hls4ml
wheel), the flags for this machine, the compile command and the cache key of a build."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .hls_header import HEADER_NAME, HLS_DIR, SRC_DIR

CSIM_INCLUDE = HLS_DIR / "csim_include"      # C-sim-only shim (ap_axi_sdata.h), never given to Vitis
CORE_SOURCES = ("syna_core.cpp",)
CAPI_SOURCE = "syna_capi.cpp"
CXX_FLAGS = ["-std=c++14", "-Wno-unknown-pragmas", "-Wno-unused-label"]
# C-simulation optimisation (the binding and `make csim` are built on the machine that runs them, so
# -march=native is fine; nothing built here is shipped). SYNA_CSIM_OPT="-O2" (say) replaces these.
CSIM_OPT_FLAGS = ["-O3", "-march=native"]


class HlsToolError(RuntimeError):
    """g++ or the Xilinx HLS headers are missing, or a build failed."""


def ap_include_dir() -> Path:
    """Xilinx's ap_int / hls_stream headers, from the hls4ml wheel (installed into the venv, never committed)."""
    try:
        import hls4ml  # noqa: F401  (only its template directory is used)
    except ImportError:
        raise HlsToolError("the Xilinx ap_types headers (ap_int.h, hls_stream.h) come from the hls4ml wheel: "
                           "`.venv/bin/pip install hls4ml`") from None
    d = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    for h in ("ap_int.h", "hls_stream.h"):
        if not (d / h).is_file():
            raise HlsToolError(f"{d / h} is missing from the installed hls4ml; reinstall hls4ml")
    return d


def cxx() -> str:
    exe = os.environ.get("CXX", "g++")
    if not shutil.which(exe):
        raise HlsToolError(f"C++ compiler {exe!r} not found: the C-simulation needs g++ (apt-get install g++)")
    return exe


_TARGET_CACHE: dict[str, tuple[list[str], str]] = {}


def _target(exe: str) -> tuple[list[str], str]:
    """(optimisation flags, target fingerprint) for compiler ``exe`` on this machine.

    -march=native only where the compiler accepts it. GCC without AVX-512: -fdisable-tree-cunrolli
    as well, which lets the loop vectoriser, not the basic-block one, vectorise the P-lane loops of
    the hot conv loop (measured 1.9x faster with AVX2; with AVX-512 the default is the faster one).
    The fingerprint (the predefined macros under those flags: CPU features) goes into the library's
    cache key, so a build directory shared between machines never loads a library built for another CPU."""
    env = os.environ.get("SYNA_CSIM_OPT")
    if env is not None:
        return env.split(), ""
    if exe not in _TARGET_CACHE:
        flags = list(CSIM_OPT_FLAGS)
        probe = lambda f: subprocess.run([exe, *f, "-dM", "-E", "-x", "c++", os.devnull], capture_output=True, text=True)
        r = probe(flags)
        if r.returncode != 0:
            flags = [f for f in flags if not f.startswith("-march")]
            r = probe(flags)
        macros = r.stdout if r.returncode == 0 else ""
        if "__GNUC__" in macros and "__clang__" not in macros and "__x86_64__" in macros \
                and "__AVX512F__" not in macros:
            flags.append("-fdisable-tree-cunrolli")
        _TARGET_CACHE[exe] = (flags, hashlib.sha256(macros.encode()).hexdigest()[:16])
    return _TARGET_CACHE[exe]


def cxx_flags() -> list[str]:
    """Every g++ flag of the C-simulation builds (language, warnings, optimisation for this machine)."""
    return [*CXX_FLAGS, *_target(cxx())[0]]


def compile_cmd(gen: Path, sources: list[Path], output: Path, shared: bool) -> list[str]:
    cmd = [cxx(), *cxx_flags(), f"-I{gen}", f"-I{SRC_DIR}", f"-I{ap_include_dir()}", f"-I{CSIM_INCLUDE}"]
    if shared:
        cmd += ["-shared", "-fPIC"]
    return cmd + [str(s) for s in sources] + ["-o", str(output)]


def _source_hash(gen: Path) -> str:
    h = hashlib.sha256()
    files = [gen / HEADER_NAME] + sorted(SRC_DIR.glob("*")) + sorted(CSIM_INCLUDE.glob("*"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(" ".join([cxx(), *cxx_flags(), _target(cxx())[1]]).encode())
    return h.hexdigest()[:16]


def _run(cmd: list[str], what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise HlsToolError(f"{what} failed ({' '.join(cmd)}):\n{r.stderr[-4000:]}")

