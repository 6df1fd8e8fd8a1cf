"""Feedback pages: the anonymous form an event's link opens (``/f/<token>``), the
coordinator's moderation and the partners' view of their ratings (``/feedback/``), and the
partners' term survey (``/feedback/surveys``, answered at ``/survey/<token>``).

The form needs no account. It is CSRF-checked like every form (its page starts a session
with the token), and a device cookie (``calhub_device``: a signed random id, nothing else)
makes one answer per device per occurrence; a second answer from the same device is
refused with 409 (the first stands: an answer counted once cannot be swapped in later by
whoever picks the phone up). What is stored is described in :mod:`calhub.store.feedback`.

Refusals: an unknown or forged link, a cancelled or removed event 404; before the event
starts 403; after ``[feedback] window_days`` 410; too many answers from one address 429;
the honeypot or too quick a submit 400 with the form as it was typed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, format_time
from flask_babel import gettext as _

from calhub.errors import UserError
from calhub.feedback.answers import STAMP_FIELD, check_form
from calhub.feedback.links import DEVICE_COOKIE, DEVICE_COOKIE_DAYS, LinkTarget, feedback_keys
from calhub.feedback.scores import Summary, summarize
from calhub.feedback.spam import HONEYPOT_FIELD, RateLimiter
from calhub.feedback.survey import read_answers, send_surveys
from calhub.feedback.window import Window, find_window
from calhub.store.feedback import AlreadyAnswered, FeedbackEntry, check_term
from calhub.web import events
from calhub.web.auth import (
    current_account,
    error_page,
    page_coordinator_required,
    page_login_required,
)
from calhub.web.context import current_hub, current_runtime
from calhub.web.feeds import base_url
from calhub.web.security import request_is_https

if TYPE_CHECKING:
    from flask import Response

    from calhub.engine import Occurrence
    from calhub.feedback.links import FeedbackKeys
    from calhub.hub.accounts import Account

logger = logging.getLogger(__name__)

bp = Blueprint("feedback", __name__)

LIMITER_KEY = "calhub_feedback_limiter"
KEYS_KEY = "calhub_feedback_keys"
MAX_LISTED = 5000


def init_app(app: Any) -> None:
    """The per-address limit of this app (in memory: see calhub.feedback.spam)."""
    app.extensions[LIMITER_KEY] = RateLimiter()


def _keys() -> FeedbackKeys:
    keys: FeedbackKeys | None = current_app.extensions.get(KEYS_KEY)
    if keys is None:
        keys = feedback_keys(current_hub())
        current_app.extensions[KEYS_KEY] = keys
    return keys


def _limiter() -> RateLimiter:
    limiter: RateLimiter = current_app.extensions[LIMITER_KEY]
    return limiter


# -- the form ---------------------------------------------------------------------------


def _refusal(window: Window) -> ResponseReturnValue:
    occurrence = window.occurrence
    if window.refusal == "early" and occurrence is not None:
        message = _(
            "Feedback on this event opens when it starts: %(when)s.",
            when=_when(occurrence),
        )
        return error_page(403, message)
    if window.refusal == "closed":
        return error_page(
            410,
            _(
                "Feedback on this event closed %(days)d days after it ended. Thank you for "
                "wanting to answer!",
                days=current_runtime().settings.feedback.window_days,
            ),
        )
    return error_page(
        404, _("This feedback link is not known: the event may have been cancelled or removed.")
    )


def _when(occurrence: Occurrence) -> str:
    start = format_datetime(occurrence.start, "EEE d MMM y, HH:mm")
    return f"{start}–{format_time(occurrence.end, 'HH:mm')}"


def _device() -> tuple[str, str | None]:
    """This browser's device id, and a new cookie value to set when it had none."""
    keys = _keys()
    device = keys.device_of(request.cookies.get(DEVICE_COOKIE))
    if device is not None:
        return device, None
    device, cookie = keys.new_device()
    return device, cookie


