"""docs/configuration.md documents every key of the schema and every rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from calhub.engine import RULE_NAMES
from calhub.settings import CALENDAR_SCHEMA, HUB_SCHEMA

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", [*HUB_SCHEMA, *CALENDAR_SCHEMA])
def test_every_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_every_rule_is_documented(rule: str) -> None:
    assert f"| `{rule}` |" in DOC
