"""``/account/notifications``: the signed-in account sets its e-mail address, language and how
often it hears about clashes (the same values as ``calhub account edit``); a bad address gets
a 400 with the reason; the page says when the hub sends no e-mail at all."""

from __future__ import annotations

from typing import Any

from web_support import csrf_in, sign_in, text

from calhub.hub import Hub, configfile

PAGE = "/account/notifications"


def test_a_partner_sets_its_address_language_and_digest(web_client: Any, web_hub: Hub) -> None:
    assert web_client.get(PAGE).status_code == 302  # to the sign-in page
    sign_in(web_client, "bfu")
    page = web_client.get(PAGE, headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    body = text(page)
    assert "Уведомления" in body and 'id="email-off"' in body  # no [notify.smtp] host
    token = csrf_in(body)
    saved = web_client.post(
        PAGE,
        data={
            "csrf_token": token,
            "email": " events@bfu.example ",
            "language": "en",
            "notify": "digest",
        },
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith(PAGE)
    account = web_hub.accounts.get("bfu")
    assert account is not None
    assert (account.email, account.language, account.notify) == (
        "events@bfu.example",
        "en",
        "digest",
    )
    again = text(web_client.get(PAGE))
    assert 'value="events@bfu.example"' in again
    assert '<option value="digest" selected>' in again and '<option value="en" selected>' in again


def test_a_bad_address_or_choice_is_refused_with_the_reason(web_client: Any, web_hub: Hub) -> None:
    sign_in(web_client, "kgtu")
    token = csrf_in(text(web_client.get(PAGE)))
    bad = web_client.post(
        PAGE,
        data={"csrf_token": token, "email": "<x@y>", "language": "ru", "notify": "off"},
        headers={"Accept-Language": "ru"},
    )
    assert bad.status_code == 400
    assert "не адрес электронной почты" in text(bad) and "&lt;x@y&gt;" in text(bad)
    odd = web_client.post(
        PAGE, data={"csrf_token": token, "email": "", "language": "de", "notify": "off"}
    )
    assert odd.status_code == 400
    forged = web_client.post(PAGE, data={"email": "a@b.example", "language": "ru", "notify": "off"})
    assert forged.status_code in (400, 403)
    account = web_hub.accounts.get("kgtu")
    assert account is not None and (account.email, account.notify) == ("", "immediate")


def test_with_a_mail_server_the_page_does_not_warn(web_client: Any, web_hub: Hub) -> None:
    document = configfile.read_document(web_hub.root)
    document["notify"] = {"sender": "calhub@school.example", "smtp": {"host": "127.0.0.1"}}
    configfile.save_document(web_hub.root, document)
    sign_in(web_client, "coordinator")
    body = text(web_client.get(PAGE))
    assert 'id="email-off"' not in body and 'name="email"' in body
