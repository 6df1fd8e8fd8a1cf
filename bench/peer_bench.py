"""Three servers on the same calendar, interleaved in one run: the hub, plain Radicale 3.9
and Xandikos (issue 21's second peer).

    python -m bench.peer_bench --size 2000 --xandikos /opt/xandikos/bin/xandikos

Xandikos is not a calhub dependency and is never imported: install it into a venv of its
own (``python3 -m venv /opt/xandikos && /opt/xandikos/bin/pip install xandikos==0.4.10``)
and name its ``xandikos`` command (default: ``$XANDIKOS``, then ``xandikos`` on the PATH).
It serves without authentication (its Basic authentication needs TLS), which favours it
slightly: the hub and Radicale check a (cached) login on every request.

The hub and Radicale get the events as identical files (as ``bench.http_bench`` does), the
hub's index is updated in-process; Xandikos, whose store is a git repository, gets them by
PUT (timed and reported, not a row). Rows, each a median over ``--runs`` requests with the
servers' order alternating: Depth-0 poll (getctag, sync-token), Depth-1 PROPFIND of
getetag, sync-collection after 2 changes, multiget of 50 objects, new PUT, update PUT (the
new event moved), one-day time-range REPORT. Servers bind 127.0.0.1 and are stopped at the
end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import generate
from bench.client import DavClient, Reply, count_responses, sync_token
from bench.http_bench import _days
from bench.servers import (
    Server,
    build_hub,
    build_plain,
    copy_events,
    free_port,
    index_new_events,
    start_hub,
    start_plain,
)

ROWS = (
    ("Depth-0 PROPFIND poll (getctag, sync-token)", "poll"),
    ("Depth-1 PROPFIND of getetag", "etags"),
    ("sync-collection after 2 changes", "sync"),
    ("calendar-multiget of 50 objects", "multiget"),
    ("new-event PUT", "new_put"),
    ("update PUT (the event moved)", "update_put"),
    ("one-day time-range REPORT", "day_report"),
)
XANDIKOS_CALENDAR = "user/calendars/calendar"


def start_xandikos(command: str, root: Path, log_dir: Path) -> Server:
    port = free_port()
    log = log_dir / f"xandikos-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [command, "serve", "--defaults", "-d", str(root), "-l", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
    server = Server("xandikos", process, "127.0.0.1", port, "", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xandikos exited; log {log}:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("PROPFIND", f"/{XANDIKOS_CALENDAR}/", headers={"Depth": "0"})
            status = connection.getresponse().status
            connection.close()
            if status == 207:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("xandikos did not answer within 60 s")


def _ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument(
        "--xandikos", default=os.environ.get("XANDIKOS") or shutil.which("xandikos") or ""
    )
    parser.add_argument("--workdir", type=Path, help="keep data here (default: temporary)")
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    args = parser.parse_args(argv)
    if not args.xandikos:
        parser.error("no xandikos command: pass --xandikos PATH or set XANDIKOS")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calhub-peers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = generate.KNOWN_PARTNERS[0]
    year = generate.school_year()
    factory = generate.EventFactory(spec, args.seed, year)
    events = list(factory.events(0, args.size))
    hub_root = workdir / "hub"
    hub_collections = build_hub(hub_root, [spec], [])
    template, plain_collections = build_plain(workdir / "plain", [spec], [])
    copy_events([hub_collections, plain_collections], spec, events)
    index_new_events(hub_root, {spec: [e.href for e in events]})
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    servers = [
        start_hub(hub_root, logs),
        start_plain(template, logs),
        start_xandikos(args.xandikos, workdir / "xandikos", logs),
    ]
    paths = {"calhub": spec.path, "radicale": spec.path, "xandikos": XANDIKOS_CALENDAR}
    samples: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, dict[str, int]] = {}
    try:
        clients = {s.name: DavClient(s, spec.id) for s in servers}
        xandikos = clients["xandikos"]
        started = time.perf_counter()
        for event in events:
            xandikos.put(f"{XANDIKOS_CALENDAR}/{event.href}", event.text)
        load_seconds = time.perf_counter() - started
        print(f"xandikos: {len(events)} events PUT in {load_seconds:.1f} s", flush=True)
        for name, client in clients.items():
            client.propfind(f"{paths[name]}/", "1")  # warm: item caches, indexes

        def record(row: str, name: str, reply: Reply, count: int | None = None) -> None:
            samples.setdefault(row, {}).setdefault(name, []).append(reply.seconds)
            if count is not None:
                counts.setdefault(row, {})[name] = count

        step = max(1, args.size // 50)
        spread = [factory.event(n).href for n in range(0, step * 50, step)][:50]
        tokens = {name: sync_token(c.sync(paths[name]).body) for name, c in clients.items()}
        # School days with events, as bench.http_bench picks them (hub-local midnights).
        days = [start for start, _ in _days(year, args.runs)]
        next_new = 900_000
        for run in range(args.runs):
            order = servers if run % 2 == 0 else list(reversed(servers))
            new_events = [factory.event(next_new + n) for n in range(3)]
            next_new += 3
            day = days[run]
            for server in order:
                name, client, path = server.name, clients[server.name], paths[server.name]
                record("poll", name, client.poll(path))
                reply = client.etags(path)
                record("etags", name, reply, count_responses(reply.body))
                reply = client.multiget(path, [f"{server.prefix}/{path}/{h}" for h in spread])
                record("multiget", name, reply, count_responses(reply.body))
                reply = client.time_range(path, day, day + dt.timedelta(days=1))
                record("day_report", name, reply, count_responses(reply.body))
                first, second, third = new_events
                reply = client.put(f"{path}/{first.href}", first.text)
                record("new_put", name, reply)
                moved = factory.event(next_new - 3, version=1)
                reply = client.put(f"{path}/{first.href}", moved.text, reply.headers["etag"])
                record("update_put", name, reply)
                client.put(f"{path}/{second.href}", second.text)
                client.put(f"{path}/{third.href}", third.text)
                # 4 writes since the last token: the new event and its move count as one
                # change of one href, so the answer names 3 objects.
                reply = client.sync(path, tokens[name])
                record("sync", name, reply, count_responses(reply.body))
                tokens[name] = sync_token(reply.body)
        for client in clients.values():
            client.close()
    finally:
        for server in servers:
            server.stop()
    lines = [
        f"Peers at {args.size} events, medians of {args.runs} runs (ms); Xandikos without "
        "authentication (the hub and Radicale check a cached login on every request).",
        "",
        "| request | hub | Radicale | Xandikos | hub/Radicale | hub/Xandikos | items |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, row in ROWS:
        hub, plain, xan = (_ms(samples[row][n]) for n in ("calhub", "radicale", "xandikos"))
        found = counts.get(row, {})
        items = " / ".join(str(found[n]) for n in ("calhub", "radicale", "xandikos") if n in found)
        lines.append(
            f"| {label} | {hub:,.1f} | {plain:,.1f} | {xan:,.1f} | {hub / plain:.2f} | "
            f"{hub / xan:.2f} | {items} |"
        )
    lines += ["", f"Xandikos loaded by PUT: {args.size} events in {load_seconds:.1f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