def _set_device(response: Response, cookie: str | None) -> Response:
    if cookie is not None:
        response.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=DEVICE_COOKIE_DAYS * 86_400,
            httponly=True,
            samesite="Lax",
            secure=request_is_https(request),
            path="/f/",
        )
    return response


def _problem_text(key: str) -> str:
    max_chars = current_runtime().settings.feedback.max_comment_chars
    texts = {
        "rating": _("Choose a rating from 1 to 5."),
        "recommend": _("Answer yes or no, or leave it out."),
        "comment:long": _("The comment is longer than %(count)d characters.", count=max_chars),
        "bot:honeypot": _("This answer looks automated. Check it and send it again."),
        "bot:quick": _("That was very quick. Check your answer and send it again."),
        "bot:stamp": _("This form has expired. Check your answer and send it again."),
        "cookie": _(
            "Your browser did not keep this site's cookie, which lets each device answer "
            "once. Allow cookies for this site and send the answer again."
        ),
    }
    return str(texts.get(key, key))


def _form_page(
    token: str,
    window: Window,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
    cookie: str | None = None,
) -> ResponseReturnValue:
    occurrence = window.occurrence
    assert occurrence is not None
    runtime = current_runtime()
    calendar = runtime.settings.calendar(occurrence.calendar)
    # The form posts to its occurrence's own link: an answer begun before the series' next
    # occurrence starts still rates the one the page showed.
    pinned = LinkTarget(occurrence.calendar, occurrence.uid, occurrence.recurrence_id)
    page = render_template(
        "feedback_form.html",
        token=_keys().token(pinned),
        occurrence=occurrence,
        when=_when(occurrence),
        partner=calendar.name if calendar is not None else occurrence.calendar,
        values=values or {},
        problems={k: _problem_text(v) for k, v in (problems or {}).items()},
        stamp=_keys().form_stamp(),
        stamp_field=STAMP_FIELD,
        honeypot=HONEYPOT_FIELD,
        max_comment=runtime.settings.feedback.max_comment_chars,
        closes=window.closes,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key to the form
    return _set_device(response, cookie)


def _done(status: int, message: str, cookie: str | None = None) -> ResponseReturnValue:
    response = make_response(render_template("feedback_done.html", message=message), status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return _set_device(response, cookie)


@bp.route("/f/<token>", methods=["GET", "POST"])
def form(token: str) -> ResponseReturnValue:
    runtime = current_runtime()
    target = _keys().target(token)
    if target is None:
        return _refusal(Window(None, "unknown"))
    window = find_window(runtime, target)
    if not window.open:
        return _refusal(window)
    occurrence = window.occurrence
    assert occurrence is not None
    device, cookie = _device()
    device_key = _keys().device_key(device, occurrence.calendar, occurrence.uid, occurrence.start)
    if runtime.feedback.answered(device_key):
        return _done(
            409, _("You have already answered for this event from this device. Thank you!")
        )
    if request.method == "GET":
        return _form_page(token, window, cookie=cookie)
    feedback = runtime.settings.feedback
    # Every post counts, bots' too: the limit is what keeps a script from filling the
    # coordinator's list, whatever the checks below would say.
    if not _limiter().allow(request.remote_addr or "-", feedback.answers_per_hour):
        response = make_response(
            render_template(
                "error.html",
                status=429,
                message=_("Too many answers from your network in the last hour. Try again later."),
            ),
            429,
        )
        response.headers["Retry-After"] = "3600"
        return response
    values = {k: request.form.get(k, "") for k in ("rating", "recommend", "comment")}
    if cookie is not None:
        # A post without the cookie the form page set: this browser keeps no cookie for
        # the site, and one answer per device cannot be kept. Nothing typed is lost.
        problems = {"form": "cookie"}
        return _form_page(token, window, values, problems, status=400, cookie=cookie)
    checked = check_form(request.form.to_dict(), occurrence, device, _keys(), feedback)
    if checked.bot:
        logger.info("Feedback form refused as automated (%s)", checked.problems.get("form"))
        return _form_page(token, window, values, dict(checked.problems), status=400)
    if checked.answer is None:
        return _form_page(token, window, values, dict(checked.problems), status=400)
    try:
        runtime.feedback.add(checked.answer)
    except AlreadyAnswered:
        return _done(
            409, _("You have already answered for this event from this device. Thank you!")
        )
    if checked.answer.comment:
        message = _("Thank you! Your comment will be shown once the coordinator has read it.")
    else:
        message = _("Thank you for your answer!")
    return _done(200, message)


# -- the dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    calendar: str
    uid: str
    occurrence: dt.datetime
    title: str
    summary: Summary
    comments: tuple[FeedbackEntry, ...]


def _titles(entries: list[FeedbackEntry]) -> dict[tuple[str, str], str]:
    index = current_runtime().index
    titles: dict[tuple[str, str], str] = {}
    for entry in entries:
        key = (entry.calendar, entry.uid)
        if key not in titles:
            found = index.occurrences_of(entry.calendar, entry.uid)
            titles[key] = found[0].summary if found else entry.uid
    return titles


def _rows(account: Account, entries: list[FeedbackEntry]) -> list[EventRow]:
    policy = current_runtime().policy
    groups: dict[tuple[str, str, dt.datetime], list[FeedbackEntry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.calendar, entry.uid, entry.occurrence)].append(entry)
    titles = _titles(entries)
    rows = []
    for (calendar, uid, occurrence), items in groups.items():
        comments = tuple(
            e for e in items if e.comment and policy.may_see_comment(account, calendar, e.status)
        )
        rows.append(
            EventRow(
                calendar,
                uid,
                occurrence,
                titles[(calendar, uid)],
                summarize(e.answer for e in items),
                comments,
            )
        )
    rows.sort(key=lambda r: r.occurrence, reverse=True)
    return rows


@bp.get("/feedback/")
@page_login_required
def index() -> ResponseReturnValue:
    runtime = current_runtime()
    account = current_account()
    assert account is not None
    scope = runtime.policy.feedback_scope(account)
    first, last, error = _range()
    zone = events.zone(current_hub())
    entries = runtime.feedback.entries(
        start=None if first is None else dt.datetime.combine(first, dt.time(), zone),
        end=None if last is None else dt.datetime.combine(last + dt.timedelta(1), dt.time(), zone),
        calendars=None if scope is None else [scope],
        limit=MAX_LISTED,
    )
    moderator = runtime.policy.may_moderate_feedback(account)
    pending = runtime.feedback.pending() if moderator else []
    page = render_template(
        "feedback.html",
        first=request.args.get("from", ""),
        last=request.args.get("to", ""),
        range_error=error,
        rows=_rows(account, entries),
        overall=summarize(e.answer for e in entries),
        pending=pending,
        titles=_titles(pending),
        moderator=moderator,
        surveys=runtime.policy.may_run_surveys(account),
        calendars=runtime.policy.readable_calendars(),
        window_days=runtime.settings.feedback.window_days,
    )
    return page, 400 if error else 200


def _range() -> tuple[dt.date | None, dt.date | None, str]:
    """The days ``?from=`` and ``?to=`` (both included), and what is wrong with them."""
    days: list[dt.date | None] = []
    for name in ("from", "to"):
        text = request.args.get(name, "").strip()
        if not text:
            days.append(None)
            continue
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            return None, None, _("%(value)s is not a date: use YYYY-MM-DD.", value=text)
    first, last = days
    if first is not None and last is not None and last < first:
        return None, None, _("The range ends before it starts.")
    return first, last, ""


@bp.post("/feedback/<int:answer_id>/moderate")
@page_coordinator_required
def moderate(answer_id: int) -> ResponseReturnValue:
    runtime = current_runtime()
    account = current_account()
    assert account is not None
    action = request.form.get("action", "")
    status = {"approve": "approved", "hide": "hidden"}.get(action)
    if status is None:
        return error_page(400, _("Choose approve or hide."))
    entry = runtime.feedback.get(answer_id)
    if entry is None or not entry.comment:
        abort(404)
    runtime.feedback.moderate(answer_id, status, account.login)
    if status == "approved":
        flash(_("The comment is approved: the partner sees it now."), "ok")
    else:
        flash(_("The comment is hidden: no partner sees it."), "ok")
    return redirect(url_for("feedback.index") + "#moderation", code=303)


# -- the partners' term survey --------------------------------------------------------


def _surveys_page(
    term: str = "", sent: list[Any] | None = None, error: str = "", status: int = 200
) -> ResponseReturnValue:
    runtime = current_runtime()
    terms = runtime.feedback.terms()
    shown = term or (terms[0] if terms else "")
    surveys = runtime.feedback.surveys(shown) if shown else []
    return (
        render_template(
            "surveys.html",
            term=shown,
            terms=terms,
            surveys=surveys,
            sent=sent or [],
            error=error,
            questions=runtime.settings.feedback.questions,
            calendars=runtime.policy.readable_calendars(),
        ),
        status,
    )


@bp.get("/feedback/surveys")
@page_coordinator_required
def surveys() -> ResponseReturnValue:
    return _surveys_page(request.args.get("term", "").strip())


@bp.post("/feedback/surveys")
@page_coordinator_required
def send() -> ResponseReturnValue:
    runtime = current_runtime()
    account = current_account()
    assert account is not None
    term = request.form.get("term", "")
    try:
        term = check_term(term)
        sent = send_surveys(runtime, term, base_url(runtime), account.login)
    except UserError as exc:
        return _surveys_page(error=exc.message, status=400)
    return _surveys_page(term, sent)


def _question_text(question: dict[str, str]) -> str:
    from calhub.web.i18n import language

    if language() == "en" and question.get("en"):
        return question["en"]
    return question.get("ru", question.get("id", ""))


@bp.route("/survey/<token>", methods=["GET", "POST"])
def survey(token: str) -> ResponseReturnValue:
    runtime = current_runtime()
    found = runtime.feedback.survey_by_token(token)
    if found is None:
        return error_page(
            404, _("This survey link is not known: a newer link may have been sent to you.")
        )
    calendar = runtime.settings.calendar(found.partner)
    questions = [dict(q) for q in found.questions]
    values = {f"q_{k}": str(v) for k, v in (found.answers or {}).items()}
    problems: dict[str, str] = {}
    status = 200
    thanks = False
    if request.method == "POST":
        values = {f"q_{q['id']}": request.form.get(f"q_{q['id']}", "") for q in questions}
        answers, found_problems = read_answers(questions, request.form.to_dict())
        texts = {
            "rating": _("Choose a rating from 1 to 5."),
            "long": _("This answer is too long."),
            "empty": _("Answer at least one question."),
        }
        problems = {k: texts[v] for k, v in found_problems.items()}
        if problems:
            status = 400
        else:
            runtime.feedback.answer_survey(found.id, answers)
            logger.info("Survey of %s for %s answered", found.partner, found.term)
            thanks = True
    response = make_response(
        render_template(
            "survey_form.html",
            survey=found,
            partner=calendar.name if calendar is not None else found.partner,
            questions=questions,
            question_text=_question_text,
            values=values,
            problems=problems,
            thanks=thanks,
        ),
        status,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def pending_count(account: Account | None) -> int:
    """Comments waiting for the coordinator (the navigation's badge)."""
    runtime = current_runtime()
    if not runtime.policy.may_moderate_feedback(account):
        return 0
    return runtime.feedback.count_pending()
