"""Feed tokens: random (192 bits), kept only as their SHA-256 in hub.sqlite, found by it;
revoked, unknown, malformed tokens and tokens whose scope is gone find nothing; a feed's
use is noted at most once a minute; a backup keeps them; the ``[public]`` settings."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import backup_and_restore

from calhub.dav.maintenance import open_runtime
from calhub.errors import ConfigError, UserError
from calhub.feeds.tokens import create_feed, feed_address, resolve
from calhub.hub import Hub
from calhub.hub.settings import PUBLIC_SCHEMA, parse_settings
from calhub.runtime import Runtime
from calhub.store.feeds import FeedTokens

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
T0 = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> FeedTokens:
    return FeedTokens(tmp_path / "hub.sqlite")


@pytest.fixture
def runtime(fresh_hub: Any) -> Runtime:
    return open_runtime(Hub(fresh_hub.create()))


def database_bytes(path: Path) -> bytes:
    """hub.sqlite as it is on disk, its write-ahead log included."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


# -- the store ---------------------------------------------------------------------------


def test_tokens_carry_at_least_128_random_bits(store: FeedTokens) -> None:
    secrets_ = [store.create("all", "", "cli")[1] for _ in range(200)]
    assert len(set(secrets_)) == len(secrets_)
    for secret in secrets_:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        assert len(raw) * 8 >= 128
    # Every position takes many values: not a counter, not a clock.
    assert all(len({s[i] for s in secrets_}) > 20 for i in range(len(secrets_[0]) - 1))


def test_only_the_hash_of_a_token_is_stored(store: FeedTokens) -> None:
    feed, secret = store.create("audience:10А", "10А, родители", "cli")
    store.close()
    on_disk = database_bytes(store.path)
    assert secret.encode() not in on_disk
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in on_disk
    with sqlite3.connect(store.path) as db:
        [(stored,)] = db.execute("SELECT token_hash FROM feed_tokens").fetchall()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert store.find(secret) == feed


def test_as_json_never_shows_the_token_or_its_hash(store: FeedTokens) -> None:
    feed, secret = store.create("busy:10", "для партнёров", "cli")
    shown = feed.as_json()
    assert set(shown) == {
        "id",
        "scope",
        "name",
        "created_at",
        "created_by",
        "revoked_at",
        "last_used_at",
    }
    text = repr(shown)
    assert secret not in text and hashlib.sha256(secret.encode()).hexdigest() not in text
    assert shown["scope"] == "busy:10" and shown["created_at"].endswith("Z")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "short",
        "x" * 129,
        "x" * 100_000,
        "../../etc/passwd",
        "токентокентокентокен",
        "a b" * 10,
        "A" * 31 + "\x00",
        None,
        12345,
    ],
)
def test_malformed_tokens_find_nothing_and_raise_nothing(store: FeedTokens, garbage: Any) -> None:
    store.create("all", "", "cli")
    assert store.find(garbage) is None


def test_a_revoked_token_finds_nothing_and_cannot_be_revoked_twice(store: FeedTokens) -> None:
    feed, secret = store.create("all", "", "cli")
    other, other_secret = store.create("conflicts", "", "cli")
    assert store.revoke(feed.id, "cli")
    assert store.find(secret) is None
    assert store.find(other_secret) == other
    assert not store.revoke(feed.id, "cli")
    assert not store.revoke(999, "cli")
    revoked = store.get(feed.id)
    assert revoked is not None and revoked.revoked_at is not None
    assert [f.id for f in store.query()] == [other.id]
    assert [f.id for f in store.query(include_revoked=True)] == [other.id, feed.id]


def test_use_is_noted_at_most_once_a_minute(store: FeedTokens) -> None:
    feed, _ = store.create("all", "", "cli")
    store.touch(feed.id, now=T0)
    store.touch(feed.id, now=T0 + dt.timedelta(seconds=30))
    assert store.get(feed.id).last_used_at == "2026-12-02T08:00:00Z"  # type: ignore[union-attr]
    # Another process (its own memory) within the minute does not write either.
    elsewhere = FeedTokens(store.path)
    elsewhere.touch(feed.id, now=T0 + dt.timedelta(seconds=45))
    assert store.get(feed.id).last_used_at == "2026-12-02T08:00:00Z"  # type: ignore[union-attr]
    store.touch(feed.id, now=T0 + dt.timedelta(seconds=61))
    assert store.get(feed.id).last_used_at == "2026-12-02T08:01:01Z"  # type: ignore[union-attr]


# -- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "https", "webcal"),
    [
        (
            "https://calendar.school.example",
            "https://calendar.school.example/feeds/TOKEN.ics",
            "webcal://calendar.school.example/feeds/TOKEN.ics",
        ),
        (
            "https://school.example/hub/",
            "https://school.example/hub/feeds/TOKEN.ics",
            "webcal://school.example/hub/feeds/TOKEN.ics",
        ),
        (
            "http://127.0.0.1:5232",
            "http://127.0.0.1:5232/feeds/TOKEN.ics",
            "webcal://127.0.0.1:5232/feeds/TOKEN.ics",
        ),
    ],
)
def test_feed_addresses_follow_the_hubs_address(base: str, https: str, webcal: str) -> None:
    address = feed_address(base, "TOKEN")
    assert (address.https, address.webcal) == (https, webcal)


@pytest.mark.parametrize(
    "base",
    [
        "",
        "calendar.school.example",
        "ftp://school.example",
        "https://x.example/?a=b",
        "https://user@x.example",
        "javascript:alert(1)",
    ],
)
def test_a_wrong_hub_address_is_a_clear_error(base: str) -> None:
    with pytest.raises(UserError) as raised:
        feed_address(base, "TOKEN")
    assert "Адрес хаба" in raised.value.message and "address" in raised.value.message
    assert "https://calendar.school.example" in raised.value.hint


