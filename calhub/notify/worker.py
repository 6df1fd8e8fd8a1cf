"""The background sender: notices into messages, messages out, retried with backoff.

One :class:`Notifier` runs in a thread of ``calhub serve``, apart from the request threads,
so no SMTP server, slow or down, ever holds up a CalDAV write (nothing here runs under
Radicale's lock). Each round it

1. sets aside notices older than ``[notify] expire_days``;
2. once a write's notices have settled (none newer than ``batch_seconds``, no bulk write
   holding them back: :meth:`calhub.store.outbox.Outbox.bulk_write`), makes them into
   messages: one per recipient, a digest when there are several (a bulk write), the notices
   marked done in the same transaction (:meth:`calhub.store.outbox.Outbox.take`);
3. at ``digest_time`` (hub time), once a day, one digest per recipient of what waited for it;
4. sends the messages due, each under a lease, retrying after ``retry_seconds`` doubled per
   attempt (at most an hour) until ``max_attempts``.

Two server processes on one hub share the work safely: a notice is taken by one of them
(the take is refused if any notice was taken first), a message is leased by one, and the
same message is never queued twice (its ``idem_key``). A lease of a process that died on
this host is released at once; any other lease when it runs out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
import threading
import zoneinfo
from collections.abc import Callable, Sequence

from calhub.hub.accounts import Account
from calhub.hub.settings import Settings
from calhub.notify.compose import Composed, Composer, Item
from calhub.notify.recipients import addressees
from calhub.notify.smtp import SendFailed, build_email, send_email
from calhub.notify.webhook import body as webhook_body
from calhub.notify.webhook import post
from calhub.runtime import Runtime
from calhub.store.outbox import EMAIL, WEBHOOK, Message, NewMessage, Notice
from calhub.store.record_types import ClashRecord

__all__ = ["Notifier", "backoff", "deliver", "idem_key", "lease_for"]

logger = logging.getLogger(__name__)

ROUND_SECONDS = 1.0
# Taken notices are kept a month and sent messages three (for 'calhub outbox' and questions
# such as "did bfu hear of it?"), then pruned, at most once an hour.
KEEP_NOTICES = dt.timedelta(days=30)
KEEP_MESSAGES = dt.timedelta(days=90)
PRUNE_EVERY = dt.timedelta(hours=1)
MAX_BACKOFF = dt.timedelta(hours=1)
CHANNEL = EMAIL

# A sender gets the message and a callback to call the moment the channel accepted it (the
# SMTP server's 250 to DATA, the webhook's 2xx): "sent" is committed right then.
Sender = Callable[[Settings, Message, Callable[[], None]], None]


def idem_key(channel: str, recipient: str, what: str) -> str:
    """The key of one message: the channel, the recipient and what it is made of."""
    return hashlib.sha256(f"{channel}\x1f{recipient}\x1f{what}".encode()).hexdigest()[:40]


def backoff(retry_seconds: int, attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure (1: the first)."""
    seconds = retry_seconds * 2 ** max(0, attempts - 1)
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


def deliver(settings: Settings, message: Message, accepted: Callable[[], None]) -> None:
    """Send one message by its channel; SendFailed when it did not go."""
    if message.channel == WEBHOOK:
        post(settings.notify.webhook, message)
        accepted()
    else:
        send_email(settings.notify, build_email(message, settings.notify.sender), accepted)


