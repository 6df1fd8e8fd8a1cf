PYTHON ?= python
BENCH_ARGS ?=

.PHONY: bench bench-full

# Benchmarks against plain Radicale 3.9 (docs/benchmarks.md). Quick set: under 5 minutes.
bench:
	$(PYTHON) -m bench.run --quick $(BENCH_ARGS)

# The full set behind docs/benchmarks.md (about 20 minutes on 2 cores).
bench-full:
	$(PYTHON) -m bench.run --full $(BENCH_ARGS)
