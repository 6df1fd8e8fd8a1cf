"""What a feed shows: ``all``, ``calendar:ID``, ``audience:SPEC``, ``busy:SPEC``, ``conflicts``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.engine import Audience
    from calhub.runtime import Runtime

KINDS = ("all", "calendar", "audience", "busy", "conflicts")


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
    raise NotImplementedError


def scope_title(scope: FeedScope, runtime: Runtime) -> str:
    """The feed's name in apps (``X-WR-CALNAME``), e.g. «Гимназия №32: 10А»."""
    raise NotImplementedError
