"""Which requests raise each server's memory: VmRSS and VmHWM after each step (issue 21).

``calhub serve`` and plain Radicale are started in turn on copies of the ``hub`` and
``plain`` folders a ``python -m bench.run --workdir DIR`` left, and get the same requests
on the first partner calendar, a step at a time: a Depth-1 PROPFIND, new PUTs, one-day and
one-month REPORTs, the first sync-collection and three more, Depth-0 polls, Depth-1 etags,
GETs of the whole calendar. The PUTs add events numbered from 900000 to the copies only.

    python -m bench.run --quick --sizes 2000 --skip engine,cli,feeds --workdir /tmp/b
    python -m bench.memory_steps --data /tmp/b --workdir /tmp/steps [--only calhub]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bench import generate
from bench.client import DavClient, sync_token
from bench.servers import Server, start_hub, start_plain

NAMES = ("calhub", "radicale")


def _copy(data: Path, work: Path) -> Path:
    """Copies of the hub and of plain Radicale's storage; the plain config template."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(data / "hub", work / "hub", symlinks=True)
    shutil.copytree(data / "plain", work / "plain", symlinks=True)
    template = work / "plain" / "radicale.conf.in"
    template.write_text(template.read_text().replace(str(data / "plain"), str(work / "plain")))
    (work / "logs").mkdir()
    return template


def _steps(server: Server) -> list[tuple[str, int, int, float]]:
    spec = generate.KNOWN_PARTNERS[0]
    calendar = spec.path.strip("/")
    factory = generate.EventFactory(spec, generate.DEFAULT_SEED)
    day = dt.datetime.combine(generate.school_year()[0], dt.time(), dt.UTC)
    day += dt.timedelta(days=35)
    client = DavClient(server, spec.id)
    found = [("start", server.status_kb("VmRSS") // 1024, server.status_kb("VmHWM") // 1024, 0.0)]

    def step(label: str, work: Callable[[], object]) -> None:
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        rss, peak = server.status_kb("VmRSS") // 1024, server.status_kb("VmHWM") // 1024
        found.append((label, rss, peak, seconds))

    def puts() -> None:
        for number in range(900000, 900005):
            event = factory.event(number)
            client.put(f"{calendar}/{event.href}", event.text)

    def days() -> None:
        for n in range(5):
            start = day + dt.timedelta(days=n)
            client.time_range(calendar, start, start + dt.timedelta(days=1))

    def months() -> None:
        for n in range(3):
            start = day + dt.timedelta(days=30 * n)
            client.time_range(calendar, start, start + dt.timedelta(days=31))

    step("Depth-1 PROPFIND", lambda: client.propfind(f"{calendar}/", "1"))
    step("5 new PUTs", puts)
    step("5 one-day REPORTs", days)
    step("3 one-month REPORTs", months)
    step("first sync-collection", lambda: sync_token(client.sync(calendar).body))
    step("3 sync-collections", lambda: [client.sync(calendar) for _ in range(3)])
    step("5 Depth-0 polls", lambda: [client.poll(calendar) for _ in range(5)])
    step("5 Depth-1 etags", lambda: [client.etags(calendar) for _ in range(5)])
    step("3 GETs of the calendar", lambda: [client.get(f"{calendar}/") for _ in range(3)])
    client.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a bench.run --workdir")
    parser.add_argument("--workdir", type=Path, required=True, help="replaced by the copies")
    parser.add_argument("--only", choices=NAMES, help="one server only")
    args = parser.parse_args(argv)
    template = _copy(args.data, args.workdir)
    logs = args.workdir / "logs"
    for name in [args.only] if args.only else NAMES:
        server = start_hub(args.workdir / "hub", logs) if name == "calhub" else None
        server = server or start_plain(template, logs)
        try:
            time.sleep(1)  # the server's own start settles
            found = _steps(server)
        finally:
            server.stop()
        print(f"{name}: step, VmRSS MB, VmHWM MB, seconds")
        for label, rss, peak, seconds in found:
            print(f"  {label:24s} {rss:5d} {peak:5d} {seconds:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
