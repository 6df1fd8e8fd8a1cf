"""Notifications through failures: an SMTP outage, a kill -9 of the server with messages
queued, two servers on one hub sharing the queue through an outage. Each message reaches its
recipient exactly once (counted at the SMTP server); none is lost."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from clash_support import at, conflicts, involving, own_week, put_event
from notify_support import (
    ADDRESSES,
    PASSWORD_ENV,
    SMTP_PASSWORD,
    SmtpServer,
    configure_mail,
    mail_sink,
    outbox_json,
    wait_until,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    # Not started: each test decides when the mail server is up.
    with mail_sink(monkeypatch, started=False) as server:
        yield server


def clash(hub: Any, prefix: str) -> None:
    day = own_week()
    for login, uid, title in (("bfu", "a", "Лекция [10]"), ("kgtu", "b", "Практикум [10А]")):
        response = put_event(
            hub, login, f"/{login}/calendar/", f"{prefix}-{uid}", title, at(day, 15), at(day, 16)
        )
        assert response.status == 201, response.text
    assert involving(conflicts(hub), f"{prefix}-a", f"{prefix}-b")


def exactly_once_each(smtp: SmtpServer, settle: float = 4.0) -> list[EmailMessage]:
    """Wait for one message per address, then a while longer: no second copy comes."""
    smtp.inbox.wait_for(len(ADDRESSES), timeout=60)
    time.sleep(settle)
    mails = [m for _, m in smtp.inbox.messages]
    assert Counter(str(m["To"]) for m in mails) == Counter(ADDRESSES.values())
    assert len({str(m["Message-ID"]) for m in mails}) == len(mails)
    return mails


def test_an_smtp_outage_then_recovery_sends_each_message_exactly_once(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    hub = fresh_hub.serve(root)
    clash(hub, "out")

    def retried() -> bool:
        messages = outbox_json(root)["messages"]
        return len(messages) == 3 and all(m["attempts"] >= 1 for m in messages)

    wait_until(retried, what="three messages tried while the mail server is down")
    queued = outbox_json(root)
    assert queued["counts"]["queued"] == 3
    assert all("Connection" in m["last_error"] for m in queued["messages"]), queued
    smtp.start()
    exactly_once_each(smtp)
    assert outbox_json(root)["counts"] == {"queued": 0, "sent": 3, "failed": 0}
    # The failures were logged, the password never.
    log = hub.stderr()
    assert "not sent" in log and SMTP_PASSWORD not in log


def test_a_kill_9_mid_queue_loses_nothing_and_doubles_nothing(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    # The mail server takes the coordinator's message and answers "try later" to the rest.
    coordinator = ADDRESSES["coordinator"]
    smtp.inbox.refuse = lambda mail: None if str(mail["To"]) == coordinator else "451 4.3.0 later"
    smtp.start()
    hub = fresh_hub.serve(root)
    clash(hub, "kill")
    wait_until(lambda: len(smtp.inbox.to(coordinator)) == 1, what="the coordinator's message")

    def refused_once() -> bool:
        messages = outbox_json(root)["messages"]
        return sum(1 for m in messages if m["status"] == "queued" and m["attempts"] >= 1) == 2

    wait_until(refused_once, what="the partners' messages refused once")
    assert hub.stop(signal.SIGKILL) == -signal.SIGKILL
    fresh_hub.servers.remove(hub)  # it did not stop cleanly, on purpose
    smtp.inbox.refuse = lambda mail: None
    restarted = fresh_hub.serve(root)
    exactly_once_each(smtp)
    assert outbox_json(root)["counts"] == {"queued": 0, "sent": 3, "failed": 0}
    assert SMTP_PASSWORD not in restarted.stderr() + hub.stderr()


def test_two_servers_on_one_hub_through_an_outage_send_each_message_once(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port)
    first, second = fresh_hub.serve(root), fresh_hub.serve(root)
    # One clash written through the first: both senders see its notices and race for them.
    clash(first, "two")

    def both_tried() -> bool:
        return all("not sent" in hub.stderr() for hub in (first, second))

    # Both senders work the same queue while the mail server is down.
    wait_until(both_tried, timeout=60, what="both senders tried while the mail server is down")
    smtp.start()
    exactly_once_each(smtp)
    assert outbox_json(root)["counts"] == {"queued": 0, "sent": 3, "failed": 0}


class _SilentServer:
    """A loopback TCP server that accepts SMTP connections and never says a word: a mail
    server hanging. Its connections are held until it stops."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self.accepted:
            connection.close()
        self._sock.close()


def test_a_hanging_mail_server_does_not_slow_caldav_writes(
    fresh_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    silent = _SilentServer()
    try:
        root = fresh_hub.create()
        configure_mail(root, silent.port)  # [notify.smtp] timeout = 5 s
        hub = fresh_hub.serve(root)
        clash(hub, "hang")
        wait_until(lambda: bool(silent.accepted), what="the sender connected")
        # The sender waits up to 5 s for a greeting that never comes; writes go on meanwhile.
        took = []
        for n in range(4):
            started = time.monotonic()
            clash(hub, f"hang{n}")
            took.append(time.monotonic() - started)
        assert max(took) < 3.0, took
        assert outbox_json(root)["counts"]["sent"] == 0
    finally:
        silent.stop()
