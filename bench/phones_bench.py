"""Phones at once: N concurrent phone-like clients on one calendar, against the hub, plain
Radicale 3.9 and (when installed) Xandikos 0.4.10, interleaved in one run (issue 21).

    python -m bench.phones_bench --sizes 2000,10000 --clients 8,32 --seconds 30 --rounds 2 \\
        --xandikos /work/xandikos-venv/bin/xandikos

A phone is a thread with its own keep-alive connection that repeats, back to back (no think
time: this measures capacity, not a day of phones), a step drawn from its own seeded random
sequence, the same sequence on every server:

- with probability ``--write-share`` (default 5%) a write: a new event (PUT If-None-Match)
  or, half the time once it has one, one of its own events moved (PUT If-Match);
- otherwise a Depth-0 PROPFIND poll (getctag, sync-token); when the token differs from the
  one the phone holds, a sync-collection REPORT from its token, then a calendar-multiget of
  the objects that changed (up to 50), as DAVx5 and iOS do.

Each (phones, server) pair runs ``--seconds`` and then lets the requests in flight finish;
throughput is the requests completed over the time from the start to the last answer, and
p50/p95 are over every request of the pair in every round. The servers take turns in each
round, the order alternating between rounds, so load from elsewhere hits all alike.

Data: the hub and Radicale get the events as identical files (as ``bench.http_bench``), the
hub's index updated in-process, Radicale's item cache copied from the hub's. Xandikos's
calendar is a non-bare git repository (``xandikos.store.git.TreeGitStore``: an item's etag
is its blob id, the ctag and sync-token the tree id of the git index), so the same files are
written into its working tree and committed with git (``git add`` and one ``git commit``
per size, the server stopped), which is what Xandikos's own PUT does one file at a time;
the loaded calendar is checked (its Depth-1 etags are the blob ids git gives the files).
Xandikos serves without authentication (its Basic authentication needs TLS), which favours
it slightly. Servers bind 127.0.0.1 and are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import generate
from bench.client import DavClient, sync_token
from bench.servers import (
    Server,
    add_events,
    build_hub,
    build_plain,
    start_hub,
    start_plain,
)
from bench.stats import fmt_ms, percentile_ms, table

XANDIKOS_CALENDAR = "user/calendars/calendar"
KINDS = ("poll", "sync", "multiget", "put_new", "put_move")
NEW_FROM = 2_000_000  # generator numbers of events the phones create (never preloaded)
WARM_FROM = 1_900_000  # the one event each server is sent before the phones start
DRAIN_SECONDS = 300.0  # a request still unanswered this long after the window is an error

_RESPONSE = re.compile(rb"<(?:[A-Za-z0-9]+:)?response[ >].*?</(?:[A-Za-z0-9]+:)?response>", re.S)
_HREF = re.compile(rb"<(?:[A-Za-z0-9]+:)?href>([^<]+)</")


@dataclass
class PhonesOptions:
    workdir: Path
    sizes: Sequence[int] = (2000, 10000)
    clients: Sequence[int] = (8, 32)
    seconds: float = 30.0
    rounds: int = 2
    write_share: float = 0.05
    xandikos: str = ""
    seed: int = generate.DEFAULT_SEED
    # Hubs to run side by side on the same data directory, each a `calhub serve` with these
    # arguments (e.g. "--threads 2", "--workers 2"); empty: one hub as deployed.
    hub_args: Sequence[str] = ()
    radicale: bool = True


@dataclass
class Tally:
    """What one (phones, server) pair did over all rounds."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    loads: list[str] = field(default_factory=list)

    @property
    def all_seconds(self) -> list[float]:
        return [s for values in self.seconds.values() for s in values]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "errors": self.errors,
            "elapsed": self.elapsed,
            "loads": self.loads,
        }


def changed_hrefs(body: bytes) -> list[str]:
    """The hrefs a sync-collection answer names as present; a deleted one is a response
    with a 404 status of its own and no propstat."""
    found = []
    for block in _RESPONSE.findall(body):
        match = _HREF.search(block)
        if match and not (b"propstat" not in block and b" 404 " in block):
            found.append(match.group(1).decode())
    return found


