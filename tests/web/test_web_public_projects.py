"""The public projects page (``/public/projects``, with ``[public] enabled``): the partners
and their joint projects as ``calhub partner edit`` set them, escaped, framable where the
public page is, 404 while the public page is off; and ``partner edit``'s errors."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import run_cli
from web_support import text

from calhub.hub import configfile
from calhub.runtime import Runtime

HOSTILE = '<script>window.__xss = 1</script> "Инженеры"'


def set_public(runtime: Runtime, **values: Any) -> None:
    document = configfile.read_document(runtime.hub.root)
    document["public"] = values
    configfile.save_document(runtime.hub.root, document)


def edit(runtime: Runtime, *argv: str) -> tuple[int, str, str]:
    return run_cli(["partner", "edit", *argv, "--data", str(runtime.hub.root)])


def test_projects_page_is_404_while_the_public_page_is_off(web_client: Any) -> None:
    assert web_client.get("/public/projects").status_code == 404


def test_projects_page_shows_what_partner_edit_set(web_client: Any, web_runtime: Runtime) -> None:
    code, out, err = edit(
        web_runtime,
        "bfu",
        "--description",
        "Балтийский федеральный университет: лекции и олимпиады для 8–11 классов.",
        "--project",
        "Инженерный класс",
        "--project",
        HOSTILE,
    )
    assert code == 0, err
    assert "bfu" in out
    set_public(web_runtime, enabled=True, frame_ancestors="https://school.example")
    response = web_client.get("/public/projects")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "frame-ancestors https://school.example" in response.headers["Content-Security-Policy"]
    page = text(response)
    assert "БФУ им. И. Канта" in page and "КГТУ" in page
    assert "Балтийский федеральный университет" in page
    assert "<li>Инженерный класс</li>" in page
    assert "<script>window.__xss" not in page and "&lt;script&gt;" in page
    assert 'href="/public/projects"' in text(web_client.get("/public/"))
    # Cleared again, and the description kept.
    code, _, err = edit(web_runtime, "bfu", "--no-projects")
    assert code == 0, err
    page = text(web_client.get("/public/projects"))
    assert "Инженерный класс" not in page and "Балтийский федеральный университет" in page


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["ghost", "--description", "x"], "ghost"),
        (["school", "--description", "x"], "school"),
        (["bfu"], "Nothing to change"),
        (["bfu", "--project", "a", "--no-projects"], "contradict"),
        (["bfu", "--description", "я" * 2001], "description"),
        (["bfu", "--project", " "], "projects"),
    ],
)
def test_partner_edit_errors_change_nothing(
    web_runtime: Runtime, argv: list[str], fragment: str
) -> None:
    before = (web_runtime.hub.root / "calhub.toml").read_text(encoding="utf-8")
    code, _, err = edit(web_runtime, *argv)
    assert code != 0
    assert fragment in err, err
    assert (web_runtime.hub.root / "calhub.toml").read_text(encoding="utf-8") == before
