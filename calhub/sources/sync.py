"""One sync of one source: fetch, clean, and mirror into the partner's calendar.

The writes go through the CalDAV write path (:func:`calhub.dav.bulk.write_batch`): every
object through the storage plugin under one hold of the storage write lock, so the index
and the clash records follow each as for a phone's PUT, and the notices of the whole sync
settle as one batch for the notifier (the same path a spreadsheet import takes). They are
made inside :func:`calhub.dav.mirror.mirror_writes`: the hooks check them for clashes in
``record`` mode (a mirrored event is never refused for a clash, the clash is recorded) and
let nobody else change them.

What is mirrored is compared with what is stored by its digest: an unchanged event costs no
write, and a source that answers 304 (or whose CalDAV sync token did not move) costs none at
all. An event is never written over one written here: a UID the calendar already holds that
is not this source's is counted as refused and left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from calhub.dav.bulk import Batch, Put, Stored, write_batch
from calhub.dav.mirror import MARKER, mirror_writes, source_of
from calhub.errors import UserError
from calhub.hub.settings import CalendarSettings
from calhub.runtime import Runtime
from calhub.sources.caldav_source import fetch_caldav
from calhub.sources.clean import Cleaned, clean, stored_digest
from calhub.sources.credentials import password
from calhub.sources.errors import SourceFailed
from calhub.sources.ics import Fetch, fetch_ics, where
from calhub.store.sources import Counts, Fetched, Source

__all__ = ["Outcome", "backoff", "remove_mirrored", "sync_source"]

logger = logging.getLogger(__name__)

LOGIN = "calhub-source"
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one sync did: ``counts`` None when the source had not changed."""

    source: int
    counts: Counts | None = None
    error: str = ""
    note: str = ""
    next_run: dt.datetime | None = None


def backoff(interval: dt.timedelta, failures: int) -> dt.timedelta:
    """How long a failing source waits before the next try (``failures`` in a row, 1 the
    first): its interval doubled per failure, at most six hours (or its interval)."""
    return max(interval, min(interval * (1 << min(max(0, failures - 1), 16)), MAX_BACKOFF))


def sync_source(runtime: Runtime, source_id: int, now: dt.datetime | None = None) -> Outcome:
    """Sync one source now; a failure is kept as its last error and returned, never raised
    (:class:`UserError` only for a source that does not exist)."""
    source = runtime.sources.get(source_id)
    if source is None:
        raise UserError(
            f"Источника {source_id} нет / There is no source {source_id}.",
            hint="Номера источников / Source numbers: calhub source list",
        )
    moment = now or dt.datetime.now(dt.UTC)
    interval = dt.timedelta(seconds=source.interval_seconds)
    try:
        outcome = _sync(runtime, source, moment)
    except SourceFailed as failed:
        return _failed(runtime, source, str(failed), moment, interval)
    except Exception as exc:
        # A bug or an odd answer no check foresaw: kept as the source's error, so one
        # source never stops the others or the scheduler.
        logger.exception("Source %d: sync failed unexpectedly", source.id)
        return _failed(
            runtime,
            source,
            f"внутренняя ошибка ({type(exc).__name__}), подробности в журнале сервера / "
            f"internal error ({type(exc).__name__}), the server's log has the details",
            moment,
            interval,
        )
    return outcome


def _failed(
    runtime: Runtime, source: Source, error: str, moment: dt.datetime, interval: dt.timedelta
) -> Outcome:
    failures = source.failures + 1
    next_run = moment + backoff(interval, failures)
    runtime.sources.record_failure(source.id, error, next_run, now=moment)
    logger.warning(
        "Source %d (%s): %s; %d failures in a row, next try %s",
        source.id,
        where(source.url),
        error,
        failures,
        next_run.isoformat(timespec="seconds"),
    )
    return Outcome(source.id, error=error, next_run=next_run)


def _calendar(runtime: Runtime, source: Source) -> CalendarSettings:
    calendar = runtime.settings.calendar(source.calendar)
    if calendar is None or calendar.archived:
        raise SourceFailed(
            f"календаря {source.calendar} больше нет в хабе (или он в архиве)",
            f"the hub's calendar {source.calendar} is gone (or archived)",
        )
    return calendar


def _fetch(runtime: Runtime, source: Source) -> tuple[Fetch, list[str] | None]:
    limits = runtime.settings.sources
    secret = password(source)
    auth = (source.username, secret) if source.username and secret is not None else None
    if source.kind == "caldav":
        remote = fetch_caldav(source.url, limits, sync_token=source.sync_token, auth=auth)
        return Fetch(None, sync_token=remote.sync_token), remote.texts
    fetched = fetch_ics(
        source.url, limits, etag=source.etag, last_modified=source.last_modified, auth=auth
    )
    return fetched, None if fetched.text is None else [fetched.text]


