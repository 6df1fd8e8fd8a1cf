"""Resources: a soak of several thousand mixed requests on loopback, with the server's
memory (VmRSS) and open files (/proc/<pid>/fd) compared between the end of a warm-up and
the end of the run; and one hostile pattern that makes memory grow.

What this proves:
- under a steady mix of CalDAV reads and writes and API reads from 4 clients, the hub
  answers every request with the expected status (never a 5xx), and after the warm-up its
  memory and open-file count stay flat (within a modest margin) to the end;
- memory stays flat when clients send VTIMEZONEs with ever new TZIDs in requests that are
  refused, whether anything refers to the zones or not.

Loops are bounded in count and in time (the soak stops at SOAK_DEADLINE seconds).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest
from helpers import PASSWORDS, make_event, request
from reliability_support import (
    XML,
    at,
    day,
    event,
    healthy,
    open_fds,
    put,
    record,
    rss_kib,
    run_threads,
)

CLIENTS = 4
WARMUP_PER_CLIENT = 250
SOAK_PER_CLIENT = 650
SOAK_DEADLINE = 90.0  # seconds for the whole soak, warm-up included
POOL = 20  # events each client keeps; older ones are deleted
RSS_MARGIN_KIB = 8 * 1024  # or RSS_MARGIN_FRACTION of the warm RSS, whichever is larger
RSS_MARGIN_FRACTION = 0.10
FD_MARGIN = 4  # one more worker thread opening its two databases (db + WAL)
CLIENT_LAYOUT = [
    ("bfu", "bfu/calendar"),
    ("kgtu", "kgtu/calendar"),
    ("coordinator", "school/calendar"),
    ("coordinator", "bfu/calendar"),
]
TIME_RANGE_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
    "<D:prop><D:getetag/><D:displayname/></D:prop></D:propfind>"
)


class SoakClient:
    def __init__(self, number: int, hub: Any, deadline: float) -> None:
        self.number = number
        self.hub = hub
        self.deadline = deadline
        self.login, self.calendar = CLIENT_LAYOUT[number % len(CLIENT_LAYOUT)]
        self.password = PASSWORDS[self.login]
        self.rng = random.Random(7000 + number)
        self.pool: list[str] = []
        self.slots: dict[str, int] = {}
        self.created = 0
        self.counts: Counter[str] = Counter()

    def call(self, kind: str, method: str, path: str, ok: tuple[int, ...], **kwargs: Any) -> Any:
        response = request(self.hub.url, method, path, self.login, self.password, **kwargs)
        assert response.status in ok, (kind, method, path, response.status, response.text[:300])
        self.counts[kind] += 1
        return response

    def body(self, uid: str, slot: int) -> str:
        """An event in the client's own grade and its own slot (slots cycle through 140, the
        pool holds 20), so the soak's data stays the same size: no clash records pile up."""
        start = at(day(slot % 14), 8 + (slot // 14) % 10)
        summary = f"Нагрузка {uid} v{self.rng.randrange(1000)} [{5 + self.number}]"
        return event(uid, summary, start, minutes=self.rng.choice([30, 45]))

    def step(self) -> None:
        roll = self.rng.random()
        dav = f"/dav/{self.calendar}/"
        if not self.pool or roll < 0.10:
            uid = f"soak{self.number}-{self.created}"
            self.slots[uid] = self.created % 140
            self.created += 1
            self.call(
                "PUT new", "PUT", f"{dav}{uid}.ics", (201,), body=self.body(uid, self.slots[uid])
            )
            self.pool.append(uid)
            if len(self.pool) > POOL:
                old = self.pool.pop(0)
                del self.slots[old]
                self.call("DELETE", "DELETE", f"{dav}{old}.ics", (200, 204))
        elif roll < 0.15:
            uid = self.rng.choice(self.pool)
            body = self.body(uid, self.slots[uid])
            self.call("PUT edit", "PUT", f"{dav}{uid}.ics", (204,), body=body)
        elif roll < 0.40:
            uid = self.rng.choice(self.pool)
            self.call("GET event", "GET", f"{dav}{uid}.ics", (200,))
        elif roll < 0.52:
            first = day(self.rng.randrange(14))
            report = TIME_RANGE_REPORT.format(
                start=f"{first:%Y%m%d}T000000Z", end=f"{first:%Y%m%d}T235959Z"
            )
            self.call("REPORT", "REPORT", dav, (207,), body=report, headers={"Depth": "1", **XML})
        elif roll < 0.62:
            self.call(
                "PROPFIND", "PROPFIND", dav, (207,), body=PROPFIND, headers={"Depth": "1", **XML}
            )
        elif roll < 0.67:
            self.call(
                "PROPFIND principal",
                "PROPFIND",
                f"/dav/{self.login}/",
                (207,),
                body=PROPFIND,
                headers={"Depth": "0", **XML},
            )
        elif roll < 0.82:
            self.call("API conflicts", "GET", "/api/conflicts", (200,))
        elif roll < 0.90:
            calendar_id = self.calendar.split("/")[0]
            self.call(
                "API filtered", "GET", f"/api/conflicts?calendar={calendar_id}&status=open", (200,)
            )
        else:
            self.counts["healthz"] += 1
            assert request(self.hub.url, "GET", "/healthz").status == 200

    def run(self, steps: int) -> None:
        for _ in range(steps):
            if time.monotonic() > self.deadline:
                return
            self.step()


def sample(pid: int) -> tuple[int, int]:
    time.sleep(0.5)  # let the last connections close
    return rss_kib(pid), open_fds(pid)


def test_soak_memory_and_open_files_stay_flat(fresh_hub: Any) -> None:
    hub = fresh_hub()
    pid = hub.process.pid
    started = time.monotonic()
    deadline = started + SOAK_DEADLINE
    clients = [SoakClient(n, hub, deadline) for n in range(CLIENTS)]
    start_rss, start_fds = sample(pid)
    run_threads([lambda c=c: c.run(WARMUP_PER_CLIENT) for c in clients], timeout=SOAK_DEADLINE)
    warm_rss, warm_fds = sample(pid)
    warm_requests = sum(sum(c.counts.values()) for c in clients)
    peak = [warm_rss]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(1.0):
            peak.append(rss_kib(pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run_threads(
            [lambda c=c: c.run(SOAK_PER_CLIENT) for c in clients], timeout=SOAK_DEADLINE + 30
        )
    finally:
        stop.set()
        watcher.join(5)
    end_rss, end_fds = sample(pid)
    seconds = time.monotonic() - started
    counts: Counter[str] = Counter()
    for client in clients:
        counts.update(client.counts)
    total = sum(counts.values())
    assert healthy(hub)
    record(
        "soak",
        clients=CLIENTS,
        requests=total,
        warmup_requests=warm_requests,
        seconds=round(seconds, 1),
        requests_per_s=round(total / seconds, 1),
        rss_start_mib=round(start_rss / 1024, 1),
        rss_after_warmup_mib=round(warm_rss / 1024, 1),
        rss_end_mib=round(end_rss / 1024, 1),
        rss_peak_mib=round(max(peak) / 1024, 1),
        fds_start=start_fds,
        fds_after_warmup=warm_fds,
        fds_end=end_fds,
        mix=dict(sorted(counts.items())),
    )
    assert total - warm_requests >= CLIENTS * SOAK_PER_CLIENT // 2, "the soak was cut short"
    allowed = max(RSS_MARGIN_KIB, int(warm_rss * RSS_MARGIN_FRACTION))
    assert end_rss - warm_rss <= allowed, (
        f"RSS grew {end_rss - warm_rss} KiB after the warm-up (allowed {allowed} KiB)"
    )
    assert end_fds <= warm_fds + FD_MARGIN, (warm_fds, end_fds)


# -- a pattern that makes memory grow -------------------------------------------------------

LEAK_MARGIN_KIB = 8 * 1024
# (requests, new TZIDs per request): 9,000 new TZIDs either way
LEAK_PATTERNS = {
    # VTIMEZONEs nothing refers to, 150 in a body: refused on the raw text
    "unreferenced": (60, 150),
    # 18 zones (with the event's own, nearly the 20 an object may carry), each used by an
    # EXDATE: read by icalendar, then refused by the clash engine (DTEND before DTSTART)
    "referenced": (500, 18),
}


def minimal_vtimezone(tzid: str) -> str:
    return (
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0200\r\nTZNAME:EET\r\nEND:STANDARD\r\n"
        "END:VTIMEZONE\r\n"
    )


def refused_body(uid: str, tzids: list[str], referenced: bool) -> str:
    """An event calhub refuses (DTEND before DTSTART) carrying the given VTIMEZONEs."""
    start = at(day(3), 12)
    text = make_event(uid, "Назад [7]", start, at(day(3), 11))
    zones = "".join(minimal_vtimezone(tzid) for tzid in tzids)
    text = text.replace("BEGIN:VEVENT", zones + "BEGIN:VEVENT", 1)
    if referenced:
        uses = "".join(f"EXDATE;TZID={tzid}:{start:%Y%m%dT%H%M%S}\r\n" for tzid in tzids)
        text = text.replace("END:VEVENT", uses + "END:VEVENT", 1)
    return text


@pytest.mark.parametrize("pattern", list(LEAK_PATTERNS))
def test_new_tzids_do_not_grow_memory(fresh_hub: Any, pattern: str) -> None:
    """Every new TZID used to be kept for good (icalendar's and vobject's time-zone caches),
    also for refused requests: ~2 KiB each, 20 MiB after 9,000."""
    requests, per_request = LEAK_PATTERNS[pattern]
    referenced = pattern == "referenced"
    hub = fresh_hub()
    pid = hub.process.pid
    fixed = [f"Warm/Zone-{n}" for n in range(per_request)]
    for n in range(10):  # warm-up: the same TZIDs again and again
        body = refused_body(f"warm{n}", fixed, referenced)
        response = put(hub, "bfu", f"/dav/bfu/calendar/warm{n}.ics", body)
        assert response.status == 403, response.status
    warm_rss, _ = sample(pid)
    for n in range(requests):
        tzids = [f"Fresh/Zone-{n}-{k}" for k in range(per_request)]
        body = refused_body(f"tz{n}", tzids, referenced)
        response = put(hub, "bfu", f"/dav/bfu/calendar/tz{n}.ics", body)
        assert response.status == 403, response.status
    end_rss, _ = sample(pid)
    record(
        f"soak.new_tzids_{pattern}",
        refused_puts=requests,
        new_tzids=requests * per_request,
        rss_growth_mib=round((end_rss - warm_rss) / 1024, 1),
    )
    assert end_rss - warm_rss <= LEAK_MARGIN_KIB, (
        f"RSS grew {(end_rss - warm_rss) / 1024:.1f} MiB over {requests} refused PUTs"
    )
