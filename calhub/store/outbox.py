"""The outbox: what happened to clashes (notices) and the messages made of them.

Hub data in ``hub.sqlite``. A **notice** is a fact ("a hard clash was detected", "the
coordinator approved it", "bfu was asked to move its event"), written by
:func:`add_notice` inside the very transaction of the clash records that makes it true, so
a notice exists exactly when its fact does, whatever crashes afterwards. Every notice of one
transaction carries the same ``batch`` key (the records' epoch and change counter, which
changes only when the transaction commits), so the notices of one bulk write travel together.

A **message** is one e-mail (or webhook call) to one recipient, made from a set of notices by
:mod:`calhub.notify`. Its ``idem_key`` is unique per notice set × recipient × channel: making
the same message twice is a no-op. A sender takes a message with a **lease** (owner, until),
so two server processes never send the same one; a message is ``queued`` until ``sent``,
retried at ``next_at`` after a failure, ``failed`` after the last attempt.

**Digest items** are the notices a recipient hears about only in the daily digest (soft
clashes, or an account that asked for a digest), one row per recipient and notice.

**A bulk write** (an import, a source sync) that spans several transactions, or pauses
longer than ``[notify] batch_seconds`` between them, wraps itself in
:meth:`Outbox.bulk_write`: while any such hold is open (in any process) no notice is made
into a message, so everything the bulk write caused goes out as one digest per recipient
when it ends. A hold left by a crashed process runs out after ``HOLD_LIMIT``::

    with runtime.outbox.bulk_write("sync feed-7"):
        ...  # the writes; their notices wait
    # the sender's next round makes one message per recipient of all of them
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from calhub.errors import UserError
from calhub.store.sqlitedb import IN_LIST, ThreadLocalDatabase, in_list, utc_text

__all__ = [
    "EMAIL",
    "HOLD_LIMIT",
    "KINDS",
    "SCHEMA",
    "WEBHOOK",
    "ChannelState",
    "Message",
    "NewMessage",
    "Notice",
    "Outbox",
    "add_notice",
]

logger = logging.getLogger(__name__)

# The history actions that are news for someone (records.py and move_requests.py).
KINDS = (
    "detected",
    "reappeared",
    "changed",
    "approved",
    "reopened",
    "move-asked",
    "move-accepted",
    "move-declined",
)
MESSAGE_STATUSES = ("queued", "sent", "failed")
# The channels a message goes out by.
EMAIL = "email"
WEBHOOK = "webhook"
MAX_ERROR = 500
# The longest a bulk write holds the notices back; a hold of a crashed process ends then.
HOLD_LIMIT = dt.timedelta(minutes=30)
_HOLD = "hold:"

SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    clash_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    severity TEXT NOT NULL DEFAULT 'hard',
    payload TEXT NOT NULL DEFAULT '{}',
    batch TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notices_pending ON notices (done, id);
CREATE TABLE IF NOT EXISTS digest_items (
    recipient TEXT NOT NULL,
    notice_id INTEGER NOT NULL,
    PRIMARY KEY (recipient, notice_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}',
    idem_key TEXT NOT NULL UNIQUE,
    notices TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# The batch key of the transaction being written: records_meta's 'changes' is counted up as
# the records' transaction commits (ClashRecords.transaction), so it is the same for every
# notice of one transaction and differs between transactions.
_BATCH = (
    "coalesce((SELECT value FROM records_meta WHERE key='epoch'), '') || ':' || "
    "coalesce((SELECT value FROM records_meta WHERE key='changes'), '0')"
)


def add_notice(
    db: sqlite3.Connection,
    kind: str,
    clash_id: str,
    actor: str,
    stamp: str,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Note that ``kind`` happened to a clash, in the caller's open transaction ``db``."""
    assert kind in KINDS, kind
    db.execute(
        "INSERT INTO notices (kind, clash_id, actor, at, severity, payload, batch) "
        "VALUES (?, ?, ?, ?, coalesce((SELECT severity FROM clashes WHERE id=?), 'hard'), ?, "
        f"{_BATCH})",
        (kind, clash_id, actor, stamp, clash_id, json.dumps(payload or {}, ensure_ascii=False)),
    )


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    kind: str
    clash_id: str
    actor: str
    at: str  # ISO UTC "...Z"
    severity: str
    payload: Mapping[str, Any]
    batch: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to queue (see :meth:`Outbox.queue`)."""

    channel: str
    recipient: str  # the account's login
    address: str  # where it goes: an e-mail address, or the webhook's URL
    subject: str
    text: str
    html: str
    idem_key: str
    notices: tuple[int, ...]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    channel: str
    recipient: str
    address: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str]
    idem_key: str
    notices: tuple[int, ...]
    status: str
    attempts: int
    next_at: str
    last_error: str
    lease_owner: str | None
    lease_until: str | None
    created_at: str
    sent_at: str | None

    def as_json(self) -> dict[str, Any]:
        """What ``calhub outbox --json`` shows (not the body: it is on record here)."""
        return {
            "id": self.id,
            "channel": self.channel,
            "recipient": self.recipient,
            "address": self.address,
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "next_at": self.next_at,
            "last_error": self.last_error,
            "lease_owner": self.lease_owner,
            "lease_until": self.lease_until,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "notices": list(self.notices),
        }


_MESSAGE_COLUMNS = (
    "id, channel, recipient, address, subject, text, html, headers, idem_key, notices, status, "
    "attempts, next_at, last_error, lease_owner, lease_until, created_at, sent_at"
)


def _message(row: Sequence[Any]) -> Message:
    values = list(row)
    values[7] = json.loads(values[7])
    values[9] = tuple(int(n) for n in json.loads(values[9]))
    return Message(*values)


def _notice(row: Sequence[Any]) -> Notice:
    id_, kind, clash_id, actor, at, severity, payload, batch = row
    loaded = json.loads(payload)
    return Notice(
        int(id_),
        kind,
        clash_id,
        actor,
        at,
        severity,
        loaded if isinstance(loaded, dict) else {},
        batch,
    )


@dataclass(frozen=True, slots=True)
class ChannelState:
    """How one channel is doing, for the dashboard: the newest delivery, and the newest
    error of a message not sent since (a message sent after its errors clears them)."""

    queued: int
    failed: int
    last_sent_at: str | None
    last_error: str
    error_message: Message | None


class _TakenElsewhere(Exception):
    """Another process made messages of some of the notices first (rolls the take back)."""


class NoSuchMessage(UserError):
    """There is no message with that id in the outbox."""


class Outbox(ThreadLocalDatabase):
    """The ``notices``, ``digest_items`` and ``outbox`` tables of ``hub.sqlite``."""

    SCHEMA = SCHEMA
    SYNCHRONOUS = "FULL"

    # -- notices -------------------------------------------------------------------------

    def pending(self, limit: int = 5000) -> list[Notice]:
        """Notices not yet made into messages, oldest first."""
        rows = self.db.execute(
            "SELECT id, kind, clash_id, actor, at, severity, payload, batch FROM notices "
            "WHERE done=0 ORDER BY id LIMIT ?",
            (limit,),
        )
        return [_notice(row) for row in rows.fetchall()]

    def notices(self, ids: Iterable[int]) -> list[Notice]:
        rows = self.db.execute(
            "SELECT id, kind, clash_id, actor, at, severity, payload, batch FROM notices "
            f"WHERE id IN {IN_LIST} ORDER BY id",
            (json.dumps(sorted(set(ids))),),
        )
        return [_notice(row) for row in rows.fetchall()]

    def take(
        self,
        notices: Sequence[Notice],
        messages: Sequence[NewMessage],
        digest: Iterable[tuple[str, int]] = (),
    ) -> bool:
        """Mark ``notices`` done, queue the ``messages`` and ``digest`` items (recipient,
        notice id) made of them, in one transaction. False, with nothing written, when
        another process took any of the notices first: the caller reads them again."""
        ids = [n.id for n in notices]
        stamp = utc_text()
        try:
            with self.transaction() as db:
                cursor = db.execute(
                    f"UPDATE notices SET done=1 WHERE done=0 AND id IN {IN_LIST}",
                    (json.dumps(ids),),
                )
                if cursor.rowcount != len(set(ids)):
                    raise _TakenElsewhere
                self._insert(db, messages, stamp)
                db.executemany("INSERT OR IGNORE INTO digest_items VALUES (?, ?)", list(digest))
        except _TakenElsewhere:
            return False
        return True

    def digest_recipients(self) -> list[str]:
        return [
            row[0]
            for row in self.db.execute("SELECT DISTINCT recipient FROM digest_items ORDER BY 1")
        ]

    def digest_of(self, recipient: str) -> list[Notice]:
        rows = self.db.execute(
            "SELECT n.id, n.kind, n.clash_id, n.actor, n.at, n.severity, n.payload, n.batch "
            "FROM digest_items d JOIN notices n ON n.id = d.notice_id WHERE d.recipient=? "
            "ORDER BY n.id",
            (recipient,),
        )
        return [_notice(row) for row in rows.fetchall()]

    def take_digest(
        self, recipient: str, notices: Sequence[Notice], messages: Sequence[NewMessage]
    ) -> None:
        """Queue a recipient's digest and forget the items it holds, in one transaction.

        When another process queued this digest first (same key), the items are left: any
        that came after its read are in no digest yet."""
        with self.transaction() as db:
            if not self._insert(db, messages, utc_text()):
                return
            db.execute(
                f"DELETE FROM digest_items WHERE recipient=? AND notice_id IN {IN_LIST}",
                (recipient, json.dumps([n.id for n in notices])),
            )

    def expire(self, before: dt.datetime) -> int:
        """Set aside unsent notices older than ``before`` (a channel configured after months
        without one must not mail the whole past); returns how many."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE notices SET done=2 WHERE done=0 AND at < ?", (utc_text(before),)
            )
        return cursor.rowcount

    def prune(self, notices_before: dt.datetime, sent_before: dt.datetime) -> int:
        """Forget notices taken before ``notices_before`` (and not waiting for a digest) and
        messages sent or failed before ``sent_before``; returns how many rows went."""
        with self.transaction() as db:
            gone = db.execute(
                "DELETE FROM notices WHERE done != 0 AND at < ? AND id NOT IN "
                "(SELECT notice_id FROM digest_items)",
                (utc_text(notices_before),),
            ).rowcount
            gone += db.execute(
                "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < ?",
                (utc_text(sent_before),),
            ).rowcount
        return gone

    def count_pending(self) -> int:
        row = self.db.execute("SELECT count(*) FROM notices WHERE done=0").fetchone()
        return int(row[0])

    @contextmanager
    def bulk_write(self, what: str, limit: dt.timedelta = HOLD_LIMIT) -> Iterator[None]:
        """Hold every notice back while the block runs (see the module docstring): the
        bulk write's notices then travel together, one message per recipient."""
        key = f"{_HOLD}{secrets.token_hex(8)}"
        until = utc_text(dt.datetime.now(dt.UTC) + limit)
        self.set_meta(key, f"{until} {what}")
        try:
            yield
        finally:
            with self.transaction() as db:
                db.execute("DELETE FROM outbox_meta WHERE key=?", (key,))

    def holds(self, now: dt.datetime | None = None) -> list[str]:
        """What the bulk writes holding the notices back say they are (unexpired ones)."""
        stamp = utc_text(now or dt.datetime.now(dt.UTC))
        rows = self.db.execute(
            "SELECT value FROM outbox_meta WHERE key LIKE ? ORDER BY value", (_HOLD + "%",)
        )
        found = []
        for (value,) in rows:
            until, _, what = str(value).partition(" ")
            if until >= stamp:
                found.append(what)
        return found

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM outbox_meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO outbox_meta VALUES (?, ?)", (key, value))

    # -- messages ------------------------------------------------------------------------

    @staticmethod
    def _insert(db: sqlite3.Connection, messages: Sequence[NewMessage], stamp: str) -> int:
        """Queue those of ``messages`` not queued before (by ``idem_key``); how many."""
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO outbox (channel, recipient, address, subject, text, html, "
            "headers, idem_key, notices, next_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    m.channel,
                    m.recipient,
                    m.address,
                    m.subject,
                    m.text,
                    m.html,
                    json.dumps(dict(m.headers), ensure_ascii=False),
                    m.idem_key,
                    json.dumps(list(m.notices)),
                    stamp,
                    stamp,
                )
                for m in messages
            ],
        )
        return db.total_changes - before

    def queue(self, messages: Sequence[NewMessage]) -> None:
        """Queue messages made of no notice (``calhub notify test``)."""
        with self.transaction() as db:
            self._insert(db, messages, utc_text())

    def claim(
        self,
        owner: str,
        lease: dt.timedelta,
        channels: Iterable[str] = ("email", "webhook"),
        now: dt.datetime | None = None,
    ) -> Message | None:
        """The next message due, leased to ``owner`` until ``now + lease``; None if none.

        Under the write lock, so two processes never lease the same message; a lease that
        ran out (its process died) may be taken over."""
        moment = now or dt.datetime.now(dt.UTC)
        stamp = utc_text(moment)
        with self.transaction() as db:
            row = db.execute(
                "SELECT id FROM outbox WHERE status='queued' AND next_at <= ? AND "
                f"(lease_until IS NULL OR lease_until < ?) AND channel IN {IN_LIST} "
                "ORDER BY next_at, id LIMIT 1",
                (stamp, stamp, in_list(channels)),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE outbox SET lease_owner=?, lease_until=? WHERE id=?",
                (owner, utc_text(moment + lease), row[0]),
            )
        return self.get(int(row[0]))

    def sent(self, message_id: int, owner: str) -> None:
        """The channel accepted the message: recorded whoever holds the lease now (it went,
        whatever else is true), and never undone by a late :meth:`failed`."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE outbox SET status='sent', sent_at=?, attempts=attempts+1, "
                "lease_owner=NULL, lease_until=NULL, last_error='' "
                "WHERE id=? AND status='queued'",
                (utc_text(), message_id),
            )
        if cursor.rowcount == 1:
            return
        logger.warning("Outbox: message %d was marked sent already (by %s?)", message_id, owner)

    def failed(self, message_id: int, owner: str, error: str, retry_at: dt.datetime | None) -> None:
        """A failed attempt: tried again at ``retry_at``, or given up (None)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, last_error=?, lease_owner=NULL, "
                "lease_until=NULL, status=?, next_at=coalesce(?, next_at) "
                "WHERE id=? AND lease_owner=? AND status='queued'",
                (
                    error[:MAX_ERROR],
                    "queued" if retry_at is not None else "failed",
                    None if retry_at is None else utc_text(retry_at),
                    message_id,
                    owner,
                ),
            )

    def leases(self) -> set[str]:
        """The owners holding a lease now (a sender looks whether they are alive)."""
        rows = self.db.execute(
            "SELECT DISTINCT lease_owner FROM outbox WHERE lease_owner IS NOT NULL"
        )
        return {str(row[0]) for row in rows}

    def release(self, owner: str) -> int:
        """End every lease of a process known to be dead; returns how many."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE outbox SET lease_owner=NULL, lease_until=NULL WHERE lease_owner=?",
                (owner,),
            )
        return cursor.rowcount

    def retry(self, message_id: int) -> Message:
        """Send a failed or waiting message again at once (``calhub outbox retry ID``)."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM outbox WHERE id=?", (message_id,)).fetchone()
            if row is None:
                raise NoSuchMessage(
                    f"There is no message {message_id} in the outbox.",
                    hint="See 'calhub outbox' for the ids.",
                )
            if row[0] == "sent":
                raise UserError(
                    f"Message {message_id} was sent already; it is not sent twice.",
                    hint="See 'calhub outbox' for the messages waiting.",
                )
            db.execute(
                "UPDATE outbox SET status='queued', next_at=? WHERE id=?",
                (utc_text(), message_id),
            )
        found = self.get(message_id)
        assert found is not None
        return found

    def get(self, message_id: int) -> Message | None:
        row = self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM outbox WHERE id=?", (message_id,)
        ).fetchone()
        return None if row is None else _message(row)

    def messages(
        self, statuses: Iterable[str] = MESSAGE_STATUSES, limit: int = 200
    ) -> list[Message]:
        """Messages of these statuses, newest first."""
        rows = self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM outbox WHERE status IN {IN_LIST} "
            "ORDER BY id DESC LIMIT ?",
            (in_list(statuses), limit),
        )
        return [_message(row) for row in rows.fetchall()]

    def channel_state(self, channel: str) -> ChannelState:
        counts = dict(
            self.db.execute(
                "SELECT status, count(*) FROM outbox WHERE channel=? GROUP BY status", (channel,)
            ).fetchall()
        )
        row = self.db.execute(
            "SELECT max(sent_at) FROM outbox WHERE channel=? AND status='sent'", (channel,)
        ).fetchone()
        erred = self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM outbox WHERE channel=? AND status != 'sent' "
            "AND last_error != '' ORDER BY id DESC LIMIT 1",
            (channel,),
        ).fetchone()
        message = None if erred is None else _message(erred)
        return ChannelState(
            queued=int(counts.get("queued", 0)),
            failed=int(counts.get("failed", 0)),
            last_sent_at=None if row is None or row[0] is None else str(row[0]),
            last_error=message.last_error if message is not None else "",
            error_message=message,
        )

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) FROM outbox GROUP BY status")
        found = dict.fromkeys(MESSAGE_STATUSES, 0)
        found.update({str(status): int(n) for status, n in rows})
        return found
