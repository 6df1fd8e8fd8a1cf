"""Planning, reporting and carrying out an import.

:func:`run_import` reads the file, makes each good row's event text
(:func:`calhub.dav.eventtext.new_event_text`, marked ``X-CALHUB-IMPORT`` with the import's
source), and, holding the storage write lock (:func:`calhub.dav.bulk.write_batch`):

1. compares with what earlier imports of the same source stored: new, changed (written
   again with a higher SEQUENCE), unchanged (not written), gone from the sheet;
2. checks every row as a CalDAV write is checked: its data (the PUT's limits), its
   expansion, the clash engine against the index and against the other rows
   (``engine.check`` over all the rows' occurrences), and a ``reject`` calendar's
   refusal of a new hard clash, reported like an error of the row;
3. refuses the whole import when a row has errors (unless ``skip_bad``), or stores the
   rows through the storage plugin, each write running the hooks; ``prune`` deletes the
   events of this source that are no longer in the sheet.

A dry run stops after step 2 and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import icalendar

from calhub.dav.bulk import Batch, Put, Stored, check_object, write_batch
from calhub.dav.eventtext import new_event_text
from calhub.dav.refusal import WriteRefused
from calhub.engine import Clash, InvalidCalendarData, Occurrence
from calhub.exchange.columns import Mapping_
from calhub.exchange.partners import PartnerMatcher
from calhub.exchange.rows import RowError, RowEvent, SheetRows, read_rows
from calhub.exchange.sheets import Limits, Sheet, read_sheet
from calhub.store.index import IndexLookup

if TYPE_CHECKING:
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

__all__ = ["MARK", "ImportOptions", "ImportReport", "run_import", "source_name"]

logger = logging.getLogger(__name__)

MARK = "X-CALHUB-IMPORT"
ROW_MARK = "X-CALHUB-IMPORT-ROW"
KEEP_ITEMS = 5000  # rows up to which the write uploads the items the check made


@dataclass(frozen=True)
class ImportOptions:
    calendar: str | None = None
    mapping: Mapping_ = field(default_factory=Mapping_)
    skip_bad: bool = False
    prune: bool = False
    dry_run: bool = False
    source: str | None = None
    today: dt.date | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass
class ImportReport:
    """What an import found and did; :meth:`as_json` is the CLI's ``--json`` object."""

    file: str
    source: str
    dry_run: bool
    sheet: Sheet | None = None
    rows: SheetRows = field(default_factory=SheetRows)
    errors: list[RowError] = field(default_factory=list)
    clashes: list[dict[str, Any]] = field(default_factory=list)
    known_clashes: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    gone: list[dict[str, str]] = field(default_factory=list)
    written: int = 0
    removed: int = 0
    carried_out: bool = False
    refused: str = ""  # why the import was not carried out
    ok_rows: int = 0

    def as_json(self) -> dict[str, Any]:
        sheet = self.sheet
        return {
            "file": self.file,
            "source": self.source,
            "format": sheet.kind if sheet else "",
            "encoding": sheet.encoding if sheet else "",
            "delimiter": sheet.delimiter if sheet else "",
            "sheet": sheet.sheet_name if sheet else "",
            "header_row": self.rows.header_row,
            "columns": self.rows.columns,
            "dry_run": self.dry_run,
            "rows": self.rows.read,
            "empty_rows": self.rows.empty,
            "ok": self.ok_rows,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
            "unknown_partners": [
                {"name": name, "rows": rows} for name, rows in self.rows.unknown_partners.items()
            ],
            "clashes": self.clashes,
            "known_clashes": self.known_clashes,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "gone": self.gone,
            "written": self.written,
            "removed": self.removed,
            "carried_out": self.carried_out,
            "refused": self.refused,
        }


def source_name(filename: str) -> str:
    """The default source of an import: the file's name without folder and extension."""
    stem = PurePath(filename.replace("\\", "/")).stem.strip()
    return re.sub(r"\s+", " ", stem)[:60] or "import"


