"""``[feedback]`` in calhub.toml: defaults (with the survey's questions in Russian and
English), errors that name the key, and docs/configuration.md documenting every key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calhub.errors import ConfigError
from calhub.hub.feedback_settings import DEFAULT_QUESTIONS, FEEDBACK_SCHEMA
from calhub.hub.settings import parse_settings

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
PATH = Path("calhub.toml")


def test_the_defaults() -> None:
    settings = parse_settings(PATH, {})
    assert settings.feedback.window_days == 14 and settings.feedback.min_form_seconds == 3
    assert settings.feedback.questions == DEFAULT_QUESTIONS
    assert all(q.ru and q.en for q in DEFAULT_QUESTIONS)
    assert {q.kind for q in DEFAULT_QUESTIONS} == {"rating", "text"}
    assert DEFAULT_QUESTIONS[0].text("en").startswith("How") and DEFAULT_QUESTIONS[0].text(
        "ru"
    ).startswith("Насколько")


def test_the_schools_own_questions() -> None:
    settings = parse_settings(
        PATH,
        {
            "feedback": {
                "window_days": 7,
                "questions": [{"id": "venue", "kind": "text", "ru": "Где лучше проводить?"}],
            }
        },
    )
    (question,) = settings.feedback.questions
    assert (question.id, question.kind, question.en) == ("venue", "text", "")
    assert question.text("en") == "Где лучше проводить?", "Russian when there is no English"
    assert settings.feedback.window_days == 7


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ({"window_days": 0}, "feedback.window_days"),
        ({"window_days": "14"}, "feedback.window_days"),
        ({"min_form_seconds": True}, "feedback.min_form_seconds"),
        ({"answers_per_hour": 0}, "feedback.answers_per_hour"),
        ({"windows_days": 3}, "feedback.windows_days"),
        ({"questions": "overall"}, "feedback.questions"),
        ({"questions": [{"id": "Bad Id", "ru": "?"}]}, "feedback.questions[1].id"),
        ({"questions": [{"id": "a", "kind": "stars", "ru": "?"}]}, "feedback.questions[1].kind"),
        ({"questions": [{"id": "a", "en": "?"}]}, "feedback.questions[1].ru"),
        (
            {"questions": [{"id": "a", "ru": "?"}, {"id": "a", "ru": "!"}]},
            "feedback.questions[2].id",
        ),
        ({"questions": [{"id": "a", "ru": "?", "colour": "red"}]}, "feedback.questions[1].colour"),
    ],
)
def test_errors_name_the_key(table: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(PATH, {"feedback": table})
    assert where in str(caught.value)


@pytest.mark.parametrize("key", list(FEEDBACK_SCHEMA))
def test_every_key_is_documented(key: str) -> None:
    option = FEEDBACK_SCHEMA[key]
    assert f"| `{key}` | `{option.default}` |" in DOC
