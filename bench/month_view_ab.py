"""The dashboard's month view on one hub's data, served by the code of several checkouts.

Each checkout serves its own copy of the hub (``--data``, e.g. the ``hub`` folder a
``python -m bench.run --workdir DIR`` left) in turn; the requests are those of
``HttpBench.month_view`` (ten months, each viewed twice; server time from the access log).

    python -m bench.month_view_ab --data DIR/hub --workdir /tmp/mv OLD_CHECKOUT NEW_CHECKOUT
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from bench.http_bench import HttpBench, HttpOptions
from bench.servers import start_hub
from bench.stats import fmt_ms, median_ms, percentile_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("checkouts", nargs="+", help="folders holding a calhub package")
    args = parser.parse_args(argv)
    for n, checkout in enumerate(args.checkouts):
        root = args.workdir / f"hub{n}"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(args.data, root)
        # Only the server runs the checkout's calhub; this process keeps its own bench.
        os.environ["PYTHONPATH"] = checkout
        bench = HttpBench(HttpOptions(workdir=args.workdir, runs=10), lambda text: None)
        bench.hub_root = root
        hub = start_hub(root, args.workdir / "logs")
        try:
            found = bench.month_view(hub)
        finally:
            hub.stop()
        shown = []
        for key in ("server_ms", "again_ms"):
            values = [ms / 1000 for ms in found[key] if ms is not None]
            shown.append(f"{fmt_ms(median_ms(values))} / {fmt_ms(percentile_ms(values, 0.9))} ms")
        print(
            f"{checkout}: first view p50 / p90 {shown[0]}; again {shown[1]}; "
            f"{found['clash_records']} clash records"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
