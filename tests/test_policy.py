"""The whole matrix of ``calhub.hub.policy.Policy``: every login against every kind of path
and every question the DAV layer, the web and the API ask it.

The expected answers are written out here, not computed: each table names every
combination, so a rule that changes shows up as one cell that changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calhub.hub import Hub
from calhub.hub.policy import EVENTS_WRITABLE, FULL_WRITE, READ_ONLY, Policy, view_path

LOGINS = ("", "ghost", "bfu", "kgtu", "coordinator")

# Radicale's letters for each path (columns in the order of LOGINS).
LETTERS: dict[str, tuple[str, str, str, str, str]] = {
    # The root and the principals.
    "/": ("", "", "R", "R", "R"),
    "/bfu/": ("", "", "R", "R", "RW"),
    "/school/": ("", "", "R", "R", "RW"),
    # Hub calendars: the owner and the coordinator write (never replace whole: no "o"
    # missing), everyone else reads.
    "/bfu/calendar/": ("", "", "rwo", "r", "rwo"),
    "/kgtu/calendar/": ("", "", "r", "rwo", "rwo"),
    "/school/calendar/": ("", "", "r", "r", "rwo"),
    "/school/blackout/": ("", "", "r", "r", "rwo"),
    # An archived partner's calendar is gone from storage: the coordinator gets 404 (rw, no D).
    "/gone/calendar/": ("", "", "r", "r", "rw"),
    # Views in a home: read through the share (whose own letters then cut them down);
    # nobody makes a collection at a view's name, the coordinator included, except that the
    # coordinator's own views are its to use.
    "/bfu/hub-kgtu/": ("", "", "r", "r", "r"),
    "/bfu/hub-school/": ("", "", "r", "r", "r"),
    "/bfu/hub-bfu/": ("", "", "r", "r", "r"),
    "/coordinator/hub-bfu/": ("", "", "r", "r", "rwD"),
    "/kgtu/hub-bfu/": ("", "", "r", "r", "r"),
    # A view name with something stored there (made before the rule): only the
    # coordinator may remove it.
    "/coordinator/hub-stale/": ("", "", "r", "r", "rwD"),
    # Collections of the coordinator's own, and paths where nothing is.
    "/coordinator/private/": ("", "", "", "", "rwD"),
    "/bfu/other/": ("", "", "r", "r", "rwD"),
    # Below a collection: items are judged by their collection, never here.
    "/bfu/calendar/event.ics": ("", "", "", "", ""),
}

# Whether the login may write events into the collection (the PUT pre-check).
MAY_WRITE: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    "/bfu/calendar/": (False, False, True, False, True),
    "/kgtu/calendar/": (False, False, False, True, True),
    "/school/calendar/": (False, False, False, False, True),
    "/school/blackout/": (False, False, False, False, True),
    "/gone/calendar/": (False, False, False, False, True),
    "/bfu/hub-kgtu/": (False, False, False, False, True),
    "/coordinator/private/": (False, False, False, False, True),
}

N = None
# The WebDAV privileges advertised (None: Radicale's own answer).
PRIVILEGES: dict[str, tuple[tuple[str, ...] | None, ...]] = {
    "/bfu/calendar/": (N, N, FULL_WRITE, READ_ONLY, FULL_WRITE),
    "/kgtu/calendar/": (N, N, READ_ONLY, FULL_WRITE, FULL_WRITE),
    "/school/calendar/": (N, N, READ_ONLY, READ_ONLY, FULL_WRITE),
    "/gone/calendar/": (N, N, N, N, N),
    "/bfu/hub-kgtu/": (N, N, READ_ONLY, N, N),
    "/bfu/hub-bfu/": (N, N, N, N, N),
    "/kgtu/hub-bfu/": (N, N, N, READ_ONLY, N),
    "/coordinator/hub-bfu/": (N, N, N, N, EVENTS_WRITABLE),
    "/coordinator/private/": (N, N, N, N, N),
}

# Which calendar a view shows its owner (None: not a view of that login).
VIEW_TARGETS: dict[str, tuple[str | None, ...]] = {
    "/bfu/hub-kgtu/": (N, N, "kgtu", N, N),
    "/bfu/hub-school/": (N, N, "school", N, N),
    "/bfu/hub-bfu/": (N, N, N, N, N),
    "/bfu/hub-gone/": (N, N, N, N, N),
    "/coordinator/hub-bfu/": (N, N, N, N, "bfu"),
    "/coordinator/hub-school/": (N, N, N, N, "school"),
    "/kgtu/hub-bfu/": (N, N, N, "bfu", N),
}


def calhub_cli(*argv: str, stdin: str = "") -> None:
    subprocess.run([sys.executable, "-m", "calhub", *argv], input=stdin, text=True, check=True)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Policy:
    root = tmp_path_factory.mktemp("policy") / "data"
    shutil.copytree(hub_template, root)
    # A partner that left: its calendar is archived.
    data = ("--data", str(root))
    calhub_cli(
        "partner",
        "add",
        "gone",
        "--name",
        "Ушли",
        "--password-stdin",
        *data,
        stdin="gone-password-1\n",
    )
    calhub_cli("partner", "remove", "gone", *data)
    hub = Hub(root)
    for stored in ("coordinator/private", "coordinator/hub-stale"):
        (hub.paths.collections / stored).mkdir(parents=True)
    return Policy(hub)


def cells(table: dict[str, tuple[object, ...]]) -> list[tuple[str, str, object]]:
    return [(login, path, row[i]) for path, row in table.items() for i, login in enumerate(LOGINS)]


@pytest.mark.parametrize(("login", "path", "expected"), cells(LETTERS))
def test_letters(policy: Policy, login: str, path: str, expected: str) -> None:
    assert policy.letters(login, path) == expected


@pytest.mark.parametrize(("login", "path", "expected"), cells(MAY_WRITE))
def test_may_write_events(policy: Policy, login: str, path: str, expected: bool) -> None:
    assert policy.may_write_events(login, path) is expected


@pytest.mark.parametrize(("login", "path", "expected"), cells(PRIVILEGES))
def test_privileges(policy: Policy, login: str, path: str, expected: object) -> None:
    found = policy.privileges(login, path)
    assert (None if found is None else tuple(found)) == expected


@pytest.mark.parametrize(("login", "path", "expected"), cells(VIEW_TARGETS))
def test_view_target(policy: Policy, login: str, path: str, expected: str | None) -> None:
    target = policy.view_target(login, path)
    assert (None if target is None else target.id) == expected


@pytest.mark.parametrize(
    ("login", "letters", "calendars", "first"),
    [
        ("", "", [], 0),
        ("ghost", "", [], 0),
        ("bfu", "rp", ["school", "blackout", "kgtu"], 1),
        ("kgtu", "rp", ["school", "blackout", "bfu"], 1),
        ("coordinator", "rwpo", ["school", "blackout", "bfu", "kgtu"], 0),
    ],
)
def test_views_of(
    policy: Policy, login: str, letters: str, calendars: list[str], first: int
) -> None:
    views = policy.views_of(login)
    assert (views.letters, [c.id for c in views.calendars], views.first_order) == (
        letters,
        calendars,
        first,
    )
    # Each view is a path the letters and the view target agree on.
    for calendar in views.calendars:
        path = view_path(login, calendar.id)
        assert policy.view_target(login, path) is not None
        assert "r" in policy.letters(login, path)


def test_the_tables_cover_every_login() -> None:
    for table in (LETTERS, MAY_WRITE, PRIVILEGES, VIEW_TARGETS):
        assert all(len(row) == len(LOGINS) for row in table.values())


# -- the web and the API ------------------------------------------------------------------


def account(policy: Policy, login: str):  # -> Account
    found = policy._hub.accounts.get(login)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("login", "coordinate", "scope", "refused_scope", "refused_of_kgtu"),
    [
        ("bfu", False, "bfu", "bfu", "bfu"),
        ("kgtu", False, "kgtu", "kgtu", "kgtu"),
        ("coordinator", True, None, None, "kgtu"),
    ],
)
def test_web_scopes(
    policy: Policy,
    login: str,
    coordinate: bool,
    scope: str | None,
    refused_scope: str | None,
    refused_of_kgtu: str | None,
) -> None:
    who = account(policy, login)
    assert policy.may_coordinate(who) is coordinate
    assert policy.clash_scope(who) == scope
    assert policy.refused_scope(who) == refused_scope
    # A partner asking for another's refused writes still gets its own.
    assert policy.refused_scope(who, "kgtu") == refused_of_kgtu
    assert policy.may_coordinate(None) is False


# (viewer) → may see a clash of (bfu, kgtu), of (kgtu, school), of (school, blackout)
CLASHES = {
    "bfu": (True, False, False),
    "kgtu": (True, True, False),
    "coordinator": (True, True, True),
}


@pytest.mark.parametrize("login", sorted(CLASHES))
def test_can_see_clash(policy: Policy, login: str) -> None:
    who = account(policy, login)
    pairs = (("bfu", "kgtu"), ("kgtu", "school"), ("school", "blackout"))
    assert tuple(policy.can_see_clash(who, pair) for pair in pairs) == CLASHES[login]


# (viewer) → may see refused writes of bfu, kgtu, coordinator; may open the page of each
SEEN = {
    "bfu": ((True, False, False), (True, False, False)),
    "kgtu": ((False, True, False), (False, True, False)),
    "coordinator": ((True, True, True), (True, True, True)),
}


@pytest.mark.parametrize("login", sorted(SEEN))
def test_refused_writes_and_partner_pages(policy: Policy, login: str) -> None:
    who = account(policy, login)
    logins = ("bfu", "kgtu", "coordinator")
    refused = tuple(policy.can_see_refused(who, other) for other in logins)
    pages = tuple(policy.can_see_partner(who, other) for other in logins)
    assert (refused, pages) == SEEN[login]


# Asking a partner to move an event, and answering such a request, per calendar:
# (bfu, kgtu, school, blackout) for each login.
MOVE_REQUESTS = {
    "bfu": ((False, False, False, False), (True, False, False, False)),
    "kgtu": ((False, False, False, False), (False, True, False, False)),
    "coordinator": ((True, True, False, False), (True, True, True, True)),
}


@pytest.mark.parametrize("login", sorted(MOVE_REQUESTS))
def test_move_requests(policy: Policy, login: str) -> None:
    who = account(policy, login)
    calendars = [policy.readable_calendars()[c] for c in ("bfu", "kgtu", "school", "blackout")]
    ask = tuple(policy.may_ask_to_move(who, c) for c in calendars)
    answer = tuple(policy.may_answer_move_request(who, c) for c in calendars)
    assert (ask, answer) == MOVE_REQUESTS[login]


# The report (issue 20): whose figures each login gets, and which rows it may see of
# (bfu, kgtu, school, blackout).
REPORTS = {
    "bfu": ("bfu", (True, False, False, False)),
    "kgtu": ("kgtu", (False, True, False, False)),
    "coordinator": (None, (True, True, True, True)),
}


@pytest.mark.parametrize("login", sorted(REPORTS))
def test_report_rows(policy: Policy, login: str) -> None:
    who = account(policy, login)
    rows = tuple(policy.may_see_report_row(who, c) for c in ("bfu", "kgtu", "school", "blackout"))
    assert (policy.report_scope(who), rows) == REPORTS[login]


# The audit log: (scope, may read the history of an event of bfu, kgtu, school, blackout)
AUDIT = {
    "bfu": (frozenset({"bfu"}), (True, False, False, False)),
    "kgtu": (frozenset({"kgtu"}), (False, True, False, False)),
    "coordinator": (None, (True, True, True, True)),
}


@pytest.mark.parametrize("login", sorted(AUDIT))
def test_audit_log(policy: Policy, login: str) -> None:
    who = account(policy, login)
    calendars = ("bfu", "kgtu", "school", "blackout")
    seen = tuple(policy.can_see_audit_of(who, c) for c in calendars)
    assert (policy.audit_scope(who), seen) == AUDIT[login]


def test_readable_and_own_calendars(policy: Policy) -> None:
    assert sorted(policy.readable_calendars()) == ["bfu", "blackout", "kgtu", "school"]
    own = {
        login: [c.id for c in policy.own_calendars(account(policy, login))]
        for login in ("bfu", "kgtu", "coordinator")
    }
    assert own == {"bfu": ["bfu"], "kgtu": ["kgtu"], "coordinator": ["school", "blackout"]}


def test_the_rights_plugin_answers_with_the_policy(policy: Policy, tmp_path: Path) -> None:
    """Radicale's rights plugin adds nothing of its own: its letters are the policy's."""
    from calhub.dav.app import radicale_configuration
    from calhub.dav.plugins.rights import Rights
    from calhub.runtime import Runtime

    runtime = Runtime(policy._hub)
    plugin = Rights(radicale_configuration(runtime), runtime=runtime)
    for login, path, expected in cells(LETTERS):
        assert plugin.authorization(login, set(), path) == expected, (login, path)


# Feedback (calhub.feedback): (may moderate, feedback scope, may run surveys), and whether
# the login may read a comment on an event of (bfu, kgtu) in each status.
FEEDBACK = {
    "bfu": (False, "bfu", False),
    "kgtu": (False, "kgtu", False),
    "coordinator": (True, None, True),
}
COMMENT_STATUSES = ("new", "held", "approved", "hidden")
COMMENTS = {
    # status:      new             held            approved        hidden
    #            (bfu, kgtu)
    "bfu": ((False, False), (False, False), (True, False), (False, False)),
    "kgtu": ((False, False), (False, False), (False, True), (False, False)),
    "coordinator": ((True, True), (True, True), (True, True), (True, True)),
}


@pytest.mark.parametrize("login", sorted(FEEDBACK))
def test_feedback_rights(policy: Policy, login: str) -> None:
    who = account(policy, login)
    found = (
        policy.may_moderate_feedback(who),
        policy.feedback_scope(who),
        policy.may_run_surveys(who),
    )
    assert found == FEEDBACK[login]
    comments = tuple(
        tuple(policy.may_see_comment(who, calendar, status) for calendar in ("bfu", "kgtu"))
        for status in COMMENT_STATUSES
    )
    assert comments == COMMENTS[login]
    assert policy.may_moderate_feedback(None) is False
    assert policy.may_run_surveys(None) is False
