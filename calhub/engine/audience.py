"""Who an event is for: whole grades and single classes of the school.

A *grade* (параллель) is a number 1–11; a *class* is a grade plus a letter,
such as 10А. The letter is always stored as an upper-case Cyrillic letter, so
``(10, "А")`` typed with a Latin ``A`` and with a Cyrillic ``А`` is the same
class (see :func:`canonical_letter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby

__all__ = [
    "ALL_GRADES",
    "MAX_GRADE",
    "MIN_GRADE",
    "Audience",
    "canonical_letter",
]

MIN_GRADE = 1
MAX_GRADE = 11
ALL_GRADES: frozenset[int] = frozenset(range(MIN_GRADE, MAX_GRADE + 1))

# Й, Ъ, Ы and Ь never name a class; refusing them keeps typos out.
_CLASS_LETTERS = frozenset("АБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ")

# Latin letters that look like Cyrillic ones: on a phone keyboard set to English
# "10A" is typed far more often than anyone means a Latin class letter.
_LATIN_LOOKALIKES = {
    "A": "А",
    "B": "В",
    "E": "Е",
    "K": "К",
    "M": "М",
    "H": "Н",
    "O": "О",
    "P": "Р",
    "C": "С",
    "T": "Т",
    "X": "Х",
    "Y": "У",
}


def canonical_letter(letter: str) -> str | None:
    """Return the canonical (upper-case Cyrillic) class letter, or None if it is not one."""
    if len(letter) != 1:
        return None
    upper = letter.upper()
    upper = _LATIN_LOOKALIKES.get(upper, upper)
    return upper if upper in _CLASS_LETTERS else None


@dataclass(frozen=True, slots=True)
class Audience:
    """A set of whole grades and single classes.

    A class whose grade is also listed as a whole grade is dropped on creation,
    so equal audiences compare equal however they were written
    (``Audience({10}, {(10, "А")}) == Audience({10})``).
    """

    grades: frozenset[int] = field(default_factory=frozenset)
    classes: frozenset[tuple[int, str]] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        grades = frozenset(self.grades)
        for grade in grades:
            if not MIN_GRADE <= grade <= MAX_GRADE:
                raise ValueError(f"grade {grade} is outside {MIN_GRADE}..{MAX_GRADE}")
        classes = set()
        for grade, letter in self.classes:
            if not MIN_GRADE <= grade <= MAX_GRADE:
                raise ValueError(
                    f"class {grade}{letter}: grade is outside {MIN_GRADE}..{MAX_GRADE}"
                )
            canonical = canonical_letter(letter)
            if canonical is None:
                raise ValueError(f"class {grade}{letter}: {letter!r} is not a class letter")
            if grade not in grades:
                classes.add((grade, canonical))
        # frozen dataclass: normalising in place is the documented way round it.
        object.__setattr__(self, "grades", grades)
        object.__setattr__(self, "classes", frozenset(classes))

    @classmethod
    def whole_school(cls) -> Audience:
        return cls(ALL_GRADES)

    def is_empty(self) -> bool:
        return not self.grades and not self.classes

    def is_whole_school(self) -> bool:
        return self.grades == ALL_GRADES

    def grades_touched(self) -> frozenset[int]:
        """Grades with at least one class in the audience."""
        if not self.classes:
            return self.grades
        return self.grades | {grade for grade, _ in self.classes}

    def intersects(self, other: Audience) -> bool:
        """Whether some class is in both audiences.

        A whole grade contains every class of that grade, so grade 10 meets 10А,
        while 10А and 10Б are different children and do not meet.
        """
        if not self.classes and not other.classes:
            return not self.grades.isdisjoint(other.grades)
        if self.grades & other.grades or self.classes & other.classes:
            return True
        return any(grade in other.grades for grade, _ in self.classes) or any(
            grade in self.grades for grade, _ in other.classes
        )

    def intersection(self, other: Audience) -> Audience:
        """The classes in both audiences (used to tell users who exactly clashes)."""
        classes = (
            (self.classes & other.classes)
            | {c for c in self.classes if c[0] in other.grades}
            | {c for c in other.classes if c[0] in self.grades}
        )
        return Audience(self.grades & other.grades, frozenset(classes))

    def union(self, other: Audience) -> Audience:
        return Audience(self.grades | other.grades, self.classes | other.classes)

    def label(self, lang: str = "ru") -> str:
        """Canonical text: ``"10–11"``, ``"9, 10А, 11Б"``, ``"вся школа"``.

        Runs of whole grades become en-dash ranges; items are ordered by grade.
        ``lang="en"`` only changes the words ("whole school", "nobody").
        """
        return _label(self.grades, self.classes, lang)

    def __str__(self) -> str:
        return self.label()


# A school has few distinct audiences, and every clash record stores each occurrence's label:
# a moved event's sync asked for thousands of them.
@lru_cache(maxsize=4096)
def _label(grades: frozenset[int], classes: frozenset[tuple[int, str]], lang: str) -> str:
    if grades == ALL_GRADES:
        return "whole school" if lang == "en" else "вся школа"
    if not grades and not classes:
        return "nobody" if lang == "en" else "никто"
    items: list[tuple[int, int, str]] = []
    ordered = sorted(grades)
    # consecutive grades share (grade - position), which groups them into runs
    for _, run_iter in groupby(enumerate(ordered), key=lambda pair: pair[1] - pair[0]):
        run = [grade for _, grade in run_iter]
        text = str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}"
        items.append((run[0], 0, text))
    items.extend((grade, 1, f"{grade}{letter}") for grade, letter in classes)
    items.sort()
    return ", ".join(text for _, _, text in items)
