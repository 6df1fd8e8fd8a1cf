"""Creating, finding and revoking feeds, and the addresses people subscribe to.

A feed's token is random (``secrets.token_urlsafe(24)``: 192 bits), shown once when it is
made and kept only hashed (:mod:`calhub.store.feeds`). A revoked or unknown token, or one
whose scope no longer exists (a calendar removed), is simply not found: the web answers 404
with no hint whether it ever existed.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calhub.errors import UserError
from calhub.feeds.scopes import parse_scope
from calhub.hub.settings import check_public_url

if TYPE_CHECKING:
    from calhub.feeds.scopes import FeedScope
    from calhub.runtime import Runtime
    from calhub.store.audit import Origin
    from calhub.store.feeds import FeedToken

logger = logging.getLogger(__name__)

MAX_NAME = 200
# Where the hub is when nobody said: ``calhub serve``'s default address.
FALLBACK_BASE_URL = "http://127.0.0.1:5232"


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


def check_base_url(base_url: str) -> str:
    """The hub's address without a trailing slash; ``UserError`` when it is not one."""
    try:
        checked = check_public_url(base_url)
        problem = "адрес пуст / the address is empty"
    except ValueError as exc:
        checked, problem = "", str(exc)
    if not checked:
        raise UserError(
            f"Адрес хаба не годится / Not a usable address of the hub: {problem}.",
            hint="Укажите адрес, по которому хаб открывают, например "
            "https://calendar.school.example / Give the address people open the hub at, "
            "e.g. https://calendar.school.example.",
        )
    return checked


def feed_address(base_url: str, secret: str) -> FeedAddress:
    """The addresses of the feed with token ``secret`` on the hub at ``base_url``.

    The https (or http, as the base says) address is for Outlook and Google; the webcal one
    has the same host and path, for phones and Apple's apps, which open it as a subscription.
    """
    base = check_base_url(base_url)
    scheme, rest = base.split("://", 1)
    path = f"{rest}/feeds/{secret}.ics"
    return FeedAddress(https=f"{scheme}://{path}", webcal=f"webcal://{path}")


def check_name(name: str) -> str:
    """A feed's name, as people will read it in a list: one line, not too long."""
    text = " ".join(name.split())
    if len(text) > MAX_NAME or any(unicodedata.category(ch).startswith("C") for ch in text):
        raise UserError(
            f"Название ленты длиннее {MAX_NAME} знаков или содержит управляющие символы / "
            f"The feed's name is longer than {MAX_NAME} characters or has control characters.",
            hint='Например / For example: --name "10А для родителей"',
        )
    return text


def create_feed(
    runtime: Runtime,
    scope_text: str,
    name: str,
    by: str,
    base_url: str,
    origin: Origin | None = None,
) -> CreatedFeed:
    """Check the scope (``UserError`` if wrong), make a token and keep its hash."""
    scope = parse_scope(scope_text, runtime)
    checked_name = check_name(name)
    check_base_url(base_url)  # before a token exists, so a wrong address leaves none behind
    token, secret = runtime.feeds.create(str(scope), checked_name, by, origin=origin)
    return CreatedFeed(token, scope, secret, feed_address(base_url, secret))


def resolve(runtime: Runtime, secret: str) -> tuple[FeedToken, FeedScope] | None:
    """The active feed of this token, or None (unknown, revoked, or its scope is gone)."""
    token = runtime.feeds.find(secret)
    if token is None:
        return None
    try:
        scope = parse_scope(token.scope, runtime)
    except UserError as exc:
        # A calendar archived or a group removed since: the feed shows nothing any more.
        logger.info("Feed %d no longer has a scope (%s): %s", token.id, token.scope, exc)
        return None
    runtime.feeds.touch(token.id)
    return token, scope
