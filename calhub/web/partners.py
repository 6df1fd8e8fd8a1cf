"""Partner pages: how to connect each kind of phone and program, step by step, with the
exact addresses of this hub; the partner's own upcoming events and clashes.

A partner sees its own page only; the coordinator sees the list of partners and every page.
Addresses come from the request (scheme, host, port), so they are right behind a proxy.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.hub.policy import view_path
from calhub.store.records import Filters
from calhub.web import asks, clashes, events, moves
from calhub.web.auth import current_account, page_login_required
from calhub.web.context import current_hub, current_runtime
from calhub.web.mobileconfig import CalDAVServer, build_profile
from calhub.web.notify_status import notify_status
from calhub.web.security import request_is_https

if TYPE_CHECKING:
    from calhub.hub.accounts import Account
    from calhub.hub.settings import CalendarSettings

logger = logging.getLogger(__name__)

bp = Blueprint("partners", __name__)

UPCOMING_DAYS = 60
UPCOMING_LIMIT = 30
# The page lists this many clashes of its calendars; the clash pages list the rest.
CLASH_LIMIT = 50
# The page lists this many of its coming events that name no audience (issue 14).
DEFAULT_AUDIENCE_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Connection:
    """Every address a person needs to connect ``login``'s apps to this hub."""

    login: str
    base_url: str
    server: CalDAVServer

    @property
    def host(self) -> str:
        """Host and, when it is not the scheme's default, the port: what apps ask for."""
        default = 443 if self.server.use_ssl else 80
        host = f"[{self.server.host}]" if ":" in self.server.host else self.server.host
        return host if self.server.port == default else f"{host}:{self.server.port}"

    @property
    def dav_url(self) -> str:
        return f"{self.base_url}/dav/"

    @property
    def principal_url(self) -> str:
        return f"{self.base_url}/dav/{self.login}/"

    def calendar_url(self, calendar: CalendarSettings) -> str:
        return f"{self.base_url}/dav{calendar.path}"

    def shared_url(self, calendar: CalendarSettings) -> str:
        return f"{self.base_url}/dav{view_path(self.login, calendar.id)}"


def connection_for(login: str) -> Connection:
    https = request_is_https(request)
    parts = urllib.parse.urlsplit(request.host_url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if https else 80)
    return Connection(
        login=login,
        base_url=request.host_url.rstrip("/"),
        server=CalDAVServer(host=host, port=port, use_ssl=https),
    )


def _account_or_404(login: str) -> Account:
    viewer = current_account()
    assert viewer is not None
    account = current_hub().accounts.get(login)
    if account is None or not current_runtime().policy.can_see_partner(viewer, login):
        # Not "forbidden": whether another login exists is not a partner's business.
        abort(404)
    return account


@bp.get("/partners")
@page_login_required
def index() -> ResponseReturnValue:
    hub = current_hub()
    runtime = current_runtime()
    viewer = current_account()
    assert viewer is not None
    if not runtime.policy.may_coordinate(viewer):
        return redirect(url_for("partners.page", login=viewer.login))
    now = dt.datetime.now(dt.UTC)
    upcoming: dict[str, int] = {}
    for occurrence in runtime.index.overlapping(now, now + dt.timedelta(days=UPCOMING_DAYS)):
        upcoming[occurrence.calendar] = upcoming.get(occurrence.calendar, 0) + 1
    open_by_calendar = runtime.records.open_by_calendar()
    partners = [c for c in hub.settings.partners if not c.archived]
    return render_template(
        "partners.html",
        partners=partners,
        accounts={a.login: a for a in hub.accounts},
        upcoming=upcoming,
        open_by_calendar=open_by_calendar,
        days=UPCOMING_DAYS,
        notify=notify_status(runtime, viewer),
    )


@bp.get("/partners/<login>")
@page_login_required
def page(login: str) -> ResponseReturnValue:
    hub = current_hub()
    runtime = current_runtime()
    account = _account_or_404(login)
    mine = runtime.policy.own_calendars(account)
    mine_ids = {c.id for c in mine}
    others = [c for c in hub.settings.calendars if not c.archived and c.id not in mine_ids]
    now = dt.datetime.now(dt.UTC)
    tz = events.zone(hub)
    upcoming_occurrences = [
        o
        for o in runtime.index.overlapping(now, now + dt.timedelta(days=UPCOMING_DAYS))
        if o.calendar in mine_ids
    ]
    upcoming_occurrences.sort(key=lambda o: o.start)
    marks = clashes.marks(runtime, account, now, now + dt.timedelta(days=UPCOMING_DAYS))
    calendars = runtime.policy.readable_calendars()
    upcoming = [
        events.PlanEvent(o, calendars[o.calendar], marks.get(o.key, ""), tz)
        for o in upcoming_occurrences[:UPCOMING_LIMIT]
    ]
    # Coming events that name no audience: their clashes are checked against a guess.
    defaulted = [o for o in upcoming_occurrences if events.uses_default_audience(o)]
    # Unresolved clashes with an event of the page's own calendars, that its login may see.
    wanted = Filters(status="unresolved", calendars=tuple(sorted(mine_ids)))
    scope = runtime.policy.clash_scope(account)
    shown = runtime.records.page(wanted, CLASH_LIMIT, calendar=scope, order="start")
    records = shown.records if mine_ids else []
    more_records = shown.total - len(records) if mine_ids else 0
    viewer = current_account()
    assert viewer is not None
    # The coordinator's requests to move one of these events, with each event as it is now.
    requests = [
        (r, events.find_occurrence(hub, r.calendar, r.uid, r.recurrence_id))
        for r in asks.visible_requests(viewer, mine_ids if not account.is_coordinator else set())
    ]
    return render_template(
        "partner.html",
        subject=account,
        move_requests=requests,
        move_url=moves.move_url,
        connection=connection_for(account.login),
        mine=mine,
        others=others,
        upcoming=upcoming,
        more_upcoming=max(0, len(upcoming_occurrences) - UPCOMING_LIMIT),
        records=records,
        more_records=more_records,
        defaulted=defaulted[:DEFAULT_AUDIENCE_LIMIT],
        more_defaulted=max(0, len(defaulted) - DEFAULT_AUDIENCE_LIMIT),
        calendars=calendars,
        days=UPCOMING_DAYS,
        public_feeds=_public_page_url(),
    )


def _public_page_url() -> str:
    """The public page's address for the "subscribe" section, when it is served."""
    settings = current_runtime().settings
    if not settings.public_enabled:
        return ""
    base = settings.public_url.strip() or request.host_url
    return base.rstrip("/") + url_for("public.index")


@bp.get("/partners/<login>/calhub.mobileconfig")
@page_login_required
def mobileconfig(login: str) -> ResponseReturnValue:
    hub = current_hub()
    account = _account_or_404(login)
    connection = connection_for(account.login)
    school = hub.settings.school
    body = build_profile(
        connection.server,
        account.login,
        display_name=f"{school}: {account.name}",
        organisation=school,
        description=_("Calendars of %(school)s and its partners (calhub).", school=school),
    )
    response = Response(body, mimetype="application/x-apple-aspen-config")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="calhub-{account.login}.mobileconfig"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
