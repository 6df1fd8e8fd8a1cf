"""An index written by an older calhub (another schema) is dropped and rebuilt from
storage at start-up; the clash records and approvals, hub data in another file, stay."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from helpers import make_event

from calhub.dav.importer import import_objects
from calhub.dav.maintenance import open_runtime, verify_index
from calhub.hub import Hub
from calhub.store.index import SCHEMA_VERSION


def test_an_index_of_another_schema_is_rebuilt_and_approvals_stay(module_hubs: Any) -> None:
    root = module_hubs.create()
    hub = Hub(root)
    runtime = open_runtime(hub)
    bfu, kgtu = hub.settings.calendar("bfu"), hub.settings.calendar("kgtu")
    assert bfu is not None and kgtu is not None
    start = dt.datetime.combine(dt.date.today(), dt.time(10), dt.UTC) + dt.timedelta(days=7)
    end = start + dt.timedelta(hours=1)
    import_objects(runtime, bfu, [make_event("old-a", "Лекция [10]", start, end)])
    import_objects(runtime, kgtu, [make_event("old-b", "Семинар [10А]", start, end)])
    (clash_id,) = runtime.records.all_active_ids()
    runtime.records.approve(clash_id, "coordinator", "Разные аудитории")
    runtime.close()

    index_path = root / "index.sqlite"
    with sqlite3.connect(index_path) as db:
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema'")
    assert SCHEMA_VERSION != "5"

    runtime = open_runtime(Hub(root))
    try:
        problems = verify_index(runtime, repair=True)
        assert problems, "the old index is noticed"
        assert verify_index(runtime, repair=False) == []
        assert runtime.index.count() == (2, 2)
        with sqlite3.connect(index_path) as db:
            (schema,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        assert schema == SCHEMA_VERSION
        record = runtime.records.get(clash_id)
        assert record is not None
        assert record.status == "approved"
        assert record.approval.comment == "Разные аудитории"
    finally:
        runtime.close()
