"""Expanding every stored object of the hub at once, on all cores, for a whole rebuild.

A rebuild reads each object once and spends most of its time in the iCalendar parser
and the recurrence expansion, which are pure and independent per object: worker
processes share that out. Workers are started fresh (``spawn``), not forked, so they
inherit none of the parent's SQLite connections or storage locks, and they get only
the engine configuration, never the hub's data directory.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from calhub.engine import AudienceParser, EngineConfig, InvalidCalendarData, Occurrence
from calhub.engine import expand_calendar as _expand_calendar

logger = logging.getLogger(__name__)

# Below this many objects, starting worker processes costs more than it saves.
PARALLEL_FROM = 500
# Objects per task sent to a worker: large enough to amortise the pickling round trip.
CHUNK = 64


@dataclass(frozen=True, slots=True)
class ExpandJob:
    calendar: str
    audience: str  # the calendar's default audience expression, "" for none
    is_blackout: bool
    text: str


def expand_object(
    job: ExpandJob, config: EngineConfig, parser: AudienceParser, now: dt.datetime | None = None
) -> list[Occurrence]:
    """The occurrences of one object of a hub calendar (InvalidCalendarData if unreadable)."""
    default = parser.parse(job.audience) if job.audience else None
    return _expand_calendar(
        job.text,
        calendar=job.calendar,
        config=config,
        parser=parser,
        default_audience=default,
        is_blackout=job.is_blackout,
        now=now,
    )


# (occurrences, None) or ([], the reason the object cannot be read)
Expanded = tuple[list[Occurrence], str | None]


class _Worker:
    """What one process needs to expand jobs: built once per process."""

    def __init__(self, config: EngineConfig, now: dt.datetime) -> None:
        self.config = config
        self.now = now
        self.parser = AudienceParser(dict(config.groups))

    def expand(self, job: ExpandJob) -> Expanded:
        try:
            return expand_object(job, self.config, self.parser, self.now), None
        except InvalidCalendarData as exc:
            return [], str(exc)


_worker: _Worker | None = None  # set in each worker process by _start


def _start(config: EngineConfig, now: dt.datetime) -> None:
    global _worker
    _worker = _Worker(config, now)


def _expand_chunk(jobs: Sequence[ExpandJob]) -> list[Expanded]:
    assert _worker is not None, "worker process not started"
    return [_worker.expand(job) for job in jobs]


def expand_all(
    config: EngineConfig, jobs: Sequence[ExpandJob], now: dt.datetime | None = None
) -> list[Expanded]:
    """The expansion of each job, in order; in worker processes when there are many."""
    now = now or dt.datetime.now(dt.UTC)
    workers = min(os.cpu_count() or 1, max(1, len(jobs) // CHUNK))
    if len(jobs) < PARALLEL_FROM or workers < 2:
        local = _Worker(config, now)
        return [local.expand(job) for job in jobs]
    chunks = [jobs[at : at + CHUNK] for at in range(0, len(jobs), CHUNK)]
    logger.info("Expanding %d objects in %d processes", len(jobs), workers)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_start,
        initargs=(config, now),
    ) as pool:
        return [result for chunk in pool.map(_expand_chunk, chunks) for result in chunk]
