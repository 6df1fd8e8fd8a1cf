"""Speed of the slot finder (issue 14): two-week searches over a term of 5,000 events.

The term is random but seeded: events of five calendars over 120 days from 1 September, of
45 minutes to 3 hours between 08:00 and 20:00, at a few venues, for grades, classes, ranges
and the whole school, with a two-day blackout every 200 events. They go into a real SQLite
occurrence index (``calhub.store.index``), and each search asks ``free_slots`` for ten
90-minute slots of a random audience (and sometimes a venue) near a random afternoon, with
the index as its lookup, as ``GET /api/slots`` does. Target: p95 under 200 ms.

    python -m bench.slot_bench [--events 5000] [--searches 200] [--seed 14]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from calhub.engine import AudienceParser, ClashEngine, EngineConfig, Occurrence, normalise_venue
from calhub.engine.slots import free_slots
from calhub.engine.titles import TitleFolder
from calhub.hub.settings import parse_settings
from calhub.runtime.slots import schedule_of
from calhub.store.index import IndexedItem, IndexLookup, OccurrenceIndex

ZONE = ZoneInfo("Europe/Kaliningrad")
TERM = dt.date(2026, 9, 1)
AUDIENCES = ["10", "11", "10А", "10Б", "9", "9-11", "5", "7Б", "8", "1-4", "6А", "11А, 10В"]
VENUES = ["", "БФУ", "КГТУ", "Актовый зал", "Спортзал", "Онлайн", "Технопарк", "каб. 12"]
TITLES = ["Лекция", "Олимпиада", "Экскурсия", "Мастер-класс", "Профпроба", "Кружок"]
CALENDARS = ["bfu", "kgtu", "school", "p4", "p5"]


def term(count: int, rng: random.Random, parser: AudienceParser) -> list[Occurrence]:
    found = []
    for n in range(count):
        day = TERM + dt.timedelta(days=rng.randrange(120))
        midnight = dt.datetime.combine(day, dt.time(), ZONE)
        start = midnight + dt.timedelta(minutes=rng.randrange(8 * 4, 20 * 4) * 15)
        blackout = n % 200 == 0
        calendar = "blackout" if blackout else rng.choice(CALENDARS)
        minutes = 2 * 24 * 60 if blackout else rng.choice([45, 60, 90, 120, 180])
        location = rng.choice(VENUES)
        audience = parser.parse(rng.choice([*AUDIENCES, "вся школа"]))
        assert audience is not None
        found.append(
            Occurrence(
                calendar,
                f"u{n}",
                "",
                rng.choice(TITLES),
                start.astimezone(dt.UTC),
                (start + dt.timedelta(minutes=minutes)).astimezone(dt.UTC),
                False,
                location,
                normalise_venue(location, {}),
                audience,
                "bench",
                blackout,
            )
        )
    return found


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=5000)
    options.add_argument("--searches", type=int, default=200)
    options.add_argument("--seed", type=int, default=14)
    args = options.parse_args()
    rng = random.Random(args.seed)
    parser = AudienceParser()
    occurrences = term(args.events, rng, parser)
    engine = ClashEngine(EngineConfig())
    schedule = schedule_of(parse_settings(Path("calhub.toml"), {}))
    with tempfile.TemporaryDirectory() as scratch:
        index = OccurrenceIndex(Path(scratch) / "index.sqlite", fold_title=TitleFolder(parser))
        with index.transaction() as db:
            for o in occurrences:
                span = (int(o.start.timestamp()), int(o.end.timestamp()))
                row = IndexedItem(f"{o.uid}.ics", o.uid, f'"{o.uid}"', "VEVENT", span)
                index.put_item(db, o.calendar, row, [o])
        times, counts = [], []
        for _ in range(args.searches):
            first = TERM + dt.timedelta(days=rng.randrange(100))
            window = (
                dt.datetime.combine(first, dt.time(), ZONE),
                dt.datetime.combine(first + dt.timedelta(days=14), dt.time(), ZONE),
            )
            who = parser.parse(rng.choice(["10А", "9", "11", "7Б", "10-11", "5"]))
            assert who is not None
            venue = rng.choice(["", "Актовый зал", "БФУ"]) or None
            near = window[0] + dt.timedelta(days=rng.randrange(14), hours=16)
            started = time.perf_counter()
            found = free_slots(
                who,
                dt.timedelta(minutes=90),
                window,
                venue=venue,
                near=near,
                limit=10,
                engine=engine,
                lookup=IndexLookup(index),
                schedule=schedule,
            )
            times.append((time.perf_counter() - started) * 1000)
            counts.append(len(found))
        index.close()
    times.sort()
    p95 = times[max(0, int(0.95 * len(times)) - 1)]
    print(
        f"{len(occurrences)} occurrences, {len(times)} two-week searches: median "
        f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms; "
        f"slots found (median) {statistics.median(counts)}; target p95 < 200 ms: "
        f"{'met' if p95 < 200 else 'not met'}"
    )


if __name__ == "__main__":
    main()
