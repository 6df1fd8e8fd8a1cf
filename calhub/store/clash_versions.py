"""Which version of a clash a coordinator approved, and what has changed in it since.

A coordinator approves a clash as it is shown: each of its events at one time, in one
venue, for one audience. The approval keeps that version (the clash record's occurrences,
as :func:`calhub.store.records.occurrence_json` writes them), so a later write that moves an
event, sends it elsewhere or to other classes is told apart from one that only renames or
re-describes it: the first no longer has the coordinator's word, the second still has.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calhub.engine.messages import Wording
from calhub.engine.venue import fold_venue

__all__ = ["Change", "changes", "describe", "lapsed_text", "reapproved_text", "version"]

Stored = Mapping[str, Any]  # one occurrence as a clash record stores it
Key = tuple[str, str, str]

# What an approval depends on; the title and description are left out on purpose.
KINDS = ("time", "venue", "audience", "joined")


@dataclass(frozen=True, slots=True)
class Change:
    """One event of a clash differs from the approved version: ``kind`` is ``time``,
    ``venue``, ``audience``, or ``joined`` (the event was not in it at all)."""

    kind: str
    before: Stored | None
    after: Stored


def key(occurrence: Stored) -> Key:
    return (occurrence["calendar"], occurrence["uid"], occurrence.get("recurrence_id") or "")


def _time(occurrence: Stored) -> tuple[Any, ...]:
    return (occurrence["start"], occurrence["end"], bool(occurrence.get("all_day")))


def changes(approved: Sequence[Stored], current: Iterable[Stored]) -> list[Change]:
    """What makes ``current`` another clash than the ``approved`` one (empty: the same).

    An event that has left a group clash (overload) since makes it smaller, not another
    one; an event that joined it does. Venues are compared folded (``ауд. 305`` is
    ``Аудитория 305``), audiences by their canonical label.
    """
    before = {key(o): o for o in approved}
    found = []
    for after in current:
        old = before.get(key(after))
        if old is None:
            found.append(Change("joined", None, after))
            continue
        if _time(old) != _time(after):
            found.append(Change("time", old, after))
        if fold_venue(old.get("location") or "") != fold_venue(after.get("location") or ""):
            found.append(Change("venue", old, after))
        if old.get("audience") != after.get("audience"):
            found.append(Change("audience", old, after))
    return found


def version(occurrences: Iterable[Stored]) -> str:
    """A short digest of what an approval depends on (a new title keeps it): which version
    of a clash a page showed, so an approval of a version no longer on record is refused."""
    parts = sorted(
        (
            *key(o),
            *map(str, _time(o)),
            fold_venue(o.get("location") or ""),
            str(o.get("audience") or ""),
        )
        for o in occurrences
    )
    text = "\x1d".join("\x1e".join(part) for part in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _moment(text: str, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)


def _day(moment: dt.datetime, lang: str) -> str:
    return format(moment, "%Y-%m-%d" if lang == "en" else "%d.%m.%Y")


def when(occurrence: Stored, zone: dt.tzinfo, lang: str) -> str:
    """``12.03.2026 10:00–11:30`` in the hub's zone; all-day events by their days."""
    start, end = _moment(occurrence["start"], zone), _moment(occurrence["end"], zone)
    if occurrence.get("all_day"):
        last = (end - dt.timedelta(microseconds=1)) if end > start else start
        days = _day(start, lang)
        if last.date() != start.date():
            days = f"{days}–{_day(last, lang)}"
        return f"{days} ({'all day' if lang == 'en' else 'весь день'})"
    if start.date() == end.date():
        return f"{_day(start, lang)} {start:%H:%M}–{end:%H:%M}"
    return f"{_day(start, lang)} {start:%H:%M} – {_day(end, lang)} {end:%H:%M}"


_AUDIENCE_EN = {"вся школа": "whole school", "никто": "nobody"}


def _audience(occurrence: Stored, lang: str) -> str:
    label = str(occurrence.get("audience") or "")
    return _AUDIENCE_EN.get(label, label) if lang == "en" else label


def _venue(occurrence: Stored, lang: str) -> str:
    location = str(occurrence.get("location") or "").strip()
    return location or ("(none)" if lang == "en" else "(не указано)")


def _event(occurrence: Stored, wording: Wording, lang: str) -> str:
    """«Лекция» (БФУ им. И. Канта): the event and whose calendar it is in."""
    title = str(occurrence.get("summary") or "").strip()
    title = title or ("(untitled)" if lang == "en" else "(без названия)")
    calendar = occurrence["calendar"]
    name = wording.names.get(calendar, calendar)
    return f'"{title}" ({name})' if lang == "en" else f"«{title}» ({name})"


def _one(change: Change, wording: Wording, lang: str) -> str:
    after, before = change.after, change.before
    event = _event(after, wording, lang)
    zone = wording.zone
    if before is None:
        if lang == "en":
            return f"{event}, {when(after, zone, lang)}, joined the clash"
        return f"к накладке добавилось событие {event}, {when(after, zone, lang)}"
    if change.kind == "time":
        was, now = when(before, zone, lang), when(after, zone, lang)
        if lang == "en":
            return f"{event} moved: {was} → {now}"
        return f"событие {event} перенесено: {was} → {now}"
    if change.kind == "venue":
        was, now = _venue(before, lang), _venue(after, lang)
        if lang == "en":
            return f"{event}: venue changed: {was} → {now}"
        return f"событие {event}: место изменено: {was} → {now}"
    was, now = _audience(before, lang), _audience(after, lang)
    if lang == "en":
        return f"{event}: audience changed: {was} → {now}"
    return f"событие {event}: участники изменены: {was} → {now}"


def describe(found: Sequence[Change], wording: Wording, lang: str = "ru") -> str:
    """Every change in one sentence, first letter upper case."""
    text = "; ".join(_one(change, wording, lang) for change in found)
    return text[:1].upper() + text[1:]


def lapsed_text(found: Sequence[Change], wording: Wording) -> tuple[str, str]:
    """The history entry of an approval that no longer applies, in Russian and English."""
    return (
        f"{describe(found, wording, 'ru')}. Согласование было дано для прежнего варианта "
        "и больше не действует: накладка снова открыта.",
        f"{describe(found, wording, 'en')}. The approval was given for the earlier version "
        "and no longer applies: the clash is open again.",
    )


def reapproved_text(
    found: Sequence[Change], wording: Wording, approved_by: str, approved_at: str
) -> tuple[str, str]:
    """The history entry of a clash that is back to a version the coordinator approved."""
    day_ru = _day(_moment(approved_at, wording.zone), "ru")
    day_en = _day(_moment(approved_at, wording.zone), "en")
    ru_change = f"{describe(found, wording, 'ru')}. " if found else ""
    en_change = f"{describe(found, wording, 'en')}. " if found else ""
    return (
        f"{ru_change}Этот вариант {approved_by} согласовал(а) {day_ru}: "
        "согласование снова действует.",
        f"{en_change}{approved_by} approved this very version on {day_en}: "
        "the approval applies again.",
    )
