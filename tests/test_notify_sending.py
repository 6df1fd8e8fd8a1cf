"""Sending through a real loopback SMTP server (aiosmtpd), the sender run in-process on a
clock of the test's: when retries come, a refused address, a session that ends badly; and a
webhook call to a loopback HTTP server, its key from a command."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import itertools
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from notify_support import (
    ADDRESSES,
    FAR,
    PASSWORD_ENV,
    SMTP_PASSWORD,
    SmtpServer,
    bulk_clashes,
    certificate,
    configure_mail,
    mail_sink,
    open_runtime,
)

# aiosmtpd warns about AUTH without TLS (a loopback test server) and about its own internals.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

BASE = "https://calendar.school.example/"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    # Not started: each test starts it when the mail server should be up.
    with mail_sink(monkeypatch, started=False) as server:
        yield server


def _default_retry(root: Path) -> None:
    """The shipped retry_seconds (configure_mail shortens it for the server tests)."""
    from calhub.hub import configfile

    document = configfile.read_document(root)
    del document["notify"]["retry_seconds"]  # type: ignore[union-attr]
    configfile.save_document(root, document)


def test_backoff_doubles_from_30_seconds_to_at_most_an_hour() -> None:
    from calhub.hub.notify_settings import NotifySettings
    from calhub.notify.worker import backoff

    first = NotifySettings().retry_seconds
    assert [backoff(first, n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff(first, 40) == dt.timedelta(hours=1)


def test_the_first_retry_comes_within_a_minute_then_later_ones_back_off(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    _default_retry(root)
    runtime = open_runtime(root)
    bulk_clashes(runtime, 1, "backoff")
    notifier = Notifier(runtime, BASE)
    # The mail server is down (nothing listens on its port) for eight minutes of the
    # sender's clock, one round a second as in calhub serve; every attempt is noted.
    tries: dict[int, list[float]] = {}
    for second in range(8 * 60):
        now = FAR + dt.timedelta(seconds=second)
        assert notifier.run_once(now) == 0
        for message in runtime.outbox.messages():
            seen = tries.setdefault(message.id, [])
            if message.attempts > len(seen):
                seen.append(second)
    assert len(tries) == 3
    for attempts in tries.values():
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert attempts[0] <= 3, attempts  # each message is tried at once
        assert gaps[:4] == [30, 60, 120, 240], attempts  # then in 30 s, and twice as long
    # Nothing was lost while it was down: the server comes back, the next retry sends all.
    smtp.start()
    second = 8 * 60
    while runtime.outbox.counts()["queued"] and second < 20 * 60:
        notifier.run_once(FAR + dt.timedelta(seconds=second))
        second += 1
    assert Counter(str(m["To"]) for _, m in smtp.inbox.messages) == Counter(ADDRESSES.values())
    assert runtime.outbox.counts() == {"queued": 0, "sent": 3, "failed": 0}


def test_a_refused_address_is_given_up_at_once_and_the_others_still_go(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    bad = ADDRESSES["bfu"]
    smtp.inbox.refuse_rcpt = lambda address: "550 5.1.1 no such user" if address == bad else None
    smtp.start()
    runtime = open_runtime(root)
    bulk_clashes(runtime, 1, "rcpt")
    notifier = Notifier(runtime, BASE)
    # One round: bfu's message refused for good, the other two sent behind it.
    assert notifier.run_once(FAR) == 2
    assert sorted(str(m["To"]) for _, m in smtp.inbox.messages) == sorted(
        a for a in ADDRESSES.values() if a != bad
    )
    [failed] = runtime.outbox.messages(["failed"])
    assert failed.address == bad and failed.attempts == 1 and "550" in failed.last_error
    # Not tried again, and nobody else hears twice.
    assert notifier.run_once(FAR + dt.timedelta(hours=1)) == 0
    assert smtp.inbox.rcpt_refused == [bad] and len(smtp.inbox.messages) == 2


def test_a_message_accepted_counts_as_sent_however_the_session_ends(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    # The server takes each message (250 to DATA) and then answers QUIT with an error.
    smtp.inbox.quit_answer = "421 4.4.2 closing, goodbye"
    smtp.start()
    runtime = open_runtime(root)
    bulk_clashes(runtime, 1, "quit")
    notifier = Notifier(runtime, BASE)
    assert notifier.run_once(FAR) == 3
    assert notifier.run_once(FAR + dt.timedelta(hours=1)) == 0
    assert Counter(str(m["To"]) for _, m in smtp.inbox.messages) == Counter(ADDRESSES.values())
    assert runtime.outbox.counts() == {"queued": 0, "sent": 3, "failed": 0}


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A loopback webhook receiver that keeps what it was sent and answers 204."""

    calls: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.calls.append((dict(self.headers.items()), payload))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_webhook_key_comes_from_a_command_and_signs_the_exact_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calhub.hub.notify_settings import WebhookSettings
    from calhub.notify.smtp import SendFailed
    from calhub.notify.webhook import post
    from calhub.store.outbox import Message

    key = "cmd-key-5b1e"
    script = tmp_path / "key.py"
    script.write_text(f"print({key!r})\n", encoding="utf-8")
    _Receiver.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    body = json.dumps({"notices": [{"kind": "detected", "headline": {"ru": "Накладка"}}]})
    message = Message(
        1, "webhook", "webhook", url, "1 notices", body, "", {}, "key-1", (), "queued", 0,
        "", "", None, None, "", None,
    )  # fmt: skip
    try:
        post(WebhookSettings(url=url, secret_cmd=f"{sys.executable} {script}", timeout=5), message)
        # A variable that is not set: refused before any call, its name said, no key shown.
        monkeypatch.delenv("CALHUB_NO_SUCH_KEY", raising=False)
        with pytest.raises(SendFailed, match="CALHUB_NO_SUCH_KEY, which is not set"):
            post(WebhookSettings(url=url, secret_env="CALHUB_NO_SUCH_KEY"), message)
        with pytest.raises(SendFailed, match="secret_cmd exited with 3"):
            post(WebhookSettings(url=url, secret_cmd=f"{sys.executable} -c 'exit(3)'"), message)
    finally:
        server.shutdown()
        server.server_close()
    [(headers, payload)] = _Receiver.calls
    assert payload == body.encode()
    expected = "sha256=" + hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Calhub-Signature"], expected)
    assert headers["X-Calhub-Delivery"] == "key-1"
    assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_smtps_send_only_to_a_server_whose_certificate_is_trusted(
    fresh_hub: Any, runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    context = certificate(tmp_path)
    server = SmtpServer(**{"starttls" if security == "starttls" else "smtps": context})
    server.start()
    try:
        root = fresh_hub.create()
        configure_mail(root, server.port, security=security)
        # A certificate nobody vouches for: refused, said so, nothing sent, no password shown.
        refused = runner("notify", "test", "ops@school.example", "--data", str(root))
        assert refused.code == 2 and "CERTIFICATE_VERIFY_FAILED" in refused.err, refused
        assert SMTP_PASSWORD not in refused.err and server.inbox.messages == []
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        done = runner("notify", "test", "ops@school.example", "--data", str(root))
        assert done.code == 0, done
    finally:
        server.stop()
    [(envelope, mail)] = server.inbox.messages
    assert envelope.rcpt_tos == ["ops@school.example"]
    assert mail["Subject"] == "[calhub] Проверка почты calhub"
