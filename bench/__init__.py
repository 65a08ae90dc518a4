"""Benchmarks for Parlour (not tests): run with `make bench` or `python -m bench.realtime_bench`."""