def _sync(runtime: Runtime, source: Source, moment: dt.datetime) -> Outcome:
    calendar = _calendar(runtime, source)
    fetched, texts = _fetch(runtime, source)
    next_run = moment + dt.timedelta(seconds=source.interval_seconds)
    versions = Fetched(fetched.etag, fetched.last_modified, fetched.sync_token)
    if texts is None:
        runtime.sources.record_success(source.id, versions, None, next_run, now=moment)
        logger.info("Source %d: not changed", source.id)
        return Outcome(source.id, next_run=next_run)
    cleaned = clean(texts, source.id)
    counts, refusal = _mirror(runtime, source, calendar, cleaned)
    note = "; ".join(part for part in (refusal, cleaned.note()) if part)
    runtime.sources.record_success(source.id, versions, counts, next_run, note, now=moment)
    logger.info(
        "Source %d into %s: %d added, %d changed, %d removed, %d refused%s",
        source.id, calendar.id, counts.added, counts.changed, counts.removed, counts.refused,
        f" ({note})" if note else "",
    )  # fmt: skip
    return Outcome(source.id, counts, note=note, next_run=next_run)


@dataclass
class _Plan:
    """What the sync decides under the write lock, and what it found there."""

    runtime: Runtime
    source: Source
    calendar: CalendarSettings
    cleaned: Cleaned
    kept: int = 0
    local: int = 0  # UIDs the calendar holds that are not this source's
    added: set[str] = field(default_factory=set)

    def decide(self, stored: dict[tuple[str, str], Stored]) -> Batch:
        calendar, source = self.calendar, self.source
        mine = {
            uid: s
            for (calendar_id, uid), s in stored.items()
            if calendar_id == calendar.id and source_of(s.text) == source.id
        }
        puts: list[Put] = []
        seen: set[str] = set()
        for item in self.cleaned.objects:
            seen.add(item.uid)
            old = mine.get(item.uid)
            if old is not None:
                if stored_digest(old.text) == item.digest:
                    self.kept += 1
                else:
                    puts.append(Put(calendar, item.uid, item.text, tag="changed"))
                continue
            if self.runtime.index.href_of(calendar.id, item.uid) is not None:
                self.local += 1  # written here, or by another source: never touched
                continue
            self.added.add(item.uid)
            puts.append(Put(calendar, item.uid, item.text, tag="added", href=item.href))
        deletes = [s for uid, s in mine.items() if uid not in seen]
        return Batch(puts=puts, deletes=deletes)


def _mirror(
    runtime: Runtime, source: Source, calendar: CalendarSettings, cleaned: Cleaned
) -> tuple[Counts, str]:
    plan = _Plan(runtime, source, calendar, cleaned)
    with mirror_writes(source.id):
        result = write_batch(
            runtime,
            [calendar],
            f"{MARKER}:",
            plan.decide,
            login=LOGIN,
            atomic=False,
            one_transaction=True,
        )
    assert result is not None  # decide always answers a batch
    refused = {str(put.tag): 0 for put, _ in result.refused}
    for put, _ in result.refused:
        refused[str(put.tag)] += 1
    written_new = len(plan.added) - refused.get("added", 0)
    changed = result.written - written_new
    counts = Counts(
        added=written_new,
        changed=changed,
        removed=result.deleted,
        refused=plan.local + len(result.refused),
        mirrored=plan.kept + result.written,
    )
    reasons = []
    if plan.local:
        reasons.append(
            f"{plan.local} UID уже заняты событиями хаба / UIDs already used by the hub's events"
        )
    if result.refused:
        first = result.refused[0][1].text.strip().splitlines()
        reasons.append(f"{len(result.refused)} не приняты / not accepted: {' '.join(first[:2])}")
    return counts, "; ".join(reasons)


def remove_mirrored(runtime: Runtime, source: Source) -> int:
    """Delete every event mirrored from ``source`` (before the source itself goes)."""
    calendar = runtime.settings.calendar(source.calendar)
    if calendar is None:
        return 0

    def decide(stored: dict[tuple[str, str], Stored]) -> Batch:
        mine = [s for s in stored.values() if source_of(s.text) == source.id]
        return Batch(deletes=mine)

    with mirror_writes(source.id):
        result = write_batch(runtime, [calendar], f"{MARKER}:", decide, login=LOGIN)
    return 0 if result is None else result.deleted
