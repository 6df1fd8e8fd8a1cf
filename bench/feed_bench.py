"""Subscription feeds over HTTP: the hub's merged feed against plain Radicale's GET.

Issue 13's targets: a merged feed of a 10,000-event hub, served from the hub's feed cache,
is no slower than plain Radicale's whole-calendar GET of the same events; a conditional
GET (``If-None-Match``, answered 304) costs under 5 ms of server time.

At each size N a fresh hub and a fresh plain Radicale 3.9 are built on the same generated
events (``bench.generate``): the hub spreads them over its calendars (the school's, the
blackout calendar and the partners'), plain Radicale holds all N in one calendar, so the
hub's merged ``all`` feed and plain Radicale's GET of that calendar carry the same events.
The hub's index is brought up to date in-process with a full clash scan (the feed marks
events in open hard clashes), and Radicale's item cache is copied to plain Radicale so both
start equally warm. The ``all`` feed's token is made with
``calhub.feeds.tokens.create_feed`` (or ``calhub feed create --scope all --json`` when the
in-process API is missing).

Measured, with requests alternating between the servers (hub first on even runs):

1. the first request of each server after it started (the hub: the feed's cold build);
2. GET of the feed from the cache (after warm-up) against plain Radicale's GET of the
   calendar, plain and with ``Accept-Encoding: gzip``;
3. the conditional GET with the feed's ETag (expect 304), plain Radicale's conditional
   GET of its calendar for comparison (it answers whatever Radicale answers);
4. the GET after a change (one new event PUT into the same partner calendar on both): the
   hub rebuilds the feed, plain Radicale reads the calendar again.

Client time is from sending the request to having read the whole answer (``bench.client``'s
keep-alive ``http.client`` connection). The hub's server time is the milliseconds at the end
of its access-log line (``calhub.server.stack.AccessLog``), read from the server's stderr
after each request; plain Radicale logs no time, so only its client time is given.

    python -m bench.feed_bench --sizes 2000,10000 --workdir /tmp/calhub-feed-bench
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import generate
from bench.client import DavClient
from bench.servers import (
    Server,
    build_hub,
    build_plain,
    copy_events,
    index_new_events,
    start_hub,
    start_plain,
)
from bench.stats import fmt_ms, fmt_ratio, machine, median_ms, percentile_ms, table

logger = logging.getLogger(__name__)

NEW_EVENTS_FROM = 700_000  # generator numbers of the events PUT between two GETs
CONDITIONAL_TARGET_MS = 5.0
BASE_URL = "http://127.0.0.1"  # the addresses printed with the token; the path is what counts


@dataclass
class FeedOptions:
    workdir: Path
    sizes: Sequence[int] = (2000, 10000)
    partners: int = 6
    runs: int = 10  # GETs per server and kind, after warm-up
    warmup: int = 2
    conditional_runs: int = 30
    change_runs: int = 5
    seed: int = generate.DEFAULT_SEED


# -- what a request took --------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # client side
    server_ms: float | None = None  # from the hub's access log


class FeedClient:
    """A subscriber: no credentials (the token is the key), one keep-alive connection."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.server.host, self.server.port, timeout=600
                )
            started = time.perf_counter()
            try:
                self.connection.request("GET", path, headers=headers or {})
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            answer = Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, body, seconds
            )
            if answer.headers.get("connection", "").lower() == "close":
                self.close()
            return answer
        raise AssertionError("unreachable")


_ACCESS = re.compile(r'calhub\.access: \S+ \S+ "(\S+) (.*?)" (\d{3}) (\d+) ([\d.]+)ms\s*$')


