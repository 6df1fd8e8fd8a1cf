"""Clash notices by e-mail end to end: events written through CalDAV on a running hub, the
messages received by a real loopback SMTP server (aiosmtpd), checked as people get them."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from clash_support import at, conflicts, involving, own_week, put_event
from helpers import PASSWORDS
from notify_support import (
    ADDRESSES,
    SENDER,
    SMTP_PASSWORD,
    SmtpServer,
    configure_mail,
    mail_sink,
    outbox_json,
    parts,
    wait_until,
)

# aiosmtpd warns about AUTH without TLS (a loopback test server) and about its own internals.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with mail_sink(monkeypatch, started=True) as server:
        yield server


def clash(hub: Any, prefix: str) -> str:
    """bfu's lecture for grade 10 and kgtu's practice for 10А at one time: a hard clash."""
    day = own_week()
    first = put_event(
        hub,
        "bfu",
        "/bfu/calendar/",
        f"{prefix}-a",
        "Лекция <по> робототехнике [10]",
        at(day, 15),
        at(day, 16),
        location="Ауд. 305",
    )
    second = put_event(
        hub, "kgtu", "/kgtu/calendar/", f"{prefix}-b", "Практикум [10А]", at(day, 15), at(day, 16)
    )
    assert (first.status, second.status) == (201, 201)
    found = involving(conflicts(hub), f"{prefix}-a", f"{prefix}-b")
    assert [r["severity"] for r in found] == ["hard"], found
    return str(found[0]["id"])


def test_a_clash_written_through_caldav_reaches_the_coordinator_and_both_partners(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port, languages={"bfu": "en"})
    hub = fresh_hub.serve(root)
    clash_id = clash(hub, "nt")
    mails = smtp.inbox.wait_for(3)
    assert sorted(str(m["To"]) for m in mails) == sorted(ADDRESSES.values())
    by_address = {str(m["To"]): m for m in mails}
    for login, address in ADDRESSES.items():
        mail = by_address[address]
        english = login == "bfu"
        assert mail["From"] == SENDER
        assert mail["Content-Language"] == ("en" if english else "ru")
        assert re.fullmatch(r"<[0-9a-f]{40}@school\.example>", str(mail["Message-ID"]))
        assert mail["Date"]
        assert str(mail["List-Unsubscribe"]).startswith(f"<{hub.url}account/")
        assert mail.get_content_type() == "multipart/alternative"
        text, page = parts(mail)
        subject = str(mail["Subject"])
        assert subject.startswith("[calhub] " + ("New clash" if english else "Новая накладка"))
        # What clashes with what, when (hub time), where, for whom, and the link.
        assert f"{hub.url}conflicts/{clash_id}" in text
        assert "15:00–16:00" in text
        assert "Ауд. 305" in text and "10А" in text
        assert "Лекция <по> робототехнике" in text
        # The HTML part escapes what people typed.
        assert "Лекция &lt;по&gt; робототехнике" in page and "<по>" not in page
        assert f'href="{hub.url}conflicts/{clash_id}"' in page
    # Sent once each, and the outbox says so.
    document = outbox_json(root)
    assert document["counts"] == {"queued": 0, "sent": 3, "failed": 0}
    assert document["notices_waiting"] == 0
    # No password in any log line or message.
    assert SMTP_PASSWORD not in hub.stderr()
    for mail in mails:
        assert SMTP_PASSWORD not in mail.as_string()


def test_opt_out_and_own_actions_are_respected(fresh_hub: Any, smtp: SmtpServer) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port, notify={"kgtu": "off"})
    hub = fresh_hub.serve(root)
    clash_id = clash(hub, "oo")
    smtp.inbox.wait_for(2)
    wait_until(lambda: outbox_json(root)["notices_waiting"] == 0, what="notices taken")
    assert smtp.inbox.to(ADDRESSES["kgtu"]) == []
    # The coordinator approves: the partners hear of it, the coordinator (who did it) not.
    response = hub.request(
        "POST",
        f"/api/conflicts/{clash_id}/approve",
        "coordinator",
        PASSWORDS["coordinator"],
        body='{"comment": "Разные корпуса"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, response.text
    smtp.inbox.wait_for(3)
    approved = smtp.inbox.to(ADDRESSES["bfu"])[-1]
    assert str(approved["Subject"]).startswith("[calhub] Накладка согласована")
    assert "Разные корпуса" in parts(approved)[0]
    wait_until(lambda: outbox_json(root)["notices_waiting"] == 0, what="notices taken")
    assert len(smtp.inbox.to(ADDRESSES["coordinator"])) == 1
    assert smtp.inbox.to(ADDRESSES["kgtu"]) == []


def test_no_smtp_host_sends_nothing_and_says_so(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    cli_result = runner("account", "edit", "bfu", "--email", "a@b.example", "--data", str(root))
    assert cli_result.code == 0, cli_result
    hub = fresh_hub.serve(root)
    clash(hub, "nh")
    result = runner("outbox", "--data", str(root))
    assert result.code == 0
    assert "no [notify.smtp] host" in result.out and "no e-mail is sent" in result.out
    assert "Notices waiting: 1" in result.out


class Hook(http.server.BaseHTTPRequestHandler):
    """A loopback webhook receiver: answers 503 to the first call, 204 to the rest."""

    calls: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = self.rfile.read(length)
        self.calls.append((dict(self.headers.items()), payload))
        self.send_response(503 if len(self.calls) == 1 else 204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_webhook_gets_each_batch_signed_and_again_after_a_503(
    fresh_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calhub.hub import configfile

    secret = "hook-key-7f3a9c"
    monkeypatch.setenv("CALHUB_TEST_HOOK_KEY", secret)
    Hook.calls = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        root = fresh_hub.create()
        document = configfile.read_document(root)
        document["notify"] = {
            "batch_seconds": 1,
            "retry_seconds": 1,
            "webhook": {
                "url": f"http://127.0.0.1:{receiver.server_address[1]}/calhub",
                "secret_env": "CALHUB_TEST_HOOK_KEY",
            },
        }
        configfile.save_document(root, document)
        hub = fresh_hub.serve(root)
        clash_id = clash(hub, "wh")
        wait_until(lambda: len(Hook.calls) >= 2, what="the webhook called twice")
        wait_until(lambda: outbox_json(root)["counts"]["sent"] == 1, what="the call marked sent")
    finally:
        receiver.shutdown()
    assert len(Hook.calls) == 2
    (first_headers, first), (headers, payload) = Hook.calls
    assert first == payload and first_headers["X-Calhub-Delivery"] == headers["X-Calhub-Delivery"]
    expected = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Calhub-Signature"], expected)
    assert headers["Content-Type"].startswith("application/json")
    [notice] = json.loads(payload)["notices"]
    assert (notice["kind"], notice["clash"], notice["severity"]) == ("detected", clash_id, "hard")
    assert notice["url"] == f"{hub.url}conflicts/{clash_id}"
    assert {o["calendar"] for o in notice["occurrences"]} == {"bfu", "kgtu"}
    assert secret not in hub.stderr() and secret.encode() not in payload
