"""Feed tokens: which feeds exist, kept hashed in ``hub.sqlite`` (hub data: backed up).

Only the SHA-256 of a token is stored; a token is found by its hash, so the table never
holds what opens a feed, and a copy of ``hub.sqlite`` (a backup) opens none. The token is
drawn here (``secrets.token_urlsafe(24)``: 192 random bits) and returned once.

A feed is polled by every subscribed phone every few minutes: noting when it was last used
must not make each poll a write, so :meth:`FeedTokens.touch` writes at most once a minute
per feed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from calhub.store.audit import SCHEMA as AUDIT_SCHEMA
from calhub.store.audit import Origin, add_entry, decision
from calhub.store.sqlitedb import ThreadLocalDatabase, utc_text

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    last_used_at TEXT
);
"""

TOKEN_BYTES = 24  # 192 bits; token_urlsafe gives 32 characters
# What a token may look like before it is hashed: anything else (from a URL anyone can send)
# is refused without touching the database.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,128}")
TOUCH_INTERVAL = dt.timedelta(minutes=1)
MAX_REMEMBERED = 10_000

_COLUMNS = "id, scope, name, created_at, created_by, revoked_at, last_used_at"


def token_hash(secret: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class FeedToken:
    id: int
    scope: str  # as written: "audience:10А"
    name: str
    created_at: str  # ISO UTC, "...Z"
    created_by: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_json(self) -> dict[str, object]:
        """What the CLI and the API show of a feed: never its token nor its hash."""
        return {
            "id": self.id,
            "scope": self.scope,
            "name": self.name,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


def _token(row: sqlite3.Row | tuple[object, ...]) -> FeedToken:
    id_, scope, name, created_at, created_by, revoked_at, last_used_at = row
    return FeedToken(
        id=int(str(id_)),
        scope=str(scope),
        name=str(name),
        created_at=str(created_at),
        created_by=str(created_by),
        revoked_at=None if revoked_at is None else str(revoked_at),
        last_used_at=None if last_used_at is None else str(last_used_at),
    )


class FeedTokens(ThreadLocalDatabase):
    """The ``feed_tokens`` table of ``hub.sqlite``."""

    # The audit log's table too: issuing and revoking a feed write their entries in the
    # same transaction (never the token: only the feed's number, scope and name).
    SCHEMA = SCHEMA + AUDIT_SCHEMA

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        # When this process last wrote last_used_at of each feed: a poll within the minute
        # costs no write transaction at all. Shared by the threads of the process.
        self._touched: dict[int, dt.datetime] = {}
        self._touched_lock = threading.Lock()

    def create(
        self,
        scope: str,
        name: str,
        by: str,
        now: dt.datetime | None = None,
        origin: Origin | None = None,
    ) -> tuple[FeedToken, str]:
        """A new feed; returns it and its token (the only time the token is known)."""
        secret = secrets.token_urlsafe(TOKEN_BYTES)
        created = utc_text(now)
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO feed_tokens (token_hash, scope, name, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_hash(secret), scope, name, created, by),
            )
            token_id = int(cursor.lastrowid or 0)
            subject = f"feed {token_id}: {scope}" + (f" «{name}»" if name else "")
            add_entry(db, decision(by, "feed-created", origin, subject=subject))
        logger.info("Feed %d (%s) created by %s", token_id, scope, by)
        return FeedToken(token_id, scope, name, created, by), secret

    def find(self, secret: object) -> FeedToken | None:
        """The active feed of ``secret`` (None: unknown or revoked, or not a token at all)."""
        if not isinstance(secret, str) or not TOKEN_PATTERN.fullmatch(secret):
            return None
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM feed_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (token_hash(secret),),
        ).fetchone()
        return None if row is None else _token(row)

    def get(self, token_id: int) -> FeedToken | None:
        """The feed with this id, revoked or not."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM feed_tokens WHERE id = ?", (token_id,)
        ).fetchone()
        return None if row is None else _token(row)

    def query(self, include_revoked: bool = False) -> list[FeedToken]:
        """Every feed, newest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM feed_tokens{where} ORDER BY id DESC"
        ).fetchall()
        return [_token(row) for row in rows]

    def revoke(
        self,
        token_id: int,
        by: str,
        now: dt.datetime | None = None,
        origin: Origin | None = None,
    ) -> bool:
        """Revoke a feed; False if there is no active feed with this id."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE feed_tokens SET revoked_at = ?, revoked_by = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (utc_text(now), by, token_id),
            )
            done = cursor.rowcount == 1
            if done:
                row = db.execute(
                    "SELECT scope, name FROM feed_tokens WHERE id = ?", (token_id,)
                ).fetchone()
                subject = f"feed {token_id}: {row[0]}" + (f" «{row[1]}»" if row[1] else "")
                add_entry(db, decision(by, "feed-revoked", origin, subject=subject))
        if done:
            logger.info("Feed %d revoked by %s", token_id, by)
        return done

    def touch(self, token_id: int, now: dt.datetime | None = None) -> None:
        """Note that the feed was fetched (at most once a minute per feed is written)."""
        moment = now or dt.datetime.now(dt.UTC)
        with self._touched_lock:
            last = self._touched.get(token_id)
            if last is not None and moment - last < TOUCH_INTERVAL:
                return
            if len(self._touched) >= MAX_REMEMBERED:
                self._touched.clear()  # a hub has dozens of feeds; this only bounds memory
            self._touched[token_id] = moment
        # Other processes (a second server, the CLI) keep their own memory: the condition
        # keeps the rule across them.
        try:
            with self.transaction() as db:
                db.execute(
                    "UPDATE feed_tokens SET last_used_at = ? "
                    "WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                    (utc_text(moment), token_id, utc_text(moment - TOUCH_INTERVAL)),
                )
        except sqlite3.OperationalError as exc:
            # A busy database must not fail the feed being served: the note waits a minute.
            logger.warning("Could not note the use of feed %d: %s", token_id, exc)