# -- feeds of a hub ----------------------------------------------------------------------


def test_a_created_feed_resolves_to_its_scope_and_notes_its_use(runtime: Runtime) -> None:
    created = create_feed(runtime, "audience:10А", "10А", "cli", "https://hub.example")
    assert created.address.https == f"https://hub.example/feeds/{created.secret}.ics"
    assert str(created.scope) == created.token.scope == "audience:10А"
    found = resolve(runtime, created.secret)
    assert found is not None
    token, scope = found
    assert token.id == created.token.id and str(scope) == "audience:10А"
    assert runtime.feeds.get(token.id).last_used_at is not None  # type: ignore[union-attr]


def test_revoked_and_unknown_tokens_do_not_resolve(runtime: Runtime) -> None:
    created = create_feed(runtime, "all", "", "cli", "https://hub.example")
    kept = create_feed(runtime, "calendar:bfu", "", "cli", "https://hub.example")
    assert runtime.feeds.revoke(created.token.id, "cli")
    assert resolve(runtime, created.secret) is None
    assert (
        resolve(runtime, created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")) is None
    )
    assert resolve(runtime, "x" * 5000) is None
    assert resolve(runtime, kept.secret) is not None


def test_a_feed_of_an_archived_calendar_no_longer_resolves(runtime: Runtime, runner: Any) -> None:
    created = create_feed(runtime, "calendar:bfu", "", "cli", "https://hub.example")
    assert resolve(runtime, created.secret) is not None
    code, _, err = runner("partner", "remove", "bfu", "--data", str(runtime.hub.root))
    assert code == 0, err
    again = open_runtime(Hub(runtime.hub.root))
    assert resolve(again, created.secret) is None


@pytest.mark.parametrize("scope", ["everything", "calendar:nobody", "audience:", "audience:13Щ"])
def test_a_bad_scope_makes_no_feed(runtime: Runtime, scope: str) -> None:
    with pytest.raises(UserError) as raised:
        create_feed(runtime, scope, "", "cli", "https://hub.example")
    assert raised.value.hint
    assert runtime.feeds.query(include_revoked=True) == []


def test_a_bad_name_or_address_makes_no_feed(runtime: Runtime) -> None:
    with pytest.raises(UserError):
        create_feed(runtime, "all", "x" * 201, "cli", "https://hub.example")
    with pytest.raises(UserError):
        create_feed(runtime, "all", "10\u202eА", "cli", "https://hub.example")
    with pytest.raises(UserError):
        create_feed(runtime, "all", "", "cli", "hub.example")
    assert runtime.feeds.query(include_revoked=True) == []


def test_a_backup_keeps_the_feeds(fresh_hub: Any, runner: Any, tmp_path: Path) -> None:
    hub = fresh_hub()
    code, out, err = runner(
        "feed",
        "create",
        "--scope",
        "all",
        "--url",
        "https://hub.example",
        "--json",
        "--data",
        str(hub.data_dir),
    )
    assert code == 0, err
    url = json.loads(out)["url"]
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    restored = backup_and_restore(runner, hub.data_dir, tmp_path)
    assert secret.encode() not in database_bytes(restored / "hub.sqlite")
    found = resolve(open_runtime(Hub(restored)), secret)
    assert found is not None and str(found[1]) == "all"


# -- [public] ----------------------------------------------------------------------------


def settings_of(text: str) -> Any:
    return parse_settings(Path("/hub/calhub.toml"), tomllib.loads(text))


def test_public_settings_have_safe_defaults() -> None:
    settings = settings_of('[hub]\nschool = "x"\n')
    assert settings.public_url == ""
    assert settings.public_enabled is False
    assert settings.public_frame_ancestors == "'none'"
    assert settings.public_weeks == 4


def test_public_settings_are_read() -> None:
    settings = settings_of(
        '[hub]\nschool = "x"\n[public]\nurl = "https://calendar.school.example/"\n'
        "enabled = true\nframe_ancestors = \"'self'   https://school.example\"\nweeks = 26\n"
    )
    assert settings.public_url == "https://calendar.school.example"
    assert settings.public_enabled is True
    assert settings.public_frame_ancestors == "'self' https://school.example"
    assert settings.public_weeks == 26


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('url = "calendar.school.example"', "public.url"),
        ('url = "https://x.example/a?b=c"', "public.url"),
        ("enabled = 1", "public.enabled"),
        ('enabled = "yes"', "public.enabled"),
        ("weeks = 0", "public.weeks"),
        ("weeks = 27", "public.weeks"),
        ('frame_ancestors = "https://school.example; script-src *"', "public.frame_ancestors"),
        ("frame_ancestors = \"'none' 'self'\"", "public.frame_ancestors"),
        ('frame_ancestors = ""', "public.frame_ancestors"),
        ('frame_ancestors = "*"', "public.frame_ancestors"),
        ('colour = "red"', "public.colour"),
    ],
)
def test_a_wrong_public_setting_names_file_section_and_key(line: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of(f'[hub]\nschool = "x"\n[public]\n{line}\n')
    assert raised.value.key == key
    assert raised.value.message.startswith(f"/hub/calhub.toml: [{key}]")
    assert "calhub.toml" in raised.value.hint


@pytest.mark.parametrize("key", PUBLIC_SCHEMA)
def test_every_public_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC.split("## [public]", 1)[1].split("\n## ", 1)[0]
