"""``[feedback]`` and ``[[feedback.questions]]`` of ``calhub.toml``: when an event's feedback
link opens, the form's spam limits, and the school's own questions of the partners' term
survey (read by :mod:`calhub.feedback`).

Without any ``[[feedback.questions]]`` the survey asks :data:`DEFAULT_QUESTIONS` (in Russian
and English). A question's ``id`` is what its answers are stored under: keep it when the
wording changes, give a new question a new id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calhub.errors import ConfigError

__all__ = [
    "DEFAULT_QUESTIONS",
    "FEEDBACK_SCHEMA",
    "QUESTION_KINDS",
    "FeedbackSettings",
    "SurveyQuestion",
    "read_feedback",
]

QUESTION_KINDS = ("rating", "text")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_QUESTIONS = 30
MAX_QUESTION_CHARS = 300


@dataclass(frozen=True, slots=True)
class SurveyQuestion:
    """One question of the partners' term survey: a rating 1–5 or a free text."""

    id: str
    kind: str  # "rating" | "text"
    ru: str
    en: str

    def text(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.ru

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "ru": self.ru, "en": self.en}


DEFAULT_QUESTIONS: tuple[SurveyQuestion, ...] = (
    SurveyQuestion(
        "overall",
        "rating",
        "Насколько вы довольны сотрудничеством с гимназией в этом триместре?",
        "How satisfied are you with the cooperation with the school this term?",
    ),
    SurveyQuestion(
        "planning",
        "rating",
        "Насколько удобно было согласовывать даты и время мероприятий?",
        "How easy was it to agree on the dates and times of events?",
    ),
    SurveyQuestion(
        "students",
        "rating",
        "Насколько подготовленными и заинтересованными были ученики?",
        "How prepared and interested were the students?",
    ),
    SurveyQuestion(
        "next_term",
        "text",
        "Что нам стоит изменить или добавить в следующем триместре?",
        "What should we change or add next term?",
    ),
)


@dataclass(frozen=True, slots=True)
class _Option:
    default: Any
    low: int
    high: int
    help: str


FEEDBACK_SCHEMA: dict[str, _Option] = {
    "window_days": _Option(
        14, 1, 366, "Days after an event ends during which its feedback link still opens."
    ),
    "min_form_seconds": _Option(
        3, 0, 600, "Seconds the feedback form must be open before an answer is taken (bots)."
    ),
    "max_comment_chars": _Option(1000, 50, 5000, "Longest comment a feedback answer may carry."),
    "answers_per_hour": _Option(
        30, 1, 100_000, "Feedback answers taken per client address per hour (then 429)."
    ),
}

QUESTION_KEYS = ("id", "kind", "ru", "en")


@dataclass(frozen=True, slots=True)
class FeedbackSettings:
    """The ``[feedback]`` table; every key has its default."""

    window_days: int = FEEDBACK_SCHEMA["window_days"].default
    min_form_seconds: int = FEEDBACK_SCHEMA["min_form_seconds"].default
    max_comment_chars: int = FEEDBACK_SCHEMA["max_comment_chars"].default
    answers_per_hour: int = FEEDBACK_SCHEMA["answers_per_hour"].default
    questions: tuple[SurveyQuestion, ...] = DEFAULT_QUESTIONS


def _int(path: Path, key: str, option: _Option, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not option.low <= value <= option.high
    ):
        raise ConfigError(
            str(path),
            f"feedback.{key}",
            f"must be a whole number from {option.low} to {option.high}, not {value!r}",
        )
    return value


def _question(path: Path, number: int, raw: Any, seen: set[str]) -> SurveyQuestion:
    where = f"feedback.questions[{number}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), where, "must be a table ([[feedback.questions]])")
    unknown = sorted(set(raw) - set(QUESTION_KEYS))
    if unknown:
        raise ConfigError(
            str(path), f"{where}.{unknown[0]}", "is not a known key", ", ".join(QUESTION_KEYS)
        )
    question_id = raw.get("id")
    if not isinstance(question_id, str) or not QUESTION_ID.match(question_id):
        raise ConfigError(
            str(path), f"{where}.id", f"{question_id!r} is not a question id", 'e.g. "venue"'
        )
    if question_id in seen:
        raise ConfigError(str(path), f"{where}.id", f"{question_id!r} is used twice")
    seen.add(question_id)
    kind = raw.get("kind", "rating")
    if kind not in QUESTION_KINDS:
        raise ConfigError(
            str(path), f"{where}.kind", f"{kind!r} is not a kind", ", ".join(QUESTION_KINDS)
        )
    texts = {}
    for language in ("ru", "en"):
        text = raw.get(language, "")
        if not isinstance(text, str) or len(text) > MAX_QUESTION_CHARS:
            raise ConfigError(
                str(path),
                f"{where}.{language}",
                f"must be a text of at most {MAX_QUESTION_CHARS} characters",
            )
        texts[language] = text.strip()
    if not texts["ru"]:
        raise ConfigError(str(path), f"{where}.ru", "is required (the question in Russian)")
    return SurveyQuestion(question_id, str(kind), texts["ru"], texts["en"])


def _questions(path: Path, raw: Any) -> tuple[SurveyQuestion, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(str(path), "feedback.questions", "must be an array of tables")
    if len(raw) > MAX_QUESTIONS:
        raise ConfigError(str(path), "feedback.questions", f"more than {MAX_QUESTIONS} questions")
    seen: set[str] = set()
    questions = tuple(_question(path, n, item, seen) for n, item in enumerate(raw, start=1))
    return questions or DEFAULT_QUESTIONS


def read_feedback(path: Path, raw: Any) -> FeedbackSettings:
    """The ``[feedback]`` table of ``path``, checked; errors name the key."""
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), "feedback", "must be a table")
    known = (*FEEDBACK_SCHEMA, "questions")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(
            str(path), f"feedback.{unknown[0]}", "is not a known key", ", ".join(known)
        )
    values = {
        key: _int(path, key, option, raw[key]) if key in raw else option.default
        for key, option in FEEDBACK_SCHEMA.items()
    }
    questions = _questions(path, raw["questions"]) if "questions" in raw else DEFAULT_QUESTIONS
    return FeedbackSettings(questions=questions, **values)
