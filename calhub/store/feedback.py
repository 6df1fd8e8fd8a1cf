"""Feedback on events and the partners' term surveys, in ``hub.sqlite`` (hub data: backed up).

What an answer keeps, and what it does not: the event occurrence it rates, the rating, "would
recommend", the comment and its moderation, and the UTC day it came. No address, no user
agent, no cookie: the one trace of a device is ``device``, an HMAC the feedback package
makes of the device's random cookie id *and* the occurrence (:mod:`calhub.feedback.links`),
so it tells whether this device answered this occurrence before and nothing else: two answers
from one phone to two events have unrelated values. The day, not the time, is kept so an
answer cannot be matched against an access log line by its second.

A comment is shown to no partner before the coordinator approves it (``status``): ``new``
(waiting), ``held`` (it holds a link: waiting, marked), ``approved``, ``hidden``; an answer
without a comment has status ``none``.

A survey is one partner's questionnaire for one term: its link's token is kept hashed (as
feed tokens are), the questions it was sent with are kept with it (the school may change
them next term), and the partner's answers replace each other until the coordinator reads
the last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calhub.errors import UserError
from calhub.store.sqlitedb import ThreadLocalDatabase, utc_text

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar TEXT NOT NULL,
    uid TEXT NOT NULL,
    recurrence_id TEXT NOT NULL DEFAULT '',
    occurrence TEXT NOT NULL,
    device TEXT NOT NULL UNIQUE,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    recommend INTEGER CHECK (recommend IN (0, 1)),
    comment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'none',
    answered_on TEXT NOT NULL,
    moderated_by TEXT,
    moderated_at TEXT
);
CREATE INDEX IF NOT EXISTS feedback_by_occurrence ON feedback_answers (occurrence);
CREATE INDEX IF NOT EXISTS feedback_by_status ON feedback_answers (status, id);
CREATE INDEX IF NOT EXISTS feedback_by_event ON feedback_answers (calendar, uid);
CREATE TABLE IF NOT EXISTS surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partner TEXT NOT NULL,
    term TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    questions TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    sent_by TEXT NOT NULL,
    answers TEXT,
    answered_at TEXT,
    UNIQUE (partner, term)
);
"""

STATUSES = ("none", "new", "held", "approved", "hidden")
PENDING = ("new", "held")
MODERATED = ("approved", "hidden")
TERM_PATTERN = re.compile(r"^[0-9A-Za-zА-Яа-яЁё._-]{1,40}$")
SURVEY_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
TOKEN_BYTES = 24

_ANSWER_COLUMNS = (
    "id, calendar, uid, recurrence_id, occurrence, rating, recommend, comment, status, "
    "answered_on, moderated_by, moderated_at"
)
_SURVEY_COLUMNS = "id, partner, term, questions, sent_at, sent_by, answers, answered_at"


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class FeedbackAnswer:
    """One answer as the reports read it (no comment: that is the moderation's)."""

    calendar: str  # the partner calendar id the event is in
    uid: str
    occurrence: dt.datetime  # aware; the start of the occurrence rated
    rating: int  # 1..5
    recommend: bool | None  # None when not answered


@dataclass(frozen=True)
class FeedbackEntry:
    """One answer whole, for the dashboard and ``calhub feedback list``."""

    id: int
    calendar: str
    uid: str
    recurrence_id: str
    occurrence: dt.datetime
    rating: int
    recommend: bool | None
    comment: str
    status: str
    answered_on: str  # the UTC day, YYYY-MM-DD
    moderated_by: str | None
    moderated_at: str | None

    @property
    def answer(self) -> FeedbackAnswer:
        return FeedbackAnswer(self.calendar, self.uid, self.occurrence, self.rating, self.recommend)

    def as_json(self, with_comment: bool = True) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "calendar": self.calendar,
            "uid": self.uid,
            "occurrence": utc_text(self.occurrence),
            "rating": self.rating,
            "recommend": self.recommend,
            "status": self.status,
            "answered_on": self.answered_on,
        }
        if with_comment:
            shown["comment"] = self.comment
        return shown


@dataclass(frozen=True)
class NewAnswer:
    """An answer to store (:meth:`FeedbackStore.add`)."""

    calendar: str
    uid: str
    recurrence_id: str
    occurrence: dt.datetime
    device: str  # the HMAC of the device cookie and the occurrence (see the module text)
    rating: int
    recommend: bool | None
    comment: str = ""
    held: bool = False  # the comment holds a link


