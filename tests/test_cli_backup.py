"""`calhub backup` while the server runs, and a restore that brings back events, accounts
and clash approvals (the index, a cache, is rebuilt by itself); removing a partner resolves
its clashes and keeps its calendar in the archive."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from clash_support import approve, at, conflicts, involving, own_week, put_event
from helpers import PASSWORDS


def test_backup_and_restore_keep_events_accounts_and_approvals(
    fresh_hub: Any, runner: Any, tmp_path: Path
) -> None:
    hub = fresh_hub()
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "bk-a", "Лекция [10]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "bk-b", "Практикум [10А]", at(day, 15), at(day, 16))
    [record] = [r for r in involving(conflicts(hub), "bk-a", "bk-b") if r["rule"] == "audience"]
    approve(hub, record["id"], "Согласовано с обоими партнёрами")

    code, out, err = runner(
        "backup", "--to", str(tmp_path / "backups"), "--data", str(hub.data_dir)
    )
    assert code == 0, err
    [archive] = (tmp_path / "backups").glob("calhub-backup-*.tar.gz")
    assert str(archive) in out
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"calhub.toml", "accounts.json", "hub.sqlite"} <= set(names)
    assert not any(name.startswith("index.sqlite") for name in names), "the index is a cache"
    assert any(name.endswith("bk-a.ics") for name in names)

    restored = tmp_path / "restored"
    restored.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(restored, filter="data")
    again = fresh_hub.serve(restored)
    assert again.request("GET", "/dav/bfu/calendar/bk-a.ics", "bfu", PASSWORDS["bfu"]).status == 200
    [back] = [r for r in involving(conflicts(again), "bk-a", "bk-b") if r["rule"] == "audience"]
    assert back["status"] == "approved"
    assert back["approval"]["comment"] == "Согласовано с обоими партнёрами"
    code, out, _ = runner("index", "verify", "--data", str(restored))
    assert code == 0, out


def test_backup_needs_a_target_and_a_hub(runner: Any, tmp_path: Path) -> None:
    code, _, err = runner("backup", "--data", str(tmp_path / "nothing"), "--to", str(tmp_path))
    assert code == 2 and "calhub init" in err
    code, _, err = runner("backup", "--data", str(tmp_path))
    assert code == 2 and "--to" in err


def test_removing_a_partner_resolves_its_clashes_and_archives_its_calendar(
    fresh_hub: Any, runner: Any
) -> None:
    hub = fresh_hub()
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "rm-a", "Лекция [9]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "rm-b", "Лекция [9Б]", at(day, 15), at(day, 16))
    assert [r["status"] for r in involving(conflicts(hub), "rm-a", "rm-b")] == ["open", "open"]
    code, _, err = runner("partner", "remove", "kgtu", "--data", str(hub.data_dir))
    assert code == 0, err
    assert {r["status"] for r in involving(conflicts(hub), "rm-a", "rm-b")} == {"resolved"}
    archived = list((hub.data_dir / "archive").glob("kgtu-*/rm-b.ics"))
    assert len(archived) == 1


def test_keep_rotates_the_oldest_backups_out(hub_dir: Path, runner: Any, tmp_path: Path) -> None:
    target = tmp_path / "nightly"
    target.mkdir()
    old = [target / f"calhub-backup-2026010{day}T021500Z.tar.gz" for day in range(1, 5)]
    for path in old:
        path.write_bytes(b"an old backup")
    other = target / "notes.txt"
    other.write_text("not a backup: never rotated")
    code, out, err = runner("backup", "--to", str(target), "--keep", "2", "--data", str(hub_dir))
    assert code == 0, err
    assert "removed 3 older" in out
    left = sorted(p.name for p in target.glob("calhub-backup-*.tar.gz"))
    assert len(left) == 2 and left[0] == old[-1].name, left
    assert other.exists()
    result = runner("backup", "--to", str(target), "--keep", "0", "--data", str(hub_dir))
    assert result.code == 2 and "--keep 1 or more" in result.err
