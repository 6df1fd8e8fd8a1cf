"""What a feed shows: ``all``, ``calendar:ID``, ``audience:SPEC``, ``busy:SPEC``, ``conflicts``.

A scope is read once when a feed is made (``calhub feed create --scope``) and again each
time its token is used, so a calendar archived since, or a group removed from the config,
makes the feed stop (its token then finds nothing). Audiences are read by the engine's
parser, the same one that reads events, so ``audience:10`` means what the clash rules mean
by grade 10 (every class of it, and the groups that include it).

Errors are :class:`~calhub.errors.UserError` in Russian, then English, with a hint: the
text comes from people typing in a terminal or a form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from calhub.errors import UserError

if TYPE_CHECKING:
    from calhub.engine import Audience
    from calhub.runtime import Runtime

KINDS = ("all", "calendar", "audience", "busy", "conflicts")
# Kinds that take a value after the colon, and those that must not.
VALUED = ("calendar", "audience", "busy")
MAX_SCOPE_LENGTH = 200

SCOPE_HINT = (
    "Укажите all, calendar:ID, audience:SPEC (например audience:10А, audience:8-9), "
    "busy:SPEC или conflicts. / "
    "Use all, calendar:ID, audience:SPEC (e.g. audience:10А, audience:8-9), busy:SPEC "
    "or conflicts."
)


@dataclass(frozen=True, slots=True)
class FeedScope:
    """One feed's scope. ``value`` is the calendar id or the audience as written (``10А``,
    ``8-9``, a group name); ``audience`` is that audience read by the engine's parser."""

    kind: str
    value: str = ""
    audience: Audience | None = None

    def __str__(self) -> str:
        """As written in ``--scope`` and stored with the token: ``audience:10А``."""
        return self.kind if not self.value else f"{self.kind}:{self.value}"

    @property
    def coordinator_only(self) -> bool:
        """The conflicts feed shows every open clash: only the coordinator sees its token."""
        return self.kind == "conflicts"


def parse_scope(text: str, runtime: Runtime) -> FeedScope:
    """A scope from its text; ``UserError`` (Russian and English, with a hint) for an unknown
    kind, an unknown or archived calendar, or an audience the parser cannot read."""
    if not isinstance(text, str) or not text.strip():
        raise UserError(
            "Не указано, что показывать в ленте. / The feed scope is empty.", SCOPE_HINT
        )
    if len(text) > MAX_SCOPE_LENGTH:
        raise UserError(
            f"Слишком длинное описание ленты (больше {MAX_SCOPE_LENGTH} знаков). / "
            f"The feed scope is too long (over {MAX_SCOPE_LENGTH} characters).",
            SCOPE_HINT,
        )
    kind, colon, value = text.strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind not in KINDS:
        raise UserError(
            f"Неизвестный вид ленты «{kind}». / Unknown feed kind {kind!r}.", SCOPE_HINT
        )
    if kind not in VALUED:
        if colon and value:
            raise UserError(
                f"Лента {kind} не принимает уточнения («{value}»). / "
                f"The {kind} feed takes no value ({value!r}).",
                f"Напишите просто {kind}. / Write just {kind}.",
            )
        return FeedScope(kind)
    if not value:
        raise UserError(
            f"Для ленты {kind} нужно уточнение после двоеточия. / "
            f"The {kind} feed needs a value after the colon.",
            SCOPE_HINT,
        )
    if kind == "calendar":
        return FeedScope(kind, _calendar_id(value, runtime))
    audience = runtime.parts.parser.parse(value)
    if audience is None or audience.is_empty():
        groups = ", ".join(sorted(runtime.settings.groups)) or "—"
        raise UserError(
            f"«{value}» не похоже на параллель, класс или группу. / "
            f"{value!r} is not a grade, class or group.",
            "Например 10, 10А, 8-9 или группа из calhub.toml (" + groups + "). / "
            "For example 10, 10А, 8-9 or a group from calhub.toml (" + groups + ").",
        )
    return FeedScope(kind, value, audience)


def _calendar_id(value: str, runtime: Runtime) -> str:
    calendar = runtime.settings.calendar(value)
    if calendar is None:
        raise UserError(
            f"В хабе нет календаря «{value}». / There is no calendar {value!r} in the hub.",
            "Список календарей: calhub partner list. / See 'calhub partner list'.",
        )
    if calendar.archived:
        raise UserError(
            f"Календарь «{value}» в архиве. / The calendar {value!r} is archived.",
            "Лента возможна только для действующего календаря. / "
            "Only an active calendar can have a feed.",
        )
    return calendar.id


def scope_title(scope: FeedScope, runtime: Runtime) -> str:
    """The feed's name in apps (``X-WR-CALNAME``), e.g. «Гимназия №32: 10А»."""
    school = runtime.settings.school
    if scope.kind == "all":
        return f"{school}: все мероприятия / all events"
    if scope.kind == "calendar":
        calendar = runtime.settings.calendar(scope.value)
        return f"{school}: {calendar.name if calendar is not None else scope.value}"
    if scope.kind == "audience":
        return f"{school}: {scope.value}"
    if scope.kind == "busy":
        return f"{school}: занято / busy, {scope.value}"
    return f"{school}: открытые конфликты / open conflicts"
