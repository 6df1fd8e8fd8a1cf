"""Signing in to the web: one account store for CalDAV and the web, the session cookie,
CSRF on every state change, the sign-in rate limit, and the security headers."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
from helpers import PASSWORDS, basic_auth
from web_support import csrf_in, session_csrf, sign_in, text

from calhub.records import Filters
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


def test_failed_sign_ins_are_limited_per_login(web_hub: Any) -> None:
    app = create_app({"TESTING": True, "LOGIN_FAILURE_LIMIT": 3}, hub=web_hub)
    client = app.test_client()
    for number in range(3):
        # Different addresses: only the per-login budget is spent.
        assert _fail(client, "bfu", f"10.0.0.{number}").status_code == 200
    refused = _fail(client, "bfu", "10.0.0.9")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Слишком много неудачных попыток" in text(refused)
    # Even the right password waits now: guessing must not learn from the answer.
    token = csrf_in(text(client.get("/login")))
    right = client.post(
        "/login", data={"csrf_token": token, "login": "bfu", "password": PASSWORDS["bfu"]}
    )
    assert right.status_code == 429
    # Another login from a fresh address is not affected.
    sign_in(client, "kgtu")


def test_failed_sign_ins_are_limited_per_address_whatever_the_login(web_hub: Any) -> None:
    app = create_app({"TESTING": True, "LOGIN_FAILURE_LIMIT": 3}, hub=web_hub)
    client = app.test_client()
    for login in ("a-login", "b-login", "c-login"):
        assert _fail(client, login, "10.1.1.1").status_code == 200
    # An unknown login and a real one are refused alike: the limit tells nothing.
    assert _fail(client, "d-login", "10.1.1.1").status_code == 429
    assert _fail(client, "kgtu", "10.1.1.1").status_code == 429
    assert _fail(client, "kgtu", "10.1.1.2").status_code == 200


def test_the_api_counts_failed_basic_logins_too(web_hub: Any) -> None:
    app = create_app({"TESTING": True, "LOGIN_FAILURE_LIMIT": 2}, hub=web_hub)
    client = app.test_client()
    wrong = {"Authorization": basic_auth("bfu", "wrong-password")}
    assert client.get("/api/conflicts", headers=wrong).status_code == 401
    assert client.get("/api/conflicts", headers=wrong).status_code == 401
    limited = client.get("/api/conflicts", headers=wrong)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"]


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


def test_a_post_without_the_csrf_token_is_refused(web_client: Any, web_hub: Any) -> None:
    sign_in(web_client, "coordinator")
    [clash] = [r for r in web_hub.tracker.records.query(Filters()) if r["rule"] == "audience"]
    for data in ({"comment": "без токена"}, {"comment": "чужой", "csrf_token": "forged"}):
        response = web_client.post(f"/conflicts/{clash['id']}/approve", data=data)
        assert response.status_code == 400
        assert "Форма устарела" in text(response)
    assert web_hub.tracker.records.get(clash["id"])["status"] == "open"
    assert web_client.post("/logout").status_code == 400
    assert web_client.post("/lang", data={"lang": "en"}).status_code == 400


def test_sign_in_form_needs_the_token_too(web_client: Any) -> None:
    response = web_client.post("/login", data={"login": "bfu", "password": PASSWORDS["bfu"]})
    assert response.status_code == 400
    assert web_client.get("/plan").status_code == 302


def test_session_api_posts_need_the_csrf_header_basic_posts_do_not(
    web_client: Any, web_hub: Any
) -> None:
    [clash] = [r for r in web_hub.tracker.records.query(Filters()) if r["rule"] == "audience"]
    path = f"/api/conflicts/{clash['id']}/approve"
    sign_in(web_client, "coordinator")
    refused = web_client.post(path, json={"comment": "через сессию"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_json()["error"]
    accepted = web_client.post(
        path, json={"comment": "через сессию"}, headers={"X-CSRF-Token": session_csrf(web_client)}
    )
    assert accepted.status_code == 200, accepted.get_json()
    basic = web_client.application.test_client().post(
        f"/api/conflicts/{clash['id']}/reopen",
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