def run_import(
    runtime: Runtime, data: bytes, filename: str, options: ImportOptions
) -> ImportReport:
    """Read, check and (unless a dry run or refused) store the sheet in ``data``.

    A file that is not a readable sheet raises :class:`~calhub.exchange.sheets.SheetError`
    before anything is written."""
    source = options.source or options.mapping.source or source_name(filename)
    report = ImportReport(file=filename, source=source, dry_run=options.dry_run)
    settings = runtime.settings
    default: CalendarSettings | None = None
    if options.calendar is not None:
        default = settings.calendar(options.calendar)
        if default is None or default.archived:
            from calhub.errors import UserError

            known = ", ".join(c.id for c in settings.calendars if not c.archived)
            raise UserError(
                f"Нет календаря {options.calendar}. / There is no calendar {options.calendar}.",
                hint=f"The hub's calendars: {known}.",
            )
    report.sheet = read_sheet(data, filename, options.mapping.sheet, options.limits)
    parts = runtime.parts
    matcher = PartnerMatcher(settings.calendars, options.mapping.partners)
    report.rows = read_rows(
        report.sheet,
        options.mapping,
        matcher,
        parts.parser,
        parts.config.zone,
        default,
        options.today or dt.datetime.now(parts.config.zone).date(),
    )
    calendars = [c for c in settings.calendars if not c.archived]
    planner = _Planner(runtime, report, options)
    result = write_batch(
        runtime, calendars, f"{MARK}:", planner.decide, atomic=not options.skip_bad
    )
    if result is not None:
        report.written, report.removed = result.written, result.deleted
        for put, refusal in result.refused:
            report.errors.append(RowError(int(str(put.tag)), "", _first_line(refusal.text)))
        if result.undone:
            report.refused = "a write was refused; the import was undone"
            report.written = 0
        report.carried_out = not result.undone
        report.ok_rows -= len(result.refused) if not result.undone else 0
    report.errors.sort(key=lambda e: (e.row, e.column))
    logger.info(
        "Import of %s (%s): %d rows, %d ok, %d errors, written %d, removed %d, dry run %s",
        filename, source, report.rows.read, report.ok_rows, len(report.errors),
        report.written, report.removed, options.dry_run,
    )  # fmt: skip
    return report


def _first_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[:2] if line.strip())


def _digest(event: RowEvent, source: str) -> str:
    f = event.fields
    assert f.start is not None and f.end is not None
    parts = (source, f.summary, f.location, f.description, f.audience, event.contact)
    times = (f.start.isoformat(), f.end.isoformat(), *(("all day",) if f.all_day else ()))
    text = "\x1f".join((*parts, *times))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _property(text: str, name: str) -> str:
    match = re.search(rf"^{name}[;:][^\r\n]*?:?([^:\r\n]*)\r?$", text, re.MULTILINE)
    return match[1].strip() if match else ""


