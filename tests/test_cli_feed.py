"""``calhub feed create|list|revoke`` end to end on a copy of a fresh hub: the addresses are
shown once (https and webcal, from ``--url``, ``[public] url`` or a warned fallback), the
list never shows a token, a revoked feed stops, and every mistake is a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_user_error

from calhub.dav.maintenance import open_runtime
from calhub.feeds.tokens import resolve
from calhub.hub import Hub, configfile


@pytest.fixture
def hub(fresh_hub: Any) -> Path:
    root: Path = fresh_hub.create()
    return root


def set_public_url(root: Path, url: str) -> None:
    document = configfile.read_document(root)
    document["public"] = {"url": url}
    configfile.save_document(root, document)


def secret_of(address: str) -> str:
    match = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics$", address)
    assert match, address
    return match.group(1)


def create_json(runner: Any, root: Path, *extra: str) -> dict[str, Any]:
    code, out, err = runner("feed", "create", *extra, "--json", "--data", str(root))
    assert code == 0, err
    shown: dict[str, Any] = json.loads(out)
    return shown


def test_create_prints_both_addresses_once_and_how_to_revoke(runner: Any, hub: Path) -> None:
    code, out, err = runner(
        "feed",
        "create",
        "--scope",
        "audience:10А",
        "--name",
        "10А, родители",
        "--url",
        "https://calendar.school.example/",
        "--data",
        str(hub),
    )
    assert code == 0, err
    assert err == ""
    [https] = re.findall(r"https://\S+", out)
    [webcal] = re.findall(r"webcal://\S+", out)
    assert https.startswith("https://calendar.school.example/feeds/")
    assert webcal == "webcal://" + https.removeprefix("https://")
    assert "только" in out and "only this once" in out
    assert "calhub feed revoke 1" in out
    found = resolve(open_runtime(Hub(hub)), secret_of(https))
    assert found is not None and str(found[1]) == "audience:10А"


def test_create_json_is_one_object_with_both_addresses(runner: Any, hub: Path) -> None:
    shown = create_json(
        runner, hub, "--scope", "busy:10", "--name", "для БФУ", "--url", "http://hub.local:8080"
    )
    assert shown["id"] == 1 and shown["scope"] == "busy:10" and shown["name"] == "для БФУ"
    assert shown["url"].startswith("http://hub.local:8080/feeds/")
    assert shown["webcal"] == "webcal://" + shown["url"].removeprefix("http://")
    assert secret_of(shown["url"]) == secret_of(shown["webcal"])


def test_the_address_comes_from_public_url_when_no_url_is_given(runner: Any, hub: Path) -> None:
    set_public_url(hub, "https://calendar.school.example")
    code, out, err = runner("feed", "create", "--scope", "all", "--json", "--data", str(hub))
    assert code == 0, err
    assert err == ""
    assert json.loads(out)["url"].startswith("https://calendar.school.example/feeds/")


def test_without_any_address_the_fallback_is_used_with_a_warning(runner: Any, hub: Path) -> None:
    code, out, err = runner("feed", "create", "--scope", "all", "--json", "--data", str(hub))
    assert code == 0, err
    assert json.loads(out)["url"].startswith("http://127.0.0.1:5232/feeds/")
    assert "[public] url" in err and "внимание" in err and "warning" in err


@pytest.mark.parametrize(
    ("scope", "fragment"),
    [
        ("everything", "everything"),
        ("calendar:nobody", "nobody"),
        ("audience:", "audience"),
        ("audience:13Щ", "13Щ"),
        ("conflicts:10", "conflicts"),
    ],
)
def test_a_bad_scope_is_a_clear_error_and_makes_no_feed(
    runner: Any, hub: Path, scope: str, fragment: str
) -> None:
    result = runner(
        "feed", "create", "--scope", scope, "--url", "https://h.example", "--data", str(hub)
    )
    assert_user_error(result, fragment)
    code, out, _ = runner("feed", "list", "--all", "--json", "--data", str(hub))
    assert code == 0 and json.loads(out) == []


def test_a_bad_url_or_name_is_a_clear_error(runner: Any, hub: Path) -> None:
    assert_user_error(
        runner(
            "feed",
            "create",
            "--scope",
            "all",
            "--url",
            "calendar.school.example",
            "--data",
            str(hub),
        ),
        "Адрес хаба",
        "address",
    )
    assert_user_error(
        runner(
            "feed",
            "create",
            "--scope",
            "all",
            "--name",
            "x" * 300,
            "--url",
            "https://h.example",
            "--data",
            str(hub),
        ),
        "200",
    )
    code, out, _ = runner("feed", "list", "--all", "--json", "--data", str(hub))
    assert code == 0 and json.loads(out) == []


def test_list_shows_feeds_never_their_tokens(runner: Any, hub: Path) -> None:
    code, out, _ = runner("feed", "list", "--data", str(hub))
    assert code == 0 and "calhub feed create" in out
    first = create_json(
        runner, hub, "--scope", "audience:10А", "--name", "10А", "--url", "https://h.example"
    )
    second = create_json(runner, hub, "--scope", "conflicts", "--url", "https://h.example")
    code, out, _ = runner("feed", "list", "--data", str(hub))
    assert code == 0
    lines = out.splitlines()
    assert "SCOPE" in lines[0] and "LAST USED" in lines[0] and "REVOKED" in lines[0]
    assert "conflicts" in lines[1] and "audience:10А" in lines[2]
    for shown in (first, second):
        assert secret_of(shown["url"]) not in out
    code, out, _ = runner("feed", "list", "--json", "--data", str(hub))
    listed = json.loads(out)
    assert [f["id"] for f in listed] == [second["id"], first["id"]]
    assert all(secret_of(s["url"]) not in out for s in (first, second))
    assert set(listed[0]) >= {"id", "scope", "name", "created_at", "last_used_at", "revoked_at"}


def test_revoke_stops_a_feed_and_list_all_still_shows_it(runner: Any, hub: Path) -> None:
    shown = create_json(runner, hub, "--scope", "all", "--url", "https://h.example")
    kept = create_json(runner, hub, "--scope", "calendar:bfu", "--url", "https://h.example")
    code, out, err = runner("feed", "revoke", str(shown["id"]), "--data", str(hub))
    assert code == 0, err
    assert "отозвана" in out and "revoked" in out
    runtime = open_runtime(Hub(hub))
    assert resolve(runtime, secret_of(shown["url"])) is None
    assert resolve(runtime, secret_of(kept["url"])) is not None
    code, out, _ = runner("feed", "list", "--json", "--data", str(hub))
    assert [f["id"] for f in json.loads(out)] == [kept["id"]]
    code, out, _ = runner("feed", "list", "--all", "--json", "--data", str(hub))
    [revoked] = [f for f in json.loads(out) if f["id"] == shown["id"]]
    assert revoked["revoked_at"]


def test_revoking_twice_or_an_unknown_feed_is_a_clear_error(runner: Any, hub: Path) -> None:
    shown = create_json(runner, hub, "--scope", "all", "--url", "https://h.example")
    assert runner("feed", "revoke", str(shown["id"]), "--data", str(hub)).code == 0
    assert_user_error(
        runner("feed", "revoke", str(shown["id"]), "--data", str(hub)),
        "уже отозвана",
        "revoked already",
        "calhub feed list",
    )
    assert_user_error(
        runner("feed", "revoke", "42", "--data", str(hub)),
        "Ленты 42 нет",
        "no feed 42",
        "calhub feed list",
    )
    assert_user_error(
        runner("feed", "revoke", "first", "--data", str(hub)), "first", "calhub feed list"
    )
    assert_user_error(runner("feed", "revoke", "٣", "--data", str(hub)), "calhub feed list")


def test_feed_commands_need_a_hub(runner: Any, tmp_path: Path) -> None:
    code, _, err = runner("feed", "list", "--data", str(tmp_path / "nothing"))
    assert code == 2 and "calhub init" in err
