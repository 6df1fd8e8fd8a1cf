"""Refused writes are hub data: `calhub backup` of a running hub carries them (they live in
hub.sqlite, copied with SQLite's online backup), and a restored hub shows them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clash_support import at, own_week, put_event, set_policy
from helpers import PASSWORDS, backup_and_restore


def test_a_backup_keeps_the_refused_writes(fresh_hub: Any, runner: Any, tmp_path: Path) -> None:
    hub = fresh_hub()
    set_policy(hub, "kgtu", "reject")
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "rb-a", "Лекция [8]", at(day, 15), at(day, 16))
    refused = put_event(
        hub, "kgtu", "/kgtu/calendar/", "rb-b", "Экскурсия [8А]", at(day, 15), at(day, 16)
    )
    assert refused.status == 409
    restored = backup_and_restore(runner, hub.data_dir, tmp_path)
    again = fresh_hub.serve(restored)
    response = again.request("GET", "/api/refused", "kgtu", PASSWORDS["kgtu"])
    assert response.status == 200
    [row] = json.loads(response.text)
    assert row["uid"] == "rb-b" and row["event"]["summary"] == "Экскурсия [8А]"
    download = again.request("GET", row["ics_url"], "kgtu", PASSWORDS["kgtu"])
    assert download.status == 200 and "UID:rb-b" in download.text