_MARK_LINE = re.compile(rf"^{MARK}(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)


def _source_of(stored: Stored) -> str:
    """The source an imported object is marked with, read from its text: parsing every
    stored object of a re-import of thousands of rows would cost seconds."""
    unfolded = stored.text.replace("\r\n ", "").replace("\r\n\t", "")
    match = _MARK_LINE.search(unfolded)
    if match is None:
        return ""
    value = match[1]
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


class _Planner:
    """What :func:`write_batch` asks under the lock: which rows to write, given storage."""

    def __init__(self, runtime: Runtime, report: ImportReport, options: ImportOptions) -> None:
        self.runtime = runtime
        self.report = report
        self.options = options

    def decide(self, stored: dict[tuple[str, str], Stored]) -> Batch | None:
        report, runtime = self.report, self.runtime
        zone = runtime.parts.config.zone
        mine = {k: s for k, s in stored.items() if _source_of(s) == report.source}
        occurrences: list[Occurrence] = []
        row_of: dict[tuple[str, str], int] = {}
        errors = list(report.rows.errors)
        writes: list[tuple[Put, bool]] = []  # (put, whether it changes storage)
        # A checked item weighs about 12 KB (its parsed VTIMEZONE most of it): a dry run
        # keeps none, a big sheet's write makes them again rather than hold them all.
        keep_items = not self.options.dry_run and len(report.rows.events) <= KEEP_ITEMS
        for event in report.rows.events:
            key = (event.calendar.id, event.uid)
            if key in row_of:
                errors.append(
                    RowError(
                        event.row, "", f"повтор строки {row_of[key]} / repeats row {row_of[key]}"
                    )
                )
                continue
            row_of[key] = event.row
            digest = _digest(event, report.source)
            old = stored.get(key)
            sequence = int(_property(old.text, "SEQUENCE") or 0) + 1 if old else 0
            text = _event_text(event, zone, report.source, digest, sequence)
            try:
                item = check_object(runtime, event.calendar, text)
                found = runtime.parts.expand(event.calendar, text)
            except (WriteRefused, InvalidCalendarData) as exc:
                reason = exc.text if isinstance(exc, WriteRefused) else str(exc)
                errors.append(RowError(event.row, "", _first_line(reason)))
                continue
            occurrences.extend(found)
            unchanged = old is not None and _property(old.text, ROW_MARK) == digest
            # The write stores this item with these occurrences: checked once, not again.
            put = Put(
                event.calendar,
                event.uid,
                text,
                event.row,
                item=item if keep_items else None,
                occurrences=found,
            )
            writes.append((put, not unchanged))
        keep = set(row_of) | {k for k in mine if k[1] in report.rows.seen_uids}
        gone = [s for k, s in mine.items() if k not in keep]
        replaced = set(row_of) | (
            {(s.calendar, s.uid) for s in gone} if self.options.prune else set()
        )
        clashes = runtime.parts.engine.check(occurrences, IndexLookup(runtime.index, replaced))
        refused_rows = self._refused(clashes, replaced, row_of)
        for row, reason in refused_rows.items():
            errors.append(RowError(row, "", reason))
        self._report_clashes(clashes, row_of)
        bad_rows = {e.row for e in errors}
        good = [(p, w) for p, w in writes if p.tag not in bad_rows]
        report.errors = errors
        report.ok_rows = len(good)
        report.new = sum(1 for p, _ in good if (p.calendar.id, p.uid) not in stored)
        report.changed = sum(1 for p, w in good if w and (p.calendar.id, p.uid) in stored)
        report.unchanged = sum(1 for _, w in good if not w)
        report.gone = [self._gone_json(s) for s in gone]
        if errors and not self.options.skip_bad:
            report.refused = "rows with errors"
            return None
        if self.options.dry_run:
            return None
        return Batch(puts=[p for p, w in good if w], deletes=gone if self.options.prune else ())

    def _refused(
        self,
        clashes: list[Clash],
        replaced: set[tuple[str, str]],
        row_of: dict[tuple[str, str], int],
    ) -> dict[int, str]:
        """Rows a ``reject`` calendar would refuse: in a new hard clash with an event
        outside the import, or with an earlier row (rows are written in the sheet's order)."""
        settings = self.runtime.settings
        reject = {c.id for c in settings.calendars if c.policy == "reject"}
        if not reject:
            return {}
        refused: dict[int, str] = {}
        for clash in self.runtime.clashes.unapproved_hard(clashes, replaced):
            events = {o.event_key for o in clash.occurrences}
            rows = sorted(row_of[e] for e in events if e in row_of)
            outside = any(e not in row_of for e in events)
            for event in events:
                if event in row_of and event[0] in reject:
                    row = row_of[event]
                    if outside or row != rows[0]:
                        refused.setdefault(
                            row,
                            f"календарь {event[0]} не принимает столкновение: "
                            f"{clash.message_ru} / calendar {event[0]} refuses the clash: "
                            f"{clash.message_en}",
                        )
        return refused

    def _report_clashes(self, clashes: list[Clash], row_of: dict[tuple[str, str], int]) -> None:
        report, runtime = self.report, self.runtime
        known = runtime.records.on_record(clashes)
        report.known_clashes = len(known)
        zone = runtime.parts.config.zone
        names = {c.id: c.name for c in runtime.settings.calendars}
        fresh = [c for c in clashes if c.id not in known]
        fresh.sort(key=lambda c: (c.rule, c.earliest))
        report.clashes = [
            {
                "id": c.id,
                "rule": c.rule,
                "severity": c.severity,
                "message_ru": c.message_ru,
                "message_en": c.message_en,
                "rows": sorted(
                    {row_of[o.event_key] for o in c.occurrences if o.event_key in row_of}
                ),
                "events": [
                    {
                        "calendar": o.calendar,
                        "partner": names.get(o.calendar, o.calendar),
                        "summary": o.summary,
                        "start": o.start.astimezone(zone).isoformat(timespec="minutes"),
                        "row": row_of.get(o.event_key),
                    }
                    for o in list(c.occurrences)[:20]
                ],
            }
            for c in fresh
        ]

    def _gone_json(self, stored: Stored) -> dict[str, str]:
        summary = start = ""
        try:
            event = next(iter(icalendar.Calendar.from_ical(stored.text).walk("VEVENT")), None)
        except ValueError:
            event = None
        if event is not None:
            summary = str(event.get("SUMMARY", ""))
            when = event.get("DTSTART")
            if when is not None and isinstance(when.dt, dt.datetime):
                zone = self.runtime.parts.config.zone
                start = when.dt.astimezone(zone).isoformat(timespec="minutes")
            elif when is not None:
                start = when.dt.isoformat()
        return {"calendar": stored.calendar, "uid": stored.uid, "summary": summary, "start": start}


def _event_text(event: RowEvent, zone: dt.tzinfo, source: str, digest: str, sequence: int) -> str:
    """The row's VCALENDAR, as the website makes a new event, marked as this import's.

    The marks go in as text lines before ``END:VEVENT``: parsing the object again to add
    three properties would cost as much as making it (thousands of rows)."""
    _, text = new_event_text(event.fields, zone, uid=event.uid)
    lines = [_line(MARK, source), _line(ROW_MARK, digest)]
    if event.contact:
        lines.append(_line("CONTACT", event.contact))
    if sequence:
        text = text.replace("\r\nSEQUENCE:0\r\n", f"\r\nSEQUENCE:{sequence}\r\n", 1)
    head, tail = text.rsplit("END:VEVENT\r\n", 1)
    return head + "".join(lines) + "END:VEVENT\r\n" + tail


def _line(name: str, value: str) -> str:
    """One content line, its text escaped and folded as RFC 5545 says."""
    line = f"{name}:{icalendar.vText(value).to_ical().decode('utf-8')}"
    parts: list[str] = []
    while len(line.encode("utf-8")) > 75:
        cut = 75 if not parts else 74  # a continuation line starts with a space
        while len(line[:cut].encode("utf-8")) > (75 if not parts else 74):
            cut -= 1
        parts.append(line[:cut])
        line = line[cut:]
    parts.append(line)
    return "\r\n ".join(parts) + "\r\n"
