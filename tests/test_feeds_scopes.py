"""Feed scopes (calhub.feeds.scopes): what each scope text means, and the bilingual errors
for what it cannot mean. Audiences are the engine's (grades, classes, ranges, groups)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_ok

from calhub.engine import Audience
from calhub.errors import UserError
from calhub.feeds.scopes import FeedScope, parse_scope, scope_title
from calhub.hub import Hub
from calhub.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Iterator[Runtime]:
    """The template hub with a named group and the partner kgtu removed (archived)."""
    from calhub.hub import configfile

    root = tmp_path_factory.mktemp("scopes") / "data"
    shutil.copytree(hub_template, root)
    document = configfile.read_document(root)
    groups: Any = document["audience"]["groups"]
    groups["инженерный профиль"] = "10А, 11А"
    configfile.save_document(root, document)
    cli_ok(["partner", "remove", "kgtu", "--data", str(root)])
    found = Runtime(Hub(root))
    try:
        yield found
    finally:
        found.close()


@pytest.mark.parametrize(
    ("text", "kind", "value", "audience"),
    [
        ("all", "all", "", None),
        (" ALL ", "all", "", None),
        ("conflicts", "conflicts", "", None),
        ("calendar:bfu", "calendar", "bfu", None),
        ("calendar:school", "calendar", "school", None),
        ("audience:10", "audience", "10", Audience(frozenset({10}))),
        ("audience:10А", "audience", "10А", Audience(classes=frozenset({(10, "А")}))),
        # A Latin letter is read as the Cyrillic one, as in event titles.
        ("audience:10A", "audience", "10A", Audience(classes=frozenset({(10, "А")}))),
        ("audience: 8-9 ", "audience", "8-9", Audience(frozenset({8, 9}))),
        ("busy:11", "busy", "11", Audience(frozenset({11}))),
        (
            "audience:инженерный профиль",
            "audience",
            "инженерный профиль",
            Audience(classes=frozenset({(10, "А"), (11, "А")})),
        ),
    ],
)
def test_scope_texts_read_as_the_engine_reads_audiences(
    runtime: Runtime, text: str, kind: str, value: str, audience: Audience | None
) -> None:
    scope = parse_scope(text, runtime)
    assert (scope.kind, scope.value, scope.audience) == (kind, value, audience)
    assert str(scope) == (kind if not value else f"{kind}:{value}")
    # What is stored with a token reads back as the same scope.
    assert parse_scope(str(scope), runtime) == scope


def test_only_the_conflicts_feed_is_coordinator_only(runtime: Runtime) -> None:
    assert parse_scope("conflicts", runtime).coordinator_only
    for text in ("all", "calendar:bfu", "audience:10", "busy:10"):
        assert not parse_scope(text, runtime).coordinator_only


@pytest.mark.parametrize(
    ("text", "russian", "english"),
    [
        ("", "Не указано", "empty"),
        ("   ", "Не указано", "empty"),
        ("everything", "Неизвестный вид ленты", "Unknown feed kind"),
        ("grade:10", "Неизвестный вид ленты", "Unknown feed kind"),
        ("all:bfu", "не принимает", "takes no value"),
        ("conflicts:10", "не принимает", "takes no value"),
        ("calendar:", "нужно уточнение", "needs a value"),
        ("audience", "нужно уточнение", "needs a value"),
        ("busy:  ", "нужно уточнение", "needs a value"),
        ("calendar:nope", "нет календаря", "no calendar"),
        ("calendar:kgtu", "в архиве", "archived"),
        ("audience:13", "не похоже", "is not a grade"),
        ("audience:10Ы", "не похоже", "is not a grade"),
        ("busy:<script>", "не похоже", "is not a grade"),
        ("audience:" + "1" * 300, "Слишком длинное", "too long"),
    ],
)
def test_wrong_scopes_say_what_is_wrong_in_both_languages(
    runtime: Runtime, text: str, russian: str, english: str
) -> None:
    with pytest.raises(UserError) as caught:
        parse_scope(text, runtime)
    assert russian in caught.value.message
    assert english in caught.value.message
    assert " / " in caught.value.hint  # the hint too: Russian, then English


def test_an_unknown_audience_hint_names_the_configured_groups(runtime: Runtime) -> None:
    with pytest.raises(UserError) as caught:
        parse_scope("audience:химики", runtime)
    assert "инженерный профиль" in caught.value.hint


def test_titles_name_the_school_and_what_the_feed_shows(runtime: Runtime) -> None:
    school = runtime.settings.school
    bfu = runtime.settings.calendar("bfu")
    assert bfu is not None
    titles = {
        text: scope_title(parse_scope(text, runtime), runtime)
        for text in ("all", "calendar:bfu", "audience:10А", "busy:10", "conflicts")
    }
    assert all(title.startswith(f"{school}: ") for title in titles.values())
    assert titles["calendar:bfu"] == f"{school}: {bfu.name}"
    assert titles["audience:10А"] == f"{school}: 10А"
    assert "занято" in titles["busy:10"] and titles["busy:10"].endswith("10")
    assert "конфликты" in titles["conflicts"]
    assert len(set(titles.values())) == len(titles)


def test_a_scope_value_is_kept_as_written_for_the_title(runtime: Runtime) -> None:
    scope = FeedScope("audience", "8-9", Audience(frozenset({8, 9})))
    assert scope_title(scope, runtime).endswith(": 8-9")
