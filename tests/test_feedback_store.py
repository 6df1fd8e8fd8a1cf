"""The feedback store (``runtime.feedback``): the reports' reader ``answers_between`` on a
half-open window of aware times (a DST edge included), one answer per device key, moderation,
surveys and their links; and that ``calhub backup`` / ``calhub restore`` carry answers,
surveys and the links' key, so printed QR codes open again on the restored hub."""

from __future__ import annotations

import datetime as dt
import shutil
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from calhub.feedback.links import LinkTarget, feedback_keys
from calhub.hub import Hub
from calhub.runtime import Runtime
from calhub.store.feedback import AlreadyAnswered, FeedbackAnswer, NewAnswer

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC


@pytest.fixture
def runtime(tmp_path: Path, hub_template: Path) -> Any:
    root = tmp_path / "data"
    shutil.copytree(hub_template, root)
    opened = Runtime(Hub(root))
    yield opened
    opened.close()


def new(at: dt.datetime, device: str, rating: int = 4, **kw: Any) -> NewAnswer:
    return NewAnswer("bfu", "ev-1", "", at, device, rating, kw.pop("recommend", True), **kw)


def test_answers_between_is_half_open_in_aware_times_across_a_dst_change(runtime: Runtime) -> None:
    # Berlin moved its clocks from 02:00 to 03:00 on 29 March 2026 (01:00 UTC).
    before = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    change = dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    after = dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    for n, moment in enumerate((before, change, after)):
        runtime.feedback.add(new(moment, f"d{n}", rating=n + 1))
    start = dt.datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)  # the first local time after the gap
    assert start.astimezone(UTC) == change
    found = runtime.feedback.answers_between(start, dt.datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN))
    assert found == [
        FeedbackAnswer("bfu", "ev-1", change, 2, True),
        FeedbackAnswer("bfu", "ev-1", after, 3, True),
    ]
    assert all(a.occurrence.utcoffset() == dt.timedelta(0) for a in found)
    # The end is excluded, the start included.
    assert runtime.feedback.answers_between(before, change) == [
        FeedbackAnswer("bfu", "ev-1", before, 1, True)
    ]


def test_one_answer_per_device_key(runtime: Runtime) -> None:
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    runtime.feedback.add(new(at, "same"))
    with pytest.raises(AlreadyAnswered):
        runtime.feedback.add(new(at, "same", rating=1))
    assert [a.rating for a in runtime.feedback.answers_between(at, at + dt.timedelta(1))] == [4]


def test_moderation_touches_comments_only(runtime: Runtime) -> None:
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    silent = runtime.feedback.add(new(at, "a"))
    spoken = runtime.feedback.add(new(at, "b", comment="Интересно"))
    linked = runtime.feedback.add(new(at, "c", comment="см. example.com", held=True))
    assert [e.id for e in runtime.feedback.pending()] == [spoken, linked]
    assert runtime.feedback.get(linked).status == "held"
    assert runtime.feedback.moderate(silent, "approved", "coordinator") is False
    assert runtime.feedback.moderate(spoken, "approved", "coordinator") is True
    assert runtime.feedback.get(spoken).moderated_by == "coordinator"
    with pytest.raises(ValueError):
        runtime.feedback.moderate(linked, "new", "coordinator")
    assert runtime.feedback.count_pending() == 1


def test_a_survey_sent_again_gets_a_new_link_and_keeps_its_answers(runtime: Runtime) -> None:
    questions = [{"id": "overall", "kind": "rating", "ru": "Как?", "en": "How?"}]
    survey, first = runtime.feedback.send_survey("bfu", "2026-27-1", questions, "coordinator")
    assert runtime.feedback.survey_by_token(first) == survey
    runtime.feedback.answer_survey(survey.id, {"overall": 5})
    again, second = runtime.feedback.send_survey("bfu", "2026-27-1", [], "coordinator")
    assert again.id == survey.id and again.questions == tuple(questions)
    assert runtime.feedback.survey_by_token(first) is None
    assert runtime.feedback.survey_by_token(second).answers == {"overall": 5}
    for token in ("", "short", "x" * 500, None, 5):
        assert runtime.feedback.survey_by_token(token) is None


def test_backup_and_restore_carry_the_feedback(
    runtime: Runtime, runner: Any, tmp_path: Path
) -> None:
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    runtime.feedback.add(new(at, "a", comment="Хорошо"))
    runtime.feedback.add(new(at, "b", rating=2, recommend=False))
    survey, token = runtime.feedback.send_survey(
        "kgtu", "2026-27-1", [{"id": "x", "kind": "text", "ru": "Что?", "en": ""}], "cli"
    )
    runtime.feedback.answer_survey(survey.id, {"x": "Всё хорошо"})
    link = feedback_keys(runtime.hub).token(LinkTarget("bfu", "ev-1"))
    runtime.feedback.close()
    root = runtime.hub.root
    code, _out, err = runner("backup", "--to", str(tmp_path / "backups"), "--data", str(root))
    assert code == 0, err
    [archive] = (tmp_path / "backups").glob("calhub-backup-*.tar.gz")
    target = tmp_path / "restored"
    code, _out, err = runner("restore", str(archive), "--data", str(target))
    assert code == 0, err
    restored = Runtime(Hub(target))
    try:
        assert restored.feedback.answers_between(at, at + dt.timedelta(hours=1)) == [
            FeedbackAnswer("bfu", "ev-1", at, 4, True),
            FeedbackAnswer("bfu", "ev-1", at, 2, False),
        ]
        assert [e.comment for e in restored.feedback.pending()] == ["Хорошо"]
        assert restored.feedback.survey_by_token(token).answers == {"x": "Всё хорошо"}
        # The links' key came back: a printed link names the same event.
        assert feedback_keys(restored.hub).target(link) == LinkTarget("bfu", "ev-1")
    finally:
        restored.close()
