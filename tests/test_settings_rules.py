"""``[rules.NAME]`` tables are checked by the one config schema, against the settings each
rule declares (calhub/engine/rules): wrong types, values out of range and unknown keys are
ConfigErrors naming the file, the section and the key, for every command and for
``calhub serve``, which refuses to start instead of calling it a bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from clash_support import at, own_week, put_event, rules_between
from helpers import assert_user_error

from calhub.engine import ClashEngine
from calhub.engine.rules import RULE_NAMES, registry
from calhub.errors import ConfigError
from calhub.hub import configfile
from calhub.hub.filewatch import write_atomically
from calhub.hub.settings import RULE_SCHEMA, load_settings, rule_schema
from calhub.runtime.parts import engine_config


def write_rules(root: Path, rules: dict[str, dict[str, Any]]) -> Path:
    """Replace the [rules] tables of a hub's calhub.toml, unchecked, as a text editor would."""
    path = root / "calhub.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    document["rules"] = rules
    write_atomically(path, tomlkit.dumps(document))
    return path


BAD_RULES = [
    ({"travel": {"gap_minutes": True}}, "rules.travel.gap_minutes", "whole number"),
    ({"travel": {"gap_minutes": "30"}}, "rules.travel.gap_minutes", "whole number"),
    ({"travel": {"gap_minutes": 7.5}}, "rules.travel.gap_minutes", "whole number"),
    ({"travel": {"gap_minutes": -1}}, "rules.travel.gap_minutes", "from 0 to 1440"),
    ({"travel": {"gap_minutes": 1441}}, "rules.travel.gap_minutes", "from 0 to 1440"),
    ({"travel": {"gap_minute": 30}}, "rules.travel.gap_minute", "not a known key"),
    ({"travel": {"ignore_online": 1}}, "rules.travel.ignore_online", "true or false"),
    ({"travel": {"sites": ["Гимназия"]}}, "rules.travel.sites", "table of sites"),
    ({"travel": {"sites": {"гимназия": 5}}}, "rules.travel.sites", "'гимназия'"),
    ({"travel": {"sites": {"гимназия": []}}}, "rules.travel.sites", "must list its venues"),
    ({"travel": {"sites": {"гимназия": ["—"]}}}, "rules.travel.sites", "not a venue"),
    (
        {"travel": {"sites": {"а": ["Гимназия"], "б": ["гимназия"]}}},
        "rules.travel.sites",
        "under both 'а' and 'б'",
    ),
    ({"overload": {"max_per_week": True}}, "rules.overload.max_per_week", "whole number"),
    ({"overload": {"max_per_week": -5}}, "rules.overload.max_per_week", "from 0"),
    ({"overload": {"count_all_day": "yes"}}, "rules.overload.count_all_day", "true or false"),
    ({"audience": {"ignore_all_day": 0}}, "rules.audience.ignore_all_day", "true or false"),
    ({"venue": {"max_per_week": 5}}, "rules.venue.max_per_week", "not a known key"),
    ({"duplicate": {"gap_minutes": 5}}, "rules.duplicate.gap_minutes", "not a known key"),
    ({"blackout": {"enabled": "no"}}, "rules.blackout.enabled", "true or false"),
    ({"duplicate": {"severity": "critical"}}, "rules.duplicate.severity", "hard, soft"),
    ({"travels": {"gap_minutes": 30}}, "rules.travels", "not a known rule"),
    ({"travel": 30}, "rules.travel", "must be a table"),
]


@pytest.mark.parametrize(
    ("rules", "key", "problem"), BAD_RULES, ids=[f"{key}:{p}" for _, key, p in BAD_RULES]
)
def test_bad_rule_settings_name_the_file_section_and_key(
    hub_template: Path, tmp_path: Path, rules: dict[str, Any], key: str, problem: str
) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    (root / "calhub.toml").write_bytes((hub_template / "calhub.toml").read_bytes())
    path = write_rules(root, rules)
    with pytest.raises(ConfigError) as caught:
        load_settings(root)
    assert caught.value.key == key
    message = str(caught.value)
    assert message.startswith(f"{path}: [{key}] "), message
    assert problem in message


