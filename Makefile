PYTHON ?= python
BENCH_ARGS ?=

.PHONY: bench bench-full interop

# Benchmarks against plain Radicale 3.9 (docs/benchmarks.md). Quick set: about 5 minutes, and
# 2-3 more for the phones group (8 and 32 concurrent phones on 1,000 events; Xandikos as a third
# server when $$XANDIKOS names its command, its rows left out otherwise; BENCH_ARGS="--skip phones"
# leaves the group out).
bench:
	$(PYTHON) -m bench.run --quick $(BENCH_ARGS)

# The full set behind docs/benchmarks.md (about 20 minutes on 2 cores), and the phones group at
# 2,000 and 10,000 events (its own hubs to load and index: 30-60 minutes more on a busy machine).
bench-full:
	$(PYTHON) -m bench.run --full $(BENCH_ARGS)

# caldav-server-tester 1.7.0 against plain Radicale 3.9 and the hub (as a partner, through a
# partner's view, as the coordinator, in the school's calendar); fails when a hub run is
# worse than plain Radicale except the deliberate differences in docs/interop/deliberate.toml
# (docs/interop.md). About a minute; needs PyPI for the tester's own venv the first time.
# Outputs go to INTEROP_OUT; `make interop INTEROP_OUT=docs/interop` refreshes the committed ones.
INTEROP_OUT ?= $(or $(TMPDIR),/tmp)/calhub-interop-out
interop:
	PYTHON=$(PYTHON) OUT=$(INTEROP_OUT) COMMITTED=docs/interop bash docs/interop/run.sh
