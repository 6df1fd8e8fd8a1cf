"""``/reports``: the report on the work with partners, for a term or any range (issue 20).

The coordinator sees every partner's row, a partner its own (``Policy.report_scope``): its
events, clashes and ratings, per grade too. A range picker (the halves of the school year,
or any two days), a table per partner and per grade, the school-wide figures, and charts
drawn by Chart.js (``static/reports.js``) from the report's JSON in a data block (no inline
script: the CSP allows only the hub's own files). Without Chart.js (npm missing when calhub
was built) the page shows the tables and says why the charts are missing.

``/reports/export?format=xlsx|pdf|json`` sends the same report as a file
(:mod:`calhub.exchange.report_files`, shared with ``calhub report``).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import time
import zoneinfo
from typing import Any

from flask import Blueprint, current_app, render_template, request, send_file
from flask.typing import ResponseReturnValue

from calhub.errors import UserError
from calhub.exchange.report_files import REPORT_FORMATS, report_file
from calhub.reports.collect import ObjectMemo, make_report
from calhub.reports.model import Report
from calhub.reports.ranges import presets, read_range
from calhub.reports.ratings import ratings_of
from calhub.web import assets
from calhub.web.auth import current_account, error_page, page_login_required
from calhub.web.context import current_runtime
from calhub.web.storage import app_storage

logger = logging.getLogger(__name__)

bp = Blueprint("reports", __name__)

CACHE_KEY = "calhub_reports"
MEMO_KEY = "calhub_report_objects"
CACHE_SECONDS = 300


def _today() -> dt.date:
    zone = zoneinfo.ZoneInfo(current_runtime().settings.timezone)
    return dt.datetime.now(zone).date()


def _report() -> Report:
    """The report the query asks for and the account may see (UserError on bad input),
    made again only when the stores changed or the minutes moved on (see ReportCache)."""
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    args = request.args
    first, last = read_range(args.get("from"), args.get("to"), _today(), args.get("preset") or None)
    partner = args.get("partner") or None
    ratings = ratings_of(runtime)
    scope = runtime.policy.report_scope(account) or partner
    key = (
        runtime.index.state(),
        runtime.records.state(),
        ratings.state(),
        first,
        last,
        scope,
        int(time.time() // CACHE_SECONDS),
    )
    cache: ReportCache = current_app.extensions.setdefault(CACHE_KEY, ReportCache())
    found = cache.get(key, runtime.settings)
    if found is not None:
        return found
    made = make_report(
        runtime,
        app_storage(runtime.hub),
        first,
        last,
        ratings,
        account=account,
        partner=partner,
        memo=current_app.extensions.setdefault(MEMO_KEY, ObjectMemo()),
    )
    cache.put(key, runtime.settings, made)
    return made


class ReportCache:
    """Reports made, by what they were made of: the index's and the records' versions, the
    ratings source's (when it has one), the range, the scope and the five minutes they
    fall in (held and planned move with the clock). A page view and its downloads then
    read the storage once; a write anywhere makes a new report."""

    def __init__(self, size: int = 32) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._kept: dict[tuple[object, ...], tuple[object, Report]] = {}

    def get(self, key: tuple[object, ...], settings: object) -> Report | None:
        with self._lock:
            found = self._kept.get(key)
        if found is None or found[0] is not settings:
            return None
        return found[1]

    def put(self, key: tuple[object, ...], settings: object, report: Report) -> None:
        with self._lock:
            if len(self._kept) >= self._size:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (settings, report)


CHART_LABEL = 16


def _short(name: str) -> str:
    return name if len(name) <= CHART_LABEL else name[: CHART_LABEL - 1].rstrip() + "…"


def chart_data(report: Report) -> dict[str, Any]:
    """What the charts draw: per partner events, hours and clashes; per grade events."""
    return {
        # Short labels: a long name turns the axis text on its side and shrinks the bars.
        "partners": [_short(row.name) for row in report.partners],
        "events": [row.events for row in report.partners],
        "hours": [row.hours for row in report.partners],
        "clashes": [row.clashes.found for row in report.partners],
        "open": [row.clashes.open for row in report.partners],
        "grades": [str(row.grade) for row in report.grades],
        "grade_events": [row.events for row in report.grades],
        "grade_hours": [row.hours for row in report.grades],
    }


@bp.get("/reports")
@page_login_required
def index() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    runtime = current_runtime()
    try:
        report = _report()
    except UserError as error:
        message = error.message + (f" {error.hint}" if error.hint else "")
        return error_page(400, message)
    chosen = request.args.get("preset", "")
    known = presets(_today())
    if not chosen and not request.args.get("from"):
        shown = (report.first, report.last)
        chosen = next((p.key for p in known if (p.first, p.last) == shown), "")
    partners = (
        [c for c in runtime.settings.calendars if c.role != "blackout" and not c.archived]
        if runtime.policy.report_scope(account) is None
        else []
    )
    query = {"from": report.first.isoformat(), "to": report.last.isoformat()}
    if report.scope and partners:
        query["partner"] = report.scope
    return render_template(
        "reports.html",
        report=report,
        presets=known,
        chosen=chosen,
        partners=partners,
        query=query,
        charts_available=assets.chartjs_available(),
        chart_data=chart_data(report),
    )


@bp.get("/reports/export")
@page_login_required
def download() -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    file_format = request.args.get("format", "")
    try:
        if file_format not in REPORT_FORMATS:
            raise UserError(
                f"Неизвестный формат отчёта «{file_format}». / Unknown report format "
                f"{file_format!r}.",
                f"Форматы: {', '.join(REPORT_FORMATS)}. / Formats: {', '.join(REPORT_FORMATS)}.",
            )
        made = report_file(_report(), file_format)
    except UserError as error:
        message = error.message + (f" {error.hint}" if error.hint else "")
        return error_page(400, message)
    logger.info("Report %s for %s", made.filename, account.login)
    response = send_file(
        io.BytesIO(made.body),
        mimetype=made.mime,
        as_attachment=True,
        download_name=made.filename,
        max_age=0,
    )
    # One account's view: never kept by a shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response
