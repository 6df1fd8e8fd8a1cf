"""A running hub re-reads calhub.toml; an edit that the schema refuses is logged and the hub
keeps the last valid settings (docs/configuration.md), so partners' writes go on working
with them instead of getting a 400 for the coordinator's typo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import tomlkit
from clash_support import at, own_week, put_event, rules_between

from calhub.errors import ConfigError
from calhub.hub import configfile
from calhub.hub.filewatch import ReloadingFile, write_atomically


def set_gap(root: Path, value: Any, *, check: bool) -> None:
    """Set [rules.travel] gap_minutes: through the CLI's checked save, or unchecked, as a
    text editor would write it."""
    if check:
        document = configfile.read_document(root)
        document["rules"]["travel"]["gap_minutes"] = value  # type: ignore[index]
        configfile.save_document(root, document)
        return
    path = root / "calhub.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    document["rules"]["travel"]["gap_minutes"] = value  # type: ignore[index]
    write_atomically(path, tomlkit.dumps(document))


def put_trip(hub: Any, name: str) -> tuple[int, int]:
    """Two events for 8А at different venues with 45 minutes between them."""
    day = own_week()
    first = put_event(
        hub, "bfu", "/bfu/calendar/", f"{name}-a", "Лекция [8А]", at(day, 14), at(day, 15),
        location="БФУ, ул. Университетская, 2",
    )  # fmt: skip
    second = put_event(
        hub, "kgtu", "/kgtu/calendar/", f"{name}-b", "Практикум [8А]", at(day, 15, 45),
        at(day, 16, 30), location="КГТУ, Советский пр., 1",
    )  # fmt: skip
    return first.status, second.status


def test_a_bad_rule_edit_keeps_the_last_valid_settings(fresh_hub: Any) -> None:
    root = fresh_hub.create()
    set_gap(root, 60, check=True)
    hub = fresh_hub.serve(root)
    assert put_trip(hub, "before") == (201, 201)
    assert rules_between(hub, "before-a", "before-b") == {"travel"}  # 45 < 60

    set_gap(root, True, check=False)
    # Every write after the bad edit is accepted and judged with gap_minutes = 60 still
    # (the default, 30, would find no clash in 45 minutes).
    assert put_trip(hub, "after-bad") == (201, 201)
    assert rules_between(hub, "after-bad-a", "after-bad-b") == {"travel"}
    logged = [line for line in hub.stderr().splitlines() if "keeping the last valid" in line]
    assert len(logged) == 1, hub.stderr()[-3000:]
    assert f"{root / 'calhub.toml'}: [rules.travel.gap_minutes] must be" in logged[0]
    assert " 400 " not in "\n".join(hub.access_lines())

    set_gap(root, 30, check=False)  # fixed: the next request reads the new settings
    assert put_trip(hub, "fixed") == (201, 201)
    assert rules_between(hub, "fixed-a", "fixed-b") == set()


def test_a_known_bad_version_is_not_parsed_on_every_read(tmp_path: Path) -> None:
    path = tmp_path / "some.toml"
    path.write_text("good", encoding="utf-8")
    reads: list[str] = []

    def parse(file: Path) -> str:
        text = file.read_text(encoding="utf-8")
        reads.append(text)
        if text != "good":
            raise ConfigError(str(file), "-", "is bad")
        return text

    def missing() -> str:
        raise AssertionError("the file is there")

    watched = ReloadingFile(path, parse, missing)
    assert watched.get() == "good"
    time.sleep(0.01)  # a new mtime even on coarse file systems
    write_atomically(path, "bad")
    assert [watched.get() for _ in range(5)] == ["good"] * 5
    assert reads == ["good", "bad"]
    write_atomically(path, "good")
    assert watched.get() == "good"
    assert reads == ["good", "bad", "good"]
