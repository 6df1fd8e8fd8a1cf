"""Feeds on the web: ``/feeds/<token>.ics`` for calendar apps, and the coordinator's page
that makes and revokes them.

A feed answer needs no sign-in, session or CSRF token: the unguessable token in the address
is the key (Outlook, Google Calendar and Apple handle password-protected feeds poorly). An
unknown, revoked or malformed token gets one short 404 whatever the reason, so the answer
never tells whether a token ever existed.

A poll is cheap: the feed's version (``calhub.feeds.build.feed_version``: the index's and
the clash records' state, the settings it uses) is worked out without reading storage; a
conditional request whose ETag (or date) still matches gets a 304 without anything being
built, and a changed one is built once per version and kept (``calhub.feeds.cache``).
The public page's grade feeds (:mod:`calhub.web.public`) are served by the same path.

Feed management is the coordinator's only (for now): a partner asks the coordinator for a
feed, the partner page says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.feeds.build import build_feed, feed_version
from calhub.feeds.cache import BuiltFeed, FeedCache, etag_of
from calhub.feeds.qr import qr_svg
from calhub.feeds.scopes import KINDS
from calhub.feeds.tokens import CreatedFeed, create_feed, resolve
from calhub.web.acting import web_origin
from calhub.web.auth import current_account, page_coordinator_required
from calhub.web.context import current_runtime
from calhub.web.storage import app_storage

if TYPE_CHECKING:
    from calhub.feeds.scopes import FeedScope
    from calhub.runtime import Runtime
    from calhub.store.feeds import FeedToken

logger = logging.getLogger(__name__)

bp = Blueprint("feeds", __name__)

# Apps poll every hour or so; a few minutes in their own cache spares both sides.
MAX_AGE = 300
# A token is secrets.token_urlsafe(24): 32 characters of this alphabet. Anything far from
# that is not looked up at all.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
MAX_NAME = 200
MAX_VALUE = 200
# Kinds whose scope has no value after the colon.
BARE_KINDS = ("all", "conflicts")
# One answer for every token that opens nothing: no hint whether it ever existed.
NOT_FOUND_BODY = "Нет такой ленты. / No such feed.\n"
CACHE_KEY = "calhub_feed_cache"


# -- serving a feed ----------------------------------------------------------------------


def feed_cache() -> FeedCache:
    """The app's cache of built feeds (``create_app`` makes it)."""
    cache: FeedCache = current_app.extensions[CACHE_KEY]
    return cache


@dataclass(frozen=True, slots=True)
class Served:
    """What a feed's last answer was, per scope: enough to answer If-Modified-Since with
    a 304 while the version holds, without asking the cache to build."""

    version: str
    last_modified: dt.datetime


SERVED_KEY = "calhub_feed_served"


def _served() -> dict[str, Served]:
    """What each scope's last answer was (``create_app`` makes the dict)."""
    found: dict[str, Served] = current_app.extensions[SERVED_KEY]
    return found


def _gzip_etag(etag: str) -> str:
    # A strong ETag names one representation; the gzipped body is another.
    return etag[:-1] + '-gz"'


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison, ``*``, a list; either coding's tag counts."""
    wanted = {etag.strip('"'), _gzip_etag(etag).strip('"')}
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') in wanted:
            return True
    return False


def _not_modified_since(header: str, last_modified: dt.datetime) -> bool:
    from werkzeug.http import parse_date

    since = parse_date(header)
    return since is not None and last_modified <= since


def _wants_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _headers(response: Response, etag: str, last_modified: dt.datetime | None, cache: str) -> None:
    response.headers["ETag"] = _gzip_etag(etag) if _wants_gzip() else etag
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = cache
    response.vary.add("Accept-Encoding")


