"""E-mail out: a queued message as a MIME message, and one SMTP session to send it.

The password is read when a message is sent (``password_env`` or ``password_cmd`` of
``[notify.smtp]``), never kept in the outbox, and never written to a log: errors say which
setting failed, not what it held.

SMTP has no idempotency: the only proof a message went is the server's 250 to the end of
DATA. :func:`send_email` calls ``accepted`` at that moment, before QUIT, so the sender
records "sent" while the session is still open; anything that goes wrong after it (a QUIT
unanswered, a dropped connection) is not a failure and never makes a second copy.
"""

from __future__ import annotations

import email.utils
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from calhub.errors import CalhubError
from calhub.hub.notify_settings import NotifySettings, SmtpSettings
from calhub.notify.keys import KeyUnavailable, read_secret
from calhub.store.outbox import Message

__all__ = ["SendFailed", "build_email", "send_email"]

logger = logging.getLogger(__name__)


class SendFailed(CalhubError):
    """An attempt to send failed; the message stays queued (its text is safe to log).

    ``permanent``: the server refused this message for good (a 5xx to its recipient or
    content), so trying again cannot help. ``channel_down``: the whole channel failed (no
    connection, login refused), so the other messages wait for the next round too; when
    False, only this message was refused and the others go on."""

    def __init__(self, reason: str, *, permanent: bool = False, channel_down: bool = True):
        super().__init__(reason)
        self.permanent = permanent
        self.channel_down = channel_down


def message_id(idem_key: str, sender: str) -> str:
    """The same Message-ID for every attempt of one message, so a mail system that sees a
    message twice (a crash between the SMTP reply and its commit) can tell."""
    domain = sender.rpartition("@")[2] or "calhub.invalid"
    return f"<{idem_key}@{domain}>"


def build_email(message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.address
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.idem_key, sender)
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    # After the parts: set_content drops every Content-* header (Content-Language too).
    for name, value in message.headers.items():
        mail[name] = value
    return mail


def password(smtp: SmtpSettings) -> str | None:
    """The SMTP password, from the environment or a command; None when none is set."""
    try:
        return read_secret("notify.smtp", "password", smtp.password_env, smtp.password_cmd)
    except KeyUnavailable as exc:
        raise SendFailed(str(exc)) from None


def _reason(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return text[:200]


def _refused(exc: smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused) -> SendFailed:
    """This message refused (a recipient or its content), the channel itself working."""
    error: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, error = next(iter(exc.recipients.values()), (0, b""))
    else:
        code, error = exc.smtp_code, exc.smtp_error
    return SendFailed(
        f"the SMTP server answered {code} {_reason(error)}",
        permanent=500 <= code < 600,
        channel_down=False,
    )


def _quit(client: smtplib.SMTP) -> None:
    """End the session after the message was accepted; a failure here changes nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError) as exc:
        logger.info("Notifications: the SMTP session did not end cleanly (%s)", type(exc).__name__)
        client.close()


def _transfer(smtp: SmtpSettings, mail: EmailMessage) -> smtplib.SMTP:
    """Connect, log in and hand over the message; the open session when the server took it
    (closed, and the error raised, when anything failed)."""
    secret = password(smtp)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, secret or "")
        client.send_message(mail)
    except BaseException:
        client.close()
        raise
    return client


def send_email(
    settings: NotifySettings, mail: EmailMessage, accepted: Callable[[], None] = lambda: None
) -> None:
    """One SMTP session for one message; SendFailed with a loggable reason on failure.

    ``accepted`` is called the moment the server answered 250 to the message's DATA (see
    the module docstring); whatever happens after that, the message counts as sent."""
    smtp = settings.smtp
    try:
        client = _transfer(smtp, mail)
    except SendFailed:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(
            f"the SMTP server refused the login {smtp.username!r} ({exc.smtp_code})"
        ) from None
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
        raise _refused(exc) from None
    except smtplib.SMTPResponseException as exc:
        # The greeting, STARTTLS or the From address refused: every message would be.
        raise SendFailed(
            f"the SMTP server answered {exc.smtp_code} {_reason(exc.smtp_error)}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(
            f"cannot send through {smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}"[:400]
        ) from None
    try:
        accepted()
    finally:
        _quit(client)
