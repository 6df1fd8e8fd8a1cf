"""Feed tokens: which feeds exist, kept hashed in ``hub.sqlite`` (hub data: backed up).

Only the SHA-256 of a token is stored; a token is found by its hash, so the table never
holds what opens a feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calhub.store.sqlitedb import ThreadLocalDatabase


@dataclass(frozen=True, slots=True)
class FeedToken:
    id: int
    scope: str  # as written: "audience:10А"
    name: str
    created_at: str  # ISO UTC, "...Z"
    created_by: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    def as_json(self) -> dict[str, object]:
        raise NotImplementedError


class FeedTokens(ThreadLocalDatabase):
    """The ``feed_tokens`` table of ``hub.sqlite``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def create(self, scope: str, name: str, by: str) -> tuple[FeedToken, str]:
        """A new feed; returns it and its token (the only time the token is known)."""
        raise NotImplementedError

    def find(self, secret: str) -> FeedToken | None:
        """The active feed of ``secret`` (None: unknown or revoked)."""
        raise NotImplementedError

    def get(self, token_id: int) -> FeedToken | None:
        raise NotImplementedError

    def query(self, include_revoked: bool = False) -> list[FeedToken]:
        """Every feed, newest first."""
        raise NotImplementedError

    def revoke(self, token_id: int, by: str) -> bool:
        """Revoke a feed; False if there is no active feed with this id."""
        raise NotImplementedError

    def touch(self, token_id: int) -> None:
        """Note that the feed was fetched (at most once a minute per feed is written)."""
        raise NotImplementedError
