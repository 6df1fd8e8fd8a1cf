"""Signing in to the web: one account store for CalDAV and the web, the session cookie,
CSRF on every state change, the sign-in limit (per login and address, and per address, in
hub.sqlite), sessions that end on the server (sign-out, partner passwd, idle timeout), and
the security headers."""

from __future__ import annotations

import os
import stat
import time
from typing import Any

import pytest
from helpers import PASSWORDS, basic_auth
from web_support import csrf_in, session_csrf, sign_in, text

from calhub.dav.maintenance import open_runtime
from calhub.hub import Hub
from calhub.store.logins import ADDRESS_BUDGET, PAIR_BUDGET
from calhub.store.records import Filters
from calhub.web import create_app
from calhub.web.security import SECRET_NAME


def test_pages_send_visitors_to_the_sign_in_form(web_client: Any) -> None:
    for path in ("/plan", "/conflicts", "/partners", "/partners/bfu", "/conflicts/history"):
        response = web_client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    assert web_client.get("/").status_code == 200
    assert web_client.get("/login").status_code == 200


def test_sign_in_with_the_calendar_password_and_out_again(web_client: Any) -> None:
    response = sign_in(web_client, "bfu")
    assert response.headers["Location"] == "/plan"
    assert "БФУ" in text(web_client.get("/plan"))
    token = session_csrf(web_client)
    out = web_client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert web_client.get("/plan").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(web_client: Any) -> None:
    token = csrf_in(text(web_client.get("/login?next=/conflicts")))
    response = web_client.post(
        "/login",
        data={
            "csrf_token": token,
            "login": "kgtu",
            "password": PASSWORDS["kgtu"],
            "next": "/conflicts?status=all",
        },
    )
    assert response.headers["Location"] == "/conflicts?status=all"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        web_client.post("/logout", data={"csrf_token": session_csrf(web_client)})
        token = csrf_in(text(web_client.get("/login")))
        response = web_client.post(
            "/login",
            data={
                "csrf_token": token,
                "login": "kgtu",
                "password": PASSWORDS["kgtu"],
                "next": evil,
            },
        )
        assert response.headers["Location"] == "/plan", evil


def test_a_wrong_password_and_an_unknown_login_look_the_same(web_client: Any) -> None:
    answers = []
    for login, password in (("bfu", "wrong-password"), ("nobody-here", "wrong-password")):
        token = csrf_in(text(web_client.get("/login")))
        response = web_client.post(
            "/login", data={"csrf_token": token, "login": login, "password": password}
        )
        body = text(response)
        assert response.status_code == 200
        assert "Неверный логин или пароль" in body
        answers.append(body.replace(login, "LOGIN").replace(csrf_in(body), "TOKEN"))
    assert answers[0] == answers[1]


def _fail(client: Any, login: str, address: str = "127.0.0.1") -> Any:
    token = csrf_in(text(client.get("/login", environ_base={"REMOTE_ADDR": address})))
    return client.post(
        "/login",
        data={"csrf_token": token, "login": login, "password": "not-the-password"},
        environ_base={"REMOTE_ADDR": address},
    )