def lease_for(settings: Settings) -> dt.timedelta:
    """How long a sender holds a message: longer than any one attempt can take (an SMTP
    session is about ten exchanges, each bounded by the timeout), so a lease never runs
    out under a live sender and another process never sends the same message meanwhile."""
    timeout = max(settings.notify.smtp.timeout, settings.notify.webhook.timeout)
    return dt.timedelta(seconds=timeout * 12 + 60)


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Notifier:
    """Turns one hub's notices into messages and sends them (see the module docstring)."""

    def __init__(self, runtime: Runtime, base_url: str, sender: Sender = deliver) -> None:
        self._runtime = runtime
        self._base_url = base_url
        self._send = sender
        self._host = socket.gethostname()
        self.owner = f"{self._host}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned: dt.datetime | None = None

    # -- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="calhub-notify", daemon=True)
        self._thread.start()
        logger.info("Notifications: sender started (%s)", self.owner)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after the message in hand, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("Notifications: the sender did not stop within %.0f s", timeout)
        self._runtime.outbox.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # one bad round must not end the sender
                logger.exception("Notifications: a round failed; trying again")
            self._stop.wait(ROUND_SECONDS)
        self._runtime.outbox.close()
        self._runtime.records.close()

    # -- one round -----------------------------------------------------------------------

    def run_once(self, now: dt.datetime | None = None) -> int:
        """One round; returns how many messages were sent."""
        settings = self._runtime.settings
        if not settings.notify.channels:
            return 0
        moment = now or dt.datetime.now(dt.UTC)
        outbox = self._runtime.outbox
        expired = outbox.expire(moment - dt.timedelta(days=settings.notify.expire_days))
        if expired:
            logger.warning(
                "Notifications: %d notices were too old to send and were dropped", expired
            )
        self.compose(settings, moment)
        self.daily_digest(settings, moment)
        if self._pruned is None or moment - self._pruned >= PRUNE_EVERY:
            self._pruned = moment
            outbox.prune(moment - KEEP_NOTICES, moment - KEEP_MESSAGES)
        return self.send_due(settings, now)

    def _composer(self, settings: Settings) -> Composer:
        return Composer(settings, settings.public_url or self._base_url)

    def _items(self, notices: Sequence[Notice]) -> list[Item]:
        records = self._runtime.records
        cache: dict[str, ClashRecord | None] = {}
        items = []
        for notice in notices:
            if notice.clash_id not in cache:
                cache[notice.clash_id] = records.get(notice.clash_id, instances=False)
            items.append(Item(notice, cache[notice.clash_id]))
        return items

    def compose(self, settings: Settings, now: dt.datetime) -> int:
        """Make messages of the notices that have settled; returns how many were queued."""
        outbox = self._runtime.outbox
        pending = outbox.pending()
        if not pending:
            return 0
        if outbox.holds(now):
            return 0  # a bulk write is going on (Outbox.bulk_write): its notices wait for it
        wait = dt.timedelta(seconds=settings.notify.batch_seconds)
        newest, oldest = _moment(pending[-1].at), _moment(pending[0].at)
        if now - newest < wait and now - oldest < max(dt.timedelta(minutes=1), wait * 10):
            return 0  # a write is still going on: its notices travel together
        items = self._items(pending)
        accounts = list(self._runtime.hub.accounts) if settings.notify.email_enabled else []
        policy = self._runtime.policy
        now_by: dict[str, list[Item]] = {}
        digest: list[tuple[str, int]] = []
        by_login: dict[str, Account] = {}
        for item in items:
            calendars = item.record.calendars if item.record is not None else set()
            for addressee in addressees(item.notice, calendars, accounts, policy, settings.notify):
                login = addressee.account.login
                by_login[login] = addressee.account
                if addressee.digest:
                    digest.append((login, item.notice.id))
                else:
                    now_by.setdefault(login, []).append(item)
        composer = self._composer(settings)
        messages = []
        for login, mine in now_by.items():
            account = by_login[login]
            composed = (
                composer.notice(mine[0], account)
                if len(mine) == 1
                else composer.digest(mine, account)
            )
            ids = tuple(item.notice.id for item in mine)
            what = "notices:" + ",".join(map(str, ids))
            messages.append(self._new(account, composed, what, ids))
        if settings.notify.webhook_enabled:
            messages.extend(self._webhook(settings, composer, items))
        if not outbox.take(pending, messages, digest):
            logger.info("Notifications: another process took these notices first")
            return 0
        if messages:
            logger.info(
                "Notifications: %d notices made into %d messages", len(pending), len(messages)
            )
        return len(messages)

    @staticmethod
    def _new(account: Account, composed: Composed, what: str, ids: tuple[int, ...]) -> NewMessage:
        return NewMessage(
            channel=CHANNEL,
            recipient=account.login,
            address=account.email,
            subject=composed.subject,
            text=composed.text,
            html=composed.html,
            idem_key=idem_key(CHANNEL, account.login, f"{what}:{account.email}"),
            notices=ids,
            headers=composed.headers,
        )

    @staticmethod
    def _webhook(settings: Settings, composer: Composer, items: list[Item]) -> list[NewMessage]:
        """One webhook call for the whole batch (soft clashes too, unless soft = "off")."""
        if settings.notify.soft == "off":
            items = [i for i in items if i.notice.severity != "soft"]
        if not items:
            return []
        ids = tuple(item.notice.id for item in items)
        url = settings.notify.webhook.url
        return [
            NewMessage(
                channel=WEBHOOK,
                recipient=WEBHOOK,
                address=url,
                subject=f"{len(ids)} notices",
                text=webhook_body(items, composer),
                html="",
                idem_key=idem_key(WEBHOOK, url, "notices:" + ",".join(map(str, ids))),
                notices=ids,
            )
        ]

    def daily_digest(self, settings: Settings, now: dt.datetime) -> int:
        """Once a day after ``digest_time``, one digest per recipient of what waited."""
        local = now.astimezone(zoneinfo.ZoneInfo(settings.timezone))
        if not settings.notify.email_enabled or local.time() < settings.notify.digest_time:
            return 0
        outbox = self._runtime.outbox
        today = local.date().isoformat()
        if outbox.meta("digest_day") == today:
            return 0
        composer = self._composer(settings)
        made = 0
        for login in outbox.digest_recipients():
            account = self._runtime.hub.accounts.get(login)
            notices = outbox.digest_of(login)
            if account is None or not account.email or account.notify == "off":
                outbox.take_digest(login, notices, [])
                continue
            composed = composer.digest(self._items(notices), account, daily=True)
            ids = tuple(n.id for n in notices)
            outbox.take_digest(
                login, notices, [self._new(account, composed, f"daily:{today}", ids)]
            )
            made += 1
        outbox.set_meta("digest_day", today)
        if made:
            logger.info("Notifications: %d daily digests queued", made)
        return made

    def release_dead_leases(self) -> None:
        """Leases of a process of this host that is gone (kill -9) are free at once."""
        outbox = self._runtime.outbox
        for owner in outbox.leases():
            host, _, rest = owner.partition(":")
            pid = rest.partition(":")[0]
            mine = host == self._host and pid.isdigit()
            if owner != self.owner and mine and not _pid_alive(int(pid)):
                released = outbox.release(owner)
                logger.warning(
                    "Notifications: %d messages leased by a stopped process taken back", released
                )

    def send_due(self, settings: Settings, now: dt.datetime | None = None) -> int:
        """Send every message due, one at a time; returns how many went."""
        outbox = self._runtime.outbox
        self.release_dead_leases()
        lease = lease_for(settings)
        sent = 0
        while not self._stop.is_set():
            message = outbox.claim(self.owner, lease, settings.notify.channels, now)
            if message is None:
                break
            failure = self._send_one(settings, message, now)
            if failure is None:
                sent += 1
                logger.info("Notifications: message %d sent to %s", message.id, message.recipient)
            elif failure.channel_down:
                break  # the channel is down: the rest waits for the next round
        return sent

    def _send_one(
        self, settings: Settings, message: Message, now: dt.datetime | None
    ) -> SendFailed | None:
        """One attempt at one leased message; the failure, or None when it went."""
        outbox = self._runtime.outbox
        marked = False

        def accepted() -> None:
            # Its own transaction, committed before the SMTP session ends: the window in
            # which a crash sends the message again is this commit (docs/notifications.md).
            nonlocal marked
            if not marked:
                outbox.sent(message.id, self.owner)
                marked = True

        try:
            self._send(settings, message, accepted)
        except SendFailed as exc:
            if not marked:
                self._failed(settings, message, exc, now)
                return exc
            logger.warning("Notifications: message %d was accepted, then: %s", message.id, exc)
        accepted()
        return None

    def _failed(
        self, settings: Settings, message: Message, exc: SendFailed, now: dt.datetime | None
    ) -> None:
        outbox = self._runtime.outbox
        attempts = message.attempts + 1
        if exc.permanent or attempts >= settings.notify.max_attempts:
            outbox.failed(message.id, self.owner, str(exc), None)
            logger.error(
                "Notifications: message %d to %s given up after %d attempts: %s",
                message.id,
                message.recipient,
                attempts,
                exc,
            )
            return
        delay = backoff(settings.notify.retry_seconds, attempts)
        outbox.failed(message.id, self.owner, str(exc), (now or dt.datetime.now(dt.UTC)) + delay)
        logger.warning(
            "Notifications: message %d to %s not sent (%s); again in %d s",
            message.id,
            message.recipient,
            exc,
            delay.total_seconds(),
        )
