"""Reading audiences from text, and finding an event's audience.

The syntax is described for users in ``docs/audience.md``; keep the two in step.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from calhub.engine.audience import MAX_GRADE, MIN_GRADE, Audience, canonical_letter
from calhub.engine.phrases import phrase_audience

__all__ = [
    "SOURCE_CALENDAR",
    "SOURCE_CATEGORIES",
    "SOURCE_DESCRIPTION",
    "SOURCE_PHRASE",
    "SOURCE_PROPERTY",
    "SOURCE_SUMMARY",
    "SOURCE_WHOLE_SCHOOL",
    "AudienceParser",
    "resolve_audience",
    "strip_audience_tags",
]

logger = logging.getLogger(__name__)

# Where an audience came from, in the order resolve_audience() tries them.
SOURCE_PROPERTY = "x-calhub-audience"
SOURCE_CATEGORIES = "categories"
SOURCE_SUMMARY = "summary"
SOURCE_DESCRIPTION = "description"
SOURCE_PHRASE = "phrase"
SOURCE_CALENDAR = "calendar-default"
SOURCE_WHOLE_SCHOOL = "whole-school"

_TERM_SEPARATOR = re.compile(r"[,;]")
_SPACES = re.compile(r"\s+")
_QUOTES = re.compile(r"[«»\"'“”„`]")
_PLURAL_FILLERS = r"классы|классов|классам|классами|классах|grades|classes|forms"
_SINGULAR_FILLERS = r"класс|класса|классе|классу|классом|кл\.?|grade|class|form"
_FILLER = re.compile(rf"(?<!\w)(?:{_PLURAL_FILLERS}|{_SINGULAR_FILLERS})(?!\w)", re.IGNORECASE)
_PLURAL = re.compile(rf"(?<!\w)(?:{_PLURAL_FILLERS})(?!\w)", re.IGNORECASE)
# "5-й", "10-го", "10-ые": Russian ordinal endings that no class letter can be.
_ORDINAL = re.compile(r"(?<=[0-9])-(?:й|ый|ой|ий|го|ого|му|ому|ом|ые|ых|ым|ыми)(?!\w)")
# "10-е классы", "10-х классов": the one-letter endings look like the letters Е
# and Х, so they are read as ordinals only next to a plural word like "классы".
_PLURAL_ORDINAL = re.compile(r"(?<=[0-9])-(?:е|х)(?!\w)", re.IGNORECASE)

_GRADE = re.compile(r"^([0-9]{1,2})$")
_RANGE = re.compile(r"^([0-9]{1,2})\s*[-–—]\s*([0-9]{1,2})$")
_CLASS = re.compile(r"^([0-9]{1,2})\s*-?\s*([^\W\d_])\.?$")
_WHOLE_SCHOOL = frozenset(
    {"вся школа", "вся гимназия", "все", "всем", "whole school", "all", "everyone"}
)

_ESCAPED = re.compile(r"\\([\\,;nN])")
_SUMMARY_TAG = re.compile(r"\[([^\[\]]*)\]")
_DESCRIPTION_LINE = re.compile(
    r"^[ \t]*(?:классы|класс|grades|grade)[ \t]*:[ \t]*(.+?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text.replace("ё", "е").replace("Ё", "Е")).strip().casefold()


class AudienceParser:
    """Parses audience expressions such as ``"10-11"``, ``"10А, 11Б"`` or a group name.

    ``groups`` maps a group name to audience expressions (a list, or one string);
    group names are matched case-insensitively and may use other groups.
    A group that does not parse raises :class:`ValueError` here, at start-up,
    rather than silently never matching.
    """

    def __init__(self, groups: Mapping[str, Sequence[str]] | None = None) -> None:
        self._raw_groups = {_fold(name): value for name, value in (groups or {}).items()}
        self._groups: dict[str, Audience] = {}
        for name in self._raw_groups:
            self._resolve_group(name, ())

    def _resolve_group(self, name: str, seen: tuple[str, ...]) -> Audience:
        known = self._groups.get(name)
        if known is not None:
            return known
        if name in seen:
            raise ValueError(f"audience group {name!r} refers to itself")
        raw = self._raw_groups[name]
        expressions = [raw] if isinstance(raw, str) else list(raw)
        result = Audience()
        for expression in expressions:
            audience = self._parse(str(expression), (*seen, name))
            if audience is None:
                raise ValueError(f"audience group {name!r}: {expression!r} is not an audience")
            result = result.union(audience)
        if result.is_empty():
            raise ValueError(f"audience group {name!r} is empty")
        self._groups[name] = result
        return result

    @property
    def group_names(self) -> frozenset[str]:
        return frozenset(self._raw_groups)

    def parse(self, text: str) -> Audience | None:
        """The audience the text names, or None if it is not an audience expression."""
        return self._parse(text, ())

    def _parse(self, text: str, seen: tuple[str, ...]) -> Audience | None:
        if not isinstance(text, str):
            return None
        text = text.strip()
        if len(text) >= 2 and text[0] + text[-1] in ("[]", "()"):
            text = text[1:-1]
        result: Audience | None = None
        for raw_term in _TERM_SEPARATOR.split(text):
            if not raw_term.strip():
                continue
            audience = self._term(raw_term, seen)
            if audience is None:
                return None
            result = audience if result is None else result.union(audience)
        return result

    def _term(self, raw: str, seen: tuple[str, ...]) -> Audience | None:
        group = self._group(_fold(raw), seen)
        if group is not None:
            return group
        plural = _PLURAL.search(raw) is not None
        core = _fold(_FILLER.sub(" ", _QUOTES.sub("", raw)))
        if not core:
            return None
        group = self._group(core, seen)
        if group is not None:
            return group
        if core in _WHOLE_SCHOOL:
            return Audience.whole_school()
        core = _ORDINAL.sub("", core)
        if plural:
            core = _PLURAL_ORDINAL.sub("", core)
        return _grades_or_class(core)

    def _group(self, key: str, seen: tuple[str, ...]) -> Audience | None:
        if key not in self._raw_groups:
            return None
        return self._resolve_group(key, seen)


def _grades_or_class(core: str) -> Audience | None:
    if match := _GRADE.match(core):
        grade = int(match.group(1))
        return Audience(frozenset({grade})) if MIN_GRADE <= grade <= MAX_GRADE else None
    if match := _RANGE.match(core):
        low, high = int(match.group(1)), int(match.group(2))
        if not MIN_GRADE <= low <= high <= MAX_GRADE:
            return None
        return Audience(frozenset(range(low, high + 1)))
    if match := _CLASS.match(core):
        grade = int(match.group(1))
        letter = canonical_letter(match.group(2))
        if letter is None or not MIN_GRADE <= grade <= MAX_GRADE:
            return None
        return Audience(classes=frozenset({(grade, letter)}))
    return None


def _texts(value: Any) -> list[str]:
    """Plain strings of a property that may be repeated or multi-valued."""
    if value is None:
        return []
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    cats = getattr(value, "cats", None)
    if cats is not None:
        return [str(cat) for cat in cats]
    return [str(value)]


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _union(audiences: list[Audience]) -> Audience | None:
    if not audiences:
        return None
    result = audiences[0]
    for audience in audiences[1:]:
        result = result.union(audience)
    return result


def resolve_audience(
    component: Mapping[str, Any], parser: AudienceParser, default: Audience | None
) -> tuple[Audience, str]:
    """Find who an event (a VEVENT component) is for; the first source that matches wins.

    1. an ``X-CALHUB-AUDIENCE`` property;
    2. CATEGORIES values that parse as an audience (all of them, joined);
    3. bracket tags in SUMMARY such as ``[10-11]`` (all that parse, joined);
    4. a ``Классы: …`` / ``Grades: …`` line in DESCRIPTION (the first that parses);
    5. audience phrases such as «для 10Б класса» in SUMMARY, else in DESCRIPTION
       (:mod:`calhub.engine.phrases`, all phrases of the first text that has any, joined);
    6. the calendar's default audience;
    7. the whole school.

    Returns the audience and the name of its source (the ``SOURCE_*`` constants).
    """
    # icalendar leaves unknown X- properties escaped ("10А\\, 11Б")
    explicit = [_unescape(text) for text in _texts(component.get("X-CALHUB-AUDIENCE"))]
    found = _union([a for text in explicit if (a := parser.parse(text)) is not None])
    if found is not None:
        return found, SOURCE_PROPERTY
    if explicit:
        logger.warning(
            "Event %s: X-CALHUB-AUDIENCE %r is not an audience, trying other sources",
            component.get("UID", "?"),
            explicit,
        )
    categories = _texts(component.get("CATEGORIES"))
    found = _union([a for text in categories if (a := parser.parse(text)) is not None])
    if found is not None:
        return found, SOURCE_CATEGORIES
    summary = " ".join(_texts(component.get("SUMMARY")))
    tags = _SUMMARY_TAG.findall(summary)
    found = _union([a for tag in tags if (a := parser.parse(tag)) is not None])
    if found is not None:
        return found, SOURCE_SUMMARY
    for description in _texts(component.get("DESCRIPTION")):
        for line in _DESCRIPTION_LINE.findall(description):
            audience = parser.parse(line)
            if audience is not None:
                return audience, SOURCE_DESCRIPTION
    for text in [summary, *_texts(component.get("DESCRIPTION"))]:
        found = phrase_audience(text, parser)
        if found is not None:
            return found, SOURCE_PHRASE
    if default is not None:
        return default, SOURCE_CALENDAR
    return Audience.whole_school(), SOURCE_WHOLE_SCHOOL


def strip_audience_tags(summary: str, parser: AudienceParser) -> str:
    """The summary without its bracket tags that name an audience."""
    return _SUMMARY_TAG.sub(
        lambda m: " " if parser.parse(m.group(1)) is not None else m.group(0), summary
    )
