"""What an export holds: the plan's occurrences, the clashes and the grade board, from the stores.

Every format (:mod:`~calhub.exchange.export_xlsx`, :mod:`~calhub.exchange.export_pdf`,
:mod:`~calhub.exchange.export_csv`) is written from one :class:`Export`, collected here, so
the XLSX, the PDF and the CSV of one request always agree. What an account sees is the
policy's word, as on the plan: every active calendar's events for every login
(``Policy.readable_calendars``), and the clash marks and records of the clashes it may see
(``Policy.clash_scope``: the coordinator all, a partner those with an event of its own). The
command line runs as the hub's operator and sees everything (``account=None``).

The range: ``from`` and ``to`` are days in the hub's time zone, both included. Without them
an export covers the next four weeks from today (:data:`DEFAULT_DAYS`): the hub knows no
term dates, and four weeks is what the staff-room wall and a partner's letter need.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calhub.engine import Audience, Occurrence
from calhub.engine.audience import MAX_GRADE, MIN_GRADE
from calhub.errors import UserError
from calhub.feedback.links import LinkTarget, feedback_keys, form_url
from calhub.store.records import Filters

if TYPE_CHECKING:
    from calhub.hub.accounts import Account
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime
    from calhub.store.record_types import ClashRecord, StoredOccurrence

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 28
# A school year and a little: more is a mistake (a typo in a year), and the board's columns.
MAX_DAYS = 400
MAX_AUDIENCE_TEXT = 200

# The plan's columns in XLSX and CSV; names the import recognises (calhub.exchange.columns),
# so an exported sheet reads back in ("День" alone would be read as the date).
PLAN_HEADER = (
    "Дата",
    "День недели",
    "Время",
    "Партнёр",
    "Мероприятие",
    "Классы",
    "Место",
    "Статус",
)
WEEKDAYS_RU = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
RANK = {"": 0, "approved": 1, "soft": 2, "hard": 3}
STATUS_RU = {
    "": "",
    "hard": "конфликт",
    "soft": "замечание",
    "approved": "согласовано",
    "blackout": "закрытый период",
}
RECORD_STATUS_RU = {"open": "открыт", "approved": "согласован", "resolved": "снят"}
SEVERITY_RU = {"hard": "жёсткий", "soft": "мягкий"}

OccurrenceKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: days ``first`` to ``last`` (both included, hub time), optionally one
    audience (as written and as read) and one calendar."""

    first: dt.date
    last: dt.date
    audience_text: str = ""
    audience: Audience | None = None
    calendar: str = ""

    @property
    def days(self) -> list[dt.date]:
        count = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=n) for n in range(count)]

    def file_stem(self) -> str:
        """A file name without suffix: ``plan_2027-02-01_2027-02-28_10А``."""
        parts = ["plan", self.first.isoformat(), self.last.isoformat()]
        for extra in (self.audience_text, self.calendar):
            if extra:
                parts.append("".join(ch if ch.isalnum() or ch in "-" else "-" for ch in extra))
        return "_".join(parts)


