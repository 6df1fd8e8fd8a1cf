"""Ratings and the loyalty score of a set of answers.

"Would recommend" is a yes/no question, not NPS's 0–10: after a 1–5 rating on a phone, a
second scale of eleven is a second question to think about, and one tap keeps students
answering. The loyalty score keeps NPS's form: the share who would recommend minus the
share who would not, in percent, from −100 to 100 (answers that skip the question do not
count). A 1–5 rating and a yes/no cannot be mistaken for the same scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from calhub.store.feedback import FeedbackAnswer


@dataclass(frozen=True, slots=True)
class Summary:
    answers: int
    ratings: tuple[int, int, int, int, int]  # how many gave 1, 2, 3, 4, 5
    yes: int
    no: int

    @property
    def mean(self) -> float | None:
        if not self.answers:
            return None
        return sum(n * (i + 1) for i, n in enumerate(self.ratings)) / self.answers

    @property
    def loyalty(self) -> int | None:
        """Would recommend minus would not, in percent of those who said; None if nobody did."""
        said = self.yes + self.no
        return None if not said else round(100 * (self.yes - self.no) / said)

    def as_json(self) -> dict[str, object]:
        mean = self.mean
        return {
            "answers": self.answers,
            "ratings": list(self.ratings),
            "mean": None if mean is None else round(mean, 2),
            "recommend_yes": self.yes,
            "recommend_no": self.no,
            "loyalty": self.loyalty,
        }


def summarize(answers: Iterable[FeedbackAnswer]) -> Summary:
    counts = [0, 0, 0, 0, 0]
    yes = no = total = 0
    for answer in answers:
        total += 1
        counts[answer.rating - 1] += 1
        if answer.recommend is True:
            yes += 1
        elif answer.recommend is False:
            no += 1
    return Summary(total, (counts[0], counts[1], counts[2], counts[3], counts[4]), yes, no)