def _right(client: Any, login: str, address: str) -> Any:
    token = csrf_in(text(client.get("/login", environ_base={"REMOTE_ADDR": address})))
    return client.post(
        "/login",
        data={"csrf_token": token, "login": login, "password": PASSWORDS[login]},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_sign_ins_are_limited_per_login_and_address(web_client: Any) -> None:
    for _ in range(PAIR_BUDGET.free):
        assert _fail(web_client, "coordinator", "10.0.0.1").status_code == 200
    refused = _fail(web_client, "coordinator", "10.0.0.1")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= PAIR_BUDGET.base
    assert "Слишком много неудачных попыток" in text(refused)
    # Even the right password waits there now: guessing must not learn from the answer.
    assert _right(web_client, "coordinator", "10.0.0.1").status_code == 429
    # But nobody else's failures keep the coordinator out from another address.
    assert _right(web_client, "coordinator", "10.0.0.2").status_code == 303


def test_failed_sign_ins_are_limited_per_address_whatever_the_login(web_client: Any) -> None:
    for number in range(ADDRESS_BUDGET.free):
        assert _fail(web_client, f"guess-{number}", "10.1.1.1").status_code == 200
    # An unknown login and a real one are refused alike: the limit tells nothing.
    assert _fail(web_client, "another-guess", "10.1.1.1").status_code == 429
    assert _right(web_client, "kgtu", "10.1.1.1").status_code == 429
    assert _right(web_client, "kgtu", "10.1.1.2").status_code == 303


def test_a_right_password_forgives_its_own_failures(web_client: Any) -> None:
    for _ in range(PAIR_BUDGET.free - 1):
        assert _fail(web_client, "bfu", "10.2.2.2").status_code == 200
    assert _right(web_client, "bfu", "10.2.2.2").status_code == 303
    web_client.delete_cookie("calhub_session")
    for _ in range(PAIR_BUDGET.free):
        assert _fail(web_client, "bfu", "10.2.2.2").status_code == 200


def test_the_api_counts_failed_basic_logins_in_the_same_limit(web_client: Any) -> None:
    wrong = {"Authorization": basic_auth("bfu", "wrong-password")}
    address = {"REMOTE_ADDR": "10.3.3.3"}
    for _ in range(PAIR_BUDGET.free - 1):
        assert web_client.get("/api/conflicts", headers=wrong, environ_base=address).status_code
    # The web form's failure counts against the API's budget, and the other way round.
    assert _fail(web_client, "bfu", "10.3.3.3").status_code == 200
    limited = web_client.get("/api/conflicts", headers=wrong, environ_base=address)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= PAIR_BUDGET.base
    error = limited.get_json()["error"]
    assert "Слишком много неудачных попыток" in error and "Too many failed sign-ins" in error
    assert _fail(web_client, "bfu", "10.3.3.3").status_code == 429
    right = {"Authorization": basic_auth("bfu", PASSWORDS["bfu"])}
    assert web_client.get("/api/conflicts", headers=right).status_code == 200


def test_failure_counts_are_hub_data_shared_by_every_app(web_runtime: Any) -> None:
    first = create_app({"TESTING": True}, runtime=web_runtime).test_client()
    for _ in range(PAIR_BUDGET.free):
        assert _fail(first, "bfu", "10.4.4.4").status_code == 200
    # Another process on the same data directory (here: another app, hub and runtime).
    again = open_runtime(Hub(web_runtime.hub.root))
    try:
        second = create_app({"TESTING": True}, runtime=again).test_client()
        assert _fail(second, "bfu", "10.4.4.4").status_code == 429
    finally:
        again.close()


# -- sessions ------------------------------------------------------------------------------


def _cookie(client: Any) -> str:
    cookie = client.get_cookie("calhub_session")
    assert cookie is not None
    value: str = cookie.value
    return value


def test_signing_out_ends_the_session_on_the_server(web_app: Any) -> None:
    browser = web_app.test_client()
    sign_in(browser, "coordinator")
    copied = web_app.test_client()
    copied.set_cookie("calhub_session", _cookie(browser))
    assert copied.get("/plan").status_code == 200
    out = browser.post("/logout", data={"csrf_token": session_csrf(browser)})
    assert out.status_code == 303
    # The cookie as it was before signing out opens nothing any more.
    assert copied.get("/plan").status_code == 302
    assert copied.get("/api/conflicts").status_code == 401
    sign_in(browser, "coordinator")
    assert browser.get("/plan").status_code == 200


def test_partner_passwd_ends_every_web_session_of_the_login(
    web_app: Any, web_hub: Any, web_runtime: Any, runner: Any
) -> None:
    kept = web_app.test_client()
    sign_in(kept, "kgtu")
    ended = web_app.test_client()
    sign_in(ended, "bfu")
    before = web_runtime.sessions.current("bfu")
    code, _, err = runner(
        "partner",
        "passwd",
        "bfu",
        "--password-stdin",
        "--data",
        str(web_hub.root),
        input="another-password-1\n",
    )
    assert code == 0, err
    assert web_runtime.sessions.current("bfu") != before
    assert ended.get("/plan").status_code == 302
    assert kept.get("/plan").status_code == 200


def _idle_hub(web_hub: Any, minutes: int) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(web_hub.root)
    hub_table: Any = document["hub"]
    hub_table["session_idle_minutes"] = minutes
    configfile.save_document(web_hub.root, document)
    assert web_hub.settings.session_idle_minutes == minutes


def test_a_session_ends_after_the_idle_timeout(web_client: Any, web_hub: Any) -> None:
    _idle_hub(web_hub, 5)
    sign_in(web_client, "bfu")
    with web_client.session_transaction() as session:
        session["seen"] = int(time.time()) - 4 * 60
    # A request within the timeout keeps the session and counts as activity.
    assert web_client.get("/plan").status_code == 200
    with web_client.session_transaction() as session:
        assert int(time.time()) - session["seen"] < 60
        session["seen"] = int(time.time()) - 5 * 60 - 5
    assert web_client.get("/plan").status_code == 302


def test_the_session_cookie_carries_no_password(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    with web_client.session_transaction() as session:
        stored = repr(dict(session))
    assert PASSWORDS["bfu"] not in stored


def test_session_cookie_flags(web_client: Any) -> None:
    response = sign_in(web_client, "bfu")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "plain HTTP on loopback: a Secure cookie would be lost"


def test_session_cookie_is_secure_over_https_and_behind_a_local_proxy(web_app: Any) -> None:
    client = web_app.test_client()
    token = csrf_in(text(client.get("/login", base_url="https://hub.example")))
    response = client.post(
        "/login",
        base_url="https://hub.example",
        data={"csrf_token": token, "login": "bfu", "password": PASSWORDS["bfu"]},
    )
    assert "Secure" in response.headers["Set-Cookie"]

    proxied = web_app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    page = proxied.get("/login", headers=headers)
    assert "Secure" in page.headers["Set-Cookie"]
    # From a client that is not on this machine the header is not believed.
    direct = web_app.test_client()
    page = direct.get("/login", headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert "Secure" not in page.headers["Set-Cookie"]


def test_secret_key_is_made_once_and_kept_private(web_hub: Any) -> None:
    path = web_hub.root / SECRET_NAME
    assert not path.exists() or path.read_bytes()
    first = create_app({"TESTING": True}, hub=web_hub)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = create_app({"TESTING": True}, hub=web_hub)
    assert first.secret_key == second.secret_key
    assert path.read_text().strip().encode() == first.secret_key
    assert b"SECRET" not in (web_hub.root / "calhub.toml").read_bytes().upper()


def test_a_changed_password_ends_the_web_session(web_client: Any, web_hub: Any) -> None:
    sign_in(web_client, "kgtu")
    assert web_client.get("/plan").status_code == 200
    web_hub.accounts.set_password("kgtu", "a-brand-new-password")
    assert web_client.get("/plan").status_code == 302


# -- CSRF ----------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(web_client: Any, web_runtime: Any) -> None:
    sign_in(web_client, "coordinator")
    [clash] = [r for r in web_runtime.records.query(Filters()) if r.rule == "audience"]
    for data in ({"comment": "без токена"}, {"comment": "чужой", "csrf_token": "forged"}):
        response = web_client.post(f"/conflicts/{clash.id}/approve", data=data)
        assert response.status_code == 400
        assert "Форма устарела" in text(response)
    assert web_runtime.records.get(clash.id).status == "open"
    assert web_client.post("/logout").status_code == 400
    assert web_client.post("/lang", data={"lang": "en"}).status_code == 400


def test_sign_in_form_needs_the_token_too(web_client: Any) -> None:
    response = web_client.post("/login", data={"login": "bfu", "password": PASSWORDS["bfu"]})
    assert response.status_code == 400
    assert web_client.get("/plan").status_code == 302


def test_session_api_posts_need_the_csrf_header_basic_posts_do_not(
    web_client: Any, web_runtime: Any
) -> None:
    [clash] = [r for r in web_runtime.records.query(Filters()) if r.rule == "audience"]
    path = f"/api/conflicts/{clash.id}/approve"
    sign_in(web_client, "coordinator")
    refused = web_client.post(path, json={"comment": "через сессию"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_json()["error"]
    accepted = web_client.post(
        path, json={"comment": "через сессию"}, headers={"X-CSRF-Token": session_csrf(web_client)}
    )
    assert accepted.status_code == 200, accepted.get_json()
    basic = web_client.application.test_client().post(
        f"/api/conflicts/{clash.id}/reopen",
        json={"comment": "по Basic"},
        headers={"Authorization": basic_auth("coordinator", PASSWORDS["coordinator"])},
    )
    assert basic.status_code == 200
    # The API's rule for Basic stays: no form posts (a cross-site form cannot send JSON).
    form = web_client.application.test_client().post(
        path,
        data={"comment": "форма"},
        headers={"Authorization": basic_auth("coordinator", PASSWORDS["coordinator"])},
    )
    assert form.status_code == 400


def test_anonymous_api_calls_still_get_a_basic_challenge(web_client: Any) -> None:
    response = web_client.post("/api/conflicts/x/approve", json={"comment": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


# -- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/login", "/plan", "/api/events", "/healthz", "/static/calhub.css", "/nope"]
)
def test_security_headers_on_every_response(web_client: Any, path: str) -> None:
    sign_in(web_client, "bfu")
    response = web_client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_styles(web_client: Any) -> None:
    import re

    sign_in(web_client, "coordinator")
    for path in ("/", "/plan", "/plan?view=agenda", "/conflicts", "/partners", "/partners/bfu"):
        page = text(web_client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " style=" not in page and "<style" not in page, path
        assert "onclick" not in page.lower(), path
