"""``calhub partner add|list|passwd|remove``: offline, and against a running server (changes
take effect at once, without a restart)."""

from __future__ import annotations

import json
import re
import time
import tomllib
import uuid
from pathlib import Path

import pytest
from helpers import (
    PASSWORDS,
    assert_login_refused,
    assert_user_error,
    creds,
    propfind_body,
    request,
    simple_event,
)

from calhub.hub.accounts import AccountStore

NEW_PASSWORD = "a-brand-new-password"


def config_of(root: Path) -> dict:
    return tomllib.loads((root / "calhub.toml").read_text(encoding="utf-8"))


def calendar_entry(root: Path, calendar_id: str) -> dict | None:
    return next((c for c in config_of(root)["calendars"] if c["id"] == calendar_id), None)


def store(root: Path) -> AccountStore:
    return AccountStore(root / "accounts.json", cache_seconds=0, failed_delay=0)


def snapshot(root: Path) -> dict[Path, bytes]:
    return {
        p.relative_to(root): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".sqlite" not in p.name and ".Radicale.cache" not in p.parts
    }


def printed_password(out: str) -> str:
    match = re.search(r"password[^:\n]*:\s*(\S+)\s*$", out, re.IGNORECASE | re.MULTILINE)
    assert match, out
    return match.group(1)


@pytest.fixture
def hub(fresh_hub) -> Path:
    """A hub directory (no server) with partners bfu and kgtu."""
    return fresh_hub.create()


# -- add ----------------------------------------------------------------------------------------


def test_add_with_every_option(hub, runner):
    code, out, err = runner(
        "partner",
        "add",
        "ranepa",
        "--name",
        "РАНХиГС",
        "--color",
        "#8250df",
        "--audience",
        "10-11",
        "--policy",
        "reject",
        "--password-stdin",
        "--data",
        str(hub),
        input="ranepa-password\n",
    )
    assert code == 0, err
    assert "/dav/ranepa/calendar/" in out
    assert "ranepa-password" not in out + err
    entry = calendar_entry(hub, "ranepa")
    assert entry is not None
    assert entry["name"] == "РАНХиГС"
    assert entry["color"] == "#8250DF"
    assert entry["audience"] == "10-11"
    assert entry["policy"] == "reject"
    props = json.loads(
        (hub / "storage/collection-root/ranepa/calendar/.Radicale.props").read_text()
    )
    assert props["D:displayname"] == "РАНХиГС"
    assert props["ICAL:calendar-color"] == "#8250DF"
    account = store(hub).verify("ranepa", "ranepa-password")
    assert account is not None
    assert account.role == "partner"


