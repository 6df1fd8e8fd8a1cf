"""The demo term's feedback: what students thought of the events already held, and the
partners' answers to the term survey, so that a newcomer sees the feedback page and the
reports filled in.

Made deterministically from the events themselves (a seed of each occurrence's identity),
so the same term always gets the same answers: each partner has its own level (one is
loved, one is middling), ratings spread around it, "would recommend" follows the rating,
about one answer in five has a comment in Russian; comments older than a week are
moderated (most approved, a few hidden), the last week's wait for the coordinator, and
one carries a link (held). Pure data: :func:`calhub.cli.serve.create_demo` writes it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

FEEDBACK_SEED = "calhub-demo-feedback-1"

# How each partner's events go down with students: the mean rating answers spread around.
LEVELS: Mapping[str, float] = {
    "bfu": 4.4,
    "kgtu": 3.9,
    "ranepa": 4.1,
    "kfruk": 3.5,
    "pedcollege": 4.2,
    "kodyutsekt": 4.6,
    "school": 4.0,
}

GOOD = (
    "Очень интересно, хотим ещё!",
    "Понравились опыты, всё было понятно.",
    "Лектор отвечал на все вопросы, спасибо.",
    "Полезно для выбора профиля.",
    "Отличная организация, всё началось вовремя.",
    "Было здорово поработать руками в лаборатории.",
)
MIXED = (
    "Интересно, но слишком долго.",
    "Тема хорошая, но было плохо слышно в конце зала.",
    "Хотелось бы больше практики.",
    "Нормально, но часть материала мы уже проходили.",
)
POOR = (
    "Скучно, почти всё время читали слайды.",
    "Не успели на автобус: закончили позже, чем обещали.",
    "Было душно и тесно, половина класса стояла.",
)
SPAM = "Подготовка к ЕГЭ со скидкой: www.ege-skidki.example"


@dataclass(frozen=True, slots=True)
class HeldOccurrence:
    """An occurrence of the demo term that has been held (read from the index)."""

    calendar: str
    uid: str
    recurrence_id: str
    start: dt.datetime
    end: dt.datetime
    grades: int  # how many grades it was for: bigger audiences answer more


@dataclass(frozen=True, slots=True)
class DemoAnswer:
    calendar: str
    uid: str
    recurrence_id: str
    occurrence: dt.datetime
    device: str
    rating: int
    recommend: bool | None
    comment: str
    moderation: str  # "" (waiting, or no comment), "approved", "hidden"
    answered: dt.datetime


def _rating(rng: random.Random, level: float) -> int:
    return max(1, min(5, round(rng.gauss(level, 0.9))))


def _recommend(rng: random.Random, rating: int) -> bool | None:
    if rng.random() < 0.12:
        return None  # left out
    if rating >= 4:
        return rng.random() < 0.9
    if rating == 3:
        return rng.random() < 0.4
    return rng.random() < 0.08


def _comment(rng: random.Random, rating: int) -> str:
    if rng.random() >= 0.2:
        return ""
    pool = GOOD if rating >= 4 else MIXED if rating == 3 else POOR
    return rng.choice(pool)


def demo_answers(held: Iterable[HeldOccurrence], today: dt.date) -> list[DemoAnswer]:
    """The answers to every occurrence held before ``today``."""
    answers: list[DemoAnswer] = []
    recent = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(), dt.UTC)
    spam_done = False
    for occurrence in sorted(held, key=lambda o: (o.start, o.calendar, o.uid)):
        if occurrence.calendar == "blackout":
            continue
        seed = f"{FEEDBACK_SEED}|{occurrence.calendar}|{occurrence.uid}|{occurrence.recurrence_id}"
        rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
        level = LEVELS.get(occurrence.calendar, 4.0)
        count = rng.randint(2, 4 + 2 * min(occurrence.grades, 4))
        for number in range(count):
            rating = _rating(rng, level)
            comment = _comment(rng, rating)
            if not spam_done and occurrence.end >= recent and comment:
                comment, spam_done = SPAM, True
            moderation = ""
            if comment and occurrence.end < recent and comment != SPAM:
                moderation = "hidden" if rng.random() < 0.15 else "approved"
            answers.append(
                DemoAnswer(
                    calendar=occurrence.calendar,
                    uid=occurrence.uid,
                    recurrence_id=occurrence.recurrence_id,
                    occurrence=occurrence.start,
                    device=f"demo:{seed}|{number}",
                    rating=rating,
                    recommend=_recommend(rng, rating),
                    comment=comment,
                    moderation=moderation,
                    answered=occurrence.end + dt.timedelta(hours=rng.randint(1, 30)),
                )
            )
    return answers


def demo_term_name(today: dt.date) -> str:
    """The school year's term of ``today``: ``2026-27-1`` (Sep–Nov), ``-2`` (Dec–Feb), ``-3``."""
    year = today.year if today.month >= 9 else today.year - 1
    term = 1 if today.month in (9, 10, 11) else 2 if today.month in (12, 1, 2) else 3
    return f"{year}-{(year + 1) % 100:02d}-{term}"


SURVEY_ANSWERS: Mapping[str, Mapping[str, object]] = {
    "bfu": {
        "overall": 5,
        "planning": 4,
        "students": 5,
        "next_term": "Больше лабораторных занятий для 10-х классов; согласовывать даты "
        "до 1-го числа.",
    },
    "kgtu": {
        "overall": 4,
        "planning": 3,
        "students": 4,
        "next_term": "Сообщать о переносах уроков раньше, чем за два дня.",
    },
    "kodyutsekt": {"overall": 5, "planning": 5, "students": 4, "next_term": ""},
}


def survey_answers(partners: Sequence[str]) -> dict[str, dict[str, object]]:
    """The partners of the demo that have answered the term survey, and their answers."""
    return {
        p: {k: v for k, v in SURVEY_ANSWERS[p].items() if v != ""}
        for p in partners
        if p in SURVEY_ANSWERS
    }
