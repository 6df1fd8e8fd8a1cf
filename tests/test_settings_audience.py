"""Audience groups and calendars' default audiences are checked by the config schema: a group
the engine cannot read would stop it from being built (``calhub serve`` called that a bug,
a running hub answered 400), and a default audience it cannot read would silently mean the
whole school."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomlkit
from helpers import assert_user_error

from calhub.errors import ConfigError
from calhub.hub.filewatch import write_atomically
from calhub.hub.settings import load_settings


def edit(root: Path, change: Any) -> Path:
    """Change calhub.toml unchecked, as a text editor would."""
    path = root / "calhub.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    change(document)
    write_atomically(path, tomlkit.dumps(document))
    return path


def copy_of(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    root.mkdir()
    (root / "calhub.toml").write_bytes((template / "calhub.toml").read_bytes())
    return root


def set_groups(groups: dict[str, str]) -> Any:
    def change(document: Any) -> None:
        document["audience"]["groups"] = groups

    return change


@pytest.mark.parametrize(
    ("groups", "problem"),
    [
        ({"профиль": "чепуха"}, "'чепуха' is not an audience"),
        ({"первый": "второй", "второй": "первый"}, "refers to itself"),
    ],
)
def test_a_group_the_engine_cannot_read_is_a_config_error(
    hub_template: Path, tmp_path: Path, groups: dict[str, str], problem: str
) -> None:
    root = copy_of(hub_template, tmp_path)
    path = edit(root, set_groups(groups))
    with pytest.raises(ConfigError) as caught:
        load_settings(root)
    assert str(caught.value).startswith(f"{path}: [audience.groups] audience group ")
    assert problem in str(caught.value)


def test_groups_may_use_other_groups(hub_template: Path, tmp_path: Path) -> None:
    root = copy_of(hub_template, tmp_path)
    edit(root, set_groups({"инженеры": "10А, 11А", "старшие": "инженеры, 11Б"}))
    assert load_settings(root).groups["старшие"] == "инженеры, 11Б"


def test_a_default_audience_that_does_not_parse_is_a_config_error(
    fresh_hub: Any, runner: Any
) -> None:
    root = fresh_hub.create()

    def change(document: Any) -> None:
        document["calendars"][2]["audience"] = "старшеклассники"

    path = edit(root, change)
    assert_user_error(
        runner("partner", "list", "--data", str(root)),
        f"{path}: [calendars[3].audience] 'старшеклассники' is not an audience",
        "docs/audience.md",
    )


def test_a_default_audience_may_name_a_group(hub_template: Path, tmp_path: Path) -> None:
    root = copy_of(hub_template, tmp_path)

    def change(document: Any) -> None:
        document["audience"]["groups"] = {"инженеры": "10А, 11А"}
        document["calendars"][2]["audience"] = "инженеры"

    edit(root, change)
    assert load_settings(root).calendars[2].audience == "инженеры"


def test_archived_must_be_true_or_false(hub_template: Path, tmp_path: Path) -> None:
    # bool("no") is True: an unchecked value would archive the calendar.
    root = copy_of(hub_template, tmp_path)

    def change(document: Any) -> None:
        document["calendars"][2]["archived"] = "no"

    path = edit(root, change)
    with pytest.raises(ConfigError, match="must be true or false") as caught:
        load_settings(root)
    assert str(caught.value).startswith(f"{path}: [calendars[3].archived] ")
