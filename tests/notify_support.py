"""A real loopback SMTP server (aiosmtpd) for the notification tests, and the hub settings
that send through it."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from clash_support import at, own_week
from helpers import cli_ok, make_event

SMTP_USER = "calhub-mailer"
SMTP_PASSWORD = "s3cret-Smtp-pa55word-x9"
PASSWORD_ENV = "CALHUB_TEST_SMTP_PASSWORD"
SENDER = "calhub@school.example"
ADDRESSES = {
    "coordinator": "zavuch@school.example",
    "bfu": "events@bfu.example",
    "kgtu": "olymp@kgtu.example",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server received: each message parsed, with its envelope."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Answer for DATA: None accepts; a text such as "451 try later" refuses.
    refuse: Callable[[EmailMessage], str | None] = lambda _mail: None
    # Answer for RCPT TO: None accepts the address; a text such as "550 no such user" refuses.
    refuse_rcpt: Callable[[str], str | None] = lambda _address: None
    # Answer for QUIT, when not the usual "221 Bye".
    quit_answer: str | None = None
    rcpt_refused: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = self.refuse_rcpt(address)
        if answer is not None:
            with self.lock:
                self.rcpt_refused.append(address)
            return answer
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Session, envelope: Envelope) -> str:
        return self.quit_answer or "221 Bye"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        answer = self.refuse(mail)
        if answer is not None:
            return answer
        with self.lock:
            self.messages.append((envelope, mail))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for e, m in self.messages if address in e.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return [m for _, m in self.messages]
            time.sleep(0.2)
        with self.lock:
            got = [(e.rcpt_tos, m["Subject"]) for e, m in self.messages]
        raise AssertionError(f"expected {count} messages within {timeout} s, got {got}")


def _authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: the server answers 535 itself (True would leave the client waiting).
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """A loopback SMTP server with AUTH, which can be stopped and started on one port;
    ``starttls`` (STARTTLS required, AUTH only after it) or ``smtps`` (TLS from the first
    byte) is the server's TLS context."""

    def __init__(
        self,
        port: int | None = None,
        *,
        starttls: ssl.SSLContext | None = None,
        smtps: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._starttls = starttls
        self._smtps = smtps
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=self._smtps,
            authenticator=_authenticate,
            auth_required=True,
            auth_require_tls=self._starttls is not None,
            tls_context=self._starttls,
            require_starttls=self._starttls is not None,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextmanager
def mail_sink(monkeypatch: pytest.MonkeyPatch, *, started: bool) -> Iterator[SmtpServer]:
    """A loopback SMTP server for one test, with the hub's password in its environment
    variable; ``started=False`` leaves starting it to the test (an outage first)."""
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    server = SmtpServer()
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()


def certificate(directory: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1, made by the
    openssl command; the certificate is ``directory / "cert.pem"`` (a client trusts it with
    SSL_CERT_FILE)."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def configure_mail(
    root: Path,
    port: int,
    *,
    languages: dict[str, str] | None = None,
    notify: dict[str, str] | None = None,
    batch_seconds: int = 1,
    soft: str = "digest",
    security: str = "none",
) -> None:
    """Set [notify] in the hub's calhub.toml and give each account an address."""
    from calhub.hub import configfile

    document = configfile.read_document(root)
    document["notify"] = {
        "sender": SENDER,
        "batch_seconds": batch_seconds,
        "retry_seconds": 1,
        "soft": soft,
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "username": SMTP_USER,
            "password_env": PASSWORD_ENV,
            "timeout": 5,
        },
    }
    configfile.save_document(root, document)
    for login, address in ADDRESSES.items():
        argv = ["account", "edit", login, "--email", address, "--data", str(root)]
        argv += ["--language", (languages or {}).get(login, "ru")]
        argv += ["--notify", (notify or {}).get(login, "immediate")]
        cli_ok(argv)


def outbox_json(root: Path) -> dict[str, Any]:
    result = cli_ok(["outbox", "--json", "--data", str(root)])
    document: dict[str, Any] = json.loads(result.out)
    return document


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def parts(mail: EmailMessage) -> tuple[str, str]:
    """The plain text and HTML parts of a message."""
    text = mail.get_body(preferencelist=("plain",))
    page = mail.get_body(preferencelist=("html",))
    assert text is not None and page is not None, mail
    return str(text.get_content()), str(page.get_content())


# Tomorrow 06:00 in Kaliningrad: past every batch wait, before the daily digest (07:30).
FAR = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(4, 0), tzinfo=dt.UTC
)


def open_runtime(root: Path) -> Any:
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub

    return open_runtime(Hub(root))


def bulk_clashes(runtime: Any, pairs: int, prefix: str) -> None:
    """``pairs`` bfu lectures for grade 10 and as many kgtu practices for 10А at the same
    times: 2 × pairs rows written in one bulk import each, ``pairs`` hard clashes."""
    from calhub.dav.importer import import_objects

    day = own_week()
    times = [(day + dt.timedelta(days=n // 8), 9 + n % 8) for n in range(pairs)]
    settings = runtime.settings
    for calendar, title in (("bfu", "Лекция [10]"), ("kgtu", "Практикум [10А]")):
        texts = [
            make_event(
                f"{prefix}-{calendar}-{n}", title, at(d, h), at(d, h) + dt.timedelta(minutes=45)
            )
            for n, (d, h) in enumerate(times)
        ]
        import_objects(runtime, settings.calendar(calendar), texts)


class Sent:
    """A sender that keeps what it is handed (the SMTP tests send for real)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def __call__(self, settings: Any, message: Any, accepted: Any) -> None:
        self.messages.append(message)
        accepted()
