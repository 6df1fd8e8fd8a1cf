"""Reading an audience from the words people write: «для 10Б класса», «(9-11 кл.)», «grade 9».

Partners rarely write a ``[10-11]`` tag; they write a sentence. A number in a sentence is
usually *not* a grade (a room, a date, a time, an age, a count, a school's number), and a
wrong audience is worse than none: it raises false clashes and hides real ones. So a
number is taken only where the grammar says it is an audience:

* next to a class word: «10-11 классы», «учащимся 8-х классов», «9 кл.», «параллели 7»,
  «классов 9–11», «9th grade», «grades 10-11»; not «в 10 классе», «в 9-11 классах»: the
  locative says where a thing happens («урок в 1 классе», «что сдавать в 11 классе»),
  rarely who comes;
* as a class with its letter after an audience word: «для 10Б», «ученикам 7А и 7В»;
* as a number word: «девятиклассников», «для десятиклассников»;
* as the name of a group from the config, in any case ending: «для старшеклассников»
  when a group «старшеклассники» exists.

Rooms, dates, times, ages, school numbers and olympiad stages are masked out first, so a
class word next to them cannot turn them into a grade. The user-facing rules are in
``docs/audience.md`` (section «Фразы»); ``tests/corpus/audience_titles.tsv`` measures them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from calhub.engine.audience import MAX_GRADE, MIN_GRADE, Audience, canonical_letter

if TYPE_CHECKING:  # the parser imports this module; a runtime import back would be a cycle
    from calhub.engine.parser import AudienceParser

__all__ = ["phrase_audience"]

_MONTHS = (
    r"январ|феврал|март|апрел|ма[йяе]|июн|июл|август|сентябр|октябр|ноябр|декабр"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
)
# What a number next to these words is, it is not a grade. Replaced by a blank mark.
_MASKS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"№\s*\d+\w*",
        r"#\s*\d+",
        r"(?<!\w)на\s+\d+\s+класс\w*",  # «автобус на 2 класса»: a count
        r"(?<!\w)(?:школ(?:а|ы|е|у|ой)?|гимнази(?:я|и|ю|ей)|лице(?:й|я|ю|е|ем)|сош|моу|мбоу|маоу|school|gymnasium|"
        r"lyceum)\s*(?:№\s*)?\d+\w*",
        r"(?<!\w)(?:ауд|аудитори\w*|каб|кабинет\w*|room|rm|корп|корпус\w*|зал\w*|этаж\w*|"
        r"floor|hall|стенд\w*|павильон\w*|ряд\w*|блок\w*|стр|строение|д|дом)\.?\s*№?\s*\d+\w*",
        r"\d{1,2}\s*[:.]\s*\d{2}(?:\s*[-–—]\s*\d{1,2}\s*[:.]\s*\d{2})?",
        r"\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?",
        rf"\d{{1,2}}(?:\s*[-–—]\s*\d{{1,2}})?\s+(?:{_MONTHS})\w*",
        rf"(?<!\w)(?:{_MONTHS})\w*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?",
        r"\d+\s*\+",
        r"(?:от|с|from|age[sd]?)?\s*\d+(?:\s*[-–—]\s*\d+)?\s*(?:лет|года?|годам|years?|y\.?o\.?)"
        r"(?!\w)",
        r"\d+\s*(?:-?(?:й|ой|ый|ий|го|ого|th|st|nd|rd))?\s*(?:этап\w*|тур\w*|stage|round|"
        r"место|места|мест|сезон\w*|смен\w*|курс\w*|семестр\w*|модул\w*|урок\w*|занят\w*|"
        r"час\w*|мин\w*|ч\.|лекци\w*|встреч\w*|день|дня|дней|недел\w*|day|days|week\w*|"
        r"hours?|min\w*|участ\w*|человек|чел\.?|команд\w*|балл\w*|points?|seats?|people|"
        r"participants?|км|km|руб\w*|р\.|мест\w*|шт\.?|%)(?!\w)",
        r"(?<!\w)(?:этап|тур|stage|round|сезон|часть|part|модуль|module|урок|занятие|lesson|"
        r"день|day|неделя|week|вариант|задач\w*|task|group|группа|поток)\s*№?\s*\d+",
    )
]
_MARK = " ¤ "

_NUM = r"(?:1[01]|[1-9])(?!\d)"
_ORD = r"(?:-?(?:th|st|nd|rd)|-(?:(?-i:х|е)|ых|ые|ий|ый|ой|й|го|ого|ому|му|ом|м|ти)(?!\w))"
_LETTER = (
    r"(?:-?[а-яёa-z]|\s?-?\s?[«\"“][а-яёa-z][»\"”]|\s(?-i:[А-ЯЁA-Z])(?!\.\w))"
    r"(?![\wа-яё])"
)
_UNIT = rf"{_NUM}{_ORD}?(?:\s*(?:[-–—]|\s+to\s+)\s*{_NUM}{_ORD}?)?(?:{_LETTER})?"
_SEP = r"\s*(?:,|;|/|&|\s(?:и|and)\s)\s*"
_LIST = rf"(?<![\w№#/.:+¤-])(?:{_UNIT})(?:{_SEP}(?:{_UNIT}))*"
_UNIT_PARTS = re.compile(
    rf"({_NUM})({_ORD})?(?:\s*(?:[-–—]|\s+to\s+)\s*({_NUM}){_ORD}?)?({_LETTER})?", re.IGNORECASE
)

_CLASS_WORD = (
    r"(?:класс(?:ы|ов|ам|ами|а|у|ом)?|кл\.?|параллел(?:ь|и|ей|ям|ями|ях)|"
    r"grades?|graders?|classes|class|forms?)(?![\wа-яё])"
)
_PLURAL_WORD = r"(?:классы|классов|классам|параллел(?:и|ей|ям|ях)|grades|graders)"
_BEFORE_WORD = (
    r"(?:класс(?:а|у|ом)?|классы|классов|классам|параллел(?:ь|и|ей|ям|ях)|"
    r"grades?|class(?:es)?)"
)
_AUDIENCE_WORD = (
    r"(?:для|учащи(?:мся|хся|еся)|обучающи(?:мся|хся|еся)|ученик(?:ам|ов|и)|"
    r"школьник(?:ам|ов|и)|среди|for|students? of|pupils? of)"
)

# «9-11 классы», «8-х классов», «10Б класса», «9th grade»
_AFTER = re.compile(rf"({_LIST})\s*(?:-\s*)?({_CLASS_WORD})", re.IGNORECASE)
# «классов 9–11», «grades 10-11», «grade 9», «class 10B»
_BEFORE = re.compile(rf"(?<![\w-])({_BEFORE_WORD})\s*:?\s*({_LIST})(?![\w.,:]\d)", re.IGNORECASE)
# «для 10Б», «ученикам 7А и 7В»: letters required
_CLASSES = re.compile(rf"(?<!\w){_AUDIENCE_WORD}\s+({_LIST})", re.IGNORECASE)
# «с 5 по 9 класс», «from 5 to 9 grade» is covered by "to" in a unit
_FROM_TO = re.compile(
    rf"(?<!\w)с\s+({_NUM}){_ORD}?\s+по\s+({_NUM}){_ORD}?\s*{_CLASS_WORD}", re.IGNORECASE
)
_NUMBER_WORDS = {
    "перво": 1,
    "второ": 2,
    "третье": 3,
    "четверо": 4,
    "пяти": 5,
    "шести": 6,
    "семи": 7,
    "восьми": 8,
    "девяти": 9,
    "десяти": 10,
    "одиннадцати": 11,
}
_NUMBER_WORD = re.compile(
    rf"(?<![\wа-яё])({'|'.join(_NUMBER_WORDS)})-?классни(?:к|ки|ков|кам|ками|ках|ца|цы|ц)(?!\w)",
    re.IGNORECASE,
)
_WHOLE = re.compile(
    r"(?<!\w)(?:всей школы|всей гимназии|всех классов|всех параллелей|whole school|"
    r"all grades)(?!\w)",
    re.IGNORECASE,
)


def _mask(text: str) -> str:
    for pattern in _MASKS:
        text = pattern.sub(_MARK, text)
    return text


def _units(span: str, plural: bool, letters_only: bool) -> Audience | None:
    """The audience a list such as «8, 9 и 10-х» names, or None if any part is not one."""
    result = Audience()
    for match in _UNIT_PARTS.finditer(span):
        low = int(match.group(1))
        high = int(match.group(3)) if match.group(3) else low
        ordinal, letter = match.group(2), match.group(4)
        if letter is not None:
            raw = letter.strip(' -«»"“”')
            if ordinal or match.group(3):
                return None
            if raw in ("е", "х") and "-" in letter and plural:
                part = Audience(frozenset({low}))  # «10-е классы»: an ordinal
            else:
                canonical = canonical_letter(raw)
                if canonical is None or not MIN_GRADE <= low <= MAX_GRADE:
                    return None
                part = Audience(classes=frozenset({(low, canonical)}))
        else:
            if letters_only or not MIN_GRADE <= low <= high <= MAX_GRADE:
                return None
            part = Audience(frozenset(range(low, high + 1)))
        result = result.union(part)
    return None if result.is_empty() else result


def _groups(text: str, parser: AudienceParser) -> Iterable[Audience]:
    folded = text.replace("ё", "е").replace("Ё", "Е").casefold()
    for name in parser.group_names:
        words = name.split()
        if not words or len(name) < 4 or any(ch.isdigit() for ch in name):
            continue
        stems = [re.escape(w[:-2] if len(w) > 5 else w) for w in words]
        pattern = r"\s+".join(rf"{stem}[а-яa-z]{{0,4}}" for stem in stems)
        if re.search(rf"(?<![\wа-яё]){pattern}(?![\wа-яё])", folded):
            audience = parser.parse(name)
            if audience is not None:
                yield audience


def phrase_audience(text: str, parser: AudienceParser) -> Audience | None:
    """The audience that the phrases of ``text`` name (all of them joined), or None."""
    found: list[Audience] = list(_groups(text, parser))
    if _WHOLE.search(text):
        found.append(Audience.whole_school())
    masked = _mask(text)
    for match in _FROM_TO.finditer(masked):
        low, high = int(match.group(1)), int(match.group(2))
        if MIN_GRADE <= low <= high <= MAX_GRADE:
            found.append(Audience(frozenset(range(low, high + 1))))
    masked = _FROM_TO.sub(_MARK, masked)
    for match in _AFTER.finditer(masked):
        plural = re.fullmatch(_PLURAL_WORD, match.group(2), re.IGNORECASE) is not None
        audience = _units(match.group(1), plural or "," in match.group(1), False)
        if audience is not None:
            found.append(audience)
    masked = _AFTER.sub(_MARK, masked)
    for match in _BEFORE.finditer(masked):
        plural = re.fullmatch(_PLURAL_WORD, match.group(1), re.IGNORECASE) is not None
        singular_ru = match.group(1).casefold().startswith("класс") and not plural
        audience = _units(match.group(2), plural, singular_ru)
        if audience is not None:
            found.append(audience)
    masked = _BEFORE.sub(_MARK, masked)
    for match in _CLASSES.finditer(masked):
        audience = _units(match.group(1), False, True)
        if audience is not None:
            found.append(audience)
    for match in _NUMBER_WORD.finditer(text):
        found.append(Audience(frozenset({_NUMBER_WORDS[match.group(1).casefold()]})))
    if not found:
        return None
    result = found[0]
    for audience in found[1:]:
        result = result.union(audience)
    return result
