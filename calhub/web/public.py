"""The public page (opt-in, ``[public] enabled = true``): the coming weeks' events per grade,
for the school's website, and each grade's feed at ``/public/<grade>.ics``.

No sign-in, and nothing here starts a session (no form, no CSRF token: an iframe on the
school's site must not get a cookie). Its answers carry their own
``Content-Security-Policy: frame-ancestors`` from ``[public] frame_ancestors``, so the page
can be embedded where the coordinator allows; with the default ``'none'`` it cannot.

Who may know what: the page shows what the grade feeds show to anyone. A partner's
``CLASS:PRIVATE`` or ``CONFIDENTIAL`` event is shown as busy time only (no title, venue or
partner), and an event in an open hard clash is marked as not settled yet, as the feeds do.
Blackout periods are left out (they are the school's closed days, not events).

Each grade also lists its events of the last ``[feedback] window_days`` with a link to their
feedback form (:mod:`calhub.feedback`; private events have none).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from calhub.dav.storage import read_object
from calhub.engine import Audience
from calhub.engine.audience import MAX_GRADE, MIN_GRADE
from calhub.feedback.links import LinkTarget, feedback_keys, form_url
from calhub.feeds.qr import qr_svg
from calhub.feeds.scopes import parse_scope
from calhub.web import clashes, events
from calhub.web.context import current_hub, current_runtime
from calhub.web.feeds import base_url, feed_response
from calhub.web.security import csp_nonce, security_headers
from calhub.web.storage import app_storage

if TYPE_CHECKING:
    from flask import Response

    from calhub.engine import Occurrence
    from calhub.hub.settings import CalendarSettings, Settings
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

bp = Blueprint("public", __name__)

GRADES = tuple(range(MIN_GRADE, MAX_GRADE + 1))
MAX_AGE = 300
_PRIVATE = re.compile(r"^CLASS[;:][^\r\n]*(PRIVATE|CONFIDENTIAL)", re.MULTILINE | re.IGNORECASE)
_MODEL_KEY = "calhub_public_model"
_FOLD = re.compile(r"\r?\n[ \t]")
_CLASS_KEY = "calhub_public_classes"
MAX_CLASS_ENTRIES = 50_000
RECENT_PER_GRADE = 10
_model_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class PublicEvent:
    occurrence: Occurrence
    calendar: CalendarSettings
    private: bool  # shown as busy time only
    unsettled: bool  # in an open hard clash: the time may still change


@dataclass(frozen=True, slots=True)
class GradeSection:
    grade: int
    days: tuple[tuple[dt.date, tuple[PublicEvent, ...]], ...]
    feed_url: str
    webcal_url: str
    qr: str
    # Events of the last ``[feedback] window_days`` with the link to their feedback form.
    recent: tuple[tuple[PublicEvent, str], ...] = ()

    @property
    def count(self) -> int:
        return sum(len(items) for _, items in self.days)


@dataclass(frozen=True, slots=True)
class PublicModel:
    """The page's content, kept while the index, the records, the settings and the day
    stay the same (the private check reads storage; a page view should not)."""

    key: tuple[str, str, str, str]
    settings: Settings
    grades: tuple[GradeSection, ...]
    start: dt.date
    end: dt.date


def public_headers(response: Response) -> Response:
    """This answer may be framed by ``[public] frame_ancestors``, and no other way."""
    ancestors = current_runtime().settings.public_frame_ancestors
    headers = security_headers(csp_nonce(), frame_ancestors=ancestors)
    response.headers["Content-Security-Policy"] = headers["Content-Security-Policy"]
    # Browsers that know frame-ancestors ignore X-Frame-Options when both are sent; the
    # few that do not get the strictest value that still lets the hub frame itself. Set
    # here, the server's SecurityHeaders layer does not add its DENY.
    response.headers["X-Frame-Options"] = "DENY" if ancestors == "'none'" else "SAMEORIGIN"
    return response


def _enabled_or_404(runtime: Runtime) -> None:
    if not runtime.settings.public_enabled:
        abort(404)


def _grade_urls(runtime: Runtime, grade: int) -> tuple[str, str]:
    https = base_url(runtime) + url_for("public.grade_feed", grade=grade)
    return https, "webcal://" + https.split("://", 1)[1]


def _private_events(runtime: Runtime, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these events are CLASS:PRIVATE or CONFIDENTIAL (read from storage: the
    index does not keep the class). Unreadable ones count as private: fail closed. What
    was read is kept per object version (its ETag), so a change reads only what changed."""
    storage = app_storage(current_hub())
    with _model_lock:
        known: dict[tuple[str, str, str], bool] = current_app.extensions.setdefault(_CLASS_KEY, {})
    private: set[tuple[str, str]] = set()
    for calendar_id, uid in keys:
        calendar = runtime.settings.calendar(calendar_id)
        href = runtime.index.href_of(calendar_id, uid)
        item = runtime.index.item(calendar_id, href) if href else None
        if calendar is None or href is None or item is None:
            private.add((calendar_id, uid))
            continue
        version = (calendar_id, href, item.etag)
        found = known.get(version)
        if found is None:
            try:
                text = read_object(storage, calendar.path, href)
            except (OSError, ValueError) as exc:
                logger.warning("Cannot read %s/%s for the public page: %s", calendar_id, href, exc)
                text = None
            unfolded = _FOLD.sub("", text) if text else ""
            found = text is None or bool(_PRIVATE.search(unfolded))
            if text is not None:
                if len(known) >= MAX_CLASS_ENTRIES:
                    known.clear()
                known[version] = found
        if found:
            private.add((calendar_id, uid))
    return private