@dataclass(frozen=True)
class Survey:
    id: int
    partner: str
    term: str
    questions: tuple[Mapping[str, str], ...]
    sent_at: str
    sent_by: str
    answers: Mapping[str, Any] | None
    answered_at: str | None

    @property
    def answered(self) -> bool:
        return self.answers is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partner": self.partner,
            "term": self.term,
            "questions": [dict(q) for q in self.questions],
            "sent_at": self.sent_at,
            "answers": None if self.answers is None else dict(self.answers),
            "answered_at": self.answered_at,
        }


def _entry(row: Sequence[Any]) -> FeedbackEntry:
    (id_, calendar, uid, rid, occurrence, rating, recommend, comment, status, on, by, at) = row
    return FeedbackEntry(
        id=int(id_),
        calendar=str(calendar),
        uid=str(uid),
        recurrence_id=str(rid),
        occurrence=_moment(str(occurrence)),
        rating=int(rating),
        recommend=None if recommend is None else bool(recommend),
        comment=str(comment),
        status=str(status),
        answered_on=str(on),
        moderated_by=None if by is None else str(by),
        moderated_at=None if at is None else str(at),
    )


def _survey(row: Sequence[Any]) -> Survey:
    id_, partner, term, questions, sent_at, sent_by, answers, answered_at = row
    return Survey(
        id=int(id_),
        partner=str(partner),
        term=str(term),
        questions=tuple(json.loads(questions)),
        sent_at=str(sent_at),
        sent_by=str(sent_by),
        answers=None if answers is None else json.loads(answers),
        answered_at=None if answered_at is None else str(answered_at),
    )


def check_term(term: str) -> str:
    """A term's name as the surveys are filed under it, e.g. ``2026-27-2``."""
    term = term.strip()
    if not TERM_PATTERN.match(term):
        raise UserError(
            f"{term!r} — не название триместра / is not a term name.",
            hint="Буквы, цифры, точка, дефис, до 40 знаков / letters, digits, '.', '-', "
            "'_', up to 40: e.g. 2026-27-2",
        )
    return term


class AlreadyAnswered(UserError):
    """This device has answered this occurrence before."""


