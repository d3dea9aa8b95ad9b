"""Tests share code through tests/helpers.py (and sim/unit_helpers.py, sim/cocotb_runner.py), never by
importing another test module or a conftest.py: such an import runs that module's tests' setup twice and
breaks when two directories have a module of the same name (sim/ and tests/ both have a conftest.py)."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CROSS = re.compile(r"^\s*(?:from|import)\s+(test_\w+|conftest)\b", re.M)


def test_no_test_module_imports_another():
    bad = [f"{p.relative_to(REPO)}: {m.group(0).strip()}" for d in ("tests", "sim", "bench")
           for p in sorted((REPO / d).glob("*.py")) for m in CROSS.finditer(p.read_text())]
    assert not bad, "import the shared helpers from tests/helpers.py instead:\n" + "\n".join(bad)
