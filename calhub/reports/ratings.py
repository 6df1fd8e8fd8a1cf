"""Ratings and the loyalty score, from the answers to the feedback form (issue 20).

The reports read feedback through :class:`RatingsSource`, the two methods of the feedback
store (``runtime.feedback``, :class:`calhub.store.feedback.FeedbackStore`) they need: the
answers about occurrences in a window, and a version that moves with every new answer (so a
report the page keeps is made again at once). :data:`NO_FEEDBACK` is a source without answers,
for reports computed without a hub (the tests); the report then says "нет отзывов / no
feedback yet".

The loyalty score is NPS-style, on the form's yes/no question "would you recommend it?":
the share of those who answered it saying yes minus the share saying no, in points from
−100 (nobody would) to +100 (everybody would). Answers that skipped the question count for
the rating, not for the score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from calhub.runtime import Runtime

__all__ = [
    "NO_FEEDBACK",
    "FeedbackAnswer",
    "NoFeedback",
    "RatingSummary",
    "RatingsSource",
    "ratings_of",
    "summarize",
]


class FeedbackAnswer(Protocol):
    """One answer as the feedback store gives it (attributes only are read)."""

    @property
    def calendar(self) -> str: ...
    @property
    def uid(self) -> str: ...
    @property
    def occurrence(self) -> dt.datetime: ...
    @property
    def rating(self) -> int: ...
    @property
    def recommend(self) -> bool | None: ...


class RatingsSource(Protocol):
    """Where the answers come from: the feedback store, or a list in the tests."""

    def answers_between(self, start: dt.datetime, end: dt.datetime) -> Sequence[FeedbackAnswer]:
        """Answers about occurrences starting in [start, end)."""
        ...

    def state(self) -> str:
        """Changes whenever an answer is added."""
        ...


class NoFeedback:
    """The source of a hub without the feedback store: no answers, ever."""

    available = False

    def answers_between(self, start: dt.datetime, end: dt.datetime) -> Sequence[FeedbackAnswer]:
        return []

    def state(self) -> str:
        return ""


NO_FEEDBACK = NoFeedback()


def ratings_of(runtime: Runtime) -> RatingsSource:
    """The hub's feedback store, which the faces pass to the report."""
    store: RatingsSource = runtime.feedback
    return store


@dataclass(frozen=True, slots=True)
class RatingSummary:
    """What a group of answers says: how many, the average rating, the loyalty score."""

    count: int
    average: float | None  # 1..5, None without answers
    recommend_yes: int
    recommend_no: int

    @property
    def loyalty(self) -> float | None:
        """NPS-style: % yes − % no among those who answered the question (−100..100)."""
        answered = self.recommend_yes + self.recommend_no
        if not answered:
            return None
        return round(100 * (self.recommend_yes - self.recommend_no) / answered, 1)

    def as_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "average": self.average,
            "recommend_yes": self.recommend_yes,
            "recommend_no": self.recommend_no,
            "loyalty": self.loyalty,
        }


def summarize(answers: Iterable[FeedbackAnswer]) -> RatingSummary:
    """The summary of ``answers``; ratings outside 1..5 are not counted (the store checks
    them; a reader does not trust it blindly)."""
    ratings: list[int] = []
    yes = no = 0
    for answer in answers:
        if isinstance(answer.rating, int) and 1 <= answer.rating <= 5:
            ratings.append(answer.rating)
        if answer.recommend is True:
            yes += 1
        elif answer.recommend is False:
            no += 1
    average = round(sum(ratings) / len(ratings), 2) if ratings else None
    return RatingSummary(len(ratings), average, yes, no)