class Phone:
    """One phone's session on one server: its token, its own events, its random steps."""

    def __init__(
        self,
        bench: PhonesBench,
        server: Server,
        number: int,
        token: str,
        counter: Callable[[], int],
    ) -> None:
        self.bench = bench
        self.server = server
        self.client = DavClient(server, bench.spec.id, timeout=bench.o.seconds + DRAIN_SECONDS)
        self.path = bench.paths[server.name]
        self.token = token
        self.rng = random.Random(f"{bench.o.seed}:phone:{number}")
        self.counter = counter
        self.own: list[tuple[int, int, str, str]] = []  # (number, version, href, etag)
        self.seconds: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: list[str] = []

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                try:
                    self.step()
                except (RuntimeError, OSError, ValueError) as error:
                    # Counted and reported; the phone reconnects and goes on.
                    self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")
                    self.client.close()
        finally:
            self.client.close()

    def step(self) -> None:
        factory = self.bench.factory
        if self.rng.random() < self.bench.o.write_share:
            if self.own and self.rng.random() < 0.5:
                index = self.rng.randrange(len(self.own))
                number, version, href, etag = self.own[index]
                event = factory.event(number, version=version + 1)
                reply = self.client.put(f"{self.path}/{href}", event.text, etag)
                self.seconds["put_move"].append(reply.seconds)
                self.own[index] = (number, version + 1, href, reply.headers["etag"])
            else:
                number = self.counter()
                event = factory.event(number)
                reply = self.client.put(f"{self.path}/{event.href}", event.text)
                self.seconds["put_new"].append(reply.seconds)
                self.own.append((number, 0, event.href, reply.headers["etag"]))
            return
        reply = self.client.poll(self.path)
        self.seconds["poll"].append(reply.seconds)
        if sync_token(reply.body) == self.token:
            return
        reply = self.client.sync(self.path, self.token)
        self.seconds["sync"].append(reply.seconds)
        self.token = sync_token(reply.body)
        hrefs = changed_hrefs(reply.body)[:50]
        if hrefs:
            reply = self.client.multiget(self.path, hrefs)
            self.seconds["multiget"].append(reply.seconds)


