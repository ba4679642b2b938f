"""Benchmarks run as modules, e.g. ``python -m bench.validate_bench``."""
