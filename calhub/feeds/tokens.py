"""Creating, finding and revoking feeds, and the addresses people subscribe to.

A feed's token is random (``secrets.token_urlsafe(24)``: 192 bits), shown once when it is
made and kept only hashed (:mod:`calhub.store.feeds`). A revoked or unknown token, or one
whose scope no longer exists (a calendar removed), is simply not found: the web answers 404
with no hint whether it ever existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.feeds.scopes import FeedScope
    from calhub.runtime import Runtime
    from calhub.store.feeds import FeedToken


@dataclass(frozen=True, slots=True)
class FeedAddress:
    https: str  # https://host/feeds/<token>.ics (http when the hub's address is http)
    webcal: str  # webcal://host/feeds/<token>.ics


@dataclass(frozen=True, slots=True)
class CreatedFeed:
    token: FeedToken
    scope: FeedScope
    secret: str  # the token itself: shown once, never stored
    address: FeedAddress


def feed_address(base_url: str, secret: str) -> FeedAddress:
    """The addresses of the feed with token ``secret`` on the hub at ``base_url``."""
    raise NotImplementedError


def create_feed(
    runtime: Runtime, scope_text: str, name: str, by: str, base_url: str
) -> CreatedFeed:
    """Check the scope (``UserError`` if wrong), make a token and keep its hash."""
    raise NotImplementedError


def resolve(runtime: Runtime, secret: str) -> tuple[FeedToken, FeedScope] | None:
    """The active feed of this token, or None (unknown, revoked, or its scope is gone)."""
    raise NotImplementedError
