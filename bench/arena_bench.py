"""Does the malloc arena limit (calhub/server/allocator.py) still matter with waitress?

    python -m bench.arena_bench                   # about three minutes on 2 cores
    python -m bench.arena_bench --events 10000 --rounds 10 --clients 4

One hub with a partner calendar of ``--events`` generated events (files copied into storage,
index rebuilt in-process), served by ``calhub serve`` twice: as shipped (two arenas) and
with ``MALLOC_ARENA_MAX=16`` (what glibc allows on two cores anyway: eight per core; the
operator's variable wins over calhub's limit). ``--clients`` keep-alive clients each fetch
the whole calendar ``--rounds`` times, alternating a GET of the collection and a
calendar-query REPORT over the school year with calendar-data (the large answers of the
allocator's docstring); then the server's peak RSS (VmHWM) and RSS (VmRSS) are read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from bench import generate
from bench.client import DavClient
from bench.generate import BLACKOUT, SCHOOL
from bench.server_bench import PARTNER
from bench.servers import build_hub, copy_events, rebuild_hub_index, start_hub
from bench.stats import machine, table


def load(server, clients: int, rounds: int) -> None:
    start, end = generate.school_year()
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    finish = dt.datetime.combine(end, dt.time(), dt.UTC)
    calendar = PARTNER.path.strip("/")

    def work() -> None:
        client = DavClient(server, PARTNER.id)
        for n in range(rounds):
            if n % 2:
                client.time_range(calendar, begin, finish)
            else:
                client.get(f"{calendar}/")
        client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="peak memory with and without arena limit")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="calhub-arena-bench-"))
    rows = []
    try:
        root = work / "hub"
        storage = build_hub(root, [SCHOOL, BLACKOUT, PARTNER], ())
        copy_events([storage], PARTNER, generate.calendar_events(PARTNER, args.events))
        rebuild_hub_index(root)
        for label, arenas in (("two arenas (as shipped)", None), ("MALLOC_ARENA_MAX=16", "16")):
            saved = os.environ.pop("MALLOC_ARENA_MAX", None)
            if arenas:
                os.environ["MALLOC_ARENA_MAX"] = arenas
            logs = work / f"logs-{arenas or 2}"
            logs.mkdir()
            try:
                server = start_hub(root, logs)
            finally:
                os.environ.pop("MALLOC_ARENA_MAX", None)
                if saved is not None:
                    os.environ["MALLOC_ARENA_MAX"] = saved
            try:
                start_mb = server.status_kb("VmRSS") / 1024
                load(server, args.clients, args.rounds)
                rows.append(
                    [
                        label,
                        f"{start_mb:.0f}",
                        f"{server.peak_rss_mb:.0f}",
                        f"{server.status_kb('VmRSS') / 1024:.0f}",
                    ]
                )
            finally:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.events} events, {args.clients} clients x {args.rounds} whole-calendar answers; "
        f"{machine()}\n"
    )
    print(table(["server", "RSS at start MB", "peak MB", "RSS after MB"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