def feed_response(
    runtime: Runtime, scope: FeedScope, filename: str, cache_control: str | None = None
) -> Response:
    """The feed of ``scope`` as an HTTP answer to this request: 304 when the client's
    copy is current (nothing built), else the document, gzipped when the client takes it."""
    cache_control = cache_control or f"private, max-age={MAX_AGE}"
    key = str(scope)
    version = feed_version(runtime, scope)
    # Known from the version alone: a conditional request is answered without a build.
    etag = etag_of(version)
    served = _served().get(key)
    known = served if served is not None and served.version == version else None
    if_none_match = request.headers.get("If-None-Match")
    if_modified_since = request.headers.get("If-Modified-Since")
    not_modified = (
        _etag_matches(if_none_match, etag)
        if if_none_match
        else bool(
            if_modified_since
            and known is not None
            and _not_modified_since(if_modified_since, known.last_modified)
        )
    )
    if not_modified:
        response = Response(status=304)
        _headers(response, etag, known.last_modified if known else None, cache_control)
        return response
    storage = app_storage(current_app.extensions["calhub"])
    cache = feed_cache()
    # The cache's pieces keep each stored object's copied text: a build after one write
    # parses only that object.
    built: BuiltFeed = cache.get(
        key, version, lambda: build_feed(runtime, storage, scope, cache.pieces)
    )
    if if_modified_since and not if_none_match:
        _served()[key] = Served(version, built.last_modified)
        if _not_modified_since(if_modified_since, built.last_modified):
            response = Response(status=304)
            _headers(response, etag, built.last_modified, cache_control)
            return response
    _served()[key] = Served(version, built.last_modified)
    gzipped = _wants_gzip()
    response = Response(
        built.gzipped if gzipped else built.body, content_type="text/calendar; charset=utf-8"
    )
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    _headers(response, etag, built.last_modified, cache_control)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def not_found() -> Response:
    response = Response(NOT_FOUND_BODY, status=404, content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def feed_filename(token: FeedToken, scope: FeedScope) -> str:
    """An ASCII file name for the document: the scope's kind and the feed's id."""
    return f"calhub-{scope.kind}-{token.id}.ics"


@bp.route("/feeds/<token>.ics", methods=["GET", "HEAD"])
def feed(token: str) -> ResponseReturnValue:
    if not TOKEN_PATTERN.match(token):
        return not_found()
    runtime = current_runtime()
    found = resolve(runtime, token)
    if found is None:
        return not_found()
    feed_token, scope = found
    return feed_response(runtime, scope, feed_filename(feed_token, scope))


@bp.route("/feeds/<path:rest>", methods=["GET", "HEAD"])
def no_feed(rest: str) -> ResponseReturnValue:
    """Whatever else is asked under /feeds/: the same answer as for an unknown token."""
    return not_found()


# -- the coordinator's page ----------------------------------------------------------------


def kind_name(kind: str) -> str:
    names: dict[str, str] = {
        "all": _("The whole plan"),
        "calendar": _("One calendar"),
        "audience": _("Grades, classes or a group"),
        "busy": _("Busy times only (no titles)"),
        "conflicts": _("Open clashes (coordinator only)"),
    }
    return names.get(kind, kind)


def base_url(runtime: Runtime) -> str:
    """The hub's address as people reach it: ``[public] url``, else this request's host."""
    configured = runtime.settings.public_url.strip()
    return (configured or request.host_url).rstrip("/")


def scope_label(text: str) -> str:
    """A stored scope as the list shows it: the kind in words and its value."""
    kind, _sep, value = text.partition(":")
    return f"{kind_name(kind)}: {value}" if value else kind_name(kind)


@dataclass(frozen=True, slots=True)
class FeedForm:
    kind: str = "audience"
    value: str = ""
    name: str = ""
    error: str = ""
    hint: str = ""


def _page(
    form: FeedForm, created: CreatedFeed | None = None, status: int = 200
) -> ResponseReturnValue:
    runtime = current_runtime()
    show_all = request.args.get("all") == "1"
    feeds = runtime.feeds.query(include_revoked=show_all)
    calendars = [c for c in runtime.settings.calendars if not c.archived]
    qr = qr_svg(created.address.webcal) if created is not None else ""
    return (
        render_template(
            "feeds.html",
            feeds=feeds,
            form=form,
            created=created,
            qr=qr,
            kinds=KINDS,
            bare_kinds=BARE_KINDS,
            kind_name=kind_name,
            scope_label=scope_label,
            calendars=calendars,
            groups=sorted(runtime.settings.groups),
            show_all=show_all,
        ),
        status,
    )


@bp.get("/feeds")
@page_coordinator_required
def index() -> ResponseReturnValue:
    return _page(FeedForm())


def scope_text(kind: str, value: str) -> str:
    """``--scope`` as the form gives it; ``UserError`` for a kind that is not one."""
    if kind not in KINDS:
        raise UserError(
            "Нет такого вида ленты. / There is no such kind of feed.",
            hint="Выберите вид из списка. / Choose a kind from the list.",
        )
    if kind in BARE_KINDS:
        return kind
    if not value:
        raise UserError(
            "Укажите календарь, класс или группу. / Name a calendar, class or group.",
            hint="Например: 10А, 8-9 или bfu. / For example: 10А, 8-9 or bfu.",
        )
    return f"{kind}:{value}"


@bp.post("/feeds")
@page_coordinator_required
def create() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    kind = request.form.get("kind", "").strip()[:40]
    value = request.form.get("value", "").strip()
    name = request.form.get("name", "").strip()
    form = FeedForm(kind=kind, value=value[:MAX_VALUE], name=name[:MAX_NAME])
    try:
        if len(value) > MAX_VALUE or len(name) > MAX_NAME:
            raise UserError(
                "Слишком длинный текст. / The text is too long.",
                hint=f"Не больше {MAX_NAME} знаков. / At most {MAX_NAME} characters.",
            )
        text = scope_text(kind, value)
        created = create_feed(
            runtime, text, name, account.login, base_url(runtime), origin=web_origin()
        )
    except UserError as exc:
        return _page(FeedForm(form.kind, form.value, form.name, exc.message, exc.hint), status=400)
    logger.info("Feed %d (%s) created by %s", created.token.id, created.token.scope, account.login)
    return _page(FeedForm(), created)


@bp.post("/feeds/<int:token_id>/revoke")
@page_coordinator_required
def revoke(token_id: int) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    if current_runtime().feeds.revoke(token_id, account.login, origin=web_origin()):
        logger.info("Feed %d revoked by %s", token_id, account.login)
        flash(_("The feed is revoked: its address opens nothing any more."), "ok")
    else:
        flash(_("There is no active feed with this number."), "error")
    return redirect(url_for("feeds.index"), code=303)
