"""pytest in sim/: the unit benches (sim/test_<unit>.py) hold their cocotb tests and the pytest function
that builds and runs them. These cocotb modules have their pytest entry in tests/ instead (they need
what the entry sets up: a bundle and its ROMs, or parameters in the environment), so pytest does not
collect them here."""
collect_ignore = ["test_core.py", "test_syna_axi_rd.py", "test_syna_axi_wr.py"]
