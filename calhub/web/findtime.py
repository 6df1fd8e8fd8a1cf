"""The «Найти время» page (issue 14): free times for an audience, for people.

A plain GET form that works without JavaScript; the query is read and searched by
``calhub.runtime.slots``, the same code ``GET /api/slots`` and ``calhub slots`` run, so the
page never offers a time the API would not (a slot is free exactly when a probe event there
raises no hard clash). Bad input is the page again with the form as typed and the
``UserError``'s message and hint, answered 400: the person fixes one field, not all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from calhub.engine.slots import Slot
from calhub.errors import UserError
from calhub.runtime import Runtime
from calhub.runtime.slots import DEFAULT_LIMIT, find_slots, read_query
from calhub.web import events, i18n
from calhub.web.auth import page_login_required
from calhub.web.context import current_hub, current_runtime

logger = logging.getLogger(__name__)

bp = Blueprint("findtime", __name__)

FIELDS = ("audience", "duration", "from", "to", "venue", "near", "limit")
DURATIONS = ("45", "60", "90", "120")
DEFAULT_DURATION = "90"
# Two school weeks from the next Monday: a plan is made a week or two ahead.
WINDOW_DAYS = 13


@dataclass(frozen=True, slots=True)
class ShownSlot:
    """One slot as the page shows it: local times, and the soft clashes in its language."""

    start: dt.datetime
    end: dt.datetime
    grade: str
    reasons: tuple[str, ...]


def next_monday(today: dt.date) -> dt.date:
    """The Monday after ``today`` (a week on, when today is a Monday: this week has begun)."""
    return today + dt.timedelta(days=7 - today.weekday())


def default_form(today: dt.date) -> dict[str, str]:
    first = next_monday(today)
    return {
        "audience": "",
        "duration": DEFAULT_DURATION,
        "from": first.isoformat(),
        "to": (first + dt.timedelta(days=WINDOW_DAYS)).isoformat(),
        "venue": "",
        "near": "",
        "limit": str(DEFAULT_LIMIT),
    }


def form_of(args: Mapping[str, str], today: dt.date) -> dict[str, str]:
    """The form as typed; a field left out (or blank) shows its default."""
    form = default_form(today)
    for name in FIELDS:
        value = (args.get(name) or "").strip()
        if value or name in ("audience", "venue", "near"):
            form[name] = value
    return form


def audience_choices(runtime: Runtime) -> list[str]:
    """What the audience field suggests: the named groups, the partners' default
    audiences and the grades (any class such as 10А is typed, there is no list of them)."""
    settings = runtime.settings
    defaults = {c.audience for c in settings.calendars if c.audience and not c.archived}
    choices = [*sorted(settings.groups), *sorted(defaults), *(str(g) for g in range(1, 12))]
    return list(dict.fromkeys(choices))  # a default such as "10" is a grade too: once


def venue_choices(runtime: Runtime) -> list[str]:
    """The venues the hub knows by name: the spellings ``[venues.aliases]`` settles on."""
    return sorted(set(runtime.settings.venue_aliases.values()))


def shown(slot: Slot, zone: dt.tzinfo, language: str) -> ShownSlot:
    reasons = tuple(
        clash.message_ru if language == "ru" else clash.message_en for clash in slot.soft
    )
    return ShownSlot(
        start=slot.start.astimezone(zone).replace(tzinfo=None),
        end=slot.end.astimezone(zone).replace(tzinfo=None),
        grade=slot.grade,
        reasons=reasons,
    )


def by_day(slots: list[ShownSlot]) -> list[tuple[dt.date, list[ShownSlot]]]:
    """Slots grouped by their local day, days in order (the finder ranks by nearness)."""
    ordered = sorted(slots, key=lambda s: s.start)
    return [(day, list(group)) for day, group in groupby(ordered, key=lambda s: s.start.date())]


@bp.get("/slots")
@page_login_required
def index() -> ResponseReturnValue:
    runtime = current_runtime()
    today = events.local_today(current_hub())
    form = form_of(request.args, today)
    page: dict[str, Any] = {
        "form": form,
        "durations": DURATIONS,
        "audiences": audience_choices(runtime),
        "venues": venue_choices(runtime),
        "error": None,
        "searched": False,
        "days": [],
        "count": 0,
        "audience_label": "",
    }
    if not form["audience"]:
        # The first visit: the form alone, not an error.
        return render_template("findtime.html", **page)
    try:
        query = read_query(
            runtime,
            audience=form["audience"],
            duration=form["duration"],
            start=form["from"],
            end=form["to"],
            venue=form["venue"],
            near=form["near"],
            limit=form["limit"],
        )
    except UserError as error:
        logger.info("Slot search not understood: %s", error.message)
        page["error"] = error
        return render_template("findtime.html", **page), 400
    zone = runtime.parts.config.zone
    language = i18n.language()
    found = [shown(slot, zone, language) for slot in find_slots(runtime, query)]
    page.update(
        searched=True,
        days=by_day(found),
        count=len(found),
        audience_label=query.audience.label(language),
        minutes=int(query.duration.total_seconds() // 60),
        first=query.start.astimezone(zone).date(),
        # The window ends at the midnight after its last day.
        last=(query.end.astimezone(zone) - dt.timedelta(days=1)).date(),
    )
    return render_template("findtime.html", **page)
