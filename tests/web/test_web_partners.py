"""Partner pages: connection steps with this hub's exact addresses, the iOS profile, the
partner's own events and clashes, and who may open which page."""

from __future__ import annotations

import plistlib
import uuid
from typing import Any

from helpers import PASSWORDS
from web_support import sign_in, text


def test_coordinator_sees_the_list_of_partners(web_client: Any) -> None:
    sign_in(web_client, "coordinator")
    page = text(web_client.get("/partners"))
    assert "БФУ им. И. Канта" in page and "КГТУ" in page
    assert 'href="/partners/bfu"' in page and 'href="/partners/kgtu"' in page
    assert 'href="/partners/coordinator"' in page


def test_a_partner_goes_to_its_own_page_and_no_other(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    response = web_client.get("/partners")
    assert response.status_code == 302 and response.headers["Location"] == "/partners/bfu"
    assert web_client.get("/partners/bfu").status_code == 200
    for other in ("kgtu", "coordinator", "nobody"):
        assert web_client.get(f"/partners/{other}").status_code == 404, other
        assert web_client.get(f"/partners/{other}/calhub.mobileconfig").status_code == 404


def test_connection_page_has_the_exact_addresses_and_every_platform(web_client: Any) -> None:
    base = "http://calendar.school.test:8080"
    sign_in(web_client, "bfu", base_url=base)
    page = text(web_client.get("/partners/bfu", base_url=base))
    for url in (f"{base}/dav/", f"{base}/dav/bfu/", f"{base}/dav/bfu/calendar/"):
        assert f'<code class="copy">{url}</code>' in page, url
    assert f"{base}/dav/bfu/hub-kgtu/" in page, "the shared view of another calendar"
    for platform in ("iPhone", "Android (DAVx⁵)", "Thunderbird", "Outlook", "CalDav Synchronizer"):
        assert platform in page
    assert "Сервер: calendar.school.test:8080" in page
    assert "/partners/bfu/calhub.mobileconfig" in page
    assert "[10-11]" in page, "how to write the audience"
    assert PASSWORDS["bfu"] not in page


def test_partner_page_lists_its_upcoming_events_and_clashes(web_client: Any) -> None:
    sign_in(web_client, "kgtu")
    page = text(web_client.get("/partners/kgtu"))
    upcoming = page[page.index("Ближайшие мероприятия") :]
    assert "Практикум [10А]" in upcoming and "Экскурсия [9Б]" in upcoming
    assert "Лекция по физике" not in upcoming.split("Накладки этих мероприятий")[0]
    clashes = page[page.index("Накладки этих мероприятий") :]
    assert "Одни и те же классы" in clashes and "Время на дорогу" in clashes
    assert "Концерт [5]" not in clashes
    assert "approve-form" not in page


def test_behind_a_tls_proxy_addresses_use_https(web_client: Any) -> None:
    headers = {"X-Forwarded-Proto": "https", "Host": "calendar.school.example"}
    sign_in(web_client, "bfu", headers=headers)
    page = text(web_client.get("/partners/bfu", headers=headers))
    assert "https://calendar.school.example/dav/bfu/calendar/" in page
    assert "Сервер: calendar.school.example," in page


def profile(client: Any, login: str, **kwargs: Any) -> dict[str, Any]:
    response = client.get(f"/partners/{login}/calhub.mobileconfig", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "application/x-apple-aspen-config"
    assert f'filename="calhub-{login}.mobileconfig"' in response.headers["Content-Disposition"]
    loaded: dict[str, Any] = plistlib.loads(response.data)
    return loaded


def test_ios_profile(web_client: Any) -> None:
    https: dict[str, Any] = {
        "headers": {"X-Forwarded-Proto": "https", "Host": "calendar.school.example"}
    }
    sign_in(web_client, "coordinator", **https)
    document = profile(web_client, "bfu", **https)
    assert document["PayloadType"] == "Configuration"
    [account] = document["PayloadContent"]
    assert account["PayloadType"] == "com.apple.caldav.account"
    assert account["CalDAVHostName"] == "calendar.school.example"
    assert account["CalDAVPort"] == 443
    assert account["CalDAVUseSSL"] is True
    assert account["CalDAVUsername"] == "bfu"
    assert account["CalDAVPrincipalURL"] == "/dav/bfu/"
    assert "CalDAVPassword" not in account
    for value in (document["PayloadUUID"], account["PayloadUUID"]):
        assert str(uuid.UUID(value)).upper() == value
    assert document["PayloadUUID"] != account["PayloadUUID"]
    # Stable per login (downloading again replaces the account), different per login.
    assert profile(web_client, "bfu", **https)["PayloadUUID"] == document["PayloadUUID"]
    assert profile(web_client, "kgtu", **https)["PayloadUUID"] != document["PayloadUUID"]
    plain_client = web_client.application.test_client()
    sign_in(plain_client, "coordinator", base_url="http://127.0.0.1:5232")
    plain = profile(plain_client, "bfu", base_url="http://127.0.0.1:5232")
    assert plain["PayloadContent"][0]["CalDAVUseSSL"] is False
    assert plain["PayloadContent"][0]["CalDAVPort"] == 5232
    raw = plain_client.get(
        "/partners/bfu/calhub.mobileconfig", base_url="http://127.0.0.1:5232"
    ).data
    for password in PASSWORDS.values():
        assert password.encode() not in raw


def test_the_partner_page_lists_one_page_of_clashes_and_says_how_many_more(
    web_client: Any, web_runtime: Any, monkeypatch: Any
) -> None:
    from calhub.store.records import Filters
    from calhub.web import partners

    mine = web_runtime.records.page(Filters(status="unresolved", calendars=("bfu",))).total
    assert mine >= 2, "the sample data has clashes of bfu"
    monkeypatch.setattr(partners, "CLASH_LIMIT", 1)
    sign_in(web_client, "bfu")
    page = text(web_client.get("/partners/bfu"))
    own = page.split('class="own-clashes"', 1)[1]
    assert own.count('class="clash ') + own.count('class="clash"') == 1
    assert f"and {mine - 1} more" in own or f"и ещё {mine - 1}" in own
    assert 'href="/conflicts?calendar=bfu"' in own
