"""One limit on guessing passwords, for CalDAV, the JSON API and the web sign-in.

Failures are counted per (login, client address) and per client address, in ``hub.sqlite``
so every server process on the data directory shares them and a restart forgets nothing.
Past a free budget each key is refused for a growing time (``backoff``), answered at once
with 429 and no password check: guessing gets slower, the hub does not. A login is never
counted on its own, so nobody can lock an account out from another address.

An attempt is counted as a failure *before* its password is checked and the count is taken
back when the password was right: parallel attempts cannot all slip under the limit, and a
right password clears its own failures (of the pair, and the pair's share of the address).

IPv6 clients are counted per /64 network, the block one household or office gets.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from calhub.store.sqlitedb import ThreadLocalDatabase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """``free`` failures, then a wait of ``base`` seconds doubling per failure up to ``cap``."""

    free: int
    base: float
    cap: float

    def backoff(self, failures: int) -> float:
        """Seconds a key with ``failures`` failures is refused for (0: not refused)."""
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(failures - self.free, 32)))


# A person mistyping gets five tries; a school behind one address gets thirty failures of
# logins that never then succeed (the coordinator's typos are forgiven once they sign in).
PAIR_BUDGET = Budget(free=5, base=30.0, cap=900.0)
ADDRESS_BUDGET = Budget(free=30, base=30.0, cap=900.0)
# A key without a failure for this long is forgotten; rows are bounded in number too.
FORGET_AFTER = 24 * 3600.0
MAX_ROWS = 50_000
CLEANUP_EVERY = 60.0
MAX_KEY_CHARS = 64
ADDRESS_SCOPE = "*"  # the login column of a per-address row (no login contains it)

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    login TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_at REAL NOT NULL,
    blocked_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (login, address)
);
CREATE INDEX IF NOT EXISTS login_failures_last ON login_failures (last_at);
"""


def address_key(address: str | None) -> str:
    """The key an address is counted under: IPv4 as is, IPv6 by its /64 network."""
    text = (address or "-").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:MAX_KEY_CHARS] or "-"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return str(mapped or ip)


def login_key(login: str) -> str:
    # Folded so "BFU" and "bfu" share a budget; unknown logins are counted alike, so a
    # refusal says nothing about whether an account exists.
    return login.strip().casefold()[:MAX_KEY_CHARS].replace(ADDRESS_SCOPE, "?")


def _until(now: float, backoff: float) -> float:
    return now + backoff if backoff > 0 else 0.0


class LoginLimiter(ThreadLocalDatabase):
    """The ``login_failures`` table of ``hub.sqlite``."""

    SCHEMA = SCHEMA
    # Counters, not records: losing the last second of them to a power cut is harmless,
    # and a failed login must not wait for a disk flush.
    SYNCHRONOUS = "NORMAL"

    def __init__(
        self,
        path: Any,
        pair: Budget = PAIR_BUDGET,
        address: Budget = ADDRESS_BUDGET,
        forget_after: float = FORGET_AFTER,
        max_rows: int = MAX_ROWS,
    ) -> None:
        super().__init__(path)
        self.pair = pair
        self.address = address
        self.forget_after = forget_after
        self.max_rows = max_rows
        self._cleaned = 0.0
        self._clean_lock = threading.Lock()

    def _keys(self, login: str, address: str | None) -> list[tuple[str, str, Budget]]:
        where = address_key(address)
        return [(login_key(login), where, self.pair), (ADDRESS_SCOPE, where, self.address)]

    def check(self, login: str, address: str | None, now: float | None = None) -> tuple[int, bool]:
        """(seconds to wait or 0, whether any failure is on record for these keys); reads
        only, so a right password remembered by the account store costs no write."""
        now = time.time() if now is None else now
        rows = [
            self.db.execute(
                "SELECT blocked_until FROM login_failures WHERE login = ? AND address = ?",
                (who, where),
            ).fetchone()
            for who, where, _ in self._keys(login, address)
        ]
        wait = max((row[0] - now for row in rows if row is not None), default=0.0)
        return (max(1, math.ceil(wait)) if wait > 0 else 0), rows[0] is not None

    def begin(self, login: str, address: str | None, now: float | None = None) -> int:
        """0 if an attempt may check its password (it is counted as failed until
        ``succeeded``), else the seconds until the next attempt is allowed."""
        self._cleanup(time.time() if now is None else now)
        keys = self._keys(login, address)
        with self.transaction() as db:
            # The time once the write lock is held: a parallel attempt's block starts after.
            now = time.time() if now is None else now
            rows = [
                db.execute(
                    "SELECT failures, last_at, blocked_until FROM login_failures "
                    "WHERE login = ? AND address = ?",
                    (who, where),
                ).fetchone()
                for who, where, _ in keys
            ]
            wait = max((row[2] - now for row in rows if row is not None), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            for (who, where, budget), row in zip(keys, rows, strict=True):
                fresh = row is None or now - row[1] > self.forget_after
                failures = 1 if fresh else row[0] + 1
                db.execute(
                    "INSERT OR REPLACE INTO login_failures VALUES (?, ?, ?, ?, ?)",
                    (who, where, failures, now, _until(now, budget.backoff(failures))),
                )
        return 0

    def succeeded(self, login: str, address: str | None) -> None:
        """The password was right: its failures (and their share of the address) go."""
        (who, where, _), (_, _, budget) = self._keys(login, address)
        with self.transaction() as db:
            row = db.execute(
                "SELECT failures FROM login_failures WHERE login = ? AND address = ?",
                (who, where),
            ).fetchone()
            if row is None:
                return
            db.execute("DELETE FROM login_failures WHERE login = ? AND address = ?", (who, where))
            found = db.execute(
                "SELECT failures FROM login_failures WHERE login = ? AND address = ?",
                (ADDRESS_SCOPE, where),
            ).fetchone()
            if found is None:
                return
            left = max(0, found[0] - row[0])
            if left == 0:
                db.execute(
                    "DELETE FROM login_failures WHERE login = ? AND address = ?",
                    (ADDRESS_SCOPE, where),
                )
            elif budget.backoff(left) == 0:
                db.execute(
                    "UPDATE login_failures SET failures = ?, blocked_until = 0 "
                    "WHERE login = ? AND address = ?",
                    (left, ADDRESS_SCOPE, where),
                )
            else:
                db.execute(
                    "UPDATE login_failures SET failures = ? WHERE login = ? AND address = ?",
                    (left, ADDRESS_SCOPE, where),
                )

    def rows(self) -> int:
        found = self.db.execute("SELECT count(*) FROM login_failures").fetchone()
        return int(found[0])

    def _cleanup(self, now: float) -> None:
        """Forget old keys, and the oldest beyond ``max_rows``; at most once a minute."""
        with self._clean_lock:
            if now - self._cleaned < CLEANUP_EVERY:
                return
            self._cleaned = now
        with self.transaction() as db:
            db.execute(
                "DELETE FROM login_failures WHERE last_at < ? AND blocked_until < ?",
                (now - self.forget_after, now),
            )
            db.execute(
                "DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM login_failures "
                "ORDER BY last_at DESC LIMIT -1 OFFSET ?)",
                (self.max_rows,),
            )
