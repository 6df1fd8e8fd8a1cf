"""What the audit log costs a CalDAV write: the same writes with and without it, in one run.

    python -m bench.audit_bench                      # about a minute on 2 cores
    python -m bench.audit_bench --writes 200 --rounds 6 --events 500 --markdown FILE

A hub with a partner calendar of ``--events`` events; each round writes ``--writes`` new
events and then changes each once, every write one hold of the storage lock through the
storage plugin (the path of a PUT, without HTTP): the clash check, the object, the index,
the clash records and, when on, the audit entry (the event's summary before, from the
index, and after, and one ``hub.sqlite`` transaction). Rounds alternate on/off so drifting
load falls on both; "off" replaces the audit's steps with no-ops. Reported: the median and
p95 of one write, on and off, and their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.generate import BLACKOUT, SCHOOL, CalendarSpec
from bench.servers import build_hub
from bench.stats import fmt_ms, machine, median_ms, percentile_ms, table

PARTNER = CalendarSpec("bfu", "БФУ им. И. Канта", "partner", "10-11")


def event_text(uid: str, start: dt.datetime, title: str) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    end = start + dt.timedelta(hours=1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260801T000000Z\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\nDTEND:{end.strftime(stamp)}\r\n"
        f"SUMMARY:{title} [10-11]\r\nLOCATION:БФУ, ауд. 5\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Writer:
    def __init__(self, root: Path) -> None:
        from calhub.dav.maintenance import open_runtime
        from calhub.dav.storage import open_storage
        from calhub.hub import Hub

        self.runtime = open_runtime(Hub(root))
        self.storage = open_storage(self.runtime)
        calendar = self.runtime.settings.calendar("bfu")
        assert calendar is not None
        self.calendar = calendar
        self.hour = 0

    def start(self) -> dt.datetime:
        """Distinct hours within the index's horizon, so writes do not clash."""
        self.hour += 1
        base = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        return base + dt.timedelta(days=1, hours=self.hour * 2)

    def write(self, uid: str, text: str) -> float:
        from radicale import storage as radicale_storage

        from calhub.dav.edit import _item

        item = _item(self.runtime, self.calendar, text)
        began = time.perf_counter()
        with self.storage.acquire_lock("w", "bfu"):
            collection = next(iter(self.storage.discover(self.calendar.path)))
            assert isinstance(collection, radicale_storage.BaseCollection)
            collection.upload(f"{uid}.ics", item)
        return time.perf_counter() - began


def audit_off() -> Callable[[], None]:
    """Replace the audit's steps with no-ops; returns what puts them back."""
    from calhub.dav import auditing, hooks

    saved: list[tuple[Any, str, Any]] = [
        (auditing, "record", auditing.record),
        (hooks.WriteHooks, "_summary_of", hooks.WriteHooks._summary_of),
        (hooks.WriteHooks, "_summary_text", hooks.WriteHooks._summary_text),
        (auditing, "summarize", auditing.summarize),
    ]
    auditing.record = lambda runtime, entries: None  # type: ignore[assignment]
    hooks.WriteHooks._summary_of = lambda self, event: None  # type: ignore[method-assign]
    hooks.WriteHooks._summary_text = lambda self, c, i: None  # type: ignore[method-assign]
    auditing.summarize = lambda occurrences: None  # type: ignore[assignment]

    def restore() -> None:
        for owner, name, value in saved:
            setattr(owner, name, value)

    return restore


def run_round(writer: Writer, writes: int) -> list[float]:
    times = []
    uids = [uuid.uuid4().hex for _ in range(writes)]
    starts = {uid: writer.start() for uid in uids}
    for uid in uids:
        times.append(writer.write(uid, event_text(uid, starts[uid], "Лекция")))
    for uid in uids:
        times.append(writer.write(uid, event_text(uid, starts[uid], "Лекция (изменена)")))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a CalDAV write with and without the audit log")
    parser.add_argument("--writes", type=int, default=100, help="new events per round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, alternating on and off")
    parser.add_argument("--events", type=int, default=300, help="events in the calendar first")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="calhub-audit-bench-"))
    try:
        root = work / "hub"
        build_hub(root, [SCHOOL, BLACKOUT, PARTNER], [])
        writer = Writer(root)
        for _ in range(args.events):
            uid = uuid.uuid4().hex
            writer.write(uid, event_text(uid, writer.start(), "Фон"))
        samples: dict[str, list[float]] = {"on": [], "off": []}
        for number in range(args.rounds):
            mode = "on" if number % 2 == 0 else "off"
            restore = audit_off() if mode == "off" else (lambda: None)
            try:
                samples[mode] += run_round(writer, args.writes)
            finally:
                restore()
        entries = writer.runtime.audit.count()
        writer.runtime.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    on, off = median_ms(samples["on"]), median_ms(samples["off"])
    rows = [
        [
            mode,
            len(samples[mode]),
            fmt_ms(median_ms(samples[mode])),
            fmt_ms(percentile_ms(samples[mode], 0.95)),
        ]
        for mode in ("off", "on")
    ]
    text = (
        f"{machine()}; {args.events} events first, {args.rounds} rounds of {args.writes} new "
        f"events and {args.writes} changes; {entries} audit entries written\n\n"
        + table(["audit log", "writes", "median ms", "p95 ms"], rows)
        + f"\n\nmedian write with the audit log / without: {on / off:.2f}×\n"
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