class AccessTail:
    """The hub's access-log lines written since the last look (its stderr file)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = log.stat().st_size if log.exists() else 0

    def lines(self) -> list[tuple[str, str, int, float]]:
        """(method, path, status, milliseconds) of the new access lines."""
        with self.log.open("rb") as stream:
            stream.seek(self.offset)
            data = stream.read()
        # Only whole lines: a line being written is read next time.
        end = data.rfind(b"\n") + 1
        self.offset += end
        found = []
        for raw in data[:end].decode("utf-8", "replace").splitlines():
            match = _ACCESS.search(raw)
            if match:
                method, path, status, _size, ms = match.groups()
                found.append((method, path, int(status), float(ms)))
        return found

    def server_ms(self, method: str, prefix: str, status: int) -> float | None:
        """The server time of the request just answered: the last matching line."""
        for _ in range(50):  # the line is written before the answer is sent; be patient
            matching = [
                ms
                for m, path, code, ms in self.lines()
                if m == method and path.startswith(prefix) and code == status
            ]
            if matching:
                return matching[-1]
            time.sleep(0.01)
        return None


@dataclass
class Pairs:
    """Client seconds per server, and the hub's server milliseconds."""

    hub: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    hub_server_ms: list[float] = field(default_factory=list)
    hub_status: list[int] = field(default_factory=list)
    plain_status: list[int] = field(default_factory=list)

    def add_hub(self, answer: Answer) -> None:
        self.hub.append(answer.seconds)
        self.hub_status.append(answer.status)
        if answer.server_ms is not None:
            self.hub_server_ms.append(answer.server_ms)

    def add_plain(self, answer: Any) -> None:
        self.plain.append(answer.seconds)
        self.plain_status.append(answer.status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hub": self.hub,
            "plain": self.plain,
            "hub_server_ms": self.hub_server_ms,
            "hub_status": self.hub_status,
            "plain_status": self.plain_status,
        }


# -- data ---------------------------------------------------------------------------------


