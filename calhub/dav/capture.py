"""From a refused CalDAV write to a refused-write record, and from a later success to its end.

``RefusalMapper`` (``calhub.dav.mapper``) calls :meth:`RefusalRecorder.refused` after it has
answered a refusal and :meth:`RefusalRecorder.written` after a PUT got in. What is kept:

- PUTs of one object into a hub calendar (at its own path or through a coordinator's
  ``hub-<id>`` view), by a login whose password is right and who may write there;
- refused for a clash (409) or for event data the hub does not take (403
  ``valid-calendar-object-resource`` or ``valid-calendar-data``, 400 unreadable): an app
  keeps re-sending those or drops them, and the event would be lost. A task or journal
  (``supported-calendar-component``) is not an event and never belongs in a hub calendar;
  the hub tells the app so in the standard way, so it is not kept. A refused MOVE leaves
  the event in its old calendar, and a whole-calendar PUT is an import whose sender holds
  the file and sees the answer at once: neither is kept.

Anything that fails here is logged and the refusal goes out as it was: keeping a record is
never a reason to answer 500.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET
import zoneinfo
from typing import TYPE_CHECKING, Any

from calhub.store.records import occurrence_json
from calhub.store.refused import Refusal, RefusedWrites

if TYPE_CHECKING:
    from calhub.dav.mapper import Attempt
    from calhub.dav.refusal import WriteRefused
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

# Preconditions of a 403 whose event is kept (see the module's docstring).
KEPT_CONDITIONS = frozenset({"valid-calendar-object-resource", "valid-calendar-data"})
ENGLISH_START = "The event was not saved"
_UID = re.compile(r"^UID[;:](?:[^:\r\n]*:)?(.*)$", re.M)
# What icalendar raises on data it cannot take apart (as calhub.dav.hooks.PARSER_ERRORS).
_PARSE_ERRORS = (ValueError, IndexError, KeyError, OverflowError, OSError, TypeError)


def split_reason(text: str) -> tuple[str, str]:
    """A refusal's text as (Russian, English): the English part starts with its own words."""
    at = text.find(ENGLISH_START)
    if at <= 0:
        return text.strip(), text.strip()
    return text[:at].strip(), text[at:].strip()


def condition_of(xml: bytes | None) -> str:
    """The precondition a ``DAV:error`` body names (its first child's local name)."""
    if not xml:
        return ""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - our own answer, not client data
    except ET.ParseError:
        return ""
    for child in root:
        return child.tag.rsplit("}", 1)[-1]
    return ""


def unfolded(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    return text.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "").replace("\n\t", "")


def uid_of(body: bytes) -> str:
    """The first UID in an iCalendar body, read without parsing the rest."""
    match = _UID.search(unfolded(body))
    return match.group(1).strip() if match else ""


def _moment(value: Any, zone: zoneinfo.ZoneInfo) -> tuple[str, bool]:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), False
    if isinstance(value, dt.date):
        return value.isoformat(), True
    return "", False


