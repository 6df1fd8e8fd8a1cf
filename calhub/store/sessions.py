"""Web sessions that end on the server: a per-account session generation in ``hub.sqlite``.

A session cookie is signed, not stored, so without this a copied cookie would open the
dashboard until it expired whatever its owner did. Each account has a generation, a random
token: a session carries the one current when it began and is valid only while it is still
current. Signing out, ``calhub partner passwd`` and a password change draw a new one, which
ends every session of that account, in every browser and every server process at once.

The token is random rather than a counter so that losing the table (a restore of an older
``hub.sqlite``) ends sessions instead of bringing old ones back.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from calhub.store.sqlitedb import ThreadLocalDatabase

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS session_generations (
    login TEXT PRIMARY KEY,
    generation TEXT NOT NULL
);
"""


class SessionGenerations(ThreadLocalDatabase):
    """The ``session_generations`` table of ``hub.sqlite`` (hub data: every commit synced)."""

    SCHEMA = SCHEMA

    def current(self, login: str) -> str:
        """The login's generation, drawn on first use."""
        row = self.db.execute(
            "SELECT generation FROM session_generations WHERE login = ?", (login,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO session_generations VALUES (?, ?)",
                (login, secrets.token_urlsafe(16)),
            )
            row = db.execute(
                "SELECT generation FROM session_generations WHERE login = ?", (login,)
            ).fetchone()
        return str(row[0])

    def bump(self, login: str) -> None:
        """End every session of ``login``."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO session_generations VALUES (?, ?)",
                (login, secrets.token_urlsafe(16)),
            )
        logger.info("Every web session of %r has ended", login)
