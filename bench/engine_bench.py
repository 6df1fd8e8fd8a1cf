"""The clash engine and the occurrence index in-process (no HTTP), and the hub's CLI.

Occurrences come from the hub built by the HTTP benchmark: its index holds the real
expansion of the generated events. Larger sets are made by cloning those events into more
calendars, each clone moved by one to four weeks (kept in the same school year), so the
time-of-day and weekday pattern stays real while the hub gets denser: 100,000 events in one
school year is a stress case (about 400 occurrences a school day). The *spread* sets move
the copies by whole years as well (one year back, one and two years ahead: the hub's
horizon), so the same number of occurrences is as dense as a hub that has run for years.

For each set: build a fresh SQLite index (``calhub.store.index.OccurrenceIndex.put_item``)
and an in-memory ``IntervalIndex``, then time ``ClashEngine.check`` for new events (expanded
once, beforehand, by the hub's own ``runtime.parts.expand``) against each, and a full
``scan``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import generate

Event = tuple[str, str]


@dataclass
class EngineOptions:
    hub_root: Path
    workdir: Path
    occurrence_points: Sequence[int] = (10_000, 100_000)
    spread_points: Sequence[int] = (100_000,)
    growth_events: Sequence[int] = (1_000, 10_000, 100_000)
    probes: int = 200
    # The probes are checked this many times over; tables give the median pass, so one
    # pass slowed by the shared machine does not decide a percentile.
    passes: int = 5
    # A full scan's clash count grows with the square of the density (about 300,000
    # clashes for 10,000 events in one school year); above this many occurrences it is
    # not run, to keep the benchmark bounded in time.
    scan_limit: int = 25_000
    seed: int = generate.DEFAULT_SEED


def _load_base(hub_root: Path) -> dict[Event, list[Any]]:
    from bench.servers import open_hub

    runtime = open_hub(hub_root)
    try:
        events: dict[Event, list[Any]] = {}
        for occ in runtime.index.all_occurrences():
            events.setdefault(occ.event_key, []).append(occ)
        return events
    finally:
        runtime.close()


def _clones(
    base: dict[Event, list[Any]], year: tuple[dt.date, dt.date], spread: bool = False
) -> Iterator[tuple]:
    """The base events, then copy 1, copy 2, ... of them, endlessly (bounded by the caller).

    With ``spread``, copies go to the school years around this one in turn (-1, +1, +2).
    """
    if not base:
        raise ValueError("the hub's index holds no occurrences to clone; rebuild it first")
    yield from base.items()
    low = dt.datetime.combine(year[0], dt.time(), dt.UTC)
    high = dt.datetime.combine(year[1], dt.time(), dt.UTC)
    copy = 0
    while True:
        copy += 1
        weeks = (copy % 4) + 1
        shift = dt.timedelta(weeks=weeks if copy % 2 else -weeks)
        for (calendar, uid), occurrences in base.items():
            moved = shift
            first = min(o.start for o in occurrences)
            if not low <= first + moved <= high:
                moved = -shift
            if spread:
                moved += dt.timedelta(weeks=52 * (-1, 0, 1, 2)[copy % 4])
            key = (f"{calendar}-copy{copy}", f"copy{copy}-{uid}")
            yield (
                key,
                [
                    dataclasses.replace(
                        o,
                        calendar=key[0],
                        uid=key[1],
                        start=o.start + moved,
                        end=o.end + moved,
                    )
                    for o in occurrences
                ],
            )


def take_events(base: dict[Event, list[Any]], year, count: int) -> dict[Event, list[Any]]:
    taken: dict[Event, list[Any]] = {}
    for key, occurrences in _clones(base, year):
        if len(taken) >= count:
            break
        taken[key] = occurrences
    return taken


def take_occurrences(
    base: dict[Event, list[Any]], year, count: int, spread: bool = False
) -> dict[Event, list[Any]]:
    taken: dict[Event, list[Any]] = {}
    total = 0
    for key, occurrences in _clones(base, year, spread):
        if total >= count:
            break
        taken[key] = occurrences
        total += len(occurrences)
    return taken


@dataclass
class Probe:
    key: Event
    occurrences: list[Any]
    expand_seconds: float


def make_probes(hub_root: Path, count: int, seed: int) -> list[Probe]:
    """New events for the target calendar, expanded by the hub's own code (timed)."""
    from bench.servers import open_hub

    runtime = open_hub(hub_root)
    try:
        calendar = next(c for c in runtime.settings.calendars if c.role == "partner")
        spec = next(s for s in generate.KNOWN_PARTNERS if s.id == calendar.id)
        factory = generate.EventFactory(spec, seed)
        probes = []
        for n in range(900_000, 900_000 + count):
            event = factory.event(n)
            started = time.perf_counter()
            occurrences = runtime.parts.expand(calendar, event.text)
            probes.append(
                Probe((calendar.id, event.uid), occurrences, time.perf_counter() - started)
            )
        return probes
    finally:
        runtime.close()


