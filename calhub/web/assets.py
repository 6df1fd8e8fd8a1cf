"""The web pages' static files, read into memory once per process, and FullCalendar's state.

A running hub never reads ``static/`` again after start-up: ``pip install .`` over a running
hub first removes the package's files and then writes the new ones, and a server that read
them per request answered 404s and 500s in between (or served another version's files).

FullCalendar comes from npm at build time, not from the repo: ``build_backend`` puts it in
``static/vendor/fullcalendar/`` when the package is built or installed. A build without it
leaves ``static/vendor/fullcalendar.missing`` instead, whose first line says why
(``npm-missing``, ``skipped`` or ``failed``); the plan then shows its server-rendered list
with a note where the month and week grid would be, and ``calhub serve`` warns at start.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flask import Flask, abort, send_file
from flask.typing import ResponseReturnValue

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
VENDOR = STATIC / "vendor"
FULLCALENDAR = VENDOR / "fullcalendar"
FULLCALENDAR_FILES = ("index.global.min.js", "locales/ru.global.min.js")
# Written by build_backend when it could not vendor FullCalendar; read here, never served.
MISSING_NOTE = VENDOR / "fullcalendar.missing"
MISSING_REASONS = ("npm-missing", "skipped", "failed")
# Chart.js, the reports' charts, vendored the same way (static/vendor/chartjs.missing).
CHARTJS = VENDOR / "chartjs"
CHARTJS_FILE = "chart.umd.min.js"
CHARTJS_MISSING_NOTE = VENDOR / "chartjs.missing"


@dataclass(frozen=True)
class StaticFile:
    data: bytes
    mimetype: str
    etag: str
    modified: dt.datetime


@dataclass(frozen=True)
class StaticFiles:
    """Every file under ``root``, by its POSIX path relative to ``root``."""

    root: Path
    files: Mapping[str, StaticFile]

    def get(self, name: str) -> StaticFile | None:
        return self.files.get(name)

    def at(self, path: Path) -> StaticFile | None:
        """The file loaded from ``path`` (an absolute path under ``root``), if any."""
        try:
            name = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return self.files.get(name)


def read_static(root: Path) -> StaticFiles:
    files: dict[str, StaticFile] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path in (MISSING_NOTE, CHARTJS_MISSING_NOTE):
            continue
        data = path.read_bytes()
        name = path.relative_to(root).as_posix()
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files[name] = StaticFile(
            data=data,
            mimetype=mimetype,
            # From the content: a reinstall of the same file keeps its ETag, so browsers
            # revalidate with a 304 instead of fetching it again.
            etag=hashlib.sha256(data).hexdigest()[:32],
            modified=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0),
        )
    logger.debug("Loaded %d static files from %s", len(files), root)
    return StaticFiles(root, files)


@functools.cache
def static_files() -> StaticFiles:
    """The package's static files, read on first use (``init_app``, at start-up)."""
    return read_static(STATIC)


@functools.cache
def missing_reason() -> tuple[str, str]:
    """Why the build left FullCalendar out: ``(code, detail)``, or ``("", "")`` if it did
    not say (an older build, or a checkout that was never built)."""
    try:
        lines = MISSING_NOTE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "", ""
    code = lines[0].strip() if lines else ""
    return (code if code in MISSING_REASONS else "failed"), " ".join(lines[1:]).strip()


def fullcalendar_available() -> bool:
    files = static_files()
    return all(files.at(FULLCALENDAR / name) is not None for name in FULLCALENDAR_FILES)


def chartjs_available() -> bool:
    """Whether the reports page can draw its charts (else it shows the tables, with a note)."""
    return static_files().at(CHARTJS / CHARTJS_FILE) is not None


def fullcalendar_version() -> str:
    version = static_files().at(FULLCALENDAR / "VERSION")
    return version.data.decode("utf-8", "replace").strip() if version is not None else ""


def grid_missing_warning() -> str | None:
    """A start-up warning for the operator when the plan has no month and week grid."""
    if fullcalendar_available():
        return None
    code, detail = missing_reason()
    why_ru, why_en = {
        "npm-missing": ("при установке calhub не нашлась программа npm", "npm was not found"),
        "skipped": ("при установке был задан CALHUB_SKIP_NPM", "CALHUB_SKIP_NPM was set"),
        "failed": ("npm не смог скачать FullCalendar", "npm could not fetch FullCalendar"),
    }.get(code, ("FullCalendar не был скачан при сборке", "FullCalendar was not fetched"))
    detail_text = f" ({detail})" if detail else ""
    return (
        f"Сетка месяца и недели (FullCalendar) не установлена: {why_ru}{detail_text}; "
        "план показывается списком. Установите npm (apt-get install npm) и переустановите "
        "calhub (.venv/bin/pip install .). / "
        f"The month and week grid (FullCalendar) is not installed: {why_en} when calhub was "
        "installed; the plan shows a list. Install npm (apt-get install npm) and reinstall "
        "calhub (.venv/bin/pip install .)."
    )


@functools.cache
def charts_missing_reason() -> str:
    """Why the build left Chart.js out (``npm-missing``, ``skipped``, ``failed``, or "")."""
    try:
        lines = CHARTJS_MISSING_NOTE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    code = lines[0].strip() if lines else ""
    return code if code in MISSING_REASONS else "failed"


def charts_missing_warning() -> str | None:
    """A start-up warning for the operator when the reports page has no charts."""
    if chartjs_available():
        return None
    why_ru, why_en = {
        "npm-missing": ("при установке calhub не нашлась программа npm", "npm was not found"),
        "skipped": ("при установке был задан CALHUB_SKIP_NPM", "CALHUB_SKIP_NPM was set"),
        "failed": ("npm не смог скачать Chart.js", "npm could not fetch Chart.js"),
    }.get(charts_missing_reason(), ("Chart.js не скачан при сборке", "Chart.js was not fetched"))
    return (
        f"Графики отчётов (Chart.js) не установлены: {why_ru}; отчёты показываются "
        "таблицами. Установите npm (apt-get install npm) и переустановите calhub. / "
        f"The reports' charts (Chart.js) are not installed: {why_en} when calhub was "
        "installed; the reports show tables. Install npm (apt-get install npm) and reinstall "
        "calhub."
    )


def send_static(filename: str) -> ResponseReturnValue:
    file = static_files().get(filename)
    if file is None:
        abort(404)
    # max_age stays Flask's default for static files (SEND_FILE_MAX_AGE_DEFAULT).
    return send_file(
        io.BytesIO(file.data),
        mimetype=file.mimetype,
        download_name=PurePosixPath(filename).name,
        conditional=True,
        etag=file.etag,
        last_modified=file.modified,
    )


def init_app(app: Flask) -> None:
    """Serve ``/static/`` from memory (the app is made with ``static_folder=None``)."""
    static_files()
    missing_reason()
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=send_static)