def test_add_with_a_generated_password(hub, runner):
    code, out, err = runner("partner", "add", "kfruk", "--name", "КФ РУК", "--data", str(hub))
    assert code == 0, err
    password = printed_password(out)
    assert out.count(password) == 1
    assert store(hub).verify("kfruk", password) is not None
    entry = calendar_entry(hub, "kfruk")
    assert entry is not None
    assert entry.get("policy", "record") == "record"


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["bfu", "--name", "Ещё БФУ"], ["'bfu'", "exists"]),
        (["school", "--name", "Школа"], ["'school'", "reserved"]),
        (["blackout", "--name", "X"], ["reserved"]),
        (["coordinator", "--name", "X"], ["reserved"]),
        (["dav", "--name", "X"], ["reserved"]),
        (["Bad Id", "--name", "X"], ["'Bad Id'", "not a valid id"]),
        (["BFU2", "--name", "X"], ["not a valid id"]),
        (["1abc", "--name", "X"], ["not a valid id"]),
        (["x", "--name", "X"], ["not a valid id"]),
        (["a" * 33, "--name", "X"], ["not a valid id"]),
        (["../etc", "--name", "X"], ["not a valid id"]),
        (["bfu/cal", "--name", "X"], ["not a valid id"]),
        (["ranepa", "--name", "   "], ["--name"]),
        (["ranepa", "--name", "X", "--color", "red"], ["'red'", "colour"]),
        (["ranepa", "--name", "X", "--color", "#12345"], ["colour"]),
        (["ranepa", "--name", "X", "--color", "#GGGGGG"], ["colour"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_add_refuses(hub, runner, argv, fragments):
    before = snapshot(hub)
    result = runner("partner", "add", *argv, "--password-stdin", "--data", str(hub), input="x" * 12)
    assert_user_error(result, *fragments)
    assert snapshot(hub) == before, "a refused add must change nothing"


def test_add_refuses_a_bad_policy(hub, runner):
    before = snapshot(hub)
    code, _, err = runner(
        "partner", "add", "ranepa", "--name", "X", "--policy", "sometimes", "--data", str(hub)
    )
    assert code == 2
    assert "--policy" in err
    assert "record" in err and "reject" in err
    assert snapshot(hub) == before


@pytest.mark.parametrize("audience", ["на луне", "12", "5-3", "10-11 и родители"])
def test_add_refuses_an_audience_the_engine_cannot_read(hub, runner, audience):
    pytest.importorskip("calhub.engine")
    before = snapshot(hub)
    result = runner(
        "partner",
        "add",
        "ranepa",
        "--name",
        "X",
        "--audience",
        audience,
        "--password-stdin",
        "--data",
        str(hub),
        input="x" * 12,
    )
    assert_user_error(result, "--audience", repr(audience))
    assert snapshot(hub) == before


@pytest.mark.parametrize(("stdin", "fragment"), [("", "--password-stdin"), ("short\n", "short")])
def test_add_refuses_a_bad_password_and_creates_nothing(hub, runner, stdin, fragment):
    before = snapshot(hub)
    result = runner(
        "partner",
        "add",
        "ranepa",
        "--name",
        "X",
        "--password-stdin",
        "--data",
        str(hub),
        input=stdin,
    )
    assert_user_error(result, fragment)
    assert snapshot(hub) == before
    assert not (hub / "storage/collection-root/ranepa").exists()


def test_add_refuses_a_removed_partners_id(hub, runner):
    assert runner("partner", "remove", "kgtu", "--data", str(hub)).code == 0
    result = runner(
        "partner",
        "add",
        "kgtu",
        "--name",
        "КГТУ",
        "--password-stdin",
        "--data",
        str(hub),
        input="kgtu-password-2\n",
    )
    assert_user_error(result, "'kgtu'", "removed")


# -- list -----------------------------------------------------------------------------------------


def test_list_without_partners(fresh_hub, runner):
    root = fresh_hub.create(partners=())
    code, out, err = runner("partner", "list", "--data", str(root))
    assert code == 0, err
    assert "No partners" in out
    assert runner("partner", "list", "--all", "--data", str(root)).code == 0


def test_list_shows_every_partner(hub, runner):
    code, out, err = runner("partner", "list", "--data", str(hub))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["ID", "NAME"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"bfu", "kgtu"}
    assert "/dav/bfu/calendar/" in rows["bfu"]
    assert "БФУ им. И. Канта" in rows["bfu"]
    assert "school" not in rows and "coordinator" not in rows


def test_list_all_shows_removed_partners(hub, runner):
    assert runner("partner", "remove", "kgtu", "--data", str(hub)).code == 0
    _, out, _ = runner("partner", "list", "--data", str(hub))
    assert [line.split()[0] for line in out.strip().splitlines()[1:]] == ["bfu"]
    code, out, err = runner("partner", "list", "--all", "--data", str(hub))
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.strip().splitlines()[1:]}
    assert set(rows) == {"bfu", "kgtu"}
    assert "archived" in rows["kgtu"]
    assert "archived" not in rows["bfu"]


# -- passwd ---------------------------------------------------------------------------------------


def test_passwd_sets_a_new_password(hub, runner):
    code, out, err = runner(
        "partner",
        "passwd",
        "bfu",
        "--password-stdin",
        "--data",
        str(hub),
        input=NEW_PASSWORD + "\n",
    )
    assert code == 0, err
    assert NEW_PASSWORD not in out + err
    assert store(hub).verify("bfu", NEW_PASSWORD) is not None
    assert store(hub).verify("bfu", PASSWORDS["bfu"]) is None
    assert store(hub).verify("kgtu", PASSWORDS["kgtu"]) is not None


def test_passwd_generates_a_password(hub, runner):
    code, out, err = runner("partner", "passwd", "kgtu", "--data", str(hub))
    assert code == 0, err
    password = printed_password(out)
    assert out.count(password) == 1
    assert store(hub).verify("kgtu", password) is not None


@pytest.mark.parametrize("partner_id", ["nobody", "school", "coordinator", "blackout"])
def test_passwd_refuses_what_is_not_a_partner(hub, runner, partner_id):
    before = snapshot(hub)
    result = runner(
        "partner",
        "passwd",
        partner_id,
        "--password-stdin",
        "--data",
        str(hub),
        input=NEW_PASSWORD + "\n",
    )
    assert_user_error(result, repr(partner_id))
    assert snapshot(hub) == before


def test_passwd_refuses_a_short_password_and_keeps_the_old_one(hub, runner):
    result = runner(
        "partner", "passwd", "bfu", "--password-stdin", "--data", str(hub), input="short\n"
    )
    assert_user_error(result, "short")
    assert store(hub).verify("bfu", PASSWORDS["bfu"]) is not None


def test_passwd_refuses_a_removed_partner(hub, runner):
    assert runner("partner", "remove", "bfu", "--data", str(hub)).code == 0
    result = runner(
        "partner",
        "passwd",
        "bfu",
        "--password-stdin",
        "--data",
        str(hub),
        input=NEW_PASSWORD + "\n",
    )
    assert_user_error(result, "'bfu'")
    assert store(hub).get("bfu") is None


# -- remove ---------------------------------------------------------------------------------------


def test_remove_archives_and_deletes_nothing(hub, runner):
    from calhub.dav.importer import import_objects
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub

    opened = open_runtime(Hub(hub))
    calendar = opened.settings.calendar("bfu")
    assert calendar is not None
    uids = [f"arch-{n}-{uuid.uuid4().hex[:6]}" for n in range(3)]
    assert import_objects(opened, calendar, [simple_event(uid) for uid in uids]) == 3
    live = hub / "storage" / "collection-root" / "bfu"
    items_before = {p.name: p.read_bytes() for p in (live / "calendar").glob("*.ics")}
    assert len(items_before) == 3

    code, out, err = runner("partner", "remove", "bfu", "--data", str(hub))
    assert code == 0, err
    assert "archive" in out
    assert not live.exists(), "the calendar must leave the served tree"
    archived = [p for p in (hub / "archive").rglob("*.ics") if ".Radicale.cache" not in p.parts]
    assert {p.name: p.read_bytes() for p in archived} == items_before, "nothing may be lost"
    props = list((hub / "archive").rglob(".Radicale.props"))
    assert any(json.loads(p.read_text()).get("D:displayname") == "БФУ им. И. Канта" for p in props)
    assert calendar_entry(hub, "bfu")["archived"] is True
    assert store(hub).get("bfu") is None
    assert store(hub).verify("kgtu", PASSWORDS["kgtu"]) is not None
    assert (hub / "storage/collection-root/kgtu/calendar").is_dir()


@pytest.mark.parametrize("partner_id", ["nobody", "school", "blackout", "coordinator"])
def test_remove_refuses_what_is_not_a_partner(hub, runner, partner_id):
    before = snapshot(hub)
    assert_user_error(runner("partner", "remove", partner_id, "--data", str(hub)), repr(partner_id))
    assert snapshot(hub) == before


def test_remove_twice_is_an_error(hub, runner):
    assert runner("partner", "remove", "kgtu", "--data", str(hub)).code == 0
    before = snapshot(hub)
    assert_user_error(runner("partner", "remove", "kgtu", "--data", str(hub)), "'kgtu'")
    assert snapshot(hub) == before


# -- against a running server --------------------------------------------------------------------


def can_read(hub_server, login: str, password: str) -> int:
    return request(
        hub_server.url,
        "PROPFIND",
        "/dav/bfu/calendar/",
        login,
        password,
        body=propfind_body("D:displayname"),
        headers={"Depth": "0"},
    ).status


def test_passwd_takes_effect_on_a_running_server(fresh_hub, runner):
    hub = fresh_hub()
    assert can_read(hub, *creds("bfu")) == 207  # and the login cache now knows it
    code, _, err = runner(
        "partner",
        "passwd",
        "bfu",
        "--password-stdin",
        "--data",
        str(hub.data_dir),
        input=NEW_PASSWORD + "\n",
    )
    assert code == 0, err
    assert can_read(hub, "bfu", NEW_PASSWORD) == 207
    assert_login_refused(
        request(hub.url, "PROPFIND", "/dav/bfu/calendar/", *creds("bfu"), headers={"Depth": "0"})
    )
    assert can_read(hub, *creds("kgtu")) == 207


def test_remove_takes_effect_on_a_running_server(fresh_hub, runner):
    hub = fresh_hub()
    uid = f"before-remove-{uuid.uuid4().hex[:6]}"
    path = f"/dav/bfu/calendar/{uid}.ics"
    assert request(hub.url, "PUT", path, *creds("bfu"), body=simple_event(uid)).status == 201
    assert can_read(hub, *creds("bfu")) == 207

    code, _, err = runner("partner", "remove", "bfu", "--data", str(hub.data_dir))
    assert code == 0, err
    assert_login_refused(
        request(
            hub.url,
            "PUT",
            path.replace(uid, uid + "-2"),
            *creds("bfu"),
            body=simple_event(uid + "-2"),
        )
    )
    assert_login_refused(
        request(hub.url, "PROPFIND", "/dav/", *creds("bfu"), headers={"Depth": "0"})
    )
    assert request(hub.url, "GET", path, *creds("coordinator")).status == 404
    assert can_read(hub, *creds("kgtu")) == 404  # the calendar is no longer served
    archived = list((hub.data_dir / "archive").rglob(f"{uid}.ics"))
    assert [p for p in archived if ".Radicale.cache" not in p.parts], "the event was not archived"
    _, out, _ = runner("partner", "list", "--all", "--data", str(hub.data_dir))
    assert "archived" in next(line for line in out.splitlines() if line.startswith("bfu"))
    assert request(hub.url, "GET", "/healthz").status == 200


def test_partner_added_on_a_running_server_can_log_in_and_put_at_once(fresh_hub, runner):
    hub = fresh_hub()
    code, _, err = runner(
        "partner",
        "add",
        "ranepa",
        "--name",
        "РАНХиГС",
        "--password-stdin",
        "--data",
        str(hub.data_dir),
        input="ranepa-password\n",
    )
    assert code == 0, err
    started = time.monotonic()
    uid = f"new-partner-{uuid.uuid4().hex[:6]}"
    path = f"/dav/ranepa/calendar/{uid}.ics"
    put = request(hub.url, "PUT", path, "ranepa", "ranepa-password", body=simple_event(uid))
    assert put.status == 201, put.text
    assert time.monotonic() - started < 5
    for login in ("coordinator", "bfu"):
        assert request(hub.url, "GET", path, *creds(login)).status == 200
    assert request(hub.url, "PUT", path, *creds("bfu"), body=simple_event(uid)).status == 403
    response = request(
        hub.url,
        "PROPFIND",
        "/dav/",
        "ranepa",
        "ranepa-password",
        body=propfind_body("D:current-user-principal"),
        headers={"Depth": "0"},
    )
    assert "/dav/ranepa/" in response.text


# -- colours (issue 15) -------------------------------------------------------------------------


def test_add_without_a_colour_takes_the_next_palette_colours(hub, runner) -> None:
    from calhub.hub import palette

    taken = [calendar_entry(hub, login)["color"] for login in ("bfu", "kgtu")]
    assert taken == list(palette.PALETTE[:2]), "the fixture's partners were added without --color"
    for login in ("ranepa", "kfruk"):
        code, _, err = runner(
            "partner",
            "add",
            login,
            "--name",
            login.upper(),
            "--password-stdin",
            "--data",
            str(hub),
            input="a-password-long-enough\n",
        )
        assert code == 0, err
    colours = [calendar_entry(hub, login)["color"] for login in ("bfu", "kgtu", "ranepa", "kfruk")]
    assert colours == list(palette.PALETTE[:4])
    assert len(set(colours)) == 4


def test_add_refuses_a_colour_that_reads_as_a_clash(hub, runner) -> None:
    from calhub.hub import palette

    before = snapshot(hub)
    result = runner(
        "partner",
        "add",
        "ranepa",
        "--name",
        "РАНХиГС",
        "--color",
        "#D1242F",
        "--password-stdin",
        "--data",
        str(hub),
        input="a-password-long-enough\n",
    )
    suggested = palette.nearest_palette("#D1242F")
    assert_user_error(result, "#D1242F", "too close to #C62828", "hard clash", *suggested)
    assert snapshot(hub) == before, "nothing was written"
    assert calendar_entry(hub, "ranepa") is None
    for amber_or_green in ("#BF8700", "#0E8A16"):
        result = runner(
            "partner",
            "add",
            "ranepa",
            "--name",
            "РАНХиГС",
            "--color",
            amber_or_green,
            "--password-stdin",
            "--data",
            str(hub),
            input="a-password-long-enough\n",
        )
        assert_user_error(result, amber_or_green, "too close")
