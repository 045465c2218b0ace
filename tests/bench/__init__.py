"""Benchmarks, not tests: `make bench-NAME` runs `python -m tests.bench.NAME`; each prints ratios measured in one run."""