def test_unknown_key_lists_the_keys_the_rule_has(hub_template: Path, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    (root / "calhub.toml").write_bytes((hub_template / "calhub.toml").read_bytes())
    write_rules(root, {"travel": {"gap": 30}})
    with pytest.raises(ConfigError, match="allowed: ") as caught:
        load_settings(root)
    allowed = str(caught.value).split("allowed: ", 1)[1]
    for key in ("enabled", "severity", "gap_minutes", "ignore_online", "ignore_all_day", "sites"):
        assert key in allowed


def test_every_rule_is_declared_once_with_valid_defaults() -> None:
    rules = registry()
    assert tuple(rules) == RULE_NAMES
    for name, rule in rules.items():
        assert rule.name == name and rule.default_severity in ("hard", "soft")
        names = [option.name for option in rule.options]
        assert len(set(names)) == len(names), name
        assert not set(names) & set(RULE_SCHEMA), name
        for option in rule.options:
            assert option.help and option.allowed, (name, option.name)
            assert option.check(option.default) == option.default, (name, option.name)


def test_every_default_written_out_is_accepted_and_changes_nothing(
    hub_template: Path, tmp_path: Path
) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    (root / "calhub.toml").write_bytes((hub_template / "calhub.toml").read_bytes())
    written = {
        name: {key: option.default for key, option in rule_schema(rule).items()}
        | {"severity": rule.default_severity}
        for name, rule in registry().items()
    }
    write_rules(root, written)
    settings = load_settings(root)
    engine = ClashEngine(engine_config(settings))
    assert [rule.name for rule in engine.rules] == list(RULE_NAMES)
    for rule in engine.rules:
        assert rule.severity == rule.default_severity
        assert dict(rule.params) == {o.name: o.default for o in rule.options}


def test_sites_from_calhub_toml_reach_the_travel_rule(hub_template: Path, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    (root / "calhub.toml").write_bytes((hub_template / "calhub.toml").read_bytes())
    write_rules(
        root,
        {"travel": {"sites": {"гимназия": ["Гимназия", "ул. Ленина, 5"], "БФУ": "БФУ"}}},
    )
    settings = load_settings(root)
    assert settings.rules["travel"].params["sites"] == {
        "гимназия": ("Гимназия", "ул. Ленина, 5"),
        "БФУ": ("БФУ",),
    }
    (travel,) = (r for r in ClashEngine(engine_config(settings)).rules if r.name == "travel")
    assert travel.site("гимназия ауд 12") == travel.site("ул ленина 5")
    assert travel.site("гимназия ауд 12") != travel.site("бфу корп 3")


def test_a_config_that_is_not_utf8_is_a_config_error(hub_template: Path, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    text = (hub_template / "calhub.toml").read_text(encoding="utf-8")
    (root / "calhub.toml").write_bytes(text.encode("cp1251", errors="replace"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(root)


def test_cli_commands_report_a_wrongly_typed_rule_setting(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    path = write_rules(root, {"travel": {"gap_minutes": True}})
    assert_user_error(
        runner("partner", "list", "--data", str(root)), str(path), "[rules.travel.gap_minutes]"
    )


def test_configfile_refuses_to_save_a_bad_rule_setting(fresh_hub: Any) -> None:
    root = fresh_hub.create()
    document = configfile.read_document(root)
    document["rules"]["overload"]["max_per_week"] = "five"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"\[rules\.overload\.max_per_week\]"):
        configfile.save_document(root, document)
    assert 'max_per_week = "five"' not in (root / "calhub.toml").read_text(encoding="utf-8")


def test_serve_refuses_to_start_with_a_bad_rule_setting(fresh_hub: Any, tmp_path: Path) -> None:
    root = fresh_hub.create()
    path = write_rules(root, {"travel": {"gap_minutes": True}})
    argv = [sys.executable, "-m", "calhub", "serve", "--data", str(root), "--port", "0"]
    # Bounded: a server that started anyway is killed by the timeout and the test fails.
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False
    )
    assert done.returncode == 2, done
    assert "listening on" not in done.stdout
    assert f"calhub: error: {path}: [rules.travel.gap_minutes] must be a whole number" in (
        done.stderr
    )
    assert "bug" not in done.stderr and "Traceback" not in done.stderr


def test_sites_set_in_calhub_toml_spare_travel_within_a_site(fresh_hub: Any) -> None:
    root = fresh_hub.create()
    document = configfile.read_document(root)
    document["rules"]["travel"]["sites"] = {  # type: ignore[index]
        "гимназия": ["Гимназия", "Спортзал гимназии"]
    }
    configfile.save_document(root, document)
    hub = fresh_hub.serve(root)
    day = own_week()
    events = [
        ("site-a", "Лекция [9А]", 14, "Гимназия, ауд. 12"),
        ("site-b", "Тренировка [9А]", 15, "Спортзал гимназии"),
        ("site-c", "Экскурсия [9А]", 16, "КГТУ, Советский пр., 1"),
    ]
    for uid, title, hour, place in events:
        response = put_event(
            hub, "bfu", "/bfu/calendar/", uid, title, at(day, hour), at(day, hour, 50),
            location=place,
        )  # fmt: skip
        assert response.status == 201, response.text
    # 10 minutes between rooms of one site is enough; to another site it is not.
    assert rules_between(hub, "site-a", "site-b") == set()
    assert rules_between(hub, "site-b", "site-c") == {"travel"}
