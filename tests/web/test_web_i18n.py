"""Languages (Russian first, English second), dates per language, complete catalogs, and
/healthz."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from web_support import WEEK, csrf_in, sign_in, text

import calhub.web

WEB = Path(calhub.web.__file__).parent
CATALOGS = WEB / "translations"


def test_russian_by_default_and_for_russian_browsers(web_client: Any) -> None:
    assert 'lang="ru"' in text(web_client.get("/login"))
    ru = text(web_client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}))
    assert "Войти" in ru
    other = text(web_client.get("/login", headers={"Accept-Language": "de-DE"}))
    assert "Войти" in other, "a language calhub does not speak falls back to Russian"


def test_english_from_accept_language(web_client: Any) -> None:
    page = text(web_client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert 'lang="en"' in page and "Sign in" in page and "Войти" not in page


def test_the_switcher_overrides_and_outlives_signing_out(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    token = csrf_in(text(web_client.get("/plan")))
    switched = web_client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/plan"})
    assert switched.status_code == 303 and switched.headers["Location"] == "/plan"
    cookie = switched.headers["Set-Cookie"]
    assert "calhub_lang=en" in cookie and "HttpOnly" in cookie
    page = text(web_client.get("/plan", headers={"Accept-Language": "ru"}))
    assert "Clashes" in page and "Накладки" not in page
    web_client.post("/logout", data={"csrf_token": token})
    assert "Sign in" in text(web_client.get("/login"))
    assert web_client.post("/lang", data={"csrf_token": token, "lang": "de"}).status_code == 400


def test_dates_are_formatted_per_language(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    query = {"view": "agenda", "date": WEEK.isoformat()}
    ru = text(web_client.get("/plan", query_string=query))
    web_client.set_cookie("calhub_lang", "en")
    en = text(web_client.get("/plan", query_string=query))
    assert "Понедельник" in ru
    assert "Monday" in en and "Понедельник" not in en
    assert f"Monday, {WEEK.day} {WEEK:%B}" in en, "month names keep their capital letter"


def test_english_pages_use_english_clash_messages(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    web_client.set_cookie("calhub_lang", "en")
    en = text(web_client.get("/conflicts"))
    assert "Same classes" in en and "Hard clashes: 2" in en
    assert "Одни и те же ученики" not in en


def test_every_message_has_a_russian_translation() -> None:
    with (CATALOGS / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = [
        message.id
        for message in catalog
        if message.id
        and (not message.string or (isinstance(message.string, tuple) and not all(message.string)))
    ]
    assert missing == []
    assert catalog.num_plurals == 3


def test_the_catalogs_hold_every_string_of_the_code(tmp_path: Path) -> None:
    """Extract the messages again: a string marked in code but missing from the catalogs
    would be shown untranslated."""
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(WEB / "babel.cfg"),
            "-o",
            str(pot),
            str(WEB),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(result.stderr)
    with pot.open("rb") as handle:
        wanted = {(m.context, m.id) for m in read_po(handle) if m.id}
    for language in ("ru", "en"):
        with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            have = {(m.context, m.id) for m in read_po(handle) if m.id}
        assert wanted - have == set(), f"{language}: run the catalog update (docs/dashboard.md)"


def test_healthz_reports_storage_index_and_version(web_client: Any) -> None:
    body = web_client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"storage": "ok", "index": "ok"}
    assert body["index"]["items"] >= 11
    assert body["index"]["occurrences"] >= body["index"]["items"]
    assert body["version"]


def test_catalogs_compile_from_a_checkout_even_when_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calhub.web.i18n import compiled_translations

    source = tmp_path / "translations"
    (source / "ru" / "LC_MESSAGES").mkdir(parents=True)
    po = source / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_bytes((CATALOGS / "ru" / "LC_MESSAGES" / "messages.po").read_bytes())
    assert compiled_translations(source) == source
    assert po.with_suffix(".mo").stat().st_size > 0
    po.with_suffix(".mo").unlink()

    write_bytes = Path.write_bytes

    def read_only(path: Path, data: bytes) -> int:
        if source in path.parents:
            raise PermissionError(13, "Read-only file system", str(path))
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    elsewhere = compiled_translations(source)
    assert elsewhere != source
    assert (elsewhere / "ru" / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
