"""The data directory's format version: a hub of today's main (format 0, no marker) is
upgraded in place by the first command, a backup first, with nothing lost; a directory of
a newer calhub is refused by every entry point without a byte written."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_state import kept, populate, tree

from calhub.cli import build_parser
from calhub.hub import dataformat
from calhub.web import create_app

FUTURE = dataformat.CURRENT_FORMAT + 1

# Values for the required arguments of every command, so the test reaches each one.
DUMMY = {
    "id": "bfu",
    "login": "coordinator",
    "file": "events.csv",
    "address": "a@school.example",
    "partner": "bfu",
    "url": "https://feeds.example/bfu.ics",
    "--name": "X",
    "--school": "X",
    "--scope": "all",
    "--audience": "10А",
    "--duration": "45",
    "--from": "2026-09-01",
    "--to": "2026-09-30",
    "--format": "csv",
    "--output": "out.csv",
    "FILE": "backup.tar.gz",
    "EVENT-UID": "lecture-1",
    "--term": "2026-27-1",
}
SERVING = {("serve",), ("demo",)}


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    """Every leaf command of ``calhub`` with its required arguments."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*prefix, name))
            return
    argv = list(prefix)
    for action in parser._actions:
        if action.dest == "help":
            continue
        if not action.option_strings:
            value = DUMMY[action.dest] if action.dest in DUMMY else DUMMY[str(action.metavar)]
            argv.append("1" if action.type is int else value)
        elif action.required:
            option = max(action.option_strings, key=len)
            argv += [option, DUMMY[option]]
    yield argv


def test_a_format_0_hub_upgrades_in_place_with_nothing_lost(fresh_hub: Any, runner: Any) -> None:
    root = populate(fresh_hub)
    # What today's main leaves: no marker (the rest of its files are this calhub's).
    (root / dataformat.FORMAT_NAME).unlink()
    assert dataformat.read_format(root) == 0
    before = kept(root)

    code, out, err = runner("index", "verify", "--data", str(root))
    assert code == 0, (out, err)
    assert dataformat.read_format(root) == dataformat.CURRENT_FORMAT
    [saved] = (root / "upgrade-backups").glob("calhub-backup-*.tar.gz")
    with tarfile.open(saved) as tar:
        names = set(tar.getnames())
    assert {"calhub.toml", "accounts.json", "hub.sqlite"} <= names
    assert dataformat.FORMAT_NAME not in names, "the backup is of the format-0 directory"
    assert kept(root) == before

    # The next command finds it current: no second backup; the server serves it as it was.
    code, _, err = runner("conflicts", "--data", str(root))
    assert code in (0, 1), err
    assert len(list((root / "upgrade-backups").iterdir())) == 1
    hub = fresh_hub.serve(root)
    response = hub.request("GET", "/api/conflicts", "coordinator", "coordinator-pass-1")
    assert response.status == 200 and "Согласовано с обоими партнёрами" in response.text
    # Later backups leave the upgrade's backup out.
    code, _, err = runner("backup", "--to", str(root.parent / "nightly"), "--data", str(root))
    assert code == 0, err
    [nightly] = (root.parent / "nightly").iterdir()
    with tarfile.open(nightly) as tar:
        assert not any(name.startswith("upgrade-backups") for name in tar.getnames())
        assert dataformat.FORMAT_NAME in tar.getnames()


def test_a_new_hub_is_of_the_current_format(hub_template: Path) -> None:
    assert dataformat.read_format(hub_template) == dataformat.CURRENT_FORMAT


@pytest.fixture
def future_hub(fresh_hub: Any) -> Path:
    root: Path = fresh_hub.create()
    dataformat.write_format(root, FUTURE)
    return root


def test_every_command_refuses_a_newer_directory_without_writing(
    future_hub: Path, runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = tree(future_hub)
    argvs = [argv for argv in commands(build_parser()) if tuple(argv) not in SERVING]
    assert len(argvs) > 15
    for argv in argvs:
        code, out, err = runner(*argv, "--data", str(future_hub), input="x\n")
        assert code == 2, (argv, out, err)
        if argv[0] != "init":  # init: "there is a hub already", before it looks further
            assert "newer calhub" in err and f"format {FUTURE}" in err, (argv, err)
        assert tree(future_hub) == before, argv
    with pytest.raises(dataformat.DataFormatTooNew):
        create_app(test_config={"TESTING": True, "CALHUB_DATA": str(future_hub)})
    assert tree(future_hub) == before


@pytest.mark.parametrize("command", sorted(c[0] for c in SERVING))
def test_the_server_refuses_a_newer_directory_without_writing(
    future_hub: Path, command: str
) -> None:
    before = tree(future_hub)
    done = subprocess.run(
        [sys.executable, "-m", "calhub", command, "--data", str(future_hub), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=future_hub.parent,
    )
    assert done.returncode == 2, done
    assert "newer calhub" in done.stderr and "Nothing was changed" in done.stderr
    assert tree(future_hub) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{not json", "not a calhub format marker"), ('{"format": -1}', "not a version number")],
)
def test_a_damaged_marker_is_named(future_hub: Path, runner: Any, text: str, fragment: str) -> None:
    (future_hub / dataformat.FORMAT_NAME).write_text(text)
    code, _, err = runner("conflicts", "--data", str(future_hub))
    assert code == 2 and fragment in err and dataformat.FORMAT_NAME in err


def test_a_format_too_old_to_upgrade_is_refused_without_writing(
    fresh_hub: Any, runner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = fresh_hub.create()
    (root / dataformat.FORMAT_NAME).unlink()
    before = tree(root)
    # As a release that no longer carries the step from format 0 would be.
    monkeypatch.setattr(dataformat, "OLDEST_UPGRADABLE", 1)
    code, _, err = runner("conflicts", "--data", str(root))
    assert code == 2 and "older than this calhub can upgrade" in err and "deploy/README.md" in err
    assert tree(root) == before
