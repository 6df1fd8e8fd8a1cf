"""``calhub restore``: backup → wipe → restore brings back every event, approval, feed
token, outbox row, account and setting, and the index verifies; a damaged or foreign
archive, a non-empty target without --force and a target a server uses are refused with
nothing written."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORDS, assert_user_error, cli_ok
from hub_state import kept, populate, tree

from calhub.dav import restore as restoring
from calhub.hub import dataformat

Member = tuple[tarfile.TarInfo, bytes]


@pytest.fixture(scope="module")
def good(module_hubs: Any) -> Any:
    """One populated hub and its backup, shared by the module (read-only)."""
    root = populate(module_hubs)
    cli_ok(["backup", "--to", str(root.parent / "backups"), "--data", str(root)])
    [archive] = (root.parent / "backups").glob("calhub-backup-*.tar.gz")
    return root, archive, kept(root)


def test_backup_wipe_restore_brings_everything_back(
    good: Any, runner: Any, fresh_hub: Any, tmp_path: Path
) -> None:
    source, archive, before = good
    # The wipe: the disk is gone, the archive is not. (Copying the live module hub first only
    # raced its SQLite -shm file, which a closing connection removes.)
    target = tmp_path / "hub"
    assert source.is_dir() and not target.exists()
    code, out, err = runner("restore", str(archive), "--data", str(target))
    assert code == 0, (out, err)
    assert "Index rebuilt and verified" in out
    assert kept(target) == before
    code, out, _ = runner("index", "verify", "--data", str(target))
    assert code == 0 and "Index agrees with storage" in out, out
    hub = fresh_hub.serve(target)
    event = hub.request("GET", "/dav/bfu/calendar/st-a.ics", "bfu", PASSWORDS["bfu"])
    assert event.status == 200 and "Лекция [10]" in event.text
    clashes = hub.request("GET", "/api/conflicts", "coordinator", PASSWORDS["coordinator"])
    assert "Согласовано с обоими партнёрами" in clashes.text


def test_a_non_empty_hub_is_replaced_only_with_force(
    good: Any, runner: Any, fresh_hub: Any
) -> None:
    _, archive, before = good
    other = fresh_hub.create()
    untouched = tree(other)
    result = runner("restore", str(archive), "--data", str(other))
    assert_user_error(result, "not empty", "--force")
    assert tree(other) == untouched
    code, out, err = runner("restore", str(archive), "--data", str(other), "--force")
    assert code == 0, err
    assert "Replaced the hub" in out
    assert kept(other) == before
    assert not [p for p in other.iterdir() if p.name.startswith(".calhub-restore-")]


def test_a_hub_a_server_uses_is_not_replaced(good: Any, runner: Any, fresh_hub: Any) -> None:
    _, archive, _ = good
    hub = fresh_hub()
    untouched = tree(hub.data_dir / "storage")
    result = runner("restore", str(archive), "--data", str(hub.data_dir), "--force")
    assert_user_error(result, "in use by a running calhub server", "Stop the server")
    assert tree(hub.data_dir / "storage") == untouched
    assert hub.request("GET", "/dav/bfu/calendar/", "bfu", PASSWORDS["bfu"]).status == 200


def rewrite(archive: Path, out: Path, change: Callable[[list[Member]], list[Member]]) -> Path:
    """``archive`` with its members changed by ``change``, written as ``out``."""
    with tarfile.open(archive) as tar:
        members = [
            (info, tar.extractfile(info).read() if info.isfile() else b"")  # type: ignore[union-attr]
            for info in tar
        ]
    with tarfile.open(out, "w:gz") as tar:
        for info, data in change(members):
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out


def replaced(name: str, data: bytes) -> Callable[[list[Member]], list[Member]]:
    return lambda members: [(i, data if i.name == name else d) for i, d in members]


def added(info: tarfile.TarInfo, data: bytes = b"") -> Callable[[list[Member]], list[Member]]:
    return lambda members: [*members, (info, data)]


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def without(prefix: str) -> Callable[[list[Member]], list[Member]]:
    return lambda members: [(i, d) for i, d in members if not i.name.startswith(prefix)]


BAD = {
    "path-up": (added(member("../outside.txt"), b"x"), "points outside the hub"),
    "absolute": (added(member("/tmp/calhub-absolute.txt"), b"x"), "points outside the hub"),
    "symlink": (
        added(member("storage/evil", tarfile.SYMTYPE, "/etc/passwd")),
        "a link or a device",
    ),
    "hardlink": (added(member("evil", tarfile.LNKTYPE, "calhub.toml")), "a link or a device"),
    "foreign": (without(""), "it has no calhub.toml, accounts.json, storage/"),
    "no-storage": (without("storage"), "it has no storage/"),
    "damaged-db": (replaced("hub.sqlite", b"SQLite format 3\0" + b"\x13" * 5000), "hub.sqlite"),
    "bad-config": (replaced("calhub.toml", b"[hub\nschool = "), "is not valid TOML"),
    "bad-accounts": (replaced("accounts.json", b"{}"), "accounts.json is damaged"),
    "newer": (
        replaced(dataformat.FORMAT_NAME, b'{"format": 99}'),
        "written by a newer calhub",
    ),
}


@pytest.fixture
def target(fresh_hub: Any) -> Path:
    root: Path = fresh_hub.create()
    return root


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_damaged_or_foreign_archive_is_refused_without_writing(
    good: Any, runner: Any, tmp_path: Path, target: Path, case: str
) -> None:
    _, archive, _ = good
    change, fragment = BAD[case]
    bad = rewrite(archive, tmp_path / f"{case}.tar.gz", change)
    untouched = tree(target)
    result = runner("restore", str(bad), "--data", str(target), "--force")
    assert_user_error(result, "not a usable calhub backup", fragment, "Nothing was changed")
    assert tree(target) == untouched
    assert not (tmp_path / "outside.txt").exists()
    # Nor is a directory made for it.
    fresh = tmp_path / "new"
    assert runner("restore", str(bad), "--data", str(fresh)).code == 2
    assert not fresh.exists()


def test_a_truncated_or_non_gzip_file_is_refused(
    good: Any, runner: Any, tmp_path: Path, target: Path
) -> None:
    _, archive, _ = good
    untouched = tree(target)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    plain = tmp_path / "notes.tar.gz"
    plain.write_text("not an archive")
    for bad in (truncated, plain):
        result = runner("restore", str(bad), "--data", str(target), "--force")
        assert_user_error(result, "cannot be read as a .tar.gz", "Nothing was changed")
        assert tree(target) == untouched
    result = runner("restore", str(tmp_path / "missing.tar.gz"), "--data", str(target))
    assert_user_error(result, "There is no backup archive")


def test_sizes_are_bounded(
    good: Any, runner: Any, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, archive, _ = good
    untouched = tree(target)
    monkeypatch.setattr(restoring, "MAX_MEMBER_BYTES", 1000)
    result = runner("restore", str(archive), "--data", str(target), "--force")
    assert_user_error(result, "is larger than 1000 bytes")
    monkeypatch.setattr(restoring, "MAX_MEMBER_BYTES", 1024**3)
    monkeypatch.setattr(restoring, "MAX_TOTAL_BYTES", 5000)
    result = runner("restore", str(archive), "--data", str(target), "--force")
    assert_user_error(result, "more than")
    assert tree(target) == untouched


def test_a_restore_that_does_not_verify_puts_the_old_hub_back(
    good: Any, runner: Any, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, archive, _ = good
    untouched = tree(target)
    monkeypatch.setattr(restoring, "verify_index", lambda runtime, repair: ["school: 1 missing"])
    result = runner("restore", str(archive), "--data", str(target), "--force")
    assert_user_error(result, "does not verify: school: 1 missing", "back as it was")
    after = tree(target)
    after.pop(dataformat.LOCK_NAME)
    assert after == untouched


def test_an_archive_of_a_format_0_hub_is_restored_and_upgraded(
    good: Any, runner: Any, tmp_path: Path
) -> None:
    """A backup taken by today's main (no format marker) restores into this calhub."""
    _, archive, before = good
    old = rewrite(archive, tmp_path / "format0.tar.gz", without(dataformat.FORMAT_NAME))
    target = tmp_path / "hub"
    code, _, err = runner("restore", str(old), "--data", str(target))
    assert code == 0, err
    assert dataformat.read_format(target) == dataformat.CURRENT_FORMAT
    assert not (target / "upgrade-backups").exists(), "the archive is the backup"
    assert kept(target) == before
