"""The audit log rotated by age (``[audit] keep_days``): the store's prune, ``calhub audit
prune``, the server's prune at start; the setting is checked like every other; and a
backup, a wipe and a restore bring the entries back."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, make_event, unique_slot

from calhub.errors import ConfigError
from calhub.hub import configfile
from calhub.hub.settings import parse_settings
from calhub.store.audit import AuditFilters, AuditLog, NewEntry
from calhub.store.sqlitedb import utc_text

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)


def entry(days_ago: float, uid: str) -> NewEntry:
    at = utc_text(NOW - dt.timedelta(days=days_ago))
    return NewEntry(actor="bfu", action="created", calendar="bfu", uid=uid, at=at)


def test_prune_deletes_only_what_is_older_than_the_days_kept(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "hub.sqlite")
    log.record([entry(731, "old"), entry(729, "young"), entry(0, "today")])
    assert log.prune(730, now=NOW) == 1
    assert {e.uid for e in log.page()} == {"young", "today"}
    assert log.prune(730, now=NOW) == 0
    # A date range reads the same times the prune compares.
    since = AuditFilters(start=NOW - dt.timedelta(days=1))
    assert [e.uid for e in log.page(since)] == ["today"]
    log.close()


def test_the_setting_has_a_default_and_bounds() -> None:
    base = 'hub = {school = "x", timezone = "Europe/Kaliningrad"}\n'
    assert parse_settings(Path("calhub.toml"), tomllib.loads(base)).audit_keep_days == 730
    kept = parse_settings(Path("calhub.toml"), tomllib.loads(base + "[audit]\nkeep_days = 90\n"))
    assert kept.audit_keep_days == 90
    for bad in ("keep_days = 0", 'keep_days = "a year"', "keep = 5"):
        with pytest.raises(ConfigError) as raised:
            parse_settings(Path("calhub.toml"), tomllib.loads(base + f"[audit]\n{bad}\n"))
        assert "[audit." in raised.value.message and "calhub.toml" in raised.value.message


def _old_entry(root: Path, uid: str, days: int) -> None:
    log = AuditLog(root / "hub.sqlite")
    stamp = utc_text(dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
    log.record([NewEntry(actor="bfu", action="created", calendar="bfu", uid=uid, at=stamp)])
    log.close()


def _uids(runner: Any, root: Path) -> set[str]:
    code, out, err = runner("audit", "--json", "--data", str(root))
    assert code == 0, err
    return {json.loads(line)["uid"] for line in out.splitlines()}


def test_the_command_prunes_by_the_setting(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    document = configfile.read_document(root)
    document["audit"] = {"keep_days": 30}
    configfile.save_document(root, document)
    _old_entry(root, "month-old", 31)
    _old_entry(root, "week-old", 7)
    code, out, err = runner("audit", "prune", "--data", str(root))
    assert code == 0, err
    assert "30" in out and "1" in out
    assert "month-old" not in _uids(runner, root) and "week-old" in _uids(runner, root)
    code, _, err = runner("audit", "prune", "--keep-days", "0", "--data", str(root))
    assert code == 2 and "--keep-days" in err


def test_the_server_prunes_when_it_starts(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    _old_entry(root, "ancient", 800)
    _old_entry(root, "recent", 10)
    fresh_hub.serve(root)
    deadline = time.monotonic() + 20
    while "ancient" in _uids(runner, root):
        assert time.monotonic() < deadline, "the server did not prune the audit log at start"
        time.sleep(0.2)
    assert "recent" in _uids(runner, root)


def test_backup_wipe_restore_brings_the_entries_back(
    fresh_hub: Any, runner: Any, tmp_path: Path
) -> None:
    root = fresh_hub.create()
    hub = fresh_hub.serve(root)
    put = hub.request(
        "PUT",
        "/dav/bfu/calendar/rs-1.ics",
        "bfu",
        PASSWORDS["bfu"],
        body=make_event("rs-1", "Лекция [10]", *unique_slot()),
        headers={"Content-Type": "text/calendar"},
    )
    assert put.status == 201, put.text
    before = [e for e in runner_entries(runner, root) if e["uid"] == "rs-1"]
    assert [(e["action"], e["actor"], e["address"]) for e in before] == [
        ("created", "bfu", "127.0.0.1")
    ]
    code, _, err = runner("backup", "--to", str(tmp_path / "backups"), "--data", str(root))
    assert code == 0, err
    [archive] = (tmp_path / "backups").glob("calhub-backup-*.tar.gz")
    target = tmp_path / "restored"
    shutil.copytree(root, target)
    shutil.rmtree(target)
    code, out, err = runner("restore", str(archive), "--data", str(target))
    assert code == 0, (out, err)
    assert [e for e in runner_entries(runner, target) if e["uid"] == "rs-1"] == before


def runner_entries(runner: Any, root: Path) -> list[dict[str, Any]]:
    code, out, err = runner("audit", "--json", "--data", str(root))
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]
