"""The "default audience" flag (issue 14): an event that names no audience is flagged on
the plan, in its card, in /api/events and in a list on its partner's page; an event with
its own audience is not."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from helpers import make_event
from web_support import WEEK, at, sign_in, text

from calhub.runtime import Runtime

MONDAY = WEEK.isoformat()
BADGE_RU = "аудитория по умолчанию"
HOWTO_RU = "напишите классы в названии, например [10А]"


def add_events(runtime: Runtime, calendar_id: str, *texts: str) -> None:
    """Write ``texts`` into a calendar the way a CalDAV PUT would (hooks, index, clashes)."""
    from calhub.dav.importer import import_objects

    calendar = runtime.settings.calendar(calendar_id)
    assert calendar is not None, calendar_id
    import_objects(runtime, calendar, list(texts))


def set_default_audience(runtime: Runtime, calendar_id: str, audience: str) -> None:
    """Give a calendar a default audience in calhub.toml, as a coordinator would."""
    from calhub.hub import configfile

    root = runtime.hub.paths.root
    document = configfile.read_document(root)
    calendars: Any = document["calendars"]
    for table in calendars:
        if table["id"] == calendar_id:
            table["audience"] = audience
    configfile.save_document(root, document)


def chemistry(uid: str = "d-chem", day: int = 1) -> str:
    return str(make_event(uid, "Лекция по химии", at(day, 15), at(day, 16), location="БФУ"))


def line_of(page: str, title: str) -> str:
    """The plan list's line (``<li class="ev …">``) of the event titled ``title``."""
    for line in re.findall(r'<li class="ev .*?</li>', page, re.S):
        if f">{title}</a>" in line:
            return str(line)
    raise AssertionError(f"no line for {title!r}")


def fragment(client: Any, calendar: str, uid: str) -> str:
    query = {"calendar": calendar, "uid": uid, "fragment": "1"}
    response = client.get("/plan/event", query_string=query)
    assert response.status_code == 200
    return text(response)


def api_events(client: Any) -> dict[str, dict[str, Any]]:
    query = {"start": MONDAY, "end": (WEEK + dt.timedelta(days=7)).isoformat()}
    response = client.get("/api/events", query_string=query)
    assert response.status_code == 200, text(response)
    return {item["id"].split("/")[1]: item for item in response.get_json()}


def test_the_plan_list_flags_an_event_without_audience_and_no_other(
    web_client: Any, web_runtime: Runtime
) -> None:
    add_events(web_runtime, "bfu", chemistry())
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/plan", query_string={"view": "agenda", "date": MONDAY}))
    assert BADGE_RU in line_of(page, "Лекция по химии")
    assert 'class="audience-badge"' in line_of(page, "Лекция по химии")
    assert BADGE_RU not in line_of(page, "Лекция по физике [10-11]")
    assert BADGE_RU not in line_of(page, "Выходной"), "a closed period is for everyone"
    assert "1 событие без указанной аудитории: " + HOWTO_RU in page


def test_the_event_card_flags_it_with_how_to_write_the_audience(
    web_client: Any, web_runtime: Runtime
) -> None:
    add_events(web_runtime, "bfu", chemistry())
    sign_in(web_client, "bfu")
    card = fragment(web_client, "bfu", "d-chem")
    assert BADGE_RU in card and HOWTO_RU in card
    assert "ничего не указано, поэтому вся школа" in card
    own = fragment(web_client, "bfu", "w-bfu-physics")
    assert BADGE_RU not in own and HOWTO_RU not in own


def test_english_pages_say_default_audience(web_client: Any, web_runtime: Runtime) -> None:
    add_events(web_runtime, "bfu", chemistry())
    sign_in(web_client, "bfu")
    web_client.set_cookie("calhub_lang", "en")
    card = fragment(web_client, "bfu", "d-chem")
    assert "default audience" in card and "write the classes in the title, e.g. [10А]" in card


def test_api_events_say_where_the_audience_came_from(web_client: Any, web_runtime: Runtime) -> None:
    add_events(web_runtime, "bfu", chemistry())
    sign_in(web_client, "kgtu")
    found = api_events(web_client)
    assert found["d-chem"]["audience_source"] == "whole-school"
    assert found["d-chem"]["default_audience"] is True
    assert "audience-default" in found["d-chem"]["classNames"]
    assert found["w-bfu-physics"]["audience_source"] == "summary"
    assert found["w-bfu-physics"]["default_audience"] is False
    assert "audience-default" not in found["w-bfu-physics"]["classNames"]


def test_a_calendar_default_is_flagged_too(web_client: Any, web_runtime: Runtime) -> None:
    set_default_audience(web_runtime, "bfu", "10-11")
    add_events(web_runtime, "bfu", chemistry())
    sign_in(web_client, "coordinator")
    item = api_events(web_client)["d-chem"]
    assert (item["audience_source"], item["default_audience"]) == ("calendar-default", True)
    assert item["extendedProps"]["audience"] == "10–11"
    assert "аудитория календаря по умолчанию" in fragment(web_client, "bfu", "d-chem")


@pytest.mark.parametrize("viewer", ["bfu", "coordinator"])
def test_the_partner_page_lists_its_coming_events_without_audience(
    web_client: Any, web_runtime: Runtime, viewer: str
) -> None:
    add_events(web_runtime, "bfu", chemistry())
    add_events(web_runtime, "kgtu", chemistry("d-kgtu-chem", day=2))
    sign_in(web_client, viewer)
    page = text(web_client.get("/partners/bfu"))
    section = page[page.index("События без указанной аудитории (ближайшие 60 дней)") :]
    section = section[: section.index("</section>")]
    assert "/plan/event?calendar=bfu&amp;uid=d-chem" in section
    assert ">Лекция по химии</a>" in section
    assert f'datetime="{at(1, 15).date().isoformat()}' in section
    assert "Напишите классы в названии, например [10А]" in section
    assert "Лекция по физике" not in section, "it names its audience"
    assert "d-kgtu-chem" not in section, "another partner's event"


def test_a_partner_whose_events_all_name_their_audience_is_told_so(web_client: Any) -> None:
    sign_in(web_client, "kgtu")
    page = text(web_client.get("/partners/kgtu"))
    assert "У всех ближайших событий аудитория указана." in page


def test_the_partner_list_is_cut_with_how_many_more(
    web_client: Any, web_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calhub.web import partners

    monkeypatch.setattr(partners, "DEFAULT_AUDIENCE_LIMIT", 2)
    add_events(web_runtime, "bfu", *(chemistry(f"d-chem-{n}", day=n) for n in range(3)))
    sign_in(web_client, "bfu")
    page = text(web_client.get("/partners/bfu"))
    section = page[page.index("События без указанной аудитории") :]
    section = section[: section.index("</section>")]
    assert section.count(">Лекция по химии</a>") == 2
    assert "и ещё 1" in section


@pytest.mark.parametrize(
    ("language", "name"),
    [("ru", "фраза в названии или описании"), ("en", "a phrase in the title or description")],
)
def test_an_audience_read_from_a_phrase_is_named_and_not_a_default(
    web_app: Any, language: str, name: str
) -> None:
    from calhub.web import events, plan

    with web_app.test_request_context("/", headers={"Accept-Language": language}):
        assert plan.audience_source("phrase") == name
    assert "phrase" not in events.DEFAULT_AUDIENCE_SOURCES
