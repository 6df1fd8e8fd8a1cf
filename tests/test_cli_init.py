"""``calhub init``: what it creates, and every way it refuses."""

from __future__ import annotations

import json
import re
import stat
import tomllib
from pathlib import Path

import pytest
from helpers import assert_user_error

from calhub.hub.accounts import AccountStore

GOOD_PASSWORD = "coordinator-pass-1"


def files_under(root: Path) -> list[Path]:
    """Every file of the hub except SQLite's (whose pages and -wal/-shm companions SQLite
    itself may rewrite at any time, e.g. when a connection is closed)."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and ".sqlite" not in p.name)


def test_init_creates_the_hub(tmp_path, runner):
    root = tmp_path / "hub"
    code, out, err = runner(
        "init",
        "--school",
        "Гимназия №32",
        "--password-stdin",
        "--data",
        str(root),
        input=GOOD_PASSWORD + "\n",
    )
    assert code == 0, err
    assert "Гимназия №32" in out
    assert GOOD_PASSWORD not in out + err, "a password given on stdin is never echoed"

    config = tomllib.loads((root / "calhub.toml").read_text(encoding="utf-8"))
    assert config["hub"]["school"] == "Гимназия №32"
    assert config["hub"]["timezone"] == "Europe/Kaliningrad"
    assert {c["role"] for c in config["calendars"]} == {"school", "blackout"}

    accounts = json.loads((root / "accounts.json").read_text(encoding="utf-8"))["accounts"]
    assert set(accounts) == {"coordinator"}
    assert accounts["coordinator"]["role"] == "coordinator"
    assert accounts["coordinator"]["hash"].startswith("$2")
    assert stat.S_IMODE((root / "accounts.json").stat().st_mode) == 0o600

    collections = root / "storage" / "collection-root"
    for path in ("school/calendar", "school/blackout"):
        props = json.loads((collections / path / ".Radicale.props").read_text(encoding="utf-8"))
        assert props["tag"] == "VCALENDAR"
        assert "TZID:Europe/Kaliningrad" in props["C:calendar-timezone"]
    assert AccountStore(root / "accounts.json", failed_delay=0).verify("coordinator", GOOD_PASSWORD)
    for path in files_under(root):
        assert GOOD_PASSWORD.encode() not in path.read_bytes(), path


def test_generated_password_is_printed_once_and_works(tmp_path, runner):
    root = tmp_path / "hub"
    code, out, err = runner("init", "--school", "Школа", "--data", str(root))
    assert code == 0, err
    match = re.search(r"password[^:\n]*:\s*(\S+)\s*$", out, re.IGNORECASE | re.MULTILINE)
    assert match, out
    password = match.group(1)
    assert len(password) >= 12
    assert out.count(password) == 1
    assert password not in err
    assert "coordinator" in out
    store = AccountStore(root / "accounts.json", failed_delay=0)
    assert store.verify("coordinator", password) is not None
    assert store.verify("coordinator", password + "x") is None
    for path in files_under(root):
        assert password.encode() not in path.read_bytes(), path


def test_timezone_option(tmp_path, runner):
    root = tmp_path / "hub"
    code, _, err = runner(
        "init",
        "--school",
        "Школа",
        "--timezone",
        "Europe/Moscow",
        "--password-stdin",
        "--data",
        str(root),
        input=GOOD_PASSWORD + "\n",
    )
    assert code == 0, err
    assert tomllib.loads((root / "calhub.toml").read_text())["hub"]["timezone"] == "Europe/Moscow"
    props = (root / "storage/collection-root/school/calendar/.Radicale.props").read_text()
    assert "TZID:Europe/Moscow" in props


def test_init_twice_is_an_error_and_keeps_the_first_hub(tmp_path, runner):
    root = tmp_path / "hub"
    first = runner(
        "init",
        "--school",
        "Первая",
        "--password-stdin",
        "--data",
        str(root),
        input=GOOD_PASSWORD + "\n",
    )
    assert first.code == 0
    before = {p: p.read_bytes() for p in files_under(root)}
    again = runner(
        "init",
        "--school",
        "Вторая",
        "--password-stdin",
        "--data",
        str(root),
        input="another-password-2\n",
    )
    assert_user_error(again, str(root), "--data")
    assert {p: p.read_bytes() for p in files_under(root)} == before


@pytest.mark.parametrize("timezone", ["Mars/Base", "", "europe/kaliningrad", "../../etc/passwd"])
def test_bad_timezone(tmp_path, runner, timezone):
    root = tmp_path / "hub"
    result = runner(
        "init",
        "--school",
        "Школа",
        "--timezone",
        timezone,
        "--password-stdin",
        "--data",
        str(root),
        input=GOOD_PASSWORD + "\n",
    )
    assert_user_error(result, "--timezone", repr(timezone))
    assert not (root / "calhub.toml").exists()


@pytest.mark.parametrize("school", ["", "   "])
def test_empty_school(tmp_path, runner, school):
    root = tmp_path / "hub"
    result = runner(
        "init",
        "--school",
        school,
        "--password-stdin",
        "--data",
        str(root),
        input=GOOD_PASSWORD + "\n",
    )
    assert_user_error(result, "--school")
    assert not (root / "calhub.toml").exists()


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        ("", "--password-stdin"),
        ("\n", "--password-stdin"),
        ("short\n", "too short"),
        ("1234567\n", "too short"),
        ("я" * 40 + "\n", "too long"),
    ],
    ids=["no-input", "empty-line", "short", "seven-chars", "over-72-bytes"],
)
def test_bad_password_on_stdin(tmp_path, runner, stdin, fragment):
    root = tmp_path / "hub"
    result = runner(
        "init", "--school", "Школа", "--password-stdin", "--data", str(root), input=stdin
    )
    assert_user_error(result, fragment)
    assert not (root / "calhub.toml").exists()
    assert not (root / "accounts.json").exists()


def test_eight_characters_are_enough(tmp_path, runner):
    root = tmp_path / "hub"
    code, _, err = runner(
        "init", "--school", "Школа", "--password-stdin", "--data", str(root), input="12345678\n"
    )
    assert code == 0, err


def test_school_is_required(tmp_path, runner):
    code, _, err = runner("init", "--data", str(tmp_path / "hub"))
    assert code == 2
    assert "--school" in err


def test_data_dir_from_environment(tmp_path, runner, monkeypatch):
    root = tmp_path / "from-env"
    monkeypatch.setenv("CALHUB_DATA", str(root))
    code, _, err = runner("init", "--school", "Школа", "--password-stdin", input="12345678\n")
    assert code == 0, err
    assert (root / "calhub.toml").is_file()


def test_data_dir_defaults_to_calhub_data_in_the_working_directory(tmp_path, runner, monkeypatch):
    monkeypatch.delenv("CALHUB_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = runner("init", "--school", "Школа", "--password-stdin", input="12345678\n")
    assert code == 0, err
    assert (tmp_path / "calhub-data" / "calhub.toml").is_file()


def test_data_option_wins_over_the_environment(tmp_path, runner, monkeypatch):
    monkeypatch.setenv("CALHUB_DATA", str(tmp_path / "env"))
    code, _, err = runner(
        "init",
        "--school",
        "Школа",
        "--password-stdin",
        "--data",
        str(tmp_path / "opt"),
        input="12345678\n",
    )
    assert code == 0, err
    assert (tmp_path / "opt" / "calhub.toml").is_file()
    assert not (tmp_path / "env").exists()
