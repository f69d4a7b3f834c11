"""Throughput and memory benchmarks (not part of the test suite).

Run with ``python -m benchmarks`` (or ``python -m benchmarks.bench``); see
``benchmarks/README.md``.
"""