def _day(value: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(
            f"«{value}» в --{name} — не дата. / --{name} {value!r} is not a date.",
            "Пишите ГГГГ-ММ-ДД, например 2027-02-01. / Write YYYY-MM-DD, e.g. 2027-02-01.",
        ) from exc
    if not 1900 <= day.year <= 2200:
        raise UserError(
            f"Дата {value} вне 1900–2200. / The date {value} is outside 1900–2200.",
            "Проверьте год. / Check the year.",
        )
    return day


def read_request(
    runtime: Runtime,
    start: str | None = None,
    end: str | None = None,
    audience: str | None = None,
    calendar: str | None = None,
    today: dt.date | None = None,
) -> ExportRequest:
    """The request from plain text (the command line's options, the page's query string);
    a :class:`UserError` in Russian and English, with a hint, for what cannot be read."""
    settings = runtime.settings
    if today is None:
        today = dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).date()
    first = _day(start, "from") if start else today
    last = _day(end, "to") if end else first + dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise UserError(
            f"Конец ({last}) раньше начала ({first}). / The end ({last}) is before the start "
            f"({first}).",
            "Поменяйте --from и --to местами. / Swap --from and --to.",
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise UserError(
            f"Слишком длинный период: больше {MAX_DAYS} дней. / The range is longer than "
            f"{MAX_DAYS} days.",
            "Выгрузите учебный год частями. / Export a school year in parts.",
        )
    calendar_id = (calendar or "").strip()
    if calendar_id:
        found = settings.calendar(calendar_id)
        if found is None or found.archived:
            known = ", ".join(c.id for c in settings.calendars if not c.archived)
            raise UserError(
                f"В хабе нет календаря «{calendar_id}». / There is no calendar "
                f"{calendar_id!r} in the hub.",
                f"Календари: {known}. / Calendars: {known}.",
            )
    text = (audience or "").strip()
    parsed = None
    if text:
        parsed = runtime.parts.parser.parse(text[:MAX_AUDIENCE_TEXT])
        if parsed is None or parsed.is_empty():
            raise UserError(
                f"«{text}» не похоже на параллель, класс или группу. / {text!r} is not a "
                "grade, class or group.",
                "Например 10, 10А или 8-9. / For example 10, 10А or 8-9.",
            )
    return ExportRequest(first, last, text, parsed, calendar_id)


# -- the rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One occurrence as the exports show it, in the hub's time."""

    occurrence: Occurrence
    calendar: CalendarSettings
    mark: str  # "", "hard", "soft" or "approved"
    start: dt.datetime
    end: dt.datetime

    @property
    def day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        """The last day covered (an all-day end is exclusive)."""
        end = self.end - dt.timedelta(microseconds=1) if self.end > self.start else self.end
        return end.date()

    @property
    def weekday(self) -> str:
        return WEEKDAYS_RU[self.start.weekday()]

    @property
    def time(self) -> str:
        if self.occurrence.all_day:
            # The last day as the import reads it back (calhub.exchange.values.parse_all_day).
            return (
                "весь день" if self.last_day == self.day else f"весь день по {self.last_day:%d.%m}"
            )
        if self.last_day != self.day:
            return f"{self.start:%H:%M}–{self.end:%d.%m %H:%M}"
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def partner(self) -> str:
        return self.calendar.name

    @property
    def title(self) -> str:
        return self.occurrence.summary

    @property
    def audience(self) -> str:
        return self.occurrence.audience.label()

    @property
    def venue(self) -> str:
        return self.occurrence.location

    @property
    def state(self) -> str:
        """``blackout`` for a closed period, else the clash mark."""
        return "blackout" if self.occurrence.is_blackout else self.mark

    @property
    def status(self) -> str:
        return STATUS_RU[self.state]


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """One clash record the account may see, shown by its instance in the range."""

    record: ClashRecord
    sides: tuple[str, ...]
    start: dt.datetime

    @property
    def severity(self) -> str:
        return SEVERITY_RU.get(self.record.severity, self.record.severity)

    @property
    def status(self) -> str:
        return RECORD_STATUS_RU.get(self.record.status, self.record.status)


@dataclass(frozen=True, slots=True)
class BoardCell:
    rows: tuple[ExportRow, ...]
    state: str  # "", "hard", "soft", "approved" or "blackout"


@dataclass(frozen=True, slots=True)
class Board:
    """Grades × days, as the grade board shows them."""

    grades: tuple[int, ...]
    days: tuple[dt.date, ...]
    cells: dict[tuple[int, dt.date], BoardCell]

    def cell(self, grade: int, day: dt.date) -> BoardCell:
        return self.cells.get((grade, day), BoardCell((), ""))


@dataclass(frozen=True, slots=True)
class Export:
    request: ExportRequest
    school: str
    title: str
    rows: list[ExportRow]
    conflicts: list[ConflictRow]
    board: Board
    made_at: dt.datetime
    # The events' feedback forms (title, address) for the PDF's QR page; empty while the
    # hub's address ([public] url) is unknown.
    feedback_links: tuple[tuple[str, str], ...] = ()


def collect(runtime: Runtime, request: ExportRequest, account: Account | None = None) -> Export:
    """Everything one export shows, read from the index and the clash records."""
    settings = runtime.settings
    tz = zoneinfo.ZoneInfo(settings.timezone)
    start = dt.datetime.combine(request.first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(request.last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    scope = None if account is None else runtime.policy.clash_scope(account)
    calendars = runtime.policy.readable_calendars()
    found = [o for o in runtime.index.overlapping(start, end) if _wanted(o, calendars, request)]
    marks = _marks(runtime, start, end, scope) if found else {}
    rows = [
        ExportRow(
            o,
            calendars[o.calendar],
            marks.get(o.key, ""),
            o.start.astimezone(tz),
            o.end.astimezone(tz),
        )
        for o in found
    ]
    rows.sort(key=lambda r: (r.occurrence.start, not r.occurrence.all_day, r.calendar.id, r.title))
    conflicts = _conflicts(runtime, request, start, end, scope, tz)
    title = _title(settings.school, request, calendars)
    return Export(
        request=request,
        school=settings.school,
        title=title,
        rows=rows,
        conflicts=conflicts,
        board=_board(rows, request),
        made_at=dt.datetime.now(tz).replace(microsecond=0),
        feedback_links=_feedback_links(runtime, rows),
    )


MAX_FEEDBACK_LINKS = 60


def _feedback_links(runtime: Runtime, rows: list[ExportRow]) -> tuple[tuple[str, str], ...]:
    """One feedback link per event of the plan (a series once), the first
    :data:`MAX_FEEDBACK_LINKS` of them: a QR code each on the PDF's last page."""
    base = runtime.settings.public_url
    if not base or not rows:
        return ()
    keys = feedback_keys(runtime.hub)
    links: dict[tuple[str, str], tuple[str, str]] = {}
    for row in rows:
        occurrence = row.occurrence
        if occurrence.is_blackout or row.calendar.role == "blackout":
            continue
        if occurrence.event_key not in links:
            target = LinkTarget(occurrence.calendar, occurrence.uid)
            links[occurrence.event_key] = (row.title, form_url(base, keys, target))
        if len(links) >= MAX_FEEDBACK_LINKS:
            break
    return tuple(links.values())


def _wanted(
    occurrence: Occurrence, calendars: dict[str, CalendarSettings], request: ExportRequest
) -> bool:
    if occurrence.calendar not in calendars:
        return False
    if request.calendar and occurrence.calendar != request.calendar:
        return False
    return request.audience is None or occurrence.audience.intersects(request.audience)


def _marks(
    runtime: Runtime, start: dt.datetime, end: dt.datetime, scope: str | None
) -> dict[OccurrenceKey, str]:
    """The plan's marks (``calhub.web.clashes.marks`` reads the same store the same way; the
    web may not be imported here): hard wins over soft, approved only when all are."""
    found: dict[OccurrenceKey, str] = {}
    for severity, approved, occurrences, _rule in runtime.records.instances_between(
        start, end, scope
    ):
        mark = "approved" if approved else severity
        for occurrence in occurrences:
            key = _key(occurrence)
            if RANK[mark] > RANK[found.get(key, "")]:
                found[key] = mark
    return found


def _key(occurrence: StoredOccurrence) -> OccurrenceKey:
    return (occurrence["calendar"], occurrence["uid"], occurrence.get("recurrence_id") or "")


def _conflicts(
    runtime: Runtime,
    request: ExportRequest,
    start: dt.datetime,
    end: dt.datetime,
    scope: str | None,
    tz: zoneinfo.ZoneInfo,
) -> list[ConflictRow]:
    """Unsettled (open or approved) clashes with an instance in the range, hard first."""
    filters = Filters(status="unresolved", start=start, end=end, calendar=request.calendar or None)
    page = runtime.records.page(filters, None, calendar=scope, order="start")
    parser = runtime.parts.parser
    found = []
    for record in page.records:
        sides = record.occurrences
        if request.audience is not None:
            audiences = [parser.parse(side["audience"]) for side in sides]
            if not any(a is not None and a.intersects(request.audience) for a in audiences):
                continue
        # By time, then calendar and title: the record keeps its sides in the order of their
        # UIDs, which says nothing to a reader (and differs between two hubs of one plan).
        ordered = sorted(
            sides,
            key=lambda side: (
                dt.datetime.fromisoformat(side["start"]),
                side["calendar"],
                side["summary"],
            ),
        )
        first = dt.datetime.fromisoformat(ordered[0]["start"])
        found.append(
            ConflictRow(record, tuple(_side(side, tz) for side in ordered), first.astimezone(tz))
        )
    found.sort(key=lambda c: (c.record.severity != "hard", c.start, c.record.id))
    return found


def _side(side: StoredOccurrence, tz: zoneinfo.ZoneInfo) -> str:
    start = dt.datetime.fromisoformat(side["start"]).astimezone(tz)
    end = dt.datetime.fromisoformat(side["end"]).astimezone(tz)
    when = f"{start:%d.%m} весь день" if side["all_day"] else f"{start:%d.%m %H:%M}–{end:%H:%M}"
    return f"{side['summary']} ({side['calendar']}, {when})"


def _board(rows: list[ExportRow], request: ExportRequest) -> Board:
    """Grades (those of the audience asked for, else every grade) × the days of the range.
    A cell holds the events for that grade that day; its state is the worst mark among
    them, or ``blackout`` on a closed day with nothing worse."""
    if request.audience is not None:
        grades = tuple(sorted(request.audience.grades_touched()))
    else:
        grades = tuple(range(MIN_GRADE, MAX_GRADE + 1))
    days = tuple(request.days)
    cells: dict[tuple[int, dt.date], list[ExportRow]] = {}
    for grade in grades:
        whole = Audience(frozenset({grade}))
        for row in rows:
            if not row.occurrence.audience.intersects(whole):
                continue
            day = max(row.day, request.first)
            while day <= min(row.last_day, request.last):
                cells.setdefault((grade, day), []).append(row)
                day += dt.timedelta(days=1)
    board = {key: BoardCell(tuple(found), _cell_state(found)) for key, found in cells.items()}
    return Board(grades, days, board)


def _cell_state(rows: list[ExportRow]) -> str:
    worst = max((r.mark for r in rows), key=lambda mark: RANK[mark], default="")
    if not worst and any(r.occurrence.is_blackout for r in rows):
        return "blackout"
    return worst


def _title(school: str, request: ExportRequest, calendars: dict[str, CalendarSettings]) -> str:
    """«Гимназия №32: план 01.02.2027–28.02.2027, 10А, БФУ»."""
    parts = [f"{school}: план {request.first:%d.%m.%Y}–{request.last:%d.%m.%Y}"]
    if request.audience is not None:
        parts.append(request.audience.label())
    if request.calendar and request.calendar in calendars:
        parts.append(calendars[request.calendar].name)
    return ", ".join(parts)


def safe_text(value: str) -> str:
    """A cell's text that no spreadsheet reads as a formula: one that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe (what Excel
    and LibreOffice themselves show as "text"), so a hostile title stays a title."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
