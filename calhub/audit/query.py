"""The filters people give (``--from 2027-02-01``, the page's form) made into the store's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from calhub.errors import UserError
from calhub.runtime.queries import parse_moment
from calhub.store.audit import AuditFilters

if TYPE_CHECKING:
    from calhub.hub import Hub


def build_filters(
    hub: Hub,
    start: str = "",
    end: str = "",
    calendar: str = "",
    actor: str = "",
    uid: str = "",
    clash_id: str = "",
    calendars: frozenset[str] | None = None,
) -> AuditFilters:
    """Days (``to`` included) or times in the hub's zone; an unknown calendar is an error
    (a calendar removed since is still known: its entries stay readable)."""
    zone = hub.settings.timezone
    if calendar and hub.settings.calendar(calendar) is None:
        known = ", ".join(c.id for c in hub.settings.calendars)
        raise UserError(
            f"Нет календаря {calendar!r}. / There is no calendar {calendar!r}.",
            hint=f"The hub's calendars: {known}.",
        )
    moments = (
        parse_moment(start, zone, "from") if start.strip() else None,
        parse_moment(end, zone, "to", end_of_day=True) if end.strip() else None,
    )
    if moments[0] and moments[1] and moments[1] <= moments[0]:
        raise UserError(
            "Конец периода раньше начала. / The end of the range is before its start.",
            hint="Give --from an earlier day than --to.",
        )
    return AuditFilters(
        start=moments[0],
        end=moments[1],
        calendar=calendar.strip(),
        actor=actor.strip(),
        uid=uid.strip(),
        clash_id=clash_id.strip(),
        calendars=calendars,
    )
