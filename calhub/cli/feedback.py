"""``calhub feedback link|list`` and ``calhub survey send|list``: feedback on events and the
partners' term survey from the command line (docs/feedback.md).

``feedback link`` prints the address of an event's feedback form (and writes its QR code
as PNG or SVG for a poster); ``feedback list`` shows the answers; ``survey send`` makes a
link per partner for a term, e-mails it through the outbox where the partner has an
address, and prints every link to pass on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import zoneinfo
from pathlib import Path

from calhub.cli.common import runtime_of
from calhub.errors import UserError
from calhub.feedback.links import LinkTarget, feedback_keys, form_url
from calhub.feedback.scores import summarize
from calhub.feedback.survey import send_surveys
from calhub.feedback.window import find_window, occurrences, pick_occurrence
from calhub.feeds.tokens import FALLBACK_BASE_URL
from calhub.runtime import Runtime
from calhub.store.feedback import PENDING, STATUSES

SENT_BY = "cli"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="feedback on events: form links and QR codes, the answers",
        description="Отзывы о мероприятиях / Feedback on events: links to the anonymous form "
        "(/f/<link>), QR codes, the answers.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    link = actions.add_parser(
        "link", parents=[common], help="print the feedback link of an event (and its QR code)"
    )
    link.add_argument("uid", metavar="EVENT-UID", help="the event's UID (see the plan or the API)")
    link.add_argument("--calendar", metavar="ID", help="the calendar, when the UID is in several")
    link.add_argument(
        "--occurrence",
        metavar="DATE",
        help="one occurrence of a series, by its date (YYYY-MM-DD); default: a link that "
        "always rates the latest occurrence that has started",
    )
    link.add_argument("--qr", metavar="FILE", help="also write the QR code to FILE (.png or .svg)")
    link.add_argument("--url", metavar="BASE", help="the hub's address (default: [public] url)")
    link.add_argument("--json", action="store_true", help="print one JSON object")
    link.set_defaults(handler=run_link)

    listing = actions.add_parser("list", parents=[common], help="list the answers")
    listing.add_argument(
        "--status",
        choices=("pending", "all", *STATUSES),
        default="all",
        help="pending: comments waiting for the coordinator",
    )
    listing.add_argument("--from", dest="first", metavar="DATE", help="occurrences from DATE")
    listing.add_argument("--to", dest="last", metavar="DATE", help="occurrences up to DATE")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=run_list)

    survey = subparsers.add_parser(
        "survey",
        help="the partners' term survey: send links, read the answers",
        description="Опрос партнёров за триместр / The partners' term survey.",
    )
    survey_actions = survey.add_subparsers(dest="action", metavar="ACTION", required=True)
    send = survey_actions.add_parser(
        "send", parents=[common], help="make a link per partner for a term and e-mail it"
    )
    send.add_argument("--term", required=True, help="the term's name, e.g. 2026-27-2")
    send.add_argument(
        "--partner", action="append", metavar="ID", help="only this partner (repeatable)"
    )
    send.add_argument("--url", metavar="BASE", help="the hub's address (default: [public] url)")
    send.add_argument("--json", action="store_true", help="print a JSON array")
    send.set_defaults(handler=run_send)
    answers = survey_actions.add_parser("list", parents=[common], help="the answers of a term")
    answers.add_argument("--term", help="the term (default: every term)")
    answers.add_argument("--json", action="store_true", help="print a JSON array")
    answers.set_defaults(handler=run_survey_list)


def _base_url(runtime: Runtime, given: str | None) -> str:
    base = (given if given is not None else runtime.settings.public_url).rstrip("/")
    if base:
        return base
    print(
        f"calhub: внимание: адрес хаба не задан, ссылки начинаются с {FALLBACK_BASE_URL}; "
        "задайте [public] url в calhub.toml или --url / "
        f"warning: the hub's address is not set, links start with {FALLBACK_BASE_URL}; "
        "set [public] url in calhub.toml or pass --url",
        file=sys.stderr,
    )
    return FALLBACK_BASE_URL


def _day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{option} {text!r} — не дата / is not a date.", hint="Пример / e.g. 2026-11-24"
        ) from None


def _calendar_of(runtime: Runtime, uid: str, wanted: str | None) -> str:
    calendars = [c.id for c in runtime.settings.calendars if not c.archived]
    if wanted is not None:
        if wanted not in calendars:
            raise UserError(
                f"Календаря {wanted!r} нет / There is no calendar {wanted!r}.",
                hint="Календари / Calendars: " + ", ".join(calendars),
            )
        calendars = [wanted]
    found = [c for c in calendars if occurrences(runtime, c, uid)]
    if not found:
        raise UserError(
            f"События {uid!r} нет (или оно отменено) / There is no event {uid!r} "
            "(or it was cancelled).",
            hint="UID события виден на странице события и в /api/events / "
            "the event's page and /api/events show its UID",
        )
    if len(found) > 1:
        raise UserError(
            f"UID {uid!r} есть в нескольких календарях / is in several calendars: "
            + ", ".join(found),
            hint="Укажите --calendar ID / pass --calendar ID",
        )
    return found[0]


def run_link(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    calendar = _calendar_of(runtime, args.uid, args.calendar)
    rid: str | None = None
    if args.occurrence is not None:
        day = _day(args.occurrence, "--occurrence")
        try:
            rid = pick_occurrence(runtime, calendar, args.uid, day).recurrence_id
        except LookupError:
            raise UserError(
                f"У события {args.uid!r} нет повторения {day} / "
                f"Event {args.uid!r} has no occurrence on {day}.",
                hint="Даты повторений видны в плане / the plan shows its dates",
            ) from None
    base = _base_url(runtime, args.url)
    target = LinkTarget(calendar, args.uid, rid)
    url = form_url(base, feedback_keys(runtime.hub), target)
    window = find_window(runtime, target)
    if args.qr:
        from calhub.feeds.qr import save_qr

        try:
            save_qr(url, Path(args.qr))
        except (ValueError, OSError) as exc:
            raise UserError(
                f"QR-код не записан / The QR code was not written: {exc}",
                hint="Файл .png или .svg в существующей папке / a .png or .svg file in a "
                "folder that exists",
            ) from exc
    occurrence = window.occurrence
    if args.json:
        shown = {
            "calendar": calendar,
            "uid": args.uid,
            "occurrence": None if occurrence is None else occurrence.start.isoformat(),
            "url": url,
            "open": window.open,
            "refusal": window.refusal,
            "qr": args.qr,
        }
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    title = occurrence.summary if occurrence is not None else args.uid
    print(f"Отзыв / Feedback: {title} ({calendar})")
    print(f"  {url}")
    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    if window.refusal == "early" and occurrence is not None:
        when = occurrence.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        print(f"Форма откроется в начале события / The form opens when the event starts: {when}")
    elif window.refusal == "closed":
        print(
            "Приём отзывов уже закрыт / The form has closed "
            f"([feedback] window_days = {runtime.settings.feedback.window_days})"
        )
    elif window.closes is not None:
        closes = window.closes.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        print(f"Форма открыта до / The form is open until {closes}")
    if rid is None and len(occurrences(runtime, calendar, args.uid)) > 1:
        print(
            "Ссылка серии: оценивается последнее начавшееся повторение / A series link: it "
            "rates the latest occurrence that has started."
        )
    if args.qr:
        print(f"QR-код / QR code: {args.qr}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    start = end = None
    if args.first:
        start = dt.datetime.combine(_day(args.first, "--from"), dt.time(), zone)
    if args.last:
        end = dt.datetime.combine(_day(args.last, "--to") + dt.timedelta(days=1), dt.time(), zone)
    statuses = {"all": None, "pending": PENDING}.get(args.status, (args.status,))
    entries = runtime.feedback.entries(start=start, end=end, statuses=statuses)
    titles: dict[tuple[str, str], str] = {}
    for entry in entries:
        key = (entry.calendar, entry.uid)
        if key not in titles:
            found = runtime.index.occurrences_of(*key)
            titles[key] = found[0].summary if found else ""
    if args.json:
        rows = [
            entry.as_json() | {"title": titles[(entry.calendar, entry.uid)]} for entry in entries
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not entries:
        print(
            "Ответов нет / No answers. Ссылка на форму / A form's link: "
            "calhub feedback link EVENT-UID"
        )
        return 0
    print(f"{'ID':>5}  {'DATE':<16} {'CAL':<10} {'★':>1} {'REC':<3} {'STATUS':<8} EVENT / COMMENT")
    for entry in entries:
        when = entry.occurrence.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        recommend = {True: "yes", False: "no", None: "-"}[entry.recommend]
        print(
            f"{entry.id:>5}  {when:<16} {entry.calendar:<10} {entry.rating:>1} {recommend:<3} "
            f"{entry.status:<8} {titles[(entry.calendar, entry.uid)] or entry.uid}"
        )
        if entry.comment:
            print("        " + entry.comment.replace("\n", "\n        "))
    summary = summarize(e.answer for e in entries)
    mean = summary.mean
    loyalty = summary.loyalty
    print(
        f"Ответов / Answers: {summary.answers}; средняя оценка / average: "
        f"{mean:.2f}; индекс лояльности / loyalty score: "
        f"{'-' if loyalty is None else loyalty}"
        if mean is not None
        else f"Ответов / Answers: {summary.answers}"
    )
    return 0


def run_send(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    base = _base_url(runtime, args.url)
    sent = send_surveys(runtime, args.term, base, SENT_BY, args.partner)
    if args.json:
        rows = [
            {"partner": s.partner, "name": s.name, "url": s.url, "emailed_to": s.emailed_to}
            for s in sent
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    term = sent[0].survey.term
    print(f"Опрос за триместр {term} / Term survey {term}:")
    for item in sent:
        print(f"  {item.partner:<10} {item.url}")
        if item.emailed_to:
            print(f"             письмо в очереди / e-mail queued: {item.emailed_to}")
        else:
            print("             адреса нет: передайте ссылку сами / no address: pass the link on")
    print(
        "Ссылки показаны только сейчас; прежние ссылки этого триместра больше не открываются. / "
        "The links are shown only now; earlier links of this term no longer open."
    )
    if any(item.emailed_to for item in sent) and not runtime.settings.notify.smtp.host:
        print(
            "Почта не настроена ([notify.smtp]): письма ждут в calhub outbox. / "
            "E-mail is not set up ([notify.smtp]): the messages wait in calhub outbox."
        )
    return 0


def run_survey_list(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    surveys = runtime.feedback.surveys(args.term)
    if args.json:
        print(json.dumps([s.as_json() for s in surveys], ensure_ascii=False))
        return 0
    if not surveys:
        print("Опросов нет / No surveys. calhub survey send --term 2026-27-2")
        return 0
    for survey in surveys:
        state = "ответил / answered" if survey.answered else "ждём ответа / not answered yet"
        print(f"{survey.term}  {survey.partner}: {state}")
        for question in survey.questions:
            value = (survey.answers or {}).get(question["id"], "-")
            print(f"    {question['ru']}: {value}")
    return 0