class FeedbackStore(ThreadLocalDatabase):
    """The ``feedback_answers`` and ``surveys`` tables of ``hub.sqlite``."""

    SCHEMA = SCHEMA

    # -- answers -------------------------------------------------------------------------

    def add(self, answer: NewAnswer, now: dt.datetime | None = None) -> int:
        """Store one answer; :class:`AlreadyAnswered` if its device answered before."""
        if not 1 <= answer.rating <= 5:
            raise UserError(f"A rating is 1 to 5, not {answer.rating}.")
        status = "none" if not answer.comment else ("held" if answer.held else "new")
        day = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date().isoformat()
        try:
            with self.transaction() as db:
                cursor = db.execute(
                    "INSERT INTO feedback_answers (calendar, uid, recurrence_id, occurrence, "
                    "device, rating, recommend, comment, status, answered_on) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        answer.calendar,
                        answer.uid,
                        answer.recurrence_id,
                        utc_text(answer.occurrence),
                        answer.device,
                        answer.rating,
                        None if answer.recommend is None else int(answer.recommend),
                        answer.comment,
                        status,
                        day,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyAnswered(
                "С этого устройства на это событие уже ответили / "
                "This device has answered for this event already."
            ) from exc
        return int(cursor.lastrowid or 0)

    def state(self) -> str:
        """A version of the answers: moves with every answer added (the reports' caches)."""
        count, last = self.db.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM feedback_answers"
        ).fetchone()
        return f"{count}-{last}"

    def answered(self, device: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM feedback_answers WHERE device = ?", (device,)
        ).fetchone()
        return row is not None

    def answers_between(self, start: dt.datetime, end: dt.datetime) -> list[FeedbackAnswer]:
        """Answers for occurrences starting in ``[start, end)``, oldest occurrence first
        (every one: the reports count them all)."""
        rows = self.db.execute(
            "SELECT calendar, uid, occurrence, rating, recommend FROM feedback_answers "
            "WHERE occurrence >= ? AND occurrence < ? ORDER BY occurrence, id",
            (utc_text(start), utc_text(end)),
        ).fetchall()
        return [
            FeedbackAnswer(
                str(calendar),
                str(uid),
                _moment(str(occurrence)),
                int(rating),
                None if recommend is None else bool(recommend),
            )
            for calendar, uid, occurrence, rating, recommend in rows
        ]

    def entries(
        self,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        calendars: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> list[FeedbackEntry]:
        """Whole answers, filtered; ordered by occurrence, then id."""
        where: list[str] = []
        values: list[Any] = []
        if start is not None:
            where.append("occurrence >= ?")
            values.append(utc_text(start))
        if end is not None:
            where.append("occurrence < ?")
            values.append(utc_text(end))
        if calendars is not None:
            where.append("calendar IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(list(calendars)))
        if statuses is not None:
            where.append("status IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(list(statuses)))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self.db.execute(
            f"SELECT {_ANSWER_COLUMNS} FROM feedback_answers{clause} "
            "ORDER BY occurrence, id LIMIT ?",
            (*values, limit),
        ).fetchall()
        return [_entry(row) for row in rows]

    def get(self, answer_id: int) -> FeedbackEntry | None:
        row = self.db.execute(
            f"SELECT {_ANSWER_COLUMNS} FROM feedback_answers WHERE id = ?", (answer_id,)
        ).fetchone()
        return None if row is None else _entry(row)

    def pending(self, limit: int = 500) -> list[FeedbackEntry]:
        """Comments waiting for the coordinator, oldest first."""
        rows = self.db.execute(
            f"SELECT {_ANSWER_COLUMNS} FROM feedback_answers "
            "WHERE status IN ('new', 'held') ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [_entry(row) for row in rows]

    def count_pending(self) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM feedback_answers WHERE status IN ('new', 'held')"
        ).fetchone()
        return int(row[0])

    def moderate(
        self, answer_id: int, status: str, by: str, now: dt.datetime | None = None
    ) -> bool:
        """Approve or hide a comment; False if there is no comment with this id."""
        if status not in MODERATED:
            raise ValueError(f"moderation is approved or hidden, not {status!r}")
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE feedback_answers SET status = ?, moderated_by = ?, moderated_at = ? "
                "WHERE id = ? AND status != 'none'",
                (status, by, utc_text(now), answer_id),
            )
            done = cursor.rowcount == 1
        if done:
            logger.info("Feedback comment %d %s by %s", answer_id, status, by)
        return done

    # -- surveys -------------------------------------------------------------------------

    def send_survey(
        self,
        partner: str,
        term: str,
        questions: Sequence[Mapping[str, str]],
        by: str,
        now: dt.datetime | None = None,
    ) -> tuple[Survey, str]:
        """The survey of ``partner`` for ``term`` with a new link token (returned once).

        Sent again, the survey keeps its answers and its questions, and only its link is
        new: the old one stops opening (a lost or forwarded e-mail).
        """
        term = check_term(term)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        stamp = utc_text(now)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO surveys (partner, term, token_hash, questions, sent_at, sent_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (partner, term) DO UPDATE SET "
                "token_hash = excluded.token_hash, sent_at = excluded.sent_at, "
                "sent_by = excluded.sent_by",
                (
                    partner,
                    term,
                    _hash(token),
                    json.dumps(list(questions), ensure_ascii=False),
                    stamp,
                    by,
                ),
            )
            row = db.execute(
                f"SELECT {_SURVEY_COLUMNS} FROM surveys WHERE partner = ? AND term = ?",
                (partner, term),
            ).fetchone()
        logger.info("Survey of %s for %s sent by %s", partner, term, by)
        return _survey(row), token

    def survey_by_token(self, token: object) -> Survey | None:
        if not isinstance(token, str) or not SURVEY_TOKEN.match(token):
            return None
        row = self.db.execute(
            f"SELECT {_SURVEY_COLUMNS} FROM surveys WHERE token_hash = ?", (_hash(token),)
        ).fetchone()
        return None if row is None else _survey(row)

    def answer_survey(
        self, survey_id: int, answers: Mapping[str, Any], now: dt.datetime | None = None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE surveys SET answers = ?, answered_at = ? WHERE id = ?",
                (json.dumps(dict(answers), ensure_ascii=False), utc_text(now), survey_id),
            )

    def surveys(self, term: str | None = None) -> list[Survey]:
        """Surveys, newest term first, then by partner."""
        clause, values = ("WHERE term = ?", (term,)) if term else ("", ())
        rows = self.db.execute(
            f"SELECT {_SURVEY_COLUMNS} FROM surveys {clause} ORDER BY term DESC, partner",
            values,
        ).fetchall()
        return [_survey(row) for row in rows]

    def terms(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT term FROM surveys ORDER BY term DESC").fetchall()
        return [str(row[0]) for row in rows]
