"""Reading clash records for people: the filters shared by ``calhub conflicts`` and the API."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from calhub.errors import UserError
from calhub.store.records import STATUSES, Filters

if TYPE_CHECKING:
    from calhub.hub import Hub


def parse_moment(value: str, tz: str, name: str, end_of_day: bool = False) -> dt.datetime:
    """A date (``2026-12-01``) or date-time; naive values are in the hub's time zone."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end_of_day:
                day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time())
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if not 1900 <= moment.year <= 2200:
            # Past these the hub's zone and a day added leave what datetime holds (a 500).
            raise ValueError(value)
    except (ValueError, OverflowError) as exc:
        raise UserError(
            f"{name} {value!r} is not a date from 1900 to 2200.",
            hint="Use YYYY-MM-DD or YYYY-MM-DDTHH:MM.",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return moment


def build_filters(
    hub: Hub,
    status: str | None = None,
    calendar: str | None = None,
    start: str | None = None,
    end: str | None = None,
    severity: str | None = None,
) -> Filters:
    tz = hub.settings.timezone
    if status and status not in STATUSES:
        raise UserError(f"Unknown status {status!r}.", hint=f"Use one of: {', '.join(STATUSES)}.")
    if severity and severity not in ("hard", "soft"):
        raise UserError(f"Unknown severity {severity!r}.", hint="Use hard or soft.")
    if calendar and hub.settings.calendar(calendar) is None:
        raise UserError(f"There is no calendar {calendar!r}.", hint="See 'calhub partner list'.")
    return Filters(
        status=status or None,
        calendar=calendar or None,
        start=parse_moment(start, tz, "from") if start else None,
        end=parse_moment(end, tz, "to", end_of_day=True) if end else None,
        severity=severity or None,
    )
