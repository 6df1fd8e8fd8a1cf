"""Real CalDAV clients against a real hub: the ``caldav`` library and vdirsyncer discover from
the bare host, get the account's own calendar writable and the hub-* views read-only, sync
events both ways under names with non-ASCII and reserved characters, and a task (VTODO) in a
calendar that is no hub calendar round-trips. docs/interop.md has what apps rely on."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import caldav
import pytest
from caldav.elements import dav
from caldav.lib.error import AuthorizationError, DAVError
from helpers import PASSWORDS, creds, dav_client, request, simple_event

# What a calendar app needs granted to put, change and delete events in a calendar
# (RFC 3744 §3.3, §3.9, §3.10); DAV:write and DAV:all contain all three.
WRITE_PRIVILEGES = {"{DAV:}write-content", "{DAV:}bind", "{DAV:}unbind"}
AGGREGATES = {"{DAV:}write", "{DAV:}all"}
ANY_WRITE = WRITE_PRIVILEGES | AGGREGATES | {"{DAV:}write-properties"}
PARTNER_VIEWS = {"hub-school", "hub-blackout", "hub-kgtu"}
COORDINATOR_VIEWS = {"hub-school", "hub-blackout", "hub-bfu", "hub-kgtu"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
# Names (the last segment of an event's href) a partner's other app may have given its events.
ODD_NAMES = [
    "Встреча ä {tag}.ics",
    "a b@c+d&e%f {tag}.ics",
]
VDIRSYNCER_TIMEOUT = 120


@pytest.fixture(scope="module")
def hub(module_hubs):
    return module_hubs()


def privileges(calendar: caldav.Calendar) -> set[str]:
    granted = calendar.get_property(dav.CurrentUserPrivilegeSet())
    assert isinstance(granted, list), f"no current-user-privilege-set on {calendar.url}"
    return set(granted)


def may_write_events(granted: set[str]) -> bool:
    return bool(granted & AGGREGATES) or granted >= WRITE_PRIVILEGES


def own_calendars(hub, login: str) -> dict[str, caldav.Calendar]:
    """The calendars the caldav library finds for ``login`` from the bare host URL, by the
    last segment of their URL."""
    principal = dav_client(hub.url, login).principal()
    assert str(principal.url) == f"{hub.dav_url}{login}/"
    found = {}
    for calendar in principal.calendars():
        url = str(calendar.url)
        assert url.startswith(f"{hub.dav_url}{login}/"), f"{url} is not in {login}'s home"
        found[url.rstrip("/").rsplit("/", 1)[1]] = calendar
    return found


# -- discovery through the caldav library ------------------------------------------------


def test_partner_finds_its_calendar_writable_and_the_views_read_only(hub):
    calendars = own_calendars(hub, "bfu")
    assert set(calendars) == {"calendar"} | PARTNER_VIEWS
    own = privileges(calendars["calendar"])
    assert may_write_events(own), own
    for view in PARTNER_VIEWS:
        granted = privileges(calendars[view])
        assert "{DAV:}read" in granted, (view, granted)
        assert not granted & ANY_WRITE, (view, granted)


def test_partner_writes_where_it_may_and_nowhere_else(hub):
    """What the privileges promise is what the server does."""
    calendars = own_calendars(hub, "bfu")
    uid = f"interop-own-{uuid.uuid4()}"
    saved = calendars["calendar"].save_event(simple_event(uid))
    assert calendars["calendar"].event_by_uid(uid).icalendar_component["UID"] == uid
    saved.delete()
    for view in PARTNER_VIEWS:
        with pytest.raises((AuthorizationError, DAVError)):
            calendars[view].save_event(simple_event(f"interop-view-{uuid.uuid4()}"))


def test_coordinator_finds_every_hub_calendar_writable(hub):
    calendars = own_calendars(hub, "coordinator")
    assert set(calendars) == COORDINATOR_VIEWS
    for name, calendar in calendars.items():
        granted = privileges(calendar)
        assert may_write_events(granted), (name, granted)


# -- a task outside the hub calendars ------------------------------------------------------


def test_task_in_the_coordinators_own_calendar_round_trips(fresh_hub):
    hub = fresh_hub()
    principal = dav_client(hub.url, "coordinator").principal()
    tasks = principal.make_calendar(name="Задачи завуча", cal_id="zadachi")
    uid = f"task-{uuid.uuid4()}"
    tasks.save_todo(summary="Проверить журналы 10 «А»", uid=uid)

    again = dav_client(hub.url, "coordinator").principal().calendar(cal_id="zadachi")
    todo = again.todo_by_uid(uid)
    assert str(todo.icalendar_component["SUMMARY"]) == "Проверить журналы 10 «А»"
    assert [str(t.icalendar_component["UID"]) for t in again.todos()] == [uid]
    todo.complete()
    assert str(again.todo_by_uid(uid).icalendar_component["STATUS"]) == "COMPLETED"
    todo.delete()
    assert again.todos(include_completed=True) == []


# -- vdirsyncer ----------------------------------------------------------------------------


def put_event(hub, login: str, calendar: str, name: str, uid: str, summary: str) -> None:
    path = f"/dav/{login}/{calendar}/{urllib.parse.quote(name)}"
    response = request(hub.url, "PUT", path, *creds(login), simple_event(uid, summary), ICS)
    assert response.status == 201, (path, response.status, response.text[:300])


def get_event(hub, login: str, calendar: str, name: str):
    path = f"/dav/{login}/{calendar}/{urllib.parse.quote(name)}"
    return request(hub.url, "GET", path, *creds(login))


class Vdirsyncer:
    """vdirsyncer with a config of its own: the hub as ``login`` (from the bare host) paired
    with a local directory, every collection the hub offers."""

    def __init__(self, hub, login: str, root: Path) -> None:
        self.root = root
        self.local = root / "local"
        self.config = root / "config"
        self.config.write_text(
            f"""[general]
