"""Errors raised by the clash engine.

The hub turns :class:`InvalidCalendarData` into an HTTP 4xx answer, so its
message is written for the person who sent the event: it names the event (UID)
and the property that is wrong, and says what is wrong with it.
"""

from __future__ import annotations

from calhub.errors import CalhubError

__all__ = ["EngineError", "InvalidCalendarData", "UnreadableCalendarData", "UnsupportedComponent"]


class EngineError(CalhubError):
    """Base class of every error the engine raises on purpose (under calhub's one root;
    ``calhub.errors`` imports nothing, so the engine stays pure)."""


class InvalidCalendarData(EngineError):
    """The iCalendar data cannot be read or describes an impossible event.

    ``str(error)`` is the English message; ``message_ru`` is the same in Russian.
    ``uid`` and ``prop`` are empty when the problem is not tied to one event or
    property (for example when the data is not iCalendar at all).
    """

    def __init__(
        self, message: str, *, uid: str = "", prop: str = "", message_ru: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.uid = uid
        self.prop = prop
        self.message_ru = message_ru or message


class UnreadableCalendarData(InvalidCalendarData):
    """The data is not iCalendar text at all: not UTF-8, not a VCALENDAR, or unparsable."""


class UnsupportedComponent(InvalidCalendarData):
    """The object holds a component the calendar does not take (a VTODO in a hub calendar)."""