def _recent(runtime: Runtime) -> list[Occurrence]:
    """Events whose feedback form is open now (started, and ended at most ``[feedback]
    window_days`` ago), the latest first."""
    now = dt.datetime.now(dt.UTC)
    window = dt.timedelta(days=runtime.settings.feedback.window_days)
    calendars = runtime.policy.readable_calendars()
    found = [
        o
        for o in runtime.index.overlapping(now - window - dt.timedelta(days=7), now)
        if o.calendar in calendars
        and not o.is_blackout
        and calendars[o.calendar].role != "blackout"
        and o.start <= now <= o.end + window
    ]
    found.sort(key=lambda o: (o.start, o.summary), reverse=True)
    return found


def _build_model(runtime: Runtime, key: tuple[str, str, str, str]) -> PublicModel:
    settings = runtime.settings
    hub = current_hub()
    today = events.local_today(hub)
    last = today + dt.timedelta(weeks=settings.public_weeks)
    start, end = events.day_start(hub, today), events.day_start(hub, last)
    calendars = runtime.policy.readable_calendars()
    shown = [
        o
        for o in runtime.index.overlapping(start, end)
        if o.calendar in calendars and not o.is_blackout
    ]
    shown.sort(key=lambda o: (o.start, o.end, o.summary))
    unsettled: set[clashes.OccurrenceKey] = set()
    for severity, approved, occurrences, _rule in runtime.records.instances_between(start, end):
        if severity == "hard" and not approved:
            unsettled.update(clashes.occurrence_key(o) for o in occurrences)
    recent = _recent(runtime)
    private = _private_events(runtime, {o.event_key for o in shown} | {o.event_key for o in recent})
    keys = feedback_keys(hub)
    base = base_url(runtime)
    tz = events.zone(hub)
    sections = []
    for grade in GRADES:
        wanted = Audience(frozenset({grade}))
        days: dict[dt.date, list[PublicEvent]] = {}
        for o in shown:
            if not o.audience.intersects(wanted):
                continue
            item = PublicEvent(o, calendars[o.calendar], o.event_key in private, o.key in unsettled)
            days.setdefault(o.start.astimezone(tz).date(), []).append(item)
        https, webcal = _grade_urls(runtime, grade)
        rated = tuple(
            (
                PublicEvent(o, calendars[o.calendar], False, False),
                form_url(base, keys, LinkTarget(o.calendar, o.uid, o.recurrence_id)),
            )
            for o in recent
            if o.audience.intersects(wanted) and o.event_key not in private
        )[:RECENT_PER_GRADE]
        sections.append(
            GradeSection(
                grade=grade,
                days=tuple((day, tuple(items)) for day, items in sorted(days.items())),
                feed_url=https,
                webcal_url=webcal,
                qr=qr_svg(webcal),
                recent=rated,
            )
        )
    return PublicModel(key, settings, tuple(sections), today, last - dt.timedelta(days=1))