def engine_parts(hub_root: Path):  # -> calhub.runtime.parts.EngineParts
    """The hub's engine and the title folding its index uses."""
    from bench.servers import open_hub

    runtime = open_hub(hub_root)
    try:
        return runtime.parts
    finally:
        runtime.close()


def measure_set(
    name: str,
    events: dict[Event, list[Any]],
    probes: Sequence[Probe],
    parts,  # calhub.runtime.parts.EngineParts, from engine_parts
    workdir: Path,
    scan_limit: int,
    passes: int = 1,
) -> dict[str, Any]:
    from calhub.engine import IntervalIndex
    from calhub.store.index import IndexedItem, IndexLookup, OccurrenceIndex

    path = workdir / f"engine-{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    all_occurrences = [o for occurrences in events.values() for o in occurrences]
    engine = parts.engine
    index = OccurrenceIndex(path, fold_title=parts.fold_title)
    started = time.perf_counter()
    with index.transaction() as db:
        for (calendar, uid), occurrences in events.items():
            low = int(min(o.start for o in occurrences).timestamp())
            high = int(max(o.end for o in occurrences).timestamp())
            row = IndexedItem(f"{uid}.ics", uid, f'"{uid}"', "VEVENT", (low, high))
            index.put_item(db, calendar, row, occurrences)
    index_seconds = time.perf_counter() - started
    index.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_mb = path.stat().st_size / 1e6
    started = time.perf_counter()
    memory = IntervalIndex(all_occurrences)
    memory_seconds = time.perf_counter() - started

    sqlite_passes: list[list[float]] = []
    memory_passes: list[list[float]] = []
    found: list[int] = []
    for number in range(passes):
        sqlite_checks, memory_checks = [], []
        for probe in probes:
            gc.disable()
            started = time.perf_counter()
            clashes = engine.check(probe.occurrences, IndexLookup(index, {probe.key}))
            sqlite_checks.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.check(probe.occurrences, memory)
            memory_checks.append(time.perf_counter() - started)
            gc.enable()
            if number == 0:
                found.append(len(clashes))
        sqlite_passes.append(sqlite_checks)
        memory_passes.append(memory_checks)
    weekdays = [o.start.date() for o in all_occurrences if o.start.weekday() < 5]
    result: dict[str, Any] = {
        "events": len(events),
        "occurrences": len(all_occurrences),
        "per_school_day": len(weekdays) / max(1, len(set(weekdays))),
        "index_build_seconds": index_seconds,
        "memory_build_seconds": memory_seconds,
        "index_mb": size_mb,
        "check_sqlite": sqlite_passes[0],
        "check_memory": memory_passes[0],
        "check_sqlite_passes": sqlite_passes,
        "check_memory_passes": memory_passes,
        "probe_occurrences": [len(p.occurrences) for p in probes],
        "clashes_per_probe": found,
    }
    result["scan_seconds"] = result["scan_clashes"] = None
    if len(all_occurrences) <= scan_limit:
        started = time.perf_counter()
        stored = list(index.all_occurrences())
        result["scan_read_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        result["scan_clashes"] = len(engine.scan(stored))
        result["scan_seconds"] = time.perf_counter() - started
    index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return result


def run_engine(options: EngineOptions, progress: Callable[[str], None] = print) -> dict[str, Any]:
    year = generate.school_year()
    base = _load_base(options.hub_root)
    parts = engine_parts(options.hub_root)
    probes = make_probes(options.hub_root, options.probes, options.seed)
    progress(
        f"  base: {len(base)} events, {sum(map(len, base.values()))} occurrences; "
        f"{len(probes)} probe events expanded"
    )
    results: dict[str, Any] = {
        "expand": [p.expand_seconds for p in probes],
        "points": {},
        "growth": {},
    }
    for count in options.occurrence_points:
        events = take_occurrences(base, year, count)
        result = measure_set(
            f"occ{count}", events, probes, parts, options.workdir, 0, options.passes
        )
        results["points"][str(count)] = result
        progress(f"  {result['occurrences']} occurrences: check measured")
    results["spread"] = {}
    for count in options.spread_points:
        events = take_occurrences(base, year, count, spread=True)
        result = measure_set(
            f"spread{count}", events, probes, parts, options.workdir, 0, options.passes
        )
        results["spread"][str(count)] = result
        progress(f"  {result['occurrences']} occurrences over four years: check measured")
    for count in options.growth_events:
        events = take_events(base, year, count)
        limit, passes = options.scan_limit, options.passes
        result = measure_set(f"ev{count}", events, probes, parts, options.workdir, limit, passes)
        results["growth"][str(count)] = result
        progress(f"  {count} events ({result['occurrences']} occurrences): measured")
    return results


# -- the CLI on the HTTP benchmark's hub -------------------------------------------------


def _calhub(args: Sequence[str]) -> tuple[float, int, str]:
    env = dict(os.environ)
    env.pop("CALHUB_BCRYPT_ROUNDS", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "calhub", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"calhub {' '.join(args)} failed: {done.stderr[-2000:]}")
    return seconds, done.returncode, done.stdout


def drop_item_caches(hub_root: Path) -> None:
    """Delete Radicale's per-collection item caches, so every object is parsed again."""
    for cache in (hub_root / "storage" / "collection-root").glob("*/*/.Radicale.cache"):
        shutil.rmtree(cache / "item", ignore_errors=True)


def run_cli(
    hub_root: Path, runs: int, rebuild_runs: int, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    from bench.servers import open_hub

    results: dict[str, Any] = {"rebuild_cold": [], "rebuild_warm": [], "conflicts": []}
    data = ["--data", str(hub_root)]
    for _ in range(rebuild_runs):
        drop_item_caches(hub_root)
        seconds, _, out = _calhub(["index", "rebuild", *data])
        results["rebuild_cold"].append(seconds)
        results["rebuild_output"] = out.strip()
        progress(f"  cold rebuild: {seconds:.1f} s ({out.strip()})")
    for _ in range(rebuild_runs):
        seconds, _, out = _calhub(["index", "rebuild", *data])
        results["rebuild_warm"].append(seconds)
        progress(f"  warm rebuild: {seconds:.1f} s")
    for _ in range(runs):
        seconds, _code, out = _calhub(["conflicts", "--all", *data])
        results["conflicts"].append(seconds)
        results["conflicts_summary"] = out.strip().splitlines()[-1] if out.strip() else ""
    progress(f"  calhub conflicts: {results['conflicts_summary']}")
    seconds, _, _ = _calhub(["--version"])
    results["cli_startup_seconds"] = seconds

    runtime = open_hub(hub_root)
    try:
        engine = runtime.parts.engine
        reads, scans = [], []
        for _ in range(runs):
            started = time.perf_counter()
            stored = list(runtime.index.all_occurrences())
            reads.append(time.perf_counter() - started)
            started = time.perf_counter()
            clashes = engine.scan(stored)
            scans.append(time.perf_counter() - started)
        results["scan_read"] = reads
        results["scan"] = scans
        results["scan_occurrences"] = len(stored)
        results["scan_clashes"] = len(clashes)
        items, occurrences = runtime.index.count()
        results["index_items"] = items
        results["index_occurrences"] = occurrences
        records = runtime.records.db.execute("SELECT count(*) FROM clashes").fetchone()[0]
        results["clash_records"] = records
    finally:
        runtime.close()
    progress(f"  engine scan of the hub: {len(stored)} occurrences, {len(clashes)} clashes")
    return results
