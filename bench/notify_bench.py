"""A CalDAV PUT that records a clash, with notifications on and off (issue 17).

Two hubs made alike (coordinator, bfu, kgtu, every account with an address) are served by
``calhub serve``; one sends e-mail through a loopback SMTP server (aiosmtpd, the test
extra) with ``batch_seconds = 0``, so its sender thread works while the PUTs come, the other
has no ``[notify.smtp] host``. For each of ``--pairs`` times, bfu PUTs a lecture for grade
10 and kgtu a practice for 10А at the same time: the second PUT records a hard clash. The
kgtu PUTs are timed, the two hubs taking turns, and the ratio of the medians printed (on/off).
A run on the development machine (December 2026, 80 pairs): median 146 ms off, 149 ms on,
p95 245 / 244 ms, ratio 1.017 (noise: nothing is sent inside a write).
Run from the repository root: ``python -m bench.notify_bench [--pairs 80]``; prints JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench.client import DavClient
from bench.servers import Server, password_of, start_hub
from bench.stats import median_ms, percentile_ms

SENDER = "calhub@school.example"
PASSWORD_ENV = "CALHUB_BENCH_SMTP_PASSWORD"


def _event(uid: str, summary: str, start: dt.datetime) -> str:
    end = start + dt.timedelta(minutes=45)
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub bench//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART;TZID=Europe/Kaliningrad:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Kaliningrad:{end:%Y%m%dT%H%M%S}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def _hub(root: Path, smtp_port: int | None) -> None:
    from calhub.cli.init import COORDINATOR, create_hub
    from calhub.dav import calendars
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub, HubPaths, configfile
    from calhub.hub.settings import CalendarSettings

    partners = (CalendarSettings(id="bfu", name="БФУ"), CalendarSettings(id="kgtu", name="КГТУ"))
    create_hub(HubPaths(root), "Гимназия", "Europe/Kaliningrad", password_of(COORDINATOR), partners)
    hub = Hub(root)
    for partner in partners:
        hub.accounts.add(partner.id, "partner", partner.name, password_of(partner.id))
    for login in (COORDINATOR, "bfu", "kgtu"):
        hub.accounts.edit(login, email=f"{login}@school.example")
    if smtp_port is not None:
        document = configfile.read_document(root)
        document["notify"] = {
            "sender": SENDER,
            "batch_seconds": 0,
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "password_env": PASSWORD_ENV},
        }
        configfile.save_document(root, document)
    runtime = open_runtime(Hub(root))
    for calendar in runtime.settings.calendars:
        calendars.provision(runtime, calendar)
    runtime.close()


class _Count:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=80)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from aiosmtpd.controller import Controller

    from bench.servers import free_port

    os.environ[PASSWORD_ENV] = "unused"
    inbox = _Count()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory(prefix="calhub-notify-bench-") as scratch:
        base = Path(scratch)
        try:
            for name, port in (("off", None), ("on", smtp_port)):
                _hub(base / name, port)
                servers[name] = start_hub(base / name, base)
            clients = {
                name: (DavClient(server, "bfu"), DavClient(server, "kgtu"))
                for name, server in servers.items()
            }
            monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
            monday += dt.timedelta(weeks=3)
            times: dict[str, list[float]] = {"off": [], "on": []}
            for n in range(args.pairs + 2):
                # A week per ten pairs keeps the overload rule from growing one record.
                day = monday + dt.timedelta(weeks=n // 10, days=n % 5)
                start = dt.datetime.combine(day, dt.time(9 + n % 2 * 4, 0))
                for name in ("off", "on") if n % 2 else ("on", "off"):
                    bfu, kgtu = clients[name]
                    bfu.put(f"/bfu/calendar/b{n}.ics", _event(f"b{n}", "Лекция [10]", start))
                    reply = kgtu.put(
                        f"/kgtu/calendar/k{n}.ics", _event(f"k{n}", "Практикум [10А]", start)
                    )
                    if n >= 2:  # the first two warm up (login cache, imports)
                        times[name].append(reply.seconds)
            # The sender groups what a round finds (one digest per person): wait until the
            # mail stops coming rather than for a count.
            seen, quiet = -1, time.monotonic()
            while time.monotonic() - quiet < 3:
                if inbox.received != seen:
                    seen, quiet = inbox.received, time.monotonic()
                time.sleep(0.2)
        finally:
            for server in servers.values():
                server.stop()
            controller.stop()
    on, off = median_ms(times["on"]), median_ms(times["off"])
    result = {
        "pairs": args.pairs,
        "put_with_clash_median_ms": {"off": round(off, 2), "on": round(on, 2)},
        "put_with_clash_p95_ms": {
            "off": round(percentile_ms(times["off"], 0.95), 2),
            "on": round(percentile_ms(times["on"], 0.95), 2),
        },
        "ratio_on_off": round(on / off, 3),
        # Fewer than 3 × pairs: clashes found in one round of the sender go out as one
        # digest per person.
        "messages_received": inbox.received,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