def public_model(runtime: Runtime) -> PublicModel:
    key = (
        runtime.index.state(),
        runtime.records.state(),
        events.local_today(current_hub()).isoformat(),
        base_url(runtime),
    )
    with _model_lock:
        kept: PublicModel | None = current_app.extensions.get(_MODEL_KEY)
    if kept is not None and kept.key == key and kept.settings is runtime.settings:
        return kept
    model = _build_model(runtime, key)
    with _model_lock:
        current_app.extensions[_MODEL_KEY] = model
    return model


@bp.get("/public/")
def index() -> ResponseReturnValue:
    runtime = current_runtime()
    _enabled_or_404(runtime)
    model = public_model(runtime)
    chosen = request.args.get("grade", "")
    grades = model.grades
    if chosen.isdigit() and int(chosen) in GRADES:
        grades = tuple(s for s in grades if s.grade == int(chosen))
    response = current_app.make_response(
        render_template(
            "public.html",
            model=model,
            grades=grades,
            chosen=int(chosen) if chosen.isdigit() and int(chosen) in GRADES else None,
            all_grades=GRADES,
            school=runtime.settings.school,
        )
    )
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.vary.add("Accept-Language")
    return public_headers(response)


@bp.get("/public")
def bare() -> ResponseReturnValue:
    runtime = current_runtime()
    _enabled_or_404(runtime)
    return current_app.redirect(url_for("public.index"), code=301)


@bp.route("/public/<int:grade>.ics", methods=["GET", "HEAD"])
def grade_feed(grade: int) -> ResponseReturnValue:
    """The grade's audience feed, the same document a token feed of ``audience:<grade>``
    is (one build, one cache entry for both); public, so any cache may keep it."""
    runtime = current_runtime()
    _enabled_or_404(runtime)
    if grade not in GRADES:
        abort(404)
    scope = parse_scope(f"audience:{grade}", runtime)
    response = feed_response(
        runtime, scope, f"grade-{grade}.ics", cache_control=f"public, max-age={MAX_AGE}"
    )
    return public_headers(response)


@dataclass(frozen=True, slots=True)
class PartnerProjects:
    name: str
    description: str
    projects: tuple[str, ...]
    audience: str  # the grades its events are for by default ("" : whole school)
    color: str


def partner_projects(settings: Settings) -> list[PartnerProjects]:
    """The active partners, by name, with what ``calhub partner edit`` gave them."""
    found = []
    parser = current_runtime().parts.parser
    for calendar in sorted(settings.partners, key=lambda c: c.name.casefold()):
        if calendar.archived:
            continue
        audience = parser.parse(calendar.audience) if calendar.audience else None
        found.append(
            PartnerProjects(
                name=calendar.name,
                description=calendar.description,
                projects=calendar.projects,
                audience=audience.label() if audience is not None else "",
                color=calendar.color,
            )
        )
    return found


@bp.get("/public/projects")
def projects() -> ResponseReturnValue:
    """The school's partners and their joint projects, for the school's website."""
    runtime = current_runtime()
    _enabled_or_404(runtime)
    response = current_app.make_response(
        render_template(
            "public_projects.html",
            partners=partner_projects(runtime.settings),
            school=runtime.settings.school,
        )
    )
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.vary.add("Accept-Language")
    return public_headers(response)
