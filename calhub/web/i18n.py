"""Languages: Russian first, English second, through Flask-Babel.

The language is the one chosen with the switcher (kept in the session and a cookie, so it
outlives signing out), else the best match of Accept-Language, else Russian. Dates and
times are shown in the hub's time zone, formatted for the language.

Catalogs live in ``translations/<lang>/LC_MESSAGES/messages.po``. The build step compiles
them to ``.mo``; a checkout that was never built compiles them here at start-up (into a
temporary directory when the package directory is read-only). They are then read into
memory once (``CatalogDomain``): Flask-Babel would read a language's catalog at its first
request, and ``pip install .`` over a running hub may have removed it by then.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
from pathlib import Path
from typing import Any

from babel import Locale, support
from flask import Blueprint, Flask, abort, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, Domain, get_locale

from calhub.web.context import current_hub
from calhub.web.security import request_is_https

logger = logging.getLogger(__name__)

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANG_COOKIE = "calhub_lang"
TRANSLATIONS = Path(__file__).with_name("translations")

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = session.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or "ru"


def select_timezone() -> str:
    return current_hub().settings.timezone


def language() -> str:
    """The language of this request: ``"ru"`` or ``"en"``."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "ru"


def _compiled(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def compiled_translations(source: Path = TRANSLATIONS) -> Path:
    """A directory whose ``.mo`` catalogs match the ``.po`` sources: ``source`` itself when
    they are there already (built at install time) or can be written there, else a
    temporary copy (a read-only checkout)."""
    catalogs = {po: _compiled(po) for po in source.glob("*/LC_MESSAGES/*.po")}
    stale = {
        po: data
        for po, data in catalogs.items()
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").read_bytes() != data
    }
    if not stale:
        return source
    try:
        for po, data in stale.items():
            po.with_suffix(".mo").write_bytes(data)
        return source
    except OSError as exc:
        logger.info("Cannot write catalogs next to %s (%s); using a temporary copy", source, exc)
    target = Path(tempfile.mkdtemp(prefix="calhub-translations-"))
    for po, data in catalogs.items():
        mo = (target / po.relative_to(source)).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(data)
    return target


def load_catalogs(directory: Path) -> dict[str, support.Translations]:
    """The compiled catalog of every language in ``directory``, read into memory."""
    catalogs: dict[str, support.Translations] = {}
    for language in LANGUAGES:
        mo = directory / language / "LC_MESSAGES" / "messages.mo"
        try:
            with mo.open("rb") as handle:
                catalogs[language] = support.Translations(handle)
        except OSError as exc:
            # Only the default language, Russian, needs a catalog: the source texts are English.
            log = logger.warning if language == DEFAULT_LANGUAGE else logger.info
            log("No message catalog for %s (%s); its pages show the source texts", language, exc)
    return catalogs


class CatalogDomain(Domain):
    """Flask-Babel's message domain, answering from catalogs read once at start-up."""

    def __init__(self, catalogs: dict[str, support.Translations]) -> None:
        super().__init__(domain="messages")
        self.catalogs = catalogs

    def get_translations(self) -> support.NullTranslations:
        locale = get_locale()
        found = self.catalogs.get(locale.language) if locale is not None else None
        return found if found is not None else support.NullTranslations()


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    directory = compiled_translations()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    babel = Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    babel.domain_instance = CatalogDomain(load_catalogs(directory))
    for language in LANGUAGES:
        # Babel reads a locale's data (month names, formats) on first use: read it now too.
        Locale.parse(language).datetime_formats  # noqa: B018 - loading is the point
    app.register_blueprint(bp)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    from calhub.web.redirects import same_site_path

    return same_site_path(target)


@bp.post("/lang")
def set_language() -> ResponseReturnValue:
    chosen = request.form.get("lang", "")
    if chosen not in LANGUAGES:
        abort(400)
    session["lang"] = chosen
    response = redirect(safe_next(request.form.get("next")) or "/", code=303)
    response.set_cookie(
        LANG_COOKIE,
        chosen,
        max_age=int(dt.timedelta(days=365).total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=request_is_https(request),
    )
    return response


def template_globals() -> dict[str, Any]:
    return {"languages": LANGUAGES, "language": language}