class PhonesBench:
    def __init__(self, options: PhonesOptions, progress: Callable[[str], None] = print) -> None:
        self.o = options
        self.say = progress
        self.spec = generate.KNOWN_PARTNERS[0]
        self.year = generate.school_year()
        self.factory = generate.EventFactory(self.spec, options.seed, self.year)
        self.hubs = {f"calhub {a}": a.split() for a in options.hub_args} or {"calhub": []}
        self.paths = dict.fromkeys(self.hubs, self.spec.path)
        if options.radicale:
            self.paths["radicale"] = self.spec.path
        if options.xandikos:
            self.paths["xandikos"] = XANDIKOS_CALENDAR
        self.logs = options.workdir / "logs"
        # Per server, so every server is sent the same new events in the same order.
        self.next_new: dict[str, int] = {}
        self.number_lock = threading.Lock()
        self.results: dict[str, Any] = {
            "options": {
                "sizes": list(options.sizes),
                "clients": list(options.clients),
                "seconds": options.seconds,
                "rounds": options.rounds,
                "write_share": options.write_share,
                "xandikos": bool(options.xandikos),
                "hubs": list(self.hubs),
                "radicale": options.radicale,
            },
            "sizes": [],
        }

    def number_base(self, server: str) -> int:
        """Hubs side by side share one storage: each writes events of its own numbers."""
        hubs = list(self.hubs)
        return NEW_FROM + (hubs.index(server) * 1_000_000 if server in hubs else 0)

    def numbers(self, server: str) -> Callable[[], int]:
        """The generator numbers of the events the phones create on one server."""

        def next_number() -> int:
            with self.number_lock:
                number = self.next_new.get(server, self.number_base(server)) + 1
                self.next_new[server] = number
                return number

        return next_number

    # -- data -----------------------------------------------------------------------------

    def setup(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.hub_root = self.o.workdir / "hub"
        self.hub_storage = build_hub(self.hub_root, [self.spec], [])
        self.plain_template, self.plain_storage = build_plain(
            self.o.workdir / "plain", [self.spec], []
        )
        self.xandikos_root = self.o.workdir / "xandikos"
        if self.o.xandikos:
            # --defaults creates the principal and its calendar (a git repository).
            start_xandikos(self.o.xandikos, self.xandikos_root, self.logs).stop()

    def grow(self, size: int, current: int) -> dict[str, float]:
        events = list(self.factory.events(current, size - current))
        last = size == self.o.sizes[-1]
        # The full clash scan at the last size only, as bench.http_bench does.
        storages = (self.hub_storage, self.plain_storage)
        spent = {"hub_index": add_events(self.hub_root, storages, self.spec, events, last)}
        if self.o.xandikos:
            started = time.perf_counter()
            load_xandikos(self.xandikos_root / XANDIKOS_CALENDAR, events)
            spent["xandikos_git"] = time.perf_counter() - started
        return spent

    # -- measuring ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.setup()
        current = 0
        for size in self.o.sizes:
            spent = self.grow(size, current)
            current = size
            self.say(f"  phones: {size} events loaded ({_seconds(spent)})")
            servers: list[Server] = []
            try:
                for name, args in self.hubs.items():
                    # Several hubs share one data directory as `serve --workers` does.
                    servers.append(start_hub(self.hub_root, self.logs, args=args))
                    servers[-1].name = name
                if self.o.radicale:
                    servers.append(start_plain(self.plain_template, self.logs))
                if self.o.xandikos:
                    servers.append(start_xandikos(self.o.xandikos, self.xandikos_root, self.logs))
                row = self.measure(servers, size)
                row["load_seconds"] = spent
                row["peak_rss_mb"] = {s.name: s.peak_rss_mb for s in servers}
                self.results["sizes"].append(row)
            finally:
                for server in servers:
                    server.stop()
        return self.results

    def warm(self, servers: Sequence[Server], size: int) -> dict[str, str]:
        """Every server read whole once, written once and synced once (the first sync
        writes Radicale's history for every object); returns each server's sync-token."""
        tokens = {}
        for server in servers:
            client = DavClient(server, self.spec.id, timeout=3600)
            path = self.paths[server.name]
            started = time.perf_counter()
            reply = client.etags(path)
            found = len(_RESPONSE.findall(reply.body)) - 1  # the collection itself
            if found < size:
                raise RuntimeError(f"{server.name}: {found} objects listed, {size} loaded")
            if server.name == "xandikos":
                # Loaded by git: each object's etag is the blob id of the file written.
                expected = blob_id(self.factory.event(0).text)
                if expected not in reply.body.decode():
                    raise RuntimeError(f"xandikos: no etag {expected} for the first event")
            # One write, untimed: Xandikos maps every UID on its first PUT (parsing every
            # object once per process), which a server loaded by PUT has done already.
            event = self.factory.event(WARM_FROM + size + self.number_base(server.name) - NEW_FROM)
            client.put(f"{path}/{event.href}", event.text)
            tokens[server.name] = sync_token(client.sync(path).body)
            client.close()
            self.say(f"    {server.name}: warmed in {time.perf_counter() - started:.1f} s")
        return tokens

    def measure(self, servers: Sequence[Server], size: int) -> dict[str, Any]:
        tokens = self.warm(servers, size)
        tallies = {(n, s.name): Tally() for n in self.o.clients for s in servers}
        for round_ in range(self.o.rounds):
            order = servers if round_ % 2 == 0 else list(reversed(servers))
            for count in self.o.clients:
                for server in order:
                    tally = tallies[(count, server.name)]
                    tally.loads.append(_loadavg())
                    tokens[server.name] = self.phones(server, count, tokens[server.name], tally)
                    self.say(
                        f"    {size} events, {count} phones, {server.name}: "
                        f"{len(tally.all_seconds)} requests, "
                        f"{len(tally.all_seconds) / tally.elapsed:.1f}/s, "
                        f"p95 {fmt_ms(percentile_ms(tally.all_seconds, 0.95))} (ms), "
                        f"load {tally.loads[-1]}"
                    )
        return {
            "size": size,
            "runs": {f"{n}:{name}": t.as_dict() for (n, name), t in tallies.items()},
        }

    def phones(self, server: Server, count: int, token: str, tally: Tally) -> str:
        """``count`` phones on one server for the window; returns a current sync-token."""
        numbers = self.numbers(server.name)
        phones = [Phone(self, server, n, token, numbers) for n in range(count)]
        started = time.monotonic()
        deadline = started + self.o.seconds
        threads = [threading.Thread(target=p.run, args=(deadline,), daemon=True) for p in phones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.o.seconds + DRAIN_SECONDS + 60)
        tally.elapsed += time.monotonic() - started
        for phone in phones:
            for kind in KINDS:
                tally.seconds[kind] += phone.seconds[kind]
            tally.errors += phone.errors
        if any(t.is_alive() for t in threads):
            tally.errors.append("phones still waiting after the drain time")
        # The next window's phones start from the calendar as it is now (untimed).
        client = DavClient(server, self.spec.id, timeout=DRAIN_SECONDS)
        try:
            return sync_token(client.poll(self.paths[server.name]).body)
        finally:
            client.close()


# -- Xandikos --------------------------------------------------------------------------------


def start_xandikos(command: str, root: Path, log_dir: Path) -> Server:
    from bench.peer_bench import start_xandikos as start

    return start(command, root, log_dir)


def load_xandikos(calendar: Path, events: Sequence[generate.GeneratedEvent]) -> None:
    """The events as files in Xandikos's calendar repository, added and committed with git
    (what its PUT does one file and one commit at a time); the server must be stopped."""
    for event in events:
        (calendar / event.href).write_text(event.text, encoding="utf-8", newline="")
    git = ["git", "-C", str(calendar), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    # -A over the .ics files only: Xandikos's own .xandikos file is committed already.
    subprocess.run([*git, "add", "-A", "--", "*.ics"], check=True, timeout=600)
    message = f"bench: {len(events)} events"
    subprocess.run([*git, "commit", "-q", "-m", message], check=True, timeout=600)


def blob_id(text: str) -> str:
    """The etag Xandikos gives an object: its git blob id."""
    import hashlib

    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# -- tables -----------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    options = results["options"]
    out = [
        "### Concurrent phones (bench/phones_bench.py)",
        "",
        f"Each phone: a keep-alive connection, back-to-back steps; {options['write_share']:.0%} "
        "writes (new event, or one of its own moved), otherwise a Depth-0 poll, and when the "
        "token changed a sync-collection from it and a multiget of what changed. "
        f"{options['rounds']} round(s) of {options['seconds']:.0f} s per server and phone "
        "count, servers alternating; requests in flight at the end finish and count.",
        "",
    ]
    if not options["xandikos"]:
        out += [
            "Xandikos rows left out: no xandikos command (pass --xandikos or set XANDIKOS; "
            "install it into a venv of its own: pip install xandikos==0.4.10).",
            "",
        ]
    rows = []
    for row in results["sizes"]:
        by_count: dict[int, dict[str, Tally]] = {}
        for key, data in row["runs"].items():
            count, name = key.split(":")
            tally = Tally(data["seconds"], data["errors"], data["elapsed"], data["loads"])
            by_count.setdefault(int(count), {})[name] = tally
        for count, servers in sorted(by_count.items()):
            rate = {name: len(t.all_seconds) / t.elapsed for name, t in servers.items()}
            for name, tally in servers.items():
                every = tally.all_seconds
                mix = "/".join(str(len(tally.seconds[k])) for k in KINDS)
                versus = [
                    f"{rate[name] / rate[other]:.2f}" if other in rate and other != name else "—"
                    for other in ("radicale", "xandikos")
                ]
                rows.append(
                    [
                        row["size"],
                        count,
                        name,
                        len(every),
                        mix,
                        f"{rate[name]:.1f}",
                        fmt_ms(percentile_ms(every, 0.5)),
                        fmt_ms(percentile_ms(every, 0.95)),
                        fmt_ms(percentile_ms(tally.seconds["poll"], 0.5)),
                        fmt_ms(percentile_ms(tally.seconds["sync"], 0.5)),
                        fmt_ms(percentile_ms(tally.seconds["put_new"], 0.5)),
                        *versus,
                        len(tally.errors),
                        ", ".join(tally.loads),
                    ]
                )
    headers = [
        "events",
        "phones",
        "server",
        "requests",
        "poll/sync/multiget/new/move",
        "req/s",
        "p50 ms",
        "p95 ms",
        "poll p50 ms",
        "sync p50 ms",
        "new PUT p50 ms",
        "req/s ÷ Radicale's",
        "req/s ÷ Xandikos's",
        "errors",
        "load at start",
    ]
    out += [table(headers, rows), ""]
    for row in results["sizes"]:
        errors = [e for data in row["runs"].values() for e in data["errors"]]
        if errors:
            out += [f"Errors at {row['size']} events (first 5): " + "; ".join(errors[:5]), ""]
    return "\n".join(out)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _seconds(spent: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in spent.items())


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def find_xandikos(given: str | None = None) -> str:
    return given or os.environ.get("XANDIKOS") or shutil.which("xandikos") or ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--xandikos", help="its command (default: $XANDIKOS, then the PATH)")
    parser.add_argument("--no-xandikos", action="store_true", help="hub and Radicale only")
    parser.add_argument("--no-radicale", action="store_true", help="leave plain Radicale out")
    parser.add_argument(
        "--hub-args",
        action="append",
        default=[],
        help="a hub variant side by side, e.g. '--threads 2' (repeat; default: one hub)",
    )
    parser.add_argument("--workdir", type=Path, help="keep data here (default: temporary)")
    parser.add_argument("--json", type=Path, help="write the raw samples to this file")
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    args = parser.parse_args(argv)
    # SIGTERM (and SIGINT, ignored in background jobs) unwind, so the servers are stopped.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calhub-phones-"))
    workdir.mkdir(parents=True, exist_ok=True)
    options = PhonesOptions(
        workdir=workdir,
        sizes=tuple(int(p) for p in args.sizes.split(",") if p.strip()),
        clients=tuple(int(p) for p in args.clients.split(",") if p.strip()),
        seconds=args.seconds,
        rounds=args.rounds,
        write_share=args.write_share,
        xandikos="" if args.no_xandikos else find_xandikos(args.xandikos),
        seed=args.seed,
        hub_args=tuple(args.hub_args),
        radicale=not args.no_radicale,
    )
    bench = PhonesBench(options, lambda text: print(text, flush=True))
    try:
        bench.run()
    finally:
        if args.json:
            args.json.write_text(json.dumps(bench.results, indent=1))
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(bench.results)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
