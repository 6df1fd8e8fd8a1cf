"""The update PUT (If-Match, the event moved to another time) of several checkouts' hubs and
of plain Radicale, on copies of one benchmark's data, the servers taking turns request by
request (issue 21).

``bench.run`` times five moves per size: too few to tell two versions of the hub apart on a
shared machine. Here every server gets the same events: ``--events`` new ones are created
first (not timed), then each is moved ``--moves`` times, one server after the other in an
order that rotates with every move, so that load from elsewhere hits them all alike.

    python -m bench.run --quick --sizes 2000 --skip engine,cli,feeds --workdir W
    python -m bench.update_put_ab --data W --workdir /tmp/ab OLD_CHECKOUT NEW_CHECKOUT
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from bench import generate
from bench.client import DavClient
from bench.servers import Server, start_hub, start_plain
from bench.stats import fmt_ms, median_ms, percentile_ms

FIRST_EVENT = 700_000


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a bench.run workdir")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--moves", type=int, default=3)
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("checkouts", nargs="+", help="folders holding a calhub package")
    args = parser.parse_args(argv)
    logs = args.workdir / "logs"
    shutil.rmtree(args.workdir, ignore_errors=True)
    logs.mkdir(parents=True)
    servers: list[tuple[str, Server]] = []
    try:
        for n, checkout in enumerate(args.checkouts):
            root = args.workdir / f"hub{n}"
            shutil.copytree(args.data / "hub", root)
            # Only the server runs the checkout's calhub; this process keeps its own bench.
            os.environ["PYTHONPATH"] = checkout
            servers.append((checkout, start_hub(root, logs)))
        os.environ.pop("PYTHONPATH", None)
        plain_root = args.workdir / "plain"
        shutil.copytree(args.data / "plain", plain_root)
        template = plain_root / "radicale.conf.in"
        text = template.read_text().replace(str((args.data / "plain").resolve()), str(plain_root))
        template.write_text(text)
        servers.append(("plain Radicale", start_plain(template, logs)))
        spec = next(s for s in generate.hub_calendars(6) if s.role == "partner")
        factory = generate.EventFactory(spec, args.seed, generate.school_year())
        clients = [DavClient(server, spec.id) for _, server in servers]
        etags: list[dict[int, str]] = [{} for _ in servers]
        numbers = range(FIRST_EVENT, FIRST_EVENT + args.events)
        for number in numbers:
            event = factory.event(number)
            for n, client in enumerate(clients):
                reply = client.put(f"{spec.path}/{event.href}", event.text)
                etags[n][number] = reply.headers["etag"]
        times: list[list[float]] = [[] for _ in servers]
        loads = [_loadavg()]
        turn = 0
        for version in range(1, args.moves + 1):
            for number in numbers:
                event = factory.event(number, version)
                path = f"{spec.path}/{event.href}"
                order = list(range(len(servers)))
                turn += 1
                order = order[turn % len(order) :] + order[: turn % len(order)]
                for n in order:
                    reply = clients[n].put(path, event.text, etags[n][number])
                    assert reply.status == 204, (servers[n][0], reply.status)
                    etags[n][number] = reply.headers["etag"]
                    times[n].append(reply.seconds)
            loads.append(_loadavg())
        for client in clients:
            client.close()
    finally:
        for _, server in servers:
            server.stop()
    plain = median_ms(times[-1])
    print(
        f"update PUT, {args.events} events × {args.moves} moves on each server, "
        f"{time.strftime('%H:%M', time.gmtime())} UTC, load average {' → '.join(loads)}"
    )
    print("| server | median ms | p90 ms | median / plain's |")
    print("|---|---|---|---|")
    for (name, _), samples in zip(servers, times, strict=True):
        median = median_ms(samples)
        ratio = f"{median / plain:.2f}" if plain else "—"
        print(f"| {name} | {fmt_ms(median)} | {fmt_ms(percentile_ms(samples, 0.9))} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