def event_fields(body: bytes, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """Summary, start, end and location of the body's main event, as far as they read."""
    from calhub.engine import InvalidCalendarData
    from calhub.engine.rawscan import scan_body
    from calhub.engine.validate import parse_calendar

    fields: dict[str, Any] = {"uid": uid_of(body)}
    try:
        text = body.decode("utf-8")
        # A body refused for what parsing it would cost is not parsed here either.
        scan_body(text)
        # calhub's parser, not icalendar's from_ical: that one keeps every VTIMEZONE it
        # reads in a process-wide cache, and refused bodies are any client's.
        calendar = parse_calendar(text)
        events = list(calendar.walk("VEVENT"))
        if not events:
            return fields
        main = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
        fields["uid"] = str(main.get("UID", "")) or fields["uid"]
        fields["summary"] = str(main.get("SUMMARY", ""))
        fields["location"] = str(main.get("LOCATION", ""))
        if "DTSTART" not in main:
            return fields
        start: Any = main.decoded("DTSTART")
        fields["start"], fields["all_day"] = _moment(start, zone)
        end: Any = None
        if "DTEND" in main:
            end = main.decoded("DTEND")
        elif "DURATION" in main:
            end = start + main.decoded("DURATION")
        elif fields["all_day"]:
            end = start + dt.timedelta(days=1)
        if end is not None:
            fields["end"] = _moment(end, zone)[0]
    except (*_PARSE_ERRORS, InvalidCalendarData) as exc:
        # Refused as unreadable, most likely: the record keeps the body and the reason.
        logger.debug("Refused body not read as an event: %r", exc)
    return fields


def clashes_json(refusal: WriteRefused) -> list[dict[str, Any]]:
    return [
        {
            "id": clash.id,
            "rule": clash.rule,
            "severity": clash.severity,
            "message": {"ru": clash.message_ru, "en": clash.message_en},
            "events": [occurrence_json(o) for o in clash.occurrences],
        }
        for clash in refusal.found_clashes
    ]


class RefusalRecorder:
    """Binds the WSGI layer's callbacks to one runtime and its store of refused writes."""

    def __init__(self, runtime: Runtime, store: RefusedWrites | None = None) -> None:
        self.runtime = runtime
        self.hub = runtime.hub
        self.store = store or runtime.refused

    def _target(self, attempt: Attempt) -> tuple[CalendarSettings, str] | None:
        """The hub calendar and href of a one-object PUT by someone who may write there."""
        if attempt.method != "PUT" or not attempt.login or attempt.path.endswith("/"):
            return None
        folder, _, href = attempt.path.rpartition("/")
        folder += "/"
        calendar = self.hub.settings.calendar_by_path(folder)
        if calendar is None or calendar.archived:
            calendar = self.runtime.policy.view_target(attempt.login, folder)
        if calendar is None or not href:
            return None
        return calendar, href

    def _may_write(self, attempt: Attempt) -> bool:
        folder = attempt.path.rpartition("/")[0] + "/"
        if self.hub.accounts.verify(attempt.login, attempt.password) is None:
            return False
        return self.runtime.policy.may_write_events(attempt.login, folder)

    def refused(self, attempt: Attempt, refusal: WriteRefused) -> None:
        """Keep a refused write (see the module's docstring for which)."""
        try:
            self._refused(attempt, refusal)
        except Exception:
            logger.exception(
                "Could not keep the refused write of %s to %s", attempt.login, attempt.path
            )

    def _refused(self, attempt: Attempt, refusal: WriteRefused) -> None:
        condition = condition_of(refusal.xml)
        if refusal.status == 403 and condition not in KEPT_CONDITIONS:
            return
        if refusal.status not in (400, 403, 409):
            return
        target = self._target(attempt)
        if target is None or not self._may_write(attempt):
            return
        calendar, href = target
        fields = event_fields(attempt.body, zoneinfo.ZoneInfo(self.hub.settings.timezone))
        reason_ru, reason_en = split_reason(refusal.text)
        row_id = self.store.record(
            Refusal(
                login=attempt.login,
                calendar=calendar.id,
                href=href,
                uid=fields.get("uid", ""),
                status=refusal.status,
                condition=condition,
                reason_ru=reason_ru,
                reason_en=reason_en,
                body=attempt.body,
                summary=fields.get("summary", ""),
                start=fields.get("start", ""),
                end=fields.get("end", ""),
                all_day=bool(fields.get("all_day", False)),
                location=fields.get("location", ""),
                clashes=clashes_json(refusal),
            )
        )
        logger.info(
            "Kept refused write %d: %s to %s (%d)",
            row_id,
            attempt.login,
            calendar.id,
            refusal.status,
        )

    def written(self, attempt: Attempt) -> None:
        """A PUT got in: a refused write of the same calendar and UID is resolved."""
        try:
            target = self._target(attempt)
            if target is None or not self.store.has_open(target[0].id):
                return
            self.store.resolve(target[0].id, uid_of(attempt.body), attempt.login)
        except Exception:
            logger.exception("Could not resolve refused writes after a PUT to %s", attempt.path)
