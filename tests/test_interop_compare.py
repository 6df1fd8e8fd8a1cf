"""docs/interop/compare.py, the gate of `make interop`: a hub run worse than plain Radicale
fails unless docs/interop/deliberate.toml lists the difference. On hand-made hints files, as
caldav-server-tester writes them (``--format hints``); the real runs are `make interop`'s."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).resolve().parent.parent / "docs" / "interop"


def _load_compare() -> Any:
    spec = importlib.util.spec_from_file_location("interop_compare", INTEROP / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


compare = _load_compare()

PLAIN = {
    "propfind": {"support": "full"},
    "create-calendar": {"support": "full"},
    "search.recurrences.expanded.todo": {"support": "unsupported"},
    "save-load.todo": {"support": "full"},
    "get-current-user-principal.has-calendar": {"value": False},
}


def write_runs(out: Path, **changes: dict[str, Any]) -> None:
    """Every run as plain Radicale, with ``changes[run]`` (``hub_partner=...``) applied;
    a value of None drops the feature from that run."""
    out.mkdir(exist_ok=True)
    for run in compare.RUNS:
        hints = dict(PLAIN)
        for feature, info in changes.get(run.replace("-", "_").replace(".", "_"), {}).items():
            if info is None:
                hints.pop(feature)
            else:
                hints[feature] = info
        (out / f"{run}.hints").write_text(repr(hints), encoding="utf-8")


def write_allow(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(out: Path, allow: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = compare.main([str(out), "--allow", str(allow)])
    return code, capsys.readouterr().out


def test_same_levels_pass_and_write_the_results_table(tmp_path, capsys):
    write_runs(tmp_path / "out")
    code, out = run(tmp_path / "out", write_allow(tmp_path / "allow.toml", ""), capsys)
    assert code == 0, out
    table = (tmp_path / "out" / "results.md").read_text(encoding="utf-8")
    assert "| `propfind` | full | full | full | full | full |" in table


def test_a_lower_level_not_listed_fails_and_is_named(tmp_path, capsys):
    write_runs(tmp_path / "out", hub_coordinator={"propfind": {"support": "fragile"}})
    code, out = run(tmp_path / "out", write_allow(tmp_path / "allow.toml", ""), capsys)
    assert code == 1
    assert "WORSE       hub-coordinator  propfind: fragile (plain Radicale: full)" in out


def test_a_listed_difference_passes_for_that_run_only(tmp_path, capsys):
    allow = write_allow(
        tmp_path / "allow.toml",
        '[[difference]]\nruns = ["hub-partner"]\nfeatures = ["create-calendar"]\n'
        'reason = "partners may not create calendars"\n',
    )
    lower = {"create-calendar": {"support": "unsupported"}}
    write_runs(tmp_path / "ok", hub_partner=lower)
    code, out = run(tmp_path / "ok", allow, capsys)
    assert code == 0, out
    assert "partners may not create calendars" in out
    write_runs(tmp_path / "bad", hub_partner=lower, hub_coordinator=lower)
    code, out = run(tmp_path / "bad", allow, capsys)
    assert code == 1
    assert "hub-coordinator  create-calendar" in out


@pytest.mark.parametrize("hub_level", [{"support": "unknown"}, None])
def test_unknown_and_not_probed_rank_below_unsupported(tmp_path, capsys, hub_level):
    """The partner's rights may keep the tester from probing: that counts as deliberate only
    when listed."""
    write_runs(tmp_path / "out", hub_partner={"search.recurrences.expanded.todo": hub_level})
    code, out = run(tmp_path / "out", write_allow(tmp_path / "allow.toml", ""), capsys)
    assert code == 1
    assert "hub-partner  search.recurrences.expanded.todo" in out


def test_better_than_plain_and_observations_pass(tmp_path, capsys):
    write_runs(
        tmp_path / "out",
        hub_partner={
            "search.recurrences.expanded.todo": {"support": "full"},
            "get-current-user-principal.has-calendar": {"value": True},
        },
    )
    code, out = run(tmp_path / "out", write_allow(tmp_path / "allow.toml", ""), capsys)
    assert code == 0, out


def test_tester_severity_order(tmp_path, capsys):
    """quirk is better than ungraceful, which is better than fragile (the tester's scale)."""
    allow = write_allow(tmp_path / "allow.toml", "")
    write_runs(
        tmp_path / "a",
        radicale_3_9={"propfind": {"support": "ungraceful"}},
        hub_partner={"propfind": {"support": "quirk"}},
    )
    assert run(tmp_path / "a", allow, capsys)[0] == 0
    write_runs(
        tmp_path / "b",
        radicale_3_9={"propfind": {"support": "ungraceful"}},
        hub_partner={"propfind": {"support": "fragile"}},
    )
    assert run(tmp_path / "b", allow, capsys)[0] == 1


def test_a_view_run_compares_only_its_listed_features(tmp_path, capsys):
    allow = write_allow(
        tmp_path / "allow.toml",
        '[runs.hub-partner-view]\ncompare = ["propfind"]\nreason = "a view is read-only"\n',
    )
    write_runs(tmp_path / "ok", hub_partner_view={"save-load.todo": {"support": "unsupported"}})
    assert run(tmp_path / "ok", allow, capsys)[0] == 0
    write_runs(tmp_path / "bad", hub_partner_view={"propfind": {"support": "unsupported"}})
    code, out = run(tmp_path / "bad", allow, capsys)
    assert code == 1
    assert "hub-partner-view  propfind" in out


def test_plain_radicale_drift_from_the_committed_hints_is_reported(tmp_path, capsys):
    write_runs(tmp_path / "committed")
    write_runs(tmp_path / "out", radicale_3_9={"propfind": {"support": "fragile"}})
    code = compare.main(
        [
            str(tmp_path / "out"),
            "--allow",
            str(write_allow(tmp_path / "a.toml", "")),
            "--committed",
            str(tmp_path / "committed"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "propfind: committed full, now fragile" in out


@pytest.mark.parametrize(
    "text",
    [
        '[[difference]]\nruns = ["hub-partner"]\nfeatures = ["x"]\n',  # no reason
        '[[difference]]\nruns = ["hub-nobody"]\nfeatures = ["x"]\nreason = "r"\n',
        '[runs.hub-partner-view]\ncompare = ["propfind"]\n',
    ],
)
def test_a_bad_allow_list_is_refused(tmp_path, capsys, text):
    write_runs(tmp_path / "out")
    code = compare.main([str(tmp_path / "out"), "--allow", str(write_allow(tmp_path / "a", text))])
    assert code == 2
    assert "compare.py:" in capsys.readouterr().err


def test_the_committed_allow_list_gives_a_reason_for_every_entry():
    allow = compare.AllowList.read(INTEROP / "deliberate.toml")
    assert allow.deliberate and all(reason for reason in allow.deliberate.values())
    assert "hub-partner-view" in allow.compare_only
