"""syna-fpga host side: runs on a board's PYNQ Python (numpy + pynq only, never torch)."""
