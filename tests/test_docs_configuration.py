"""docs/configuration.md documents every key of the schema, every rule and every setting a
rule declares, with the default, bounds and help the code runs with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from calhub.engine import RULE_NAMES
from calhub.engine.rules import registry
from calhub.hub import configfile
from calhub.hub.settings import (
    AUDIT_SCHEMA,
    CALENDAR_SCHEMA,
    HUB_SCHEMA,
    RECORDS_SCHEMA,
    REPORTS_SCHEMA,
    RULE_SCHEMA,
    SERVER_SCHEMA,
    SOURCES_SCHEMA,
    parse_settings,
)

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")


def rule_section(rule: str) -> str:
    """The text under the rule's own heading, up to the next heading."""
    match = re.search(
        rf"^### `\[rules\.{rule}\]` \((hard|soft)\)\n(.*?)(?=^#|\Z)", DOC, re.M | re.S
    )
    assert match, f"docs/configuration.md has no section ### `[rules.{rule}]` (severity)"
    return match.group(0)


@pytest.mark.parametrize(
    "key",
    [
        *HUB_SCHEMA,
        *SERVER_SCHEMA,
        *CALENDAR_SCHEMA,
        *RULE_SCHEMA,
        *RECORDS_SCHEMA,
        *SOURCES_SCHEMA,
        *AUDIT_SCHEMA,
        *REPORTS_SCHEMA,
    ],
)
def test_every_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_is_documented(rule: str) -> None:
    severity = registry()[rule].default_severity
    assert f"| `{rule}` | {severity} |" in DOC
    assert rule_section(rule).startswith(f"### `[rules.{rule}]` ({severity})\n")


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_setting_is_documented_as_declared(rule: str) -> None:
    section = rule_section(rule)
    options = registry()[rule].options
    for option in options:
        row = f"| `{option.name}` | `{option.shown_default}` | {option.allowed} | {option.help} |"
        assert row in section.splitlines(), f"docs/configuration.md should have:\n{row}"
    documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert documented == [option.name for option in options], "a documented key is not declared"
    if not options:
        assert "No settings of its own" in section


@pytest.mark.parametrize("block", re.findall(r"```toml\n(.*?)```", DOC, re.S))
def test_every_example_is_a_valid_config(block: str) -> None:
    parse_settings(Path("calhub.toml"), tomllib.loads(block))


def test_the_commented_examples_of_a_new_config_are_valid() -> None:
    text = configfile.TEMPLATE.replace('school = ""', 'school = "x"')
    text = text.replace('timezone = ""', 'timezone = "Europe/Kaliningrad"')
    uncommented = re.sub(r"^# (\[|\")", r"\1", text, flags=re.M)
    assert uncommented != text
    settings = parse_settings(Path("calhub.toml"), tomllib.loads(uncommented))
    assert settings.rules["travel"].params["sites"] == {
        "гимназия": ("Гимназия", "Спортзал гимназии")
    }
