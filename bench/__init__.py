"""Benchmarks of calhub against plain Radicale 3.9 (see docs/benchmarks.md).

Not part of the installed package: run from the repository root, e.g. ``python -m bench.run``.
"""