status_path = "{root / "status"}/"

[pair hub]
a = "hub_remote"
b = "hub_local"
collections = ["from a"]

[storage hub_remote]
type = "caldav"
url = "{hub.url}"
username = "{login}"
password = "{PASSWORDS[login]}"

[storage hub_local]
type = "filesystem"
path = "{self.local}/"
fileext = ".ics"
""",
            encoding="utf-8",
        )

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "vdirsyncer", "-c", str(self.config), *args],
            input="y\n" * 20,  # discover asks before it creates each local collection
            capture_output=True,
            text=True,
            timeout=VDIRSYNCER_TIMEOUT,
            cwd=self.root,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"vdirsyncer {' '.join(args)} failed:\n{output}"
        return output

    def items(self, collection: str) -> dict[str, Path]:
        """UID → local file, for one collection."""
        found = {}
        for path in (self.local / collection).glob("*.ics"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("UID:"):
                    found[line[4:].strip()] = path
        return found


@pytest.mark.slow
def test_vdirsyncer_discovers_and_syncs_both_ways_under_odd_names(hub, tmp_path):
    tag = uuid.uuid4().hex[:8]
    uids = {name: f"odd-{i}-{tag}" for i, name in enumerate(ODD_NAMES)}
    for name, uid in uids.items():
        put_event(hub, "bfu", "calendar", name.format(tag=tag), uid, f"Событие {uid}")
    other_uid = f"kgtu-{tag}"
    put_event(hub, "kgtu", "calendar", f"{other_uid}.ics", other_uid, "Лекция КГТУ")

    sync = Vdirsyncer(hub, "bfu", tmp_path)
    sync("discover")
    assert {p.name for p in sync.local.iterdir()} == {"calendar"} | PARTNER_VIEWS
    sync("sync")

    # hub → local: the odd names arrive, and the views are there to read.
    local = sync.items("calendar")
    assert set(uids.values()) <= set(local), sorted(local)
    assert other_uid in sync.items("hub-kgtu")

    # local → hub, into an event with an odd name: the change lands under that name.
    first_name = ODD_NAMES[0].format(tag=tag)
    first = local[uids[ODD_NAMES[0]]]
    first.write_text(
        first.read_text(encoding="utf-8").replace(
            f"SUMMARY:Событие {uids[ODD_NAMES[0]]}", "SUMMARY:Перенесено ä"
        ),
        encoding="utf-8",
    )
    # A new local event: vdirsyncer names it after its UID, '+' and all.
    new_uid = f"vds+new-{tag}"
    (sync.local / "calendar" / "new.ics").write_text(simple_event(new_uid), encoding="utf-8")
    # A local deletion of the other odd name.
    second_name = ODD_NAMES[1].format(tag=tag)
    local[uids[ODD_NAMES[1]]].unlink()
    sync("sync")

    changed = get_event(hub, "bfu", "calendar", first_name)
    assert changed.status == 200 and "SUMMARY:Перенесено ä" in changed.text, changed.text[:300]
    assert get_event(hub, "bfu", "calendar", second_name).status == 404
    uploaded = dav_client(hub.url, "bfu").principal().calendar(cal_id="calendar")
    assert str(uploaded.event_by_uid(new_uid).icalendar_component["UID"]) == new_uid
    assert get_event(hub, "bfu", "calendar", f"{new_uid}.ics").status == 200

    # hub → local deletion, of the odd name.
    path = f"/dav/bfu/calendar/{urllib.parse.quote(first_name)}"
    assert request(hub.url, "DELETE", path, *creds("bfu")).status in (200, 204)
    sync("sync")
    local = sync.items("calendar")
    assert uids[ODD_NAMES[0]] not in local
    assert new_uid in local
