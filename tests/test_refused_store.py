"""The store of refused writes in hub.sqlite: one row per object however often a client
re-sends it, bounded per login, resolved by a later write of the same event, dismissed,
and created in place in an existing hub.sqlite."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import zoneinfo
from pathlib import Path

import pytest

from calhub.dav.capture import event_fields, split_reason, uid_of
from calhub.store.records import ClashRecords
from calhub.store.refused import Refusal, RefusedWrites

# Recent, so that resolving and dismissing (stamped with the real time) are after it.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def refusal(uid: str = "ev-1", body: bytes = b"BEGIN:VCALENDAR", login: str = "kgtu") -> Refusal:
    return Refusal(
        login=login,
        calendar=login,
        href=f"{uid}.ics",
        uid=uid,
        status=409,
        reason_ru="Событие не сохранено",
        reason_en="The event was not saved",
        body=body,
        summary="Мастер-класс [10А]",
        clashes=({"id": "c1", "rule": "audience", "severity": "hard", "events": []},),
    )


@pytest.fixture
def store(tmp_path: Path) -> RefusedWrites:
    return RefusedWrites(tmp_path / "hub.sqlite")


def test_a_resent_write_updates_its_row(store: RefusedWrites) -> None:
    store.record(refusal(body=b"v1"), at=T0)
    store.record(refusal(body=b"v2"), at=T0 + dt.timedelta(minutes=15))
    row_id = store.record(refusal(body=b"v3"), at=T0 + dt.timedelta(minutes=30))
    [row] = store.query("kgtu")
    assert row.id == row_id and row.times == 3
    assert row.first_at == iso(T0) and row.last_at == iso(T0 + dt.timedelta(minutes=30))
    assert row.body == b"v3", "the latest body as sent is kept"
    assert row.clashes[0]["id"] == "c1" and row.state == "open"
    store.record(refusal(uid="ev-2"), at=T0)
    assert len(store.query("kgtu")) == 2
    assert store.query("bfu") == []
    assert store.open_count() == 2 and store.open_count("kgtu") == 2 and store.open_count("x") == 0


def test_rows_per_login_are_capped_closed_ones_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RefusedWrites(tmp_path / "hub.sqlite", max_rows_per_login=3)
    for n in range(3):
        store.record(refusal(uid=f"ev-{n}"), at=T0 + dt.timedelta(minutes=n))
    store.resolve("kgtu", "ev-2", "kgtu")
    store.record(refusal(uid="other", login="bfu"), at=T0)
    with caplog.at_level(logging.WARNING, logger="calhub.store.refused"):
        store.record(refusal(uid="ev-3"), at=T0 + dt.timedelta(minutes=3))
        store.record(refusal(uid="ev-4"), at=T0 + dt.timedelta(minutes=4))
    assert {r.uid for r in store.query("kgtu", "all")} == {"ev-1", "ev-3", "ev-4"}
    assert [r.uid for r in store.query("bfu")] == ["other"], "another login's rows stay"
    assert "dropped the oldest" in caplog.text and "ev-2" in caplog.text and "ev-0" in caplog.text


def test_a_later_write_of_the_event_resolves_it(store: RefusedWrites) -> None:
    first = store.record(refusal(uid="ev-1"), at=T0)
    store.record(refusal(uid="ev-9"), at=T0)
    assert store.has_open("kgtu") and not store.has_open("bfu")
    assert store.resolve("kgtu", "ev-1", "kgtu") == 1
    assert store.resolve("bfu", "ev-9", "bfu") == 0, "another calendar's event is another"
    row = store.get(first)
    assert row is not None and row.state == "resolved" and row.resolved_by == "kgtu"
    assert [r.uid for r in store.query("kgtu")] == ["ev-9"]
    assert [r.uid for r in store.query("kgtu", "closed")] == ["ev-1"], "kept as history"
    # A later edit refused again is a new refusal of that object.
    store.record(refusal(uid="ev-1", body=b"moved back"), at=T0 + dt.timedelta(days=1))
    again = store.get(first)
    assert again is not None and again.state == "open" and again.times == 1
    assert again.first_at == iso(T0 + dt.timedelta(days=1))


def test_closed_rows_are_forgotten_after_a_while(tmp_path: Path) -> None:
    store = RefusedWrites(tmp_path / "hub.sqlite", keep_closed=dt.timedelta(days=30))
    store.record(refusal(uid="old"), at=T0)
    store.resolve("kgtu", "old", "kgtu")
    store.record(refusal(uid="still-open"), at=T0)
    store.record(refusal(uid="new"), at=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    assert {r.uid for r in store.query("kgtu", "all")} == {"still-open", "new"}


def test_dismissed_stays_dismissed_for_the_same_body_only(store: RefusedWrites) -> None:
    row_id = store.record(refusal(body=b"same"), at=T0)
    assert store.dismiss(row_id, "coordinator")
    assert not store.dismiss(row_id, "coordinator"), "only an open row is dismissed"
    store.record(refusal(body=b"same"), at=T0 + dt.timedelta(minutes=15))
    row = store.get(row_id)
    assert row is not None and row.state == "dismissed" and row.times == 2
    store.record(refusal(body=b"changed"), at=T0 + dt.timedelta(minutes=30))
    row = store.get(row_id)
    assert row is not None and row.state == "open" and row.times == 3


def test_a_body_over_the_cap_is_not_kept_but_its_size_is(tmp_path: Path) -> None:
    store = RefusedWrites(tmp_path / "hub.sqlite", max_body_bytes=10)
    row_id = store.record(refusal(body=b"x" * 11), at=T0)
    row = store.get(row_id)
    assert row is not None and row.body == b"" and row.body_size == 11 and not row.body_kept
    assert row.as_json()["body_kept"] is False


def test_an_existing_hub_sqlite_gets_the_table_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    records = ClashRecords(path)
    records.db.execute(
        "INSERT INTO history (clash_id, at, actor, action) VALUES ('c1', 'x', 'calhub', 'detected')"
    )
    records.close()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "refused_writes" not in tables
    store = RefusedWrites(path)
    store.record(refusal(), at=T0)
    assert len(store.query()) == 1
    assert [h.clash_id for h in ClashRecords(path).history()] == ["c1"]


def test_the_event_is_read_from_the_body_as_sent() -> None:
    zone = zoneinfo.ZoneInfo("Europe/Kaliningrad")
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev-\r\n 1\r\n"
        "DTSTART:20260302T130000\r\nDURATION:PT90M\r\nSUMMARY:Лекция [9]\r\n"
        "LOCATION:Аудитория 5\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    fields = event_fields(body, zone)
    assert fields["uid"] == "ev-1" and fields["summary"] == "Лекция [9]"
    assert fields["start"] == "2026-03-02T11:00:00Z", "a floating time is school time"
    assert fields["end"] == "2026-03-02T12:30:00Z" and fields["location"] == "Аудитория 5"
    day = b"BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20260302\r\nEND:VEVENT"
    assert event_fields(b"BEGIN:VCALENDAR\r\n" + day + b"\r\nEND:VCALENDAR\r\n", zone) == {
        "uid": "d",
        "summary": "",
        "location": "",
        "start": "2026-03-02",
        "all_day": True,
        "end": "2026-03-03",
    }
    assert event_fields(b"hello, world", zone) == {"uid": ""}
    assert uid_of(b"BEGIN:VEVENT\nUID;X-A=b:abc\nEND:VEVENT") == "abc"


def test_a_refusal_text_splits_into_russian_and_english() -> None:
    ru, en = split_reason("Событие не сохранено: x.\n- a\n\nThe event was not saved: y.\n- b\n")
    assert ru == "Событие не сохранено: x.\n- a" and en == "The event was not saved: y.\n- b"
