"""What every ``calhub`` command shares: ``--help``, the error format (``calhub: error: ...``
plus a hint, exit 2), a data directory without a hub, and config errors that name the file
and the key."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import assert_user_error

from calhub import __version__
from calhub.cli import build_parser


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator:
    """Every command and sub-command of the parser, e.g. ("partner", "add")."""
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*prefix, name))


COMMANDS = list(command_paths(build_parser()))


def test_the_documented_commands_exist():
    for command in [
        ("init",),
        ("partner", "add"),
        ("partner", "list"),
        ("partner", "passwd"),
        ("partner", "remove"),
        ("serve",),
        ("demo",),
    ]:
        assert command in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "calhub")
def test_every_command_has_help(runner, command):
    code, out, err = runner(*command, "--help")
    assert code == 0, err
    assert out.startswith("usage: calhub")
    assert err == ""


def test_version(runner):
    code, out, _ = runner("--version")
    assert code == 0
    assert out.strip() == f"calhub {__version__}"


def test_no_command_is_a_usage_error(runner):
    code, _, err = runner()
    assert code == 2
    assert "usage: calhub" in err
    assert "COMMAND" in err


def test_unknown_command_is_a_usage_error(runner):
    code, _, err = runner("frobnicate")
    assert code == 2
    assert "frobnicate" in err


# -- a data directory without a hub ------------------------------------------------------------

NEEDS_A_HUB = [
    ["partner", "add", "ranepa", "--name", "X"],
    ["partner", "list"],
    ["partner", "list", "--all"],
    ["partner", "passwd", "bfu"],
    ["partner", "remove", "bfu"],
    ["serve", "--port", "0"],
    ["conflicts"],
    ["index", "verify"],
]


@pytest.mark.parametrize("argv", NEEDS_A_HUB, ids=" ".join)
def test_commands_on_a_directory_without_a_hub(tmp_path, runner, argv):
    if tuple(argv[: 2 if argv[0] in ("partner", "index") else 1]) not in COMMANDS:
        pytest.skip(f"no 'calhub {argv[0]}' command")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner(*argv, "--data", str(empty), input="password-123\n")
    assert_user_error(result, str(empty), "calhub init")
    assert list(empty.iterdir()) == [], "nothing may be created in a directory without a hub"


def test_missing_data_directory_is_not_created(tmp_path, runner):
    missing = tmp_path / "missing"
    assert_user_error(runner("partner", "list", "--data", str(missing)), str(missing))
    assert not missing.exists()


def test_default_data_directory_without_a_hub(tmp_path, runner, monkeypatch):
    monkeypatch.delenv("CALHUB_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert_user_error(runner("partner", "list"), str(tmp_path / "calhub-data"), "--data")


def test_data_directory_from_the_environment(fresh_hub, runner, monkeypatch, tmp_path):
    root = fresh_hub.create()
    monkeypatch.setenv("CALHUB_DATA", str(root))
    monkeypatch.chdir(tmp_path)
    code, out, err = runner("partner", "list")
    assert code == 0, err
    assert "bfu" in out


# -- config errors name the file and the key ----------------------------------------------------


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CONFIG_ERRORS = [
    ('timezone = "Europe/Kaliningrad"', 'timezone = "Mars/Base"', ["hub.timezone", "Mars/Base"]),
    ("[hub]\n", '[hub]\ncolour = "red"\n', ["hub.colour", "not a known key"]),
    ("max_body_bytes = 10485760", 'max_body_bytes = "big"', ["hub.max_body_bytes"]),
    ("max_body_bytes = 10485760", "max_body_bytes = 10", ["hub.max_body_bytes", "1024"]),
    ("[hub]\n", "[hub]\nfailed_login_delay = -1\n", ["hub.failed_login_delay"]),
    ("[hub]\n", "[mystery]\nx = 1\n\n[hub]\n", ["mystery"]),
    ('color = "#1F6FEB"', 'color = "blue"', ["calendars[1].color", "'blue'"]),
    ('role = "blackout"', 'role = "exams"', ["calendars[2].role", "'exams'"]),
    ('id = "kgtu"', 'id = "bfu"', ["calendars[4].id", "'bfu'"]),
    ("gap_minutes = 30", "gap_minutes = -30", ["rules.travel.gap_minutes"]),
    ("[hub]\n", "[hub\n", ["TOML"]),
]


@pytest.mark.parametrize(
    ("old", "new", "fragments"), CONFIG_ERRORS, ids=[" ".join(c[2]) for c in CONFIG_ERRORS]
)
def test_config_errors_name_the_file_and_the_key(fresh_hub, runner, old, new, fragments):
    root = fresh_hub.create()
    config = root / "calhub.toml"
    replace_in(config, old, new)
    for argv in (["partner", "list"], ["partner", "add", "ranepa", "--name", "X"]):
        result = runner(*argv, "--data", str(root), input="ranepa-password\n")
        assert_user_error(result, str(config), *fragments)
    assert "ranepa" not in config.read_text(encoding="utf-8")
    assert not (root / "storage/collection-root/ranepa").exists()


def test_config_error_hint_says_what_to_do(fresh_hub, runner):
    root = fresh_hub.create()
    replace_in(root / "calhub.toml", 'timezone = "Europe/Kaliningrad"', 'timezone = "Mars/Base"')
    _, _, err = runner("partner", "list", "--data", str(root))
    hint = err.strip().splitlines()[1]
    assert "calhub.toml" in hint
    assert "Edit" in hint or "edit" in hint


def test_damaged_accounts_file_is_a_user_error(fresh_hub, runner):
    root = fresh_hub.create()
    (root / "accounts.json").write_text("{ not json", encoding="utf-8")
    result = runner("partner", "passwd", "bfu", "--data", str(root), input="new-password-1\n")
    assert_user_error(result, "accounts.json")
