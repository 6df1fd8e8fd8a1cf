"""The coordinator sees on the dashboard when no e-mail is sent (no ``[notify.smtp] host``)
and how the e-mail and webhook channels are doing; partners see none of it."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from web_support import sign_in, text

from calhub.hub import Hub, configfile
from calhub.runtime import Runtime
from calhub.store.outbox import NewMessage

PAGES = ("/conflicts", "/partners", "/")
RU = {"Accept-Language": "ru"}
EN = {"Accept-Language": "en"}


def _words(response: Any) -> str:
    """The page's text with its entities read and its white space folded."""
    return " ".join(html.unescape(text(response)).split())


def _configure(hub: Hub, table: dict[str, Any]) -> None:
    document = configfile.read_document(hub.root)
    document["notify"] = table
    configfile.save_document(hub.root, document)


def _message(channel: str, key: str) -> NewMessage:
    return NewMessage(channel, "coordinator", "x", "subject", "{}", "", key, ())


def test_without_a_mail_server_the_coordinator_is_told_where_it_matters(
    web_client: Any, web_runtime: Runtime
) -> None:
    sign_in(web_client, "coordinator")
    waiting = web_runtime.outbox.count_pending()
    assert waiting > 1  # the sample term's clashes, kept while no e-mail is sent
    for path in PAGES:
        body = _words(web_client.get(path, headers=RU))
        assert 'id="notify-email-off"' in body, path
        assert "Почта не отправляется: в calhub.toml нет [notify.smtp] host" in body, path
        assert "Задайте [notify] sender и [notify.smtp] host" in body, path
        assert f"{waiting} уведомлен" in body, path
    english = _words(web_client.get("/conflicts", headers=EN))
    assert "No e-mail is sent: calhub.toml has no [notify.smtp] host" in english
    assert "Set [notify] sender and [notify.smtp] host in calhub.toml" in english


def test_partners_are_not_shown_the_hub_s_mail_settings(web_client: Any) -> None:
    sign_in(web_client, "bfu")
    for path in ("/conflicts", "/"):
        body = text(web_client.get(path, headers=RU))
        assert 'id="notify-status"' not in body and "[notify.smtp]" not in body, path


def test_with_a_mail_server_a_failing_channel_and_the_webhook_are_shown(
    web_client: Any, web_hub: Hub, web_runtime: Runtime
) -> None:
    _configure(
        web_hub,
        {
            "sender": "calhub@school.example",
            "smtp": {"host": "127.0.0.1", "port": 2525},
            "webhook": {"url": "https://bridge.school.example/calhub", "secret_env": "HOOK_KEY"},
        },
    )
    sign_in(web_client, "coordinator")
    # All is well: nothing on the clash pages, the state on the notification settings page.
    body = _words(web_client.get("/conflicts", headers=RU))
    assert 'id="notify-email-off"' not in body and 'id="notify-email-error"' not in body
    page = _words(web_client.get("/account/notifications", headers=RU))
    assert "Почта уходит через 127.0.0.1:2525." in page
    assert "Webhook https://bridge.school.example/calhub: пока ничего не доставлено." in page
    # The webhook delivered once, then a call failed; an e-mail failed too.
    outbox = web_runtime.outbox
    outbox.queue([_message("webhook", "w1"), _message("webhook", "w2"), _message("email", "e1")])
    lease = dt.timedelta(minutes=5)
    first = outbox.claim("test:1:a", lease, ["webhook"])
    assert first is not None
    outbox.sent(first.id, "test:1:a")
    retry = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    for channel, error in (("webhook", "the webhook answered 502"), ("email", "451 later")):
        claimed = outbox.claim("test:1:a", lease, [channel])
        assert claimed is not None
        outbox.failed(claimed.id, "test:1:a", error, retry)
    body = _words(web_client.get("/conflicts", headers=RU))
    assert "Почта через 127.0.0.1:2525 не уходит: 451 later." in body
    assert "Ждёт 1 письмо." in body
    assert "Последняя ошибка: the webhook answered 502." in body
    page = _words(web_client.get("/account/notifications", headers=EN))
    assert "Webhook https://bridge.school.example/calhub: last delivery" in page
    assert "Last error: the webhook answered 502." in page
