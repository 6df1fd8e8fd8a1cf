"""An object deleted while Radicale reads a calendar outside its storage lock (Radicale 3.9
computes a PROPFIND answer's collection etag after releasing the lock) is skipped, not a
500: the race found by the reliability soak, replayed deterministically."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import make_event
from radicale.storage.multifilesystem import get as radicale_get

from calhub.dav.importer import import_objects
from calhub.dav.known import reading_files
from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.hub import Hub


def test_a_file_deleted_between_read_and_stat_is_skipped(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = Hub(module_hubs.create())
    runtime = open_runtime(hub)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    start = dt.datetime.combine(dt.date.today(), dt.time(10), dt.UTC)
    texts = [
        make_event(uid, "Лекция [10]", start, start + dt.timedelta(hours=1))
        for uid in ("kept", "deleted")
    ]
    assert import_objects(runtime, bfu, texts) == 2
    storage = open_storage(runtime)
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
    real_getmtime = os.path.getmtime

    def deleted_meanwhile(path: Any) -> float:
        # A DELETE lands after Radicale read the file and before it looks at its date.
        if Path(path).name == "deleted.ics":
            Path(path).unlink(missing_ok=True)
        return real_getmtime(path)

    # Radicale's own path, which reads every file (a PROPFIND that wants texts takes it;
    # the index's listing reads none, calhub.dav.known).
    monkeypatch.setattr(radicale_get.os.path, "getmtime", deleted_meanwhile)
    with reading_files():
        assert [item.uid for item in collection.get_all()] == ["kept"]
    runtime.close()
