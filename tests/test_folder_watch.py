"""calhub.dav.watch: a folder's generation moves with every change the kernel reports of it
(whoever made it), never with a read, and nothing is said where nothing can be known."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calhub.dav.watch import FolderWatch

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")


@pytest.fixture
def watch() -> Iterator[FolderWatch]:
    found = FolderWatch()
    yield found
    found.close()


def _moves(watch: FolderWatch, folder: Path, change: Callable[[], object]) -> bool:
    before = watch.generation(str(folder))
    assert before is not None
    change()
    after = watch.generation(str(folder))
    assert after is not None
    return after != before


def test_every_kind_of_change_moves_the_generation(watch: FolderWatch, tmp_path: Path) -> None:
    item = tmp_path / "a.ics"
    item.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    stat = item.stat()

    def edit_in_place_keeping_size_and_time() -> None:
        # What a stat of every file cannot see: same inode, size and mtime.
        with item.open("r+b") as file:
            file.write(b"b")
        os.utime(item, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    changes = {
        "create": lambda: (tmp_path / "b.ics").write_text("x"),
        "edit in place": edit_in_place_keeping_size_and_time,
        "touch": lambda: os.utime(item),
        "rename": lambda: os.replace(tmp_path / "b.ics", tmp_path / "c.ics"),
        "delete": lambda: (tmp_path / "c.ics").unlink(),
        "properties": lambda: (tmp_path / ".Radicale.props").write_text("{}"),
        "a sub-folder made": lambda: (tmp_path / ".Radicale.cache").mkdir(),
    }
    for name, change in changes.items():
        assert _moves(watch, tmp_path, change), name


def test_reads_and_writes_below_a_sub_folder_leave_it(watch: FolderWatch, tmp_path: Path) -> None:
    item = tmp_path / "a.ics"
    item.write_text("text")
    cache = tmp_path / ".Radicale.cache" / "item"
    cache.mkdir(parents=True)
    assert not _moves(watch, tmp_path, item.read_text)
    assert not _moves(watch, tmp_path, lambda: os.listdir(tmp_path))
    # Radicale's item cache is written on reads: not a change of the calendar.
    assert not _moves(watch, tmp_path, lambda: (cache / "a.ics").write_bytes(b"cache"))
    assert not _moves(watch, tmp_path, lambda: None)


def test_a_folder_deleted_and_made_again_is_a_new_generation(
    watch: FolderWatch, tmp_path: Path
) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    first = watch.generation(str(folder))
    (folder / "a.ics").write_text("x")
    (folder / "a.ics").unlink()
    folder.rmdir()
    assert watch.generation(str(folder)) is None  # gone: nothing to watch
    folder.mkdir()
    again = watch.generation(str(folder))
    assert again is not None and again != first
    assert watch.generation(str(folder)) == again


def test_folders_are_watched_apart(watch: FolderWatch, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    watch.generation(str(one))
    before = watch.generation(str(two))
    (one / "a.ics").write_text("x")
    assert watch.generation(str(two)) == before


def test_nothing_is_said_of_a_missing_folder_or_after_close(tmp_path: Path) -> None:
    watch = FolderWatch()
    assert watch.generation(str(tmp_path / "missing")) is None
    assert watch.generation(str(tmp_path)) is not None
    watch.close()
    assert watch.generation(str(tmp_path)) is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_keeps_its_own_queue(watch: FolderWatch, tmp_path: Path) -> None:
    """One inotify queue shared by two processes would lose to one what the other read: a
    child starts a queue of its own, and the parent still sees the child's change."""
    before = watch.generation(str(tmp_path))
    assert before is not None
    pid = os.fork()
    if pid == 0:  # the child: report by exit status, never return into pytest
        status = 1
        try:
            mine = watch.generation(str(tmp_path))
            (tmp_path / "from-child.ics").write_text("x")
            after = watch.generation(str(tmp_path))
            status = 0 if mine is not None and after is not None and after != mine else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    after = watch.generation(str(tmp_path))
    assert after is not None and after != before
