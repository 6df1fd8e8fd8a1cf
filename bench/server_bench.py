"""The hub's HTTP server (waitress) against the one it replaced (cheroot), same stack.

    python -m bench.server_bench                  # about two minutes on 2 cores
    python -m bench.server_bench --requests 600 --clients 8 --markdown FILE --json FILE

Both servers run ``calhub.server.stack.build_stack`` on identical, freshly built hubs (a partner
calendar of ``--events`` events); only the server differs: ``calhub serve`` (waitress, the
``[server]`` defaults) and bench/cheroot_serve.py (cheroot as calhub ran it before issue 11:
16 threads, queue 64, 30 s timeout; ``pip install cheroot`` first). Per server:

- ``--clients`` clients, each on its own keep-alive connection, send ``--requests``
  requests in all of each kind: GET /healthz, a depth-1 PROPFIND of the partner calendar
  (getetag, displayname) and a PUT of a new event; latency p50/p95 per request and
  requests per second over the whole kind;
- slow clients: ``--slow`` connections each send one header line a second and never end
  their requests; meanwhile GET /healthz is sent once a second ``--probes`` times, each
  given 5 s: how many were answered and how long they took;
- the server's peak memory (VmHWM) at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.client import DavClient, Reply
from bench.generate import BLACKOUT, SCHOOL, CalendarSpec
from bench.servers import Server, build_hub, start_hub
from bench.stats import fmt_ms, machine, median_ms, percentile_ms, table

PARTNER = CalendarSpec("bfu", "БФУ им. И. Канта", "partner", "10-11")
SLOW_PROBE_TIMEOUT = 5.0


def event_text(uid: str, start: dt.datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    end = start + dt.timedelta(hours=1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260801T000000Z\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\nDTEND:{end.strftime(stamp)}\r\n"
        f"SUMMARY:Лекция {uid[:8]} [10-11]\r\nLOCATION:БФУ, ауд. {len(uid)}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Slots:
    """Distinct hours, so PUTs do not all clash with each other."""

    def __init__(self) -> None:
        self.next = dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC)
        self.lock = threading.Lock()

    def take(self) -> dt.datetime:
        with self.lock:
            self.next += dt.timedelta(hours=3)
            return self.next


def fill(server: Server, events: int, slots: Slots) -> None:
    client = DavClient(server, PARTNER.id)
    for _ in range(events):
        uid = uuid.uuid4().hex
        client.put(f"{PARTNER.path.strip('/')}/{uid}.ics", event_text(uid, slots.take()))
    client.close()


def run_kind(
    server: Server, clients: int, requests: int, send: Callable[[DavClient], Reply]
) -> tuple[list[float], float]:
    """Latencies of ``requests`` requests from ``clients`` threads, and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]

    def work(count: int) -> None:
        client = DavClient(server, PARTNER.id)
        mine = [send(client).seconds for _ in range(count)]
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(count,)) for count in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def slow_clients(server: Server, connections: int, probes: int) -> dict[str, Any]:
    """``connections`` trickling requests; /healthz probed once a second meanwhile."""
    sockets = []
    for _ in range(connections):
        sock = socket.create_connection((server.host, server.port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        line = 0
        while not stop.wait(1.0):
            line += 1
            for sock in list(sockets):
                try:
                    sock.sendall(f"X-Slow-{line}: x\r\n".encode())
                except OSError:
                    sockets.remove(sock)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    answered: list[float] = []
    try:
        time.sleep(1.5)
        for _ in range(probes):
            started = time.perf_counter()
            try:
                with socket.create_connection(
                    (server.host, server.port), timeout=SLOW_PROBE_TIMEOUT
                ) as probe:
                    probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if probe.recv(12).startswith(b"HTTP/1.1 200"):
                        answered.append(time.perf_counter() - started)
            except OSError:
                pass  # not answered within the time: counted as such below
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
    finally:
        stop.set()
        thread.join(5)
        still_open = len(sockets)
        for sock in sockets:
            sock.close()
    return {
        "answered": len(answered),
        "probes": probes,
        "p50_ms": median_ms(answered),
        "max_ms": max(answered) * 1000 if answered else float("nan"),
        "slow_connections_open": still_open,
    }


def measure(name: str, cheroot: bool, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    root = work / name
    build_hub(root, [SCHOOL, BLACKOUT, PARTNER], ())
    log_dir = work / f"{name}-logs"
    log_dir.mkdir()
    server = start_hub(root, log_dir, cheroot=cheroot)
    slots = Slots()
    result: dict[str, Any] = {"server": name, "kinds": {}}
    try:
        fill(server, args.events, slots)
        calendar = PARTNER.path.strip("/")

        def put(client: DavClient) -> Reply:
            uid = uuid.uuid4().hex
            return client.put(f"{calendar}/{uid}.ics", event_text(uid, slots.take()))

        # /healthz is outside /dav: its clients see the server without the CalDAV prefix.
        outside = dataclasses.replace(server, prefix="")
        kinds: dict[str, tuple[Server, Callable[[DavClient], Reply]]] = {
            "GET /healthz": (outside, lambda c: c.request("GET", "healthz", expect=(200,))),
            "PROPFIND depth 1": (server, lambda c: c.propfind(f"{calendar}/", "1")),
            "PUT new event": (server, put),
        }
        for kind, (target, send) in kinds.items():
            run_kind(target, args.clients, args.clients * 2, send)  # warm-up
            latencies, wall = run_kind(target, args.clients, args.requests, send)
            result["kinds"][kind] = {
                "p50_ms": median_ms(latencies),
                "p95_ms": percentile_ms(latencies, 0.95),
                "per_s": len(latencies) / wall,
                "samples": latencies,
            }
        result["slow"] = slow_clients(server, args.slow, args.probes)
        result["peak_mb"] = server.peak_rss_mb
    finally:
        server.stop()
    return result


def markdown(results: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = []
    for kind in results[0]["kinds"]:
        row: list[object] = [kind]
        for result in results:
            figures = result["kinds"][kind]
            row += [fmt_ms(figures["p50_ms"]), fmt_ms(figures["p95_ms"]), f"{figures['per_s']:.0f}"]
        rows.append(row)
    headers = ["request"]
    for result in results:
        headers += [f"{result['server']} p50 ms", "p95 ms", "req/s"]
    slow_rows = [
        [
            result["server"],
            f"{result['slow']['answered']} of {result['slow']['probes']}",
            fmt_ms(result["slow"]["p50_ms"]),
            fmt_ms(result["slow"]["max_ms"]),
            f"{result['peak_mb']:.0f}",
        ]
        for result in results
    ]
    return "\n\n".join(
        [
            f"{args.clients} clients, {args.requests} requests of each kind, "
            f"a {args.events}-event calendar; {machine()}",
            table(headers, rows),
            f"GET /healthz once a second while {args.slow} connections trickle a header line "
            "a second (each probe given 5 s), and peak memory:",
            table(["server", "answered", "p50 ms", "max ms", "peak MB"], slow_rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="waitress (calhub serve) against cheroot")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="per kind of request")
    parser.add_argument("--events", type=int, default=200, help="events in the calendar")
    parser.add_argument("--slow", type=int, default=40, help="trickling connections")
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument(
        "--cheroot-first", action="store_true", help="measure cheroot first (load drifts)"
    )
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="calhub-server-bench-"))
    try:
        order = ("cheroot", "waitress") if args.cheroot_first else ("waitress", "cheroot")
        by_name = {name: measure(name, name == "cheroot", args, work) for name in order}
        results = [by_name["waitress"], by_name["cheroot"]]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = markdown(results, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
