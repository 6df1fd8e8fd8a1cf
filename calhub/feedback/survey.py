"""The partners' term survey: a link per partner, sent by e-mail through the outbox when the
partner's account has an address, and shown to the coordinator to copy either way.

The questions are the school's (``[[feedback.questions]]`` in ``calhub.toml``, in Russian and
English); a survey keeps the questions it was sent with, so answers read next term still
stand beside their questions. The partner answers through its link, without signing in
(the link is its key, kept hashed as feed tokens are); answering again replaces the answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.errors import UserError
from calhub.store.outbox import NewMessage

if TYPE_CHECKING:
    from calhub.hub.settings import CalendarSettings
    from calhub.runtime import Runtime
    from calhub.store.feedback import Survey

SURVEY_PATH = "/survey/"
EMAIL_CHANNEL = "email"
MAX_TEXT_ANSWER = 4000


@dataclass(frozen=True, slots=True)
class SentSurvey:
    partner: str
    name: str
    url: str
    emailed_to: str  # "" when the partner has no address: give it the link yourself
    survey: Survey


def survey_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + SURVEY_PATH + token


def _message(
    partner: CalendarSettings, address: str, language: str, school: str, term: str, url: str
) -> tuple[str, str]:
    if language == "en":
        subject = f"{school}: how was our cooperation this term ({term})?"
        text = (
            f"Hello,\n\n{school} asks {partner.name} for a few minutes' answers about our "
            f"cooperation in term {term}:\n\n{url}\n\nThe link is yours alone; answering "
            "again replaces your answers. Thank you!\n"
        )
    else:
        subject = f"{school}: как прошло наше сотрудничество в триместре {term}?"
        text = (
            f"Здравствуйте!\n\n{school} просит {partner.name} ответить на несколько вопросов "
            f"о нашем сотрудничестве в триместре {term}:\n\n{url}\n\nСсылка только для вас; "
            "ответив ещё раз, вы замените прежние ответы. Спасибо!\n"
        )
    return subject, text


def send_surveys(
    runtime: Runtime,
    term: str,
    base_url: str,
    by: str,
    partners: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[SentSurvey]:
    """A survey link for each active partner (or those named) for ``term``: new links
    (older ones stop opening), e-mailed to partners with an address."""
    settings = runtime.settings
    chosen = [c for c in settings.partners if not c.archived]
    if partners:
        unknown = sorted(set(partners) - {c.id for c in chosen})
        if unknown:
            raise UserError(
                f"Нет такого партнёра / There is no active partner {unknown[0]!r}.",
                hint="Партнёры / Partners: calhub partner list",
            )
        chosen = [c for c in chosen if c.id in set(partners)]
    if not chosen:
        raise UserError(
            "В хабе нет партнёров / The hub has no partners.",
            hint="calhub partner add ID --name NAME",
        )
    questions = [q.as_json() for q in settings.feedback.questions]
    sent: list[SentSurvey] = []
    messages: list[NewMessage] = []
    for calendar in chosen:
        survey, token = runtime.feedback.send_survey(calendar.id, term, questions, by, now)
        url = survey_url(base_url, token)
        account = runtime.hub.accounts.get(calendar.owner)
        address = account.email if account is not None else ""
        if address and account is not None:
            subject, text = _message(
                calendar, address, account.language, settings.school, survey.term, url
            )
            # One message per link made: a survey sent again is a new message.
            key = hashlib.sha256(f"survey:{calendar.id}:{token}".encode()).hexdigest()
            messages.append(
                NewMessage(
                    channel=EMAIL_CHANNEL,
                    recipient=account.login,
                    address=address,
                    subject=subject,
                    text=text,
                    html="",
                    idem_key=key,
                    notices=(),
                )
            )
        sent.append(SentSurvey(calendar.id, calendar.name, url, address, survey))
    if messages:
        runtime.outbox.queue(messages)
    return sent


def read_answers(
    questions: Sequence[Mapping[str, str]], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers in a submitted survey form, and the problems (question id → key).

    A rating is 1–5 and may be left out; a text is at most :data:`MAX_TEXT_ANSWER`
    characters. At least one question must be answered.
    """
    answers: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for question in questions:
        qid = question["id"]
        value = form.get(f"q_{qid}", "").strip()
        if not value:
            continue
        if question.get("kind") == "rating":
            if value not in ("1", "2", "3", "4", "5"):
                problems[qid] = "rating"
                continue
            answers[qid] = int(value)
        else:
            if len(value) > MAX_TEXT_ANSWER:
                problems[qid] = "long"
                continue
            answers[qid] = value.replace("\r\n", "\n")
    if not answers and not problems:
        problems["form"] = "empty"
    return answers, problems
