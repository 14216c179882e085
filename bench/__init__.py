"""Benchmarks: standalone scripts (``python bench/NAME.py``), each measuring a peer in the same run."""
