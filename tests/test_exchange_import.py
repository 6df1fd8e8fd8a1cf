"""``calhub import`` against a real hub: the server runs, the import is the CLI on its data
directory, and what it stored is read back through CalDAV (the caldav library) as a phone
would. Re-imports update, ``--prune`` removes what the sheet lost, all-or-nothing unless
``--skip-bad``, a dry run writes nothing, a ``reject`` calendar's refusal is a row's error,
and hostile files are refused quickly with nothing written."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from clash_support import put_event, set_policy
from helpers import PASSWORDS, dav_client, run_cli


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_import(hub: Any, path: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(["import", str(path), "--json", *flags, "--data", str(hub.data_dir)])
    assert out, err
    return code, json.loads(out)


def events(hub: Any, calendar: str) -> dict[str, Any]:
    """UID → VEVENT of every event in ``calendar``, read through CalDAV by the coordinator."""
    client = dav_client(hub.url, "coordinator")
    path = (
        f"dav/school/{calendar}/"
        if calendar in ("calendar", "blackout")
        else (f"dav/{calendar}/calendar/")
    )
    found = {}
    for event in client.calendar(url=hub.url + path).events():
        component = event.icalendar_component
        found[str(component["UID"])] = component
    return found


HEADER = "Дата;Время;Партнёр;Мероприятие;Классы;Место"


@pytest.fixture
def hub(fresh_hub: Any) -> Any:
    return fresh_hub()


def test_import_is_seen_through_caldav_and_a_reimport_updates(hub: Any, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "plan.csv",
        HEADER,
        "08.02.2027;15:00–16:30;БФУ им. И. Канта;Лекция по физике;10А;Актовый зал",
        "09.02.2027;14:00;КГТУ;Экскурсия;9;",
    )
    code, report = run_import(hub, sheet)
    assert code == 0 and report["carried_out"] and report["written"] == 2
    bfu = events(hub, "bfu")
    assert len(bfu) == 1
    ((uid, event),) = bfu.items()
    assert str(event["SUMMARY"]) == "Лекция по физике"
    assert str(event["LOCATION"]) == "Актовый зал"
    assert str(event["X-CALHUB-AUDIENCE"]) == "10А"
    assert event["DTSTART"].dt.strftime("%Y-%m-%d %H:%M %Z") == "2027-02-08 15:00 EET"
    assert len(events(hub, "kgtu")) == 1

    # The time changes in the sheet: the same event, moved, never a second one.
    write_csv(
        sheet,
        HEADER,
        "08.02.2027;16:00–17:30;БФУ им. И. Канта;Лекция по физике;10А;Актовый зал",
        "09.02.2027;14:00;КГТУ;Экскурсия;9;",
    )
    code, report = run_import(hub, sheet)
    assert code == 0
    assert (report["new"], report["changed"], report["unchanged"]) == (0, 1, 1)
    assert report["written"] == 1
    bfu = events(hub, "bfu")
    assert list(bfu) == [uid]
    assert bfu[uid]["DTSTART"].dt.hour == 16 and int(bfu[uid]["SEQUENCE"]) == 1

    code, report = run_import(hub, sheet)
    assert code == 0 and report["written"] == 0 and report["unchanged"] == 2
    assert len(events(hub, "bfu")) == 1 and len(events(hub, "kgtu")) == 1


def test_rows_gone_from_the_sheet_are_removed_only_with_prune(hub: Any, tmp_path: Path) -> None:
    phone = put_event(hub, "bfu", "/bfu/calendar/", "phone-made", "С телефона [5]",
                      dt.datetime(2027, 2, 10, 12), dt.datetime(2027, 2, 10, 13))  # fmt: skip
    assert phone.status == 201
    sheet = write_csv(
        tmp_path / "plan.csv",
        HEADER,
        "08.02.2027;15:00;БФУ;Первое;10А;",
        "09.02.2027;15:00;БФУ;Второе;10А;",
    )
    assert run_import(hub, sheet)[0] == 0
    assert len(events(hub, "bfu")) == 3
    write_csv(sheet, HEADER, "08.02.2027;15:00;БФУ;Первое;10А;")
    code, report = run_import(hub, sheet)
    assert code == 0 and [g["summary"] for g in report["gone"]] == ["Второе"]
    assert report["removed"] == 0 and len(events(hub, "bfu")) == 3
    code, report = run_import(hub, sheet, "--prune")
    assert code == 0 and report["removed"] == 1
    left = {str(e["SUMMARY"]) for e in events(hub, "bfu").values()}
    assert left == {"Первое", "С телефона [5]"}  # not made by this import: never pruned


def test_all_or_nothing_unless_skip_bad(hub: Any, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "plan.csv",
        HEADER,
        "08.02.2027;15:00;БФУ;Хорошая строка;10А;",
        "31.02.2027;15:00;БФУ;Нет такой даты;10А;",
        "09.02.2027;15:00;МГУ;Неизвестный партнёр;10А;",
    )
    code, report = run_import(hub, sheet)
    assert code == 1 and not report["carried_out"] and report["written"] == 0
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "Дата"), (4, "Партнёр")]
    assert report["unknown_partners"] == [{"name": "МГУ", "rows": [4]}]
    assert events(hub, "bfu") == {}
    code, report = run_import(hub, sheet, "--skip-bad")
    assert code == 0 and report["carried_out"] and report["written"] == 1
    assert [str(e["SUMMARY"]) for e in events(hub, "bfu").values()] == ["Хорошая строка"]


def test_a_dry_run_reports_the_clashes_and_writes_nothing(hub: Any, tmp_path: Path) -> None:
    put_event(hub, "kgtu", "/kgtu/calendar/", "lab", "Лаборатория [10А]",
              dt.datetime(2027, 2, 8, 15, 30), dt.datetime(2027, 2, 8, 17))  # fmt: skip
    sheet = write_csv(
        tmp_path / "plan.csv",
        HEADER,
        "08.02.2027;15:00–16:30;БФУ;Лекция;10А;Актовый зал",
        "08.02.2027;15:00–16:30;БФУ;Семинар;11;Актовый зал",
    )
    before = hub.request("GET", "/api/conflicts", "coordinator", PASSWORDS["coordinator"]).text
    code, report = run_import(hub, sheet, "--dry-run")
    assert code == 0 and report["dry_run"] and report["written"] == 0
    rules = {(c["rule"], tuple(c["rows"])) for c in report["clashes"]}
    assert ("audience", (2,)) in rules  # with the lab already in kgtu's calendar
    assert ("venue", (2, 3)) in rules  # the rows among themselves
    assert events(hub, "bfu") == {}
    after = hub.request("GET", "/api/conflicts", "coordinator", PASSWORDS["coordinator"]).text
    assert after == before


def test_a_reject_calendar_refusal_is_a_row_error(hub: Any, tmp_path: Path) -> None:
    set_policy(hub, "kgtu", "reject")
    put_event(hub, "bfu", "/bfu/calendar/", "lecture", "Лекция [10А]",
              dt.datetime(2027, 2, 8, 15), dt.datetime(2027, 2, 8, 16))  # fmt: skip
    sheet = write_csv(
        tmp_path / "plan.csv",
        HEADER,
        "08.02.2027;15:30;КГТУ;Экскурсия;10А;",
        "09.02.2027;15:30;КГТУ;Без столкновений;10А;",
    )
    code, report = run_import(hub, sheet)
    assert code == 1 and report["written"] == 0
    assert [e["row"] for e in report["errors"]] == [2]
    assert "kgtu" in report["errors"][0]["reason"]
    assert events(hub, "kgtu") == {}
    code, report = run_import(hub, sheet, "--skip-bad")
    assert code == 0 and report["written"] == 1
    assert [str(e["SUMMARY"]) for e in events(hub, "kgtu").values()] == ["Без столкновений"]


def test_a_mapping_file_and_calendar_option(hub: Any, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "plan.csv",
        "Когда;Что;Кто",
        "08.02.2027 15:00;Олимпиада;Политех",
        "09.02.2027 15:00;Без партнёра;",
    )
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\n"Когда" = "date"\n"Что" = "title"\n"Кто" = "partner"\n'
        '[partners]\n"Политех" = "kgtu"\n',
        encoding="utf-8",
    )
    # "08.02.2027 15:00": the date and the start in one cell.
    code, report = run_import(hub, sheet, "--mapping", str(mapping), "--calendar", "bfu")
    assert code == 0, report["errors"]
    assert [str(e["SUMMARY"]) for e in events(hub, "kgtu").values()] == ["Олимпиада"]
    assert [str(e["SUMMARY"]) for e in events(hub, "bfu").values()] == ["Без партнёра"]
    code, _, err = run_cli(
        ["import", str(sheet), "--calendar", "nope", "--data", str(hub.data_dir)]
    )
    assert code == 2 and "nope" in err


# -- hostile files -------------------------------------------------------------------------


def zip_bomb(path: Path) -> Path:
    """A valid-looking XLSX whose sheet inflates to 400 MB of zeros (from about 400 KB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(400):
                member.write(chunk)
    return path


def hostile_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # 100 MB (sparse: no disk, no time)
    columns = tmp_path / "columns.csv"
    columns.write_bytes(b"\xd0\x94\xd0\xb0\xd1\x82\xd0\xb0" + b";" * 1_000_000 + b"\n")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(random.Random(16).randbytes(20_000))
    not_a_book = tmp_path / "plan.xlsx"
    not_a_book.write_bytes(b"just text, not a workbook")
    return {
        "zip bomb": (zip_bomb(tmp_path / "bomb.xlsx"), "unpacks"),
        "100 MB": (big, "too big"),
        "a million columns": (columns, "Too many columns"),
        "wrong encoding": (garbage, "encoding"),
        "not a workbook": (not_a_book, "not an Excel workbook"),
    }


def test_hostile_files_are_refused_quickly_and_nothing_is_written(hub: Any, tmp_path: Path) -> None:
    for what, (path, message) in hostile_files(tmp_path).items():
        started = time.monotonic()
        tracemalloc.start()
        try:
            code, out, err = run_cli(["import", str(path), "--data", str(hub.data_dir)])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.monotonic() - started < 10, what
        # Bounded memory too: the 100 MB file is never read, the bomb never inflated.
        assert peak < 64 * 1024 * 1024, (what, peak)
        assert code == 1, (what, out, err)
        assert message in err, (what, err)
        code, report = run_import(hub, path)
        assert code == 1 and report["refused"] and report["written"] == 0, what
    assert events(hub, "bfu") == {} and events(hub, "kgtu") == {}


def test_zip_bomb_is_refused_before_openpyxl_reads_it(tmp_path: Path, monkeypatch: Any) -> None:
    import openpyxl

    from calhub.exchange.sheets import SheetError, read_sheet

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("openpyxl was asked to read the bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    data = zip_bomb(tmp_path / "bomb.xlsx").read_bytes()
    assert len(data) < 2 * 1024 * 1024
    with pytest.raises(SheetError, match="unpacks"):
        read_sheet(data, "bomb.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(600):
            archive.writestr(f"part{n}.xml", "x")
    with pytest.raises(SheetError, match="parts"):
        read_sheet(buffer.getvalue(), "many.xlsx")
