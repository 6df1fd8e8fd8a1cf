"""CalDAV over HTTP: the hub against plain Radicale, same data, same requests, same run.

One partner calendar (``bfu``) grows through the given sizes while the other calendars keep
a fixed background. At each size both servers are (re)started on identical storage, warmed
up (a depth-1 PROPFIND reads every object once, filling Radicale's item cache on both), and
measured with requests that alternate between them (hub first on even runs, plain first on
odd ones), so load from anything else on the machine hits both alike. At the largest size
the remaining scenarios run.

Growing a calendar by PUT from 0 to 10,000 objects would take hours on plain Radicale
(every new PUT reads every object), so each size is reached by copying the same generated
files into both storages with the servers stopped (the hub's index is then updated
in-process, as ``calhub index rebuild`` would), and the per-PUT latency is measured at that
size with a few real PUTs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import generate
from bench.client import DavClient, Reply, count_responses, sync_token
from bench.feed_bench import AccessTail
from bench.servers import (
    Server,
    add_events,
    build_hub,
    build_plain,
    copy_events,
    copy_item_cache,
    index_new_events,
    open_hub,
    start_hub,
    start_plain,
)

logger = logging.getLogger(__name__)

NEW_EVENTS_FROM = 500_000  # generator numbers of events created by PUT (never preloaded)
ZONE = ZoneInfo(generate.HUB_TZ)


@dataclass
class HttpOptions:
    workdir: Path
    partners: int = 6
    background: int = 500
    school_events: int = 300
    sizes: Sequence[int] = (500, 1000, 2000, 5000, 10000)
    runs: int = 10
    heavy_runs: int = 5
    warmup: int = 2
    readers: int = 6
    # Update PUTs on the hub can take minutes each on a dense calendar (see
    # docs/benchmarks.md); after 3 runs, stop once the hub has spent this long on them.
    update_budget: float = 120.0
    seed: int = generate.DEFAULT_SEED


@dataclass
class Samples:
    """Seconds per request for each server, and what the answers held."""

    hub: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    hub_counts: list[int] = field(default_factory=list)
    plain_counts: list[int] = field(default_factory=list)

    def add(self, name: str, reply: Reply, count: int | None = None) -> None:
        hub = name == "calhub"
        (self.hub if hub else self.plain).append(reply.seconds)
        if count is not None:
            (self.hub_counts if hub else self.plain_counts).append(count)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hub": self.hub,
            "plain": self.plain,
            "hub_counts": self.hub_counts,
            "plain_counts": self.plain_counts,
        }


def spread(numbers: Sequence[int], count: int) -> list[int]:
    """``count`` of ``numbers``, evenly apart (all of them if there are fewer)."""
    step = max(1, len(numbers) // count)
    return list(numbers[::step][:count])


def _alternating(servers: Sequence[Server], run: int) -> Sequence[Server]:
    return servers if run % 2 == 0 else list(reversed(servers))


def _days(year: tuple[dt.date, dt.date], count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """One-day windows (hub-local midnight to midnight) on school days across the year."""
    found = []
    day = year[0] + dt.timedelta(days=15)
    while len(found) < count:
        if day.weekday() < 5:
            start = dt.datetime.combine(day, dt.time(), ZONE)
            found.append((start, start + dt.timedelta(days=1)))
        day += dt.timedelta(days=17)
        if day > year[1]:
            day = year[0] + dt.timedelta(days=len(found) + 1)
    return found


def _months(year: tuple[dt.date, dt.date], count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    found = []
    for n in range(count):
        month = (year[0].month - 1 + 1 + n) % 12 + 1  # October first
        first = dt.date(year[0].year + (1 if month < year[0].month else 0), month, 1)
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        found.append(
            (
                dt.datetime.combine(first, dt.time(), ZONE),
                dt.datetime.combine(following, dt.time(), ZONE),
            )
        )
    return found


class HttpBench:
    def __init__(self, options: HttpOptions, progress: Callable[[str], None] = print) -> None:
        self.o = options
        self.say = progress
        self.specs = generate.hub_calendars(options.partners)
        self.target = next(s for s in self.specs if s.role == "partner")
        self.calendar = self.target.path
        self.year = generate.school_year()
        self.factory = generate.EventFactory(self.target, options.seed, self.year)
        self.readers = [f"auth{n:02d}" for n in range(1, options.readers + 1)]
        self.hub_root = options.workdir / "hub"
        self.log_dir = options.workdir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.created: list[tuple[int, dict[str, str]]] = []  # (generator number, etags)
        self.next_new = NEW_EVENTS_FROM
        self.results: dict[str, Any] = {"sizes": [], "setup": {}}

    # -- setting up -------------------------------------------------------------------

    def setup(self) -> None:
        started = time.perf_counter()
        self.hub_storage = build_hub(self.hub_root, self.specs, self.readers)
        self.plain_template, self.plain_storage = build_plain(
            self.o.workdir / "plain", self.specs, self.readers
        )
        new: dict[generate.CalendarSpec, list[str]] = {}
        total = 0
        for spec in self.specs:
            if spec == self.target:
                continue
            count = {"school": self.o.school_events, "blackout": 8}.get(
                spec.role, self.o.background
            )
            events = generate.calendar_events(spec, count, self.o.seed, year=self.year)
            copy_events([self.hub_storage, self.plain_storage], spec, events)
            new[spec] = [e.href for e in events]
            total += len(events)
        seconds = index_new_events(self.hub_root, new, rescan=False)
        self.results["setup"] = {
            "background_events": total,
            "background_index_seconds": seconds,
            "setup_seconds": time.perf_counter() - started,
        }
        self.say(
            f"  background: {total} events in {len(new)} calendars, indexed in {seconds:.0f} s"
        )

    def grow(self, size: int, current: int) -> float:
        """Copy events ``current``..``size`` into both storages and index them in the hub.

        The full clash scan (which brings clash records in step with every object) runs
        at the last size only: before it, records exist for the events PUT over HTTP,
        which are the ones later requests touch.
        """
        events = list(self.factory.events(current, size - current))
        last = size == self.o.sizes[-1]
        storages = (self.hub_storage, self.plain_storage)
        seconds = add_events(self.hub_root, storages, self.target, events, last)
        for spec in self.specs:
            if spec != self.target:
                copy_item_cache(self.hub_storage, self.plain_storage, spec)
        return seconds

    # -- measuring ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.setup()
        current = 0
        for size in self.o.sizes:
            seconds = self.grow(size, current)
            current = size
            self.say(f"  {self.calendar}: {size} events (hub index updated in {seconds:.0f} s)")
            hub = start_hub(self.hub_root, self.log_dir)
            try:
                plain = start_plain(self.plain_template, self.log_dir)
            except BaseException:
                hub.stop()
                raise
            try:
                row = self.measure_size([hub, plain], size)
                row["index_seconds"] = seconds
                if size == self.o.sizes[-1]:
                    self.results["final"] = self.measure_final([hub, plain])
                    self.results["final"]["size"] = size
                row["peak_rss_mb"] = {s.name: s.peak_rss_mb for s in (hub, plain)}
                self.results["sizes"].append(row)
            finally:
                hub.stop()
                plain.stop()
        return self.results

    def bulk_numbers(self) -> list[int]:
        """The generator numbers of the calendar's bulk-loaded objects, as the hub stores
        them (plain Radicale holds the same)."""
        folder = self.hub_root / "storage" / "collection-root" / self.target.owner
        names = (p.name for p in (folder / self.target.slug).glob(f"{self.target.id}-*.ics"))
        return sorted(n for n in (int(name.split("-")[1]) for name in names) if n < NEW_EVENTS_FROM)

    def run_final_only(self) -> dict[str, Any]:
        """The largest-size scenarios on data an earlier run left in ``workdir``."""
        self.hub_storage = self.hub_root / "storage" / "collection-root"
        self.plain_template = self.o.workdir / "plain" / "radicale.conf.in"
        calendar_dir = self.hub_storage / self.target.owner / self.target.slug
        created = sorted(p.name for p in calendar_dir.glob(f"{self.target.id}-*.ics"))
        self.next_new = max(int(name.split("-")[1]) for name in created) + 1
        hub = start_hub(self.hub_root, self.log_dir)
        try:
            plain = start_plain(self.plain_template, self.log_dir)
        except BaseException:
            hub.stop()
            raise
        try:
            row = self.measure_size([hub, plain], len(created), updates=False)
            row["peak_rss_mb"] = {s.name: s.peak_rss_mb for s in (hub, plain)}
            self.results["sizes"].append(row)
            self.results["final"] = self.measure_final([hub, plain])
            self.results["final"]["size"] = len(created)
            self.results["final"]["peak_rss_mb"] = {s.name: s.peak_rss_mb for s in (hub, plain)}
        finally:
            hub.stop()
            plain.stop()
        return self.results

    def clients(self, servers: Sequence[Server], login: str | None = None) -> dict[str, Any]:
        return {s.name: DavClient(s, login or self.target.id) for s in servers}

    def measure_size(
        self, servers: Sequence[Server], size: int, updates: bool = True
    ) -> dict[str, Any]:
        clients = self.clients(servers)
        warm = {}
        for name, client in clients.items():
            reply = client.propfind(f"{self.calendar}/", "1")
            warm[name] = reply.seconds
        puts = Samples()
        for run in range(self.o.warmup + self.o.runs):
            number = self.next_new
            self.next_new += 1
            event = self.factory.event(number)
            etags = {}
            for server in _alternating(servers, run):
                reply = clients[server.name].put(f"{self.calendar}/{event.href}", event.text)
                etags[server.name] = reply.headers["etag"]
                if run >= self.o.warmup:
                    puts.add(server.name, reply)
            self.created.append((number, etags))
        days = Samples()
        for run, (start, end) in enumerate(_days(self.year, self.o.runs)):
            for server in _alternating(servers, run):
                reply = clients[server.name].time_range(self.calendar, start, end)
                days.add(server.name, reply, count_responses(reply.body))
        self.say(
            f"    new PUT median: hub {_ms(puts.hub)} ms, plain {_ms(puts.plain)} ms; "
            f"day REPORT: hub {_ms(days.hub)} ms, plain {_ms(days.plain)} ms"
        )
        # Update PUTs (If-Match) of events created over HTTP just above: each moves to
        # another time, as a rescheduled event does.
        moved = Samples()
        spent = 0.0
        for run, (number, etags) in enumerate(self.created[-self.o.runs :]):
            if not updates or (run >= 3 and spent > self.o.update_budget):
                break
            event = self.factory.event(number, version=1)
            for server in _alternating(servers, run):
                reply = clients[server.name].put(
                    f"{self.calendar}/{event.href}", event.text, etags[server.name]
                )
                etags[server.name] = reply.headers["etag"]
                moved.add(server.name, reply)
                if server.name == "calhub":
                    spent += reply.seconds
        for client in clients.values():
            client.close()
        self.say(f"    update PUT: hub {_ms(moved.hub)} ms, plain {_ms(moved.plain)} ms")
        return {
            "size": size,
            "warmup_propfind_seconds": warm,
            "new_put": puts.as_dict(),
            "day_report": days.as_dict(),
            "update_put": moved.as_dict(),
        }

    def measure_final(self, servers: Sequence[Server]) -> dict[str, Any]:
        o = self.o
        clients = self.clients(servers)
        result: dict[str, Any] = {}

        months = Samples()
        for run, (start, end) in enumerate(_months(self.year, o.heavy_runs)):
            for server in _alternating(servers, run):
                reply = clients[server.name].time_range(self.calendar, start, end)
                months.add(server.name, reply, count_responses(reply.body))
        result["month_report"] = months.as_dict()
        self.say(f"    month REPORT: hub {_ms(months.hub)} ms, plain {_ms(months.plain)} ms")
        hub = next(s for s in servers if s.name == "calhub")
        result["month_view"] = self.month_view(hub)

        # The first sync-collection of a collection writes Radicale's sync history for
        # every object (one fsync'ed file each) on both servers; measured once.
        first_sync = Samples()
        for server in servers:
            reply = clients[server.name].sync(self.calendar)
            first_sync.add(server.name, reply, count_responses(reply.body))
        result["sync_first_ever"] = first_sync.as_dict()
        syncs = Samples()
        tokens: dict[str, str] = {}
        for run in range(o.heavy_runs):
            for server in _alternating(servers, run):
                reply = clients[server.name].sync(self.calendar)
                syncs.add(server.name, reply, count_responses(reply.body))
                tokens[server.name] = sync_token(reply.body)
        result["sync_initial"] = syncs.as_dict()
        self.say(f"    initial sync: hub {_ms(syncs.hub)} ms, plain {_ms(syncs.plain)} ms")

        changed = Samples()
        for run in range(o.runs):
            for _ in range(3):  # a few changes (new events) between two syncs, not timed
                number = self.next_new
                self.next_new += 1
                event = self.factory.event(number)
                etags = {}
                for server in servers:
                    reply = clients[server.name].put(f"{self.calendar}/{event.href}", event.text)
                    etags[server.name] = reply.headers["etag"]
                self.created.append((number, etags))
            for server in _alternating(servers, run):
                reply = clients[server.name].sync(self.calendar, tokens[server.name])
                changed.add(server.name, reply, count_responses(reply.body))
                tokens[server.name] = sync_token(reply.body)
        result["sync_token"] = changed.as_dict()
        self.say(f"    sync with token: hub {_ms(changed.hub)} ms, plain {_ms(changed.plain)} ms")

        # What phones send all day: a Depth-0 poll (ctag, sync-token), a Depth-1 listing
        # of etags (clients without sync-collection), a multiget of 50 objects.
        polls, listings, multigets = Samples(), Samples(), Samples()
        # 50 objects spread over the bulk-loaded ones (numbered from 0; those created over
        # HTTP from NEW_EVENTS_FROM). Until 4 December 2026 the step was taken from the
        # next new number, so that 49 of the 50 hrefs named no object: both servers
        # answered 404s (docs/benchmarks.md).
        hrefs = [
            f"{servers[0].prefix}/{self.calendar}/{self.factory.event(number).href}"
            for number in spread(self.bulk_numbers(), 50)
        ]
        for run in range(max(o.heavy_runs, 5)):
            for server in _alternating(servers, run):
                client = clients[server.name]
                polls.add(server.name, client.poll(self.calendar))
                reply = client.etags(self.calendar)
                listings.add(server.name, reply, count_responses(reply.body))
                paths = [h.removeprefix(servers[0].prefix) for h in hrefs]
                reply = client.multiget(self.calendar, [server.prefix + h for h in paths])
                multigets.add(server.name, reply, count_responses(reply.body))
        result["poll_depth0"] = polls.as_dict()
        result["propfind_etags"] = listings.as_dict()
        result["multiget_50"] = multigets.as_dict()
        self.say(
            f"    Depth-0 poll: hub {_ms(polls.hub)} ms, plain {_ms(polls.plain)} ms; "
            f"Depth-1 etags: hub {_ms(listings.hub)} ms, plain {_ms(listings.plain)} ms; "
            f"multiget 50: hub {_ms(multigets.hub)} ms, plain {_ms(multigets.plain)} ms"
        )

        gets = Samples()
        for run in range(o.heavy_runs):
            for server in _alternating(servers, run):
                reply = clients[server.name].get(f"{self.calendar}/")
                gets.add(server.name, reply, reply.body.count(b"BEGIN:VEVENT"))
        result["get_calendar"] = gets.as_dict()
        result["get_calendar_bytes"] = len(reply.body)
        self.say(f"    GET calendar: hub {_ms(gets.hub)} ms, plain {_ms(gets.plain)} ms")
        for client in clients.values():
            client.close()

        first_login, cached_login = Samples(), Samples()
        for run, reader in enumerate(self.readers):
            for server in _alternating(servers, run):
                # A depth-0 PROPFIND of the reader's own principal: cheap on both servers,
                # so the login is most of it (a calendar's getetag reads every object).
                client = DavClient(server, reader)
                first_login.add(server.name, client.propfind(f"{reader}/"))
                for _ in range(o.runs):
                    client.close()  # a new connection each time, as for the first request
                    cached_login.add(server.name, client.propfind(f"{reader}/"))
                client.close()
        result["auth_first"] = first_login.as_dict()
        result["auth_cached"] = cached_login.as_dict()
        self.say(
            f"    first login: hub {_ms(first_login.hub)} ms, plain {_ms(first_login.plain)} ms; "
            f"cached: hub {_ms(cached_login.hub)} ms, plain {_ms(cached_login.plain)} ms"
        )
        return result

    def month_view(self, hub: Server) -> dict[str, Any]:
        """The dashboard's month grid: ``GET /api/events`` for the six weeks FullCalendar
        asks for, as the coordinator (who sees every clash record, so every mark is looked
        up); client seconds and the hub's server milliseconds (its access log)."""
        from calhub.cli.init import COORDINATOR
        from calhub.store.records import Filters

        web = DavClient(dataclasses.replace(hub, prefix=""), COORDINATOR)
        tail = AccessTail(hub.log)
        found: dict[str, Any] = {"seconds": [], "server_ms": [], "events": [], "again_ms": []}
        months = _months(self.year, self.o.runs)
        for run, (start, _end) in enumerate([months[0], *months]):
            first = start.date() - dt.timedelta(days=start.weekday())
            path = f"/api/events?start={first}&end={first + dt.timedelta(days=42)}"
            # Each month twice: the first view since the records changed, then a repeat
            # (what the other people looking at that month get; the marks are cached).
            reply = web.request("GET", path, expect=(200,))
            server_ms = tail.server_ms("GET", "/api/events", 200)
            web.request("GET", path, expect=(200,))
            again_ms = tail.server_ms("GET", "/api/events", 200)
            if run == 0:
                continue  # the first request of the web app warms it (and the row cache)
            found["seconds"].append(reply.seconds)
            found["server_ms"].append(server_ms)
            found["again_ms"].append(again_ms)
            found["events"].append(reply.body.count(b'"allDay"'))
        web.close()
        runtime = open_hub(self.hub_root)
        try:
            found["clash_records"] = runtime.records.count(Filters())
            found["open_records"] = runtime.records.count(Filters(status="open"))
        finally:
            runtime.close()
        self.say(
            f"    month view (/api/events): {_ms(found['seconds'])} ms, server "
            f"{_median(found['server_ms'])} ms first, {_median(found['again_ms'])} ms again; "
            f"{found['clash_records']} clash records"
        )
        return found


def _median(values: Sequence[float | None]) -> str:
    from bench.stats import fmt_ms

    known = sorted(v for v in values if v is not None)
    return fmt_ms(known[len(known) // 2]) if known else "—"


def _ms(seconds: Sequence[float]) -> str:
    from bench.stats import fmt_ms, median_ms

    return fmt_ms(median_ms(seconds))
