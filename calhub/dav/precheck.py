"""Refusing a PUT body before Radicale reads it (see :mod:`calhub.engine.precheck`).

Every iCalendar body has its rules and sizes bounded; a hub calendar takes events only,
and the body as sent is also read the way the clash engine reads it: Radicale rewrites
some invalid values (year 0000 becomes 2000) when it parses. Bodies that are not
iCalendar (a vCard into an address book) are Radicale's to judge.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from calhub.dav.indexing import PARSER_ERRORS, Indexer, unreadable
from calhub.dav.refusal import WriteRefused
from calhub.engine import InvalidCalendarData
from calhub.engine.precheck import check_body
from calhub.engine.rawscan import BodyLimits

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

ICALENDAR_START = re.compile(rb"BEGIN:VCALENDAR", re.IGNORECASE)


def body_limits(runtime: Runtime) -> BodyLimits:
    """The counts a PUT body may reach, from calhub.toml [hub]."""
    settings = runtime.settings
    return BodyLimits(
        components=settings.max_components_per_object,
        overrides=settings.max_overrides_per_event,
        dates=settings.max_dates_per_event,
        calendar_components=settings.max_components_per_calendar,
    )


class PutCheck:
    """``RefusalMapper``'s pre-check: raises WriteRefused for a body the hub refuses."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, path: str, body: bytes, login: str, password: str) -> None:
        runtime = self.runtime
        folder = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
        if not self._may_write(folder, login, password):
            # A login the hub cannot verify was answered 401 by calhub.dav.login already;
            # a write the login may not make gets Radicale's 403 (need-privileges), unread.
            return
        calendar = Indexer(runtime).hub_calendar(folder) or runtime.policy.view_target(
            login, folder
        )
        if calendar is None and not ICALENDAR_START.search(body):
            return
        try:
            check_body(
                body,
                path.endswith("/"),
                events_only=calendar is not None,
                limits=body_limits(runtime),
            )
            if calendar is not None:
                runtime.parts.expand(calendar, body.decode("utf-8"))
        except InvalidCalendarData as exc:
            raise WriteRefused.invalid(exc) from exc
        except PARSER_ERRORS as exc:
            # The parsers' own complaint about data they cannot take apart.
            logger.info("Unreadable PUT body for %s: %r", path, exc)
            raise WriteRefused.invalid(unreadable(exc)) from exc

    def _may_write(self, folder: str, login: str, password: str) -> bool:
        """Whether this login may write into ``folder``: nobody else gets a body parsed."""
        if not login or self.runtime.hub.accounts.verify(login, password) is None:
            return False
        return self.runtime.policy.may_write_events(login, folder)