def spread(total: int, specs: Sequence[generate.CalendarSpec]) -> dict[generate.CalendarSpec, int]:
    """``total`` events over the hub's calendars: the blackout calendar's periods, a
    twentieth for the school, the rest evenly over the partners (the first gets the
    remainder). Exactly ``total``."""
    counts: dict[generate.CalendarSpec, int] = {}
    partners = [s for s in specs if s.role == "partner"]
    left = total
    for spec in specs:
        if spec.role == "blackout":
            counts[spec] = min(8, left)
        elif spec.role == "school":
            counts[spec] = min(max(total // 20, 1), left)
        left -= counts.get(spec, 0)
    share, extra = divmod(left, len(partners))
    for n, spec in enumerate(partners):
        counts[spec] = share + (extra if n == 0 else 0)
    return counts


def make_feed(hub_root: Path, scope: str = "all") -> str:
    """The path (``/feeds/<token>.ics``) of a new feed of ``scope`` on the hub at
    ``hub_root``: the in-process API first, ``calhub feed create`` if that is missing."""
    from bench.servers import open_hub

    runtime = open_hub(hub_root)
    try:
        from calhub.feeds.tokens import create_feed

        created = create_feed(runtime, scope, "bench", "coordinator", BASE_URL)
        return urlsplit(created.address.https).path or f"/feeds/{created.secret}.ics"
    except (ImportError, NotImplementedError) as error:
        logger.info("create_feed unavailable (%s); trying the CLI", type(error).__name__)
    finally:
        runtime.close()
    command = [sys.executable, "-m", "calhub", "feed", "create", "--scope", scope]
    command += ["--name", "bench", "--json", "--data", str(hub_root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"no feed could be made: create_feed is not implemented and `calhub feed create` "
            f"exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return str(urlsplit(json.loads(done.stdout)["url"]).path)


# -- the benchmark ----------------------------------------------------------------------


class FeedBench:
    def __init__(self, options: FeedOptions, progress: Callable[[str], None] = print) -> None:
        self.o = options
        self.say = progress
        self.specs = generate.hub_calendars(options.partners)
        self.target = next(s for s in self.specs if s.role == "partner")  # bfu
        self.year = generate.school_year()
        self.factory = generate.EventFactory(self.target, options.seed, self.year)
        self.next_new = NEW_EVENTS_FROM
        self.results: dict[str, Any] = {"sizes": []}

    def run(self) -> dict[str, Any]:
        for size in self.o.sizes:
            self.results["sizes"].append(self.measure_size(size))
        return self.results

    def build(self, size: int) -> tuple[Path, Path, Path, dict[str, Any]]:
        """A hub and a plain Radicale holding the same ``size`` events."""
        started = time.perf_counter()
        root = self.o.workdir / f"feeds-{size}"
        if root.exists():
            shutil.rmtree(root)
        hub_root = root / "hub"
        hub_storage = build_hub(hub_root, self.specs, ())
        # Plain Radicale: one calendar (bfu's) holding every event of the hub.
        template, plain_storage = build_plain(root / "plain", [self.target], ())
        new: dict[generate.CalendarSpec, list[str]] = {}
        counts = spread(size, self.specs)
        for spec, count in counts.items():
            events = generate.calendar_events(spec, count, self.o.seed, year=self.year)
            copy_events([hub_storage], spec, events)
            copy_events([plain_storage], self.target, events)
            new[spec] = [e.href for e in events]
        index_seconds = index_new_events(hub_root, new, rescan=True)
        copied = _copy_caches(hub_storage, plain_storage, self.specs, self.target)
        path = make_feed(hub_root)
        setup = {
            "events": {s.id: n for s, n in counts.items()},
            "index_seconds": index_seconds,
            "item_cache_copied": copied,
            "setup_seconds": time.perf_counter() - started,
        }
        self.say(
            f"  {size} events in {len(counts)} calendars (plain: one calendar); indexed with "
            f"the clash scan in {index_seconds:.0f} s, set up in {setup['setup_seconds']:.0f} s"
        )
        return hub_root, template, root / "logs", {**setup, "feed_path": path}

    def measure_size(self, size: int) -> dict[str, Any]:
        hub_root, template, log_dir, setup = self.build(size)
        feed_path = setup.pop("feed_path")
        log_dir.mkdir(parents=True, exist_ok=True)
        hub = start_hub(hub_root, log_dir)
        try:
            plain = start_plain(template, log_dir)
        except BaseException:
            hub.stop()
            raise
        try:
            row = self.measure([hub, plain], feed_path, size)
            row["setup"] = setup
            row["peak_rss_mb"] = {s.name: s.peak_rss_mb for s in (hub, plain)}
        finally:
            hub.stop()
            plain.stop()
        return row

    def measure(self, servers: Sequence[Server], feed_path: str, size: int) -> dict[str, Any]:
        hub, plain = servers
        tail = AccessTail(hub.log)
        feeds = FeedClient(hub)
        dav = DavClient(plain, self.target.id)
        writers = {s.name: DavClient(s, self.target.id) for s in servers}
        calendar = f"{self.target.path}/"
        prefix = "/feeds/"

        def hub_get(headers: dict[str, str] | None = None, expect: int = 200) -> Answer:
            answer = feeds.get(feed_path, headers)
            if answer.status != expect:
                raise RuntimeError(
                    f"calhub: GET {prefix}<token>.ics -> {answer.status} (expected {expect}): "
                    f"{answer.body[:300]!r}"
                )
            answer.server_ms = tail.server_ms("GET", prefix, answer.status)
            return answer

        def plain_get(headers: dict[str, str] | None = None) -> Any:
            return dav.request("GET", calendar, headers=headers, expect=(200, 304))

        row: dict[str, Any] = {"size": size}
        # 1. The first request of each server: the hub builds the feed (cold).
        first = hub_get()
        plain_first = plain_get()
        row["cold"] = {
            "hub": first.seconds,
            "hub_server_ms": first.server_ms,
            "plain": plain_first.seconds,
        }
        body = first.body
        row["feed_bytes"] = len(body)
        row["plain_bytes"] = len(plain_first.body)
        row["feed_vevents"] = body.count(b"BEGIN:VEVENT")
        row["plain_vevents"] = plain_first.body.count(b"BEGIN:VEVENT")
        row["feed_vtimezones"] = body.count(b"BEGIN:VTIMEZONE")
        row["feed_tentative"] = body.count(b"STATUS:TENTATIVE")
        etag = first.headers.get("etag")
        row["feed_headers"] = {
            k: first.headers[k]
            for k in ("content-type", "etag", "last-modified", "cache-control")
            if k in first.headers
        }
        self.say(
            f"    cold: feed {_t(first.seconds * 1000)} (server "
            f"{_t(first.server_ms)}), plain first GET "
            f"{_t(plain_first.seconds * 1000)}; {row['feed_vevents']} VEVENTs in the "
            f"feed, {row['plain_vevents']} in plain's calendar"
        )
        for _ in range(self.o.warmup):
            hub_get()
            plain_get()

        # 2. From the cache, against plain Radicale's whole-calendar GET.
        for key, headers in (("cached", None), ("cached_gzip", {"Accept-Encoding": "gzip"})):
            pairs = Pairs()
            for run in range(self.o.runs):
                for name in _order(run):
                    if name == "calhub":
                        answer = hub_get(headers)
                        if not headers and answer.body != body:
                            raise RuntimeError("calhub: the cached feed differs from the first")
                        pairs.add_hub(answer)
                    else:
                        plain_answer = plain_get(headers)
                        pairs.add_plain(plain_answer)
            row[key] = pairs.as_dict()
            if key == "cached_gzip":
                row["feed_gzip_bytes"] = len(answer.body)
                row["feed_gzip_encoding"] = answer.headers.get("content-encoding", "")
                row["plain_gzip_bytes"] = len(plain_answer.body)
                row["plain_gzip_encoding"] = plain_answer.headers.get("content-encoding", "")
                if row["feed_gzip_encoding"] == "gzip":
                    row["feed_gzip_ok"] = gzip.decompress(answer.body) == body
            self.say(
                f"    {key}: feed {_t(median_ms(pairs.hub))} "
                f"(server {_t(_median_of(pairs.hub_server_ms))}), "
                f"plain GET {_t(median_ms(pairs.plain))}"
            )

        # 3. Conditional GET with the ETag.
        pairs = Pairs()
        plain_etag = plain_first.headers.get("etag")
        for run in range(self.o.conditional_runs):
            for name in _order(run):
                if name == "calhub":
                    if etag is None:
                        continue
                    pairs.add_hub(hub_get({"If-None-Match": etag}, expect=304))
                elif plain_etag is not None:
                    pairs.add_plain(plain_get({"If-None-Match": plain_etag}))
        row["conditional"] = pairs.as_dict()
        row["plain_conditional_status"] = sorted(set(pairs.plain_status))
        self.say(
            f"    conditional: feed {_t(median_ms(pairs.hub))}, "
            f"server {_t(_median_of(pairs.hub_server_ms))} "
            f"(p90 {_t(_p90_of(pairs.hub_server_ms))}); plain {_t(median_ms(pairs.plain))} "
            f"(status {row['plain_conditional_status']})"
        )

        # 4. After a change: one new event in bfu on both, then the GET.
        pairs = Pairs()
        for run in range(self.o.change_runs):
            event = self.factory.event(self.next_new)
            self.next_new += 1
            for server in servers:
                writers[server.name].put(f"{calendar}{event.href}", event.text)
            for name in _order(run):
                if name == "calhub":
                    answer = hub_get({"If-None-Match": etag} if etag else None)
                    if answer.headers.get("etag") == etag:
                        raise RuntimeError("calhub: the feed's ETag did not change after a PUT")
                    etag = answer.headers.get("etag")
                    pairs.add_hub(answer)
                else:
                    pairs.add_plain(plain_get())
        row["after_change"] = pairs.as_dict()
        self.say(
            f"    after a change: feed {_t(median_ms(pairs.hub))} (server "
            f"{_t(_median_of(pairs.hub_server_ms))}), plain GET {_t(median_ms(pairs.plain))}"
        )
        clients: list[FeedClient | DavClient] = [feeds, dav, *writers.values()]
        for client in clients:
            client.close()
        return row


def _order(run: int) -> tuple[str, str]:
    return ("calhub", "radicale") if run % 2 == 0 else ("radicale", "calhub")


def _copy_caches(
    hub_storage: Path,
    plain_storage: Path,
    specs: Sequence[generate.CalendarSpec],
    target: generate.CalendarSpec,
) -> int:
    """Radicale's item cache of every hub calendar into plain Radicale's one calendar
    (entries are named by href and checked against the file's hash: same files, same
    entries), so plain Radicale starts as warm as the hub, whose indexing read them."""
    destination = plain_storage / target.owner / target.slug / ".Radicale.cache" / "item"
    destination.mkdir(parents=True, exist_ok=True)
    copied = 0
    for spec in specs:
        source = hub_storage / spec.owner / spec.slug / ".Radicale.cache" / "item"
        if not source.is_dir():
            continue
        for entry in source.iterdir():
            (destination / entry.name).write_bytes(entry.read_bytes())
            copied += 1
    return copied


def _ms(seconds: Sequence[float]) -> str:
    return fmt_ms(median_ms(seconds))


def _ms_of(milliseconds: Sequence[float]) -> str:
    return fmt_ms(median_ms([m / 1000 for m in milliseconds]))


def _p_of(milliseconds: Sequence[float], share: float) -> str:
    return fmt_ms(percentile_ms([m / 1000 for m in milliseconds], share))


def _t(value: float | None) -> str:
    """Milliseconds with their unit (fmt_ms writes ten seconds and more as seconds)."""
    if value is None:
        return "—"
    text = fmt_ms(value)
    return text if text.endswith(" s") else f"{text} ms"


def _median_of(milliseconds: Sequence[float]) -> float | None:
    return median_ms([m / 1000 for m in milliseconds]) if milliseconds else None


def _p90_of(milliseconds: Sequence[float]) -> float | None:
    return percentile_ms([m / 1000 for m in milliseconds], 0.9) if milliseconds else None


def _opt_ms(value: float | None) -> str:
    return "—" if value is None else fmt_ms(value)


# -- tables --------------------------------------------------------------------------------


def render(feeds: dict[str, Any], targets: list[list[str]]) -> list[str]:
    """Markdown tables of a feed run; the targets' rows are appended to ``targets``."""
    rows = feeds.get("sizes", [])
    if not rows:
        return []
    out = [
        "### Feeds: the merged `all` feed against plain Radicale's whole-calendar GET",
        "",
        "The hub holds N events over its calendars; plain Radicale holds the same N in one "
        "calendar. Client medians (ms) of alternating requests; the hub's server time "
        "(its access log) in brackets; ratio = hub / plain.",
        "",
    ]
    lines = []
    for row in rows:
        for label, key in (
            ("first request after start (hub: cold build)", "cold"),
            ("from the cache (hub) / whole calendar (plain)", "cached"),
            ("the same with `Accept-Encoding: gzip`", "cached_gzip"),
            ("after one new event (hub: rebuild)", "after_change"),
            ("conditional GET, `If-None-Match` (hub: 304)", "conditional"),
        ):
            lines.append([row["size"], label, *_cells(row, key)])
    out += [
        table(["events", "request", "runs", "hub ms (server)", "plain ms", "hub/plain"], lines),
        "",
        table(
            [
                "events",
                "VEVENTs feed / plain",
                "bytes feed / plain",
                "gzip bytes feed / plain",
                "VTIMEZONEs",
                "TENTATIVE",
                "plain's answer to If-None-Match",
                "peak MB hub / plain",
            ],
            [
                [
                    r["size"],
                    f"{r['feed_vevents']} / {r['plain_vevents']}",
                    f"{r['feed_bytes']:,} / {r['plain_bytes']:,}",
                    f"{_gzip_cell(r, 'feed')} / {_gzip_cell(r, 'plain')}",
                    r["feed_vtimezones"],
                    r["feed_tentative"],
                    ", ".join(map(str, r.get("plain_conditional_status", []))) or "—",
                    "{:.0f} / {:.0f}".format(
                        r["peak_rss_mb"]["calhub"], r["peak_rss_mb"]["radicale"]
                    ),
                ]
                for r in rows
            ],
        ),
        "",
    ]
    largest = max(rows, key=lambda r: r["size"])
    hub, plain = median_ms(largest["cached"]["hub"]), median_ms(largest["cached"]["plain"])
    scaled = (
        ""
        if largest["size"] >= 10_000
        else f" (only {largest['size']} events: not the target's size)"
    )
    targets.append(
        [
            "merged feed of a 10,000-event hub from the cache no slower than plain Radicale's "
            "whole-calendar GET of the same events",
            f"{_t(hub)} vs {_t(plain)} at {largest['size']} events{scaled}",
            ("met" if hub <= plain else "NOT met") + (" at this size" if scaled else ""),
        ]
    )
    server = largest["conditional"]["hub_server_ms"]
    if server:
        p50 = median_ms([m / 1000 for m in server])
        p90 = percentile_ms([m / 1000 for m in server], 0.9)
        targets.append(
            [
                "conditional GET < 5 ms server time",
                f"p50 {fmt_ms(p50)} ms, p90 {fmt_ms(p90)} ms, max {fmt_ms(max(server))} ms "
                f"(hub's access log, {len(server)} runs at {largest['size']} events)",
                "met" if p90 < CONDITIONAL_TARGET_MS else "NOT met",
            ]
        )
    else:
        targets.append(
            ["conditional GET < 5 ms server time", "no server time in the hub's log", "unknown"]
        )
    return out


def _gzip_cell(row: dict[str, Any], side: str) -> str:
    encoding = row.get(f"{side}_gzip_encoding") or "not compressed"
    return f"{row.get(f'{side}_gzip_bytes', 0):,} ({encoding})"


def _cells(row: dict[str, Any], key: str) -> list[str]:
    data = row[key]
    if key == "cold":
        server = f" ({_opt_ms(data['hub_server_ms'])})"
        return [
            "1",
            fmt_ms(data["hub"] * 1000) + server,
            fmt_ms(data["plain"] * 1000),
            fmt_ratio(data["hub"], data["plain"]),
        ]
    hub, plain = median_ms(data["hub"]), median_ms(data["plain"])
    server = f" ({_ms_of(data['hub_server_ms'])})" if data["hub_server_ms"] else ""
    return [str(len(data["hub"])), fmt_ms(hub) + server, fmt_ms(plain), fmt_ratio(hub, plain)]


# -- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="calhub feeds vs plain Radicale's GET")
    parser.add_argument("--sizes", default="2000,10000", help="comma-separated event counts")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--conditional-runs", type=int, default=30)
    parser.add_argument("--change-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, help="keep data here (default: temporary)")
    parser.add_argument("--json", type=Path, help="write all raw samples to this file")
    args = parser.parse_args(argv)
    logging.getLogger("radicale").setLevel(logging.ERROR)
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calhub-feed-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.feed_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {"command": command.strip(), "machine": machine()}
    print(f"# {results['command']}\n# {results['machine']}\n# data in {workdir}", flush=True)
    options = FeedOptions(
        workdir=workdir,
        sizes=tuple(int(s) for s in args.sizes.split(",") if s.strip()),
        runs=args.runs,
        conditional_runs=args.conditional_runs,
        change_runs=args.change_runs,
        seed=args.seed,
    )
    bench = FeedBench(options, lambda text: print(text, flush=True))
    results["feeds"] = bench.results
    try:
        bench.run()
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    targets: list[list[str]] = []
    text = render(results["feeds"], targets)
    text += ["### Targets", "", table(["target", "measured", "result"], targets), ""]
    print("\n" + "\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
