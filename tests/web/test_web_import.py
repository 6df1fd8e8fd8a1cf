"""The import page (/import): the coordinator uploads a sheet, reads the report (the
same as ``calhub import --dry-run``), confirms, and the rows are in the calendars; the
upload is kept server-side between the two steps, under a random name, for its uploader."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from web_support import WEEK, session_csrf, sign_in, text

DAY = WEEK + dt.timedelta(days=1)  # the sample week's Tuesday
# Monday 15:00 of the sample week has bfu's «Лекция по физике [10-11]»: a row for 10А
# then clashes with it.
MONDAY = WEEK.strftime("%d.%m.%Y")
SHEET = (
    "Дата;Время;Партнёр;Мероприятие;Классы;Место\n"
    f"{MONDAY};15:00–16:00;КГТУ;Импортированная лекция;10А;Кабинет 7\n"
    f"{DAY:%d.%m.%Y};18:00;БФУ;Вечерний семинар;8;\n"
    f"{DAY:%d.%m.%Y};18:00;Кто-то;Неизвестно чей;8;\n"
).encode()


def upload(client: Any, data: bytes, name: str = "plan.csv", **fields: str) -> Any:
    form: dict[str, Any] = {"csrf_token": session_csrf(client), **fields}
    form["sheet"] = (io.BytesIO(data), name)
    return client.post("/import", data=form, content_type="multipart/form-data")


def token_of(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, "no kept upload in the page"
    return match.group(1)


def summaries(runtime: Any) -> set[str]:
    return {o.summary for o in runtime.index.all_occurrences()}


def test_upload_report_confirm(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/import"))
    assert 'id="upload-form"' in page and 'enctype="multipart/form-data"' in page

    response = upload(web_client, SHEET)
    page = text(response)
    assert response.status_code == 200
    assert re.search(r'id="rows-read">3<', page) and re.search(r'id="rows-ok">2<', page)
    assert "Кто-то" in page and 'id="unknown-partners"' in page
    assert "audience" in page and "Импортированная лекция" in page  # the clash, by rule
    assert 'id="import-refused"' in page
    token = token_of(page)
    assert "Импортированная лекция" not in summaries(web_runtime)

    # Check again with "import the good rows": the same kept file, another dry run.
    form = {"csrf_token": session_csrf(web_client), "token": token, "skip_bad": "1",
            "dry_run": "1"}  # fmt: skip
    page = text(web_client.post("/import/confirm", data=form))
    assert 'id="confirm-form"' in page and 'id="import-refused"' not in page
    assert "Импортированная лекция" not in summaries(web_runtime)

    form.pop("dry_run")
    response = web_client.post("/import/confirm", data=form)
    page = text(response)
    assert response.status_code == 200 and 'id="import-done"' in page
    assert {"Импортированная лекция", "Вечерний семинар"} <= summaries(web_runtime)
    assert "Неизвестно чей" not in summaries(web_runtime)
    # The kept file is gone once imported.
    assert web_client.post("/import/confirm", data=form).status_code == 404


def test_only_the_coordinator_imports(web_client: Any, web_runtime: Any) -> None:
    assert web_client.get("/import").status_code in (302, 303)
    sign_in(web_client, "bfu")
    assert web_client.get("/import").status_code == 403
    assert upload(web_client, SHEET).status_code == 403
    assert "Вечерний семинар" not in summaries(web_runtime)


def test_a_kept_upload_is_its_uploaders_and_tokens_are_checked(
    web_client: Any, web_app: Any
) -> None:
    sign_in(web_client, "coordinator")
    token = token_of(text(upload(web_client, SHEET, skip_bad="1")))
    other = web_app.test_client()
    for token_sent in ("../../calhub", "x" * 30, token):
        form = {"csrf_token": session_csrf(web_client), "token": token_sent}
        if token_sent == token:
            # Another browser of another account: not its upload.
            sign_in(other, "coordinator")
            form["csrf_token"] = session_csrf(other)
            from calhub.exchange import uploads

            root = web_app.extensions["calhub"].paths.root
            assert uploads.load(root, token, "bfu") is None
            continue
        assert web_client.post("/import/confirm", data=form).status_code == 404


def test_bad_uploads_get_readable_errors(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    response = upload(web_client, bytes(range(256)) * 40, "plan.csv")
    assert response.status_code == 400 and "encoding" in text(response)
    response = upload(web_client, b"not a workbook", "plan.xlsx")
    assert response.status_code == 400 and "XLSX" in text(response)
    response = upload(web_client, b"", "plan.csv")
    assert response.status_code == 400
    big = b"x" * (web_runtime.settings.max_body_bytes + 1)
    response = upload(web_client, big, "plan.csv")
    assert response.status_code == 413
    # A real plan is bigger than the hub's other forms: a 1 MB upload passes the CSRF check.
    note = "примечание " * 100
    rows = "".join(
        f"{DAY + dt.timedelta(days=n):%d.%m.%Y};06:00;БФУ;Ряд {n};8;{note}\n" for n in range(500)
    )
    data = ("Дата;Время;Партнёр;Мероприятие;Классы;Примечание\n" + rows).encode()
    assert len(data) > 1024 * 1024
    response = upload(web_client, data)
    assert response.status_code == 200 and 'id="rows-read">500<' in text(response)
    no_csrf = web_client.post(
        "/import",
        data={"sheet": (io.BytesIO(SHEET), "plan.csv")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400
    assert "Вечерний семинар" not in summaries(web_runtime)


# Headers the import does not know by themselves; the mapping names them and a partner alias.
MAPPED_SHEET = (
    "Когда;Во сколько;Кто;Что;Для кого\n"
    f"{DAY:%d.%m.%Y};17:00–18:00;Политех;Занятие по сопоставлению;9\n"
).encode()
MAPPING = (
    '[columns]\n"Когда" = "date"\n"Во сколько" = "time"\n"Кто" = "partner"\n'
    '"Что" = "title"\n"Для кого" = "audience"\n[partners]\n"Политех" = "kgtu"\n'
).encode()


def upload_with_mapping(client: Any, mapping: bytes, **fields: str) -> Any:
    form: dict[str, Any] = {"csrf_token": session_csrf(client), **fields}
    form["sheet"] = (io.BytesIO(MAPPED_SHEET), "mapped.csv")
    form["mapping"] = (io.BytesIO(mapping), "plan.toml")
    return client.post("/import", data=form, content_type="multipart/form-data")


def test_a_mapping_file_uploaded_with_the_sheet(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/import"))
    assert 'name="mapping"' in page

    # Without the mapping the sheet has no header the import knows.
    assert upload(web_client, MAPPED_SHEET, "mapped.csv").status_code == 400

    response = upload_with_mapping(web_client, MAPPING)
    page = text(response)
    assert response.status_code == 200, page
    assert re.search(r'id="rows-ok">1<', page) and 'id="mapping-used"' in page
    token = token_of(page)
    # The confirmation imports the kept file with the kept mapping.
    form = {"csrf_token": session_csrf(web_client), "token": token}
    page = text(web_client.post("/import/confirm", data=form))
    assert 'id="import-done"' in page, page
    found = [
        o for o in web_runtime.index.all_occurrences() if o.summary == "Занятие по сопоставлению"
    ]
    assert [o.calendar for o in found] == ["kgtu"]


def test_a_bad_mapping_file_is_a_readable_400(
    web_client: Any, web_runtime: Any, web_hub: Any
) -> None:
    sign_in(web_client, "coordinator")
    cases = [
        (b"[columns\n", "не TOML"),  # not TOML: what the CLI says, in the page
        (b'[columns]\n"A" = "nonsense"\n', "nonsense"),  # an unknown field
        ('[columns]\n"Когда" = "date"\n'.encode("cp1251"), "UTF-8"),
        (b"# " + b"x" * (64 * 1024), "64 KB"),
    ]
    for mapping, reason in cases:
        response = upload_with_mapping(web_client, mapping, skip_bad="1", calendar="kgtu")
        page = text(response)
        assert response.status_code == 400, page
        assert "The mapping file" in page and reason in page and "docs/exchange.md" in page
        # The form is kept: the options chosen are still chosen.
        assert re.search(r'name="skip_bad" value="1" checked', page)
        assert re.search(r'<option value="kgtu" selected', page)
    assert "Занятие по сопоставлению" not in summaries(web_runtime)
    assert not list((web_hub.root / "imports").glob("*"))  # nothing kept
