"""caldav-server-tester 1.7.0 with one fix: a run in a calendar that refuses VTODO completes.

Run with the tester's own Python (run.sh does): ``python tester.py [caldav-server-tester options]``.

Why: the tester's fixture setup (``PrepareCalendar._prepare_task_calendar``) first saves a
VTODO in the test calendar; when that is refused it looks for, and then creates, a separate
task calendar. Its journal setup guards that creation, its task setup does not: an account
that may not create calendars (a hub partner, whose only calendar holds events) gets the
MKCALENDAR refusal raised out of the whole setup, so no event fixture is stored either, and
a later check (``CheckDuplicateEvent``) aborts the run on a feature it could not set. No
answer of the server to the VTODO PUT avoids that (any refusal leads to the MKCALENDAR).

The fix grades ``save-load.todo`` "unsupported" there and skips the task fixtures, which is
what the tester's own ``_create_test_events`` says it does for "a server that cannot store a
VTODO anywhere". It changes nothing for an account whose calendar takes a VTODO or that can
create a task calendar (plain Radicale, the coordinator), so their outputs are the tester's.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from caldav.lib.error import AuthorizationError, DAVError
from caldav_server_tester.caldav_server_tester import check_server_compatibility
from caldav_server_tester.checks import PrepareCalendar

logger = logging.getLogger(__name__)
_prepare_task_calendar = PrepareCalendar._prepare_task_calendar


def prepare_task_calendar(self: Any, cal_id: str, name: str, add_if_not_existing: Any) -> bool:
    try:
        return bool(_prepare_task_calendar(self, cal_id, name, add_if_not_existing))
    except (DAVError, AuthorizationError) as exc:
        # The VTODO was refused and no task calendar could be found or made: the test
        # calendar stays the task list, so the fixtures' cleanup still finds everything.
        logger.warning("No calendar takes a VTODO (%s); the task fixtures are skipped", exc)
        self.checker.tasklist = self.checker.calendar
        self.set_feature(
            "save-load.todo",
            {
                "support": "unsupported",
                "behaviour": f"the VTODO was refused and no task calendar could be made ({exc})",
            },
        )
        return False


PrepareCalendar._prepare_task_calendar = prepare_task_calendar  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "caldav-server-tester"
    sys.exit(check_server_compatibility())
