"""Signed feedback links, the device cookie, and the per-occurrence device key.

A link names the event (calendar, UID) and, for one occurrence of a series, its
RECURRENCE-ID, signed with the hub's feedback key (``feedback-secret.key`` in the data
directory, made on first use; ``calhub backup`` keeps it, so printed QR codes survive a
restore). Nobody can make a link to an event the hub did not print: guessing or walking
UIDs gets "no such link". A link without an occurrence rates the series' latest occurrence
that has started, so the one description of a recurring event in a feed works every week.

The device cookie holds a random id, signed so a client cannot choose one. What the store
keeps is ``device_key``: an HMAC of that id and the occurrence, so it answers "has this
device rated this occurrence?" and cannot link one device's answers across events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, Signer, URLSafeSerializer
from itsdangerous.timed import TimestampSigner

from calhub.hub.keyfiles import load_or_create_key

if TYPE_CHECKING:
    from calhub.hub import Hub

KEY_NAME = "feedback-secret.key"
DEVICE_COOKIE = "calhub_device"
DEVICE_COOKIE_DAYS = 400  # browsers cap cookies at 400 days (RFC 6265bis)
MAX_TOKEN_CHARS = 2000
FORM_PATH = "/f/"


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a link names: an event, and one occurrence of it or (None) its latest."""

    calendar: str
    uid: str
    recurrence_id: str | None = None


class FeedbackKeys:
    """Everything signed with the hub's feedback key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._links = URLSafeSerializer(key, salt="calhub.feedback.link")
        self._devices = Signer(key, salt="calhub.feedback.device")
        self._stamps = TimestampSigner(key, salt="calhub.feedback.form")

    # -- links ---------------------------------------------------------------------------

    def token(self, target: LinkTarget) -> str:
        """The link's token (``/f/<token>``)."""
        parts: list[str] = [target.calendar, target.uid]
        if target.recurrence_id is not None:
            parts.append(target.recurrence_id)
        return str(self._links.dumps(parts))

    def target(self, token: str) -> LinkTarget | None:
        """What a token names; None for anything the hub did not sign."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            parts = self._links.loads(token)
        except (BadSignature, ValueError):
            return None
        if (
            not isinstance(parts, list)
            or len(parts) not in (2, 3)
            or not all(isinstance(p, str) for p in parts)
        ):
            return None
        return LinkTarget(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    # -- the device cookie ---------------------------------------------------------------

    def new_device(self) -> tuple[str, str]:
        """A new device id and the cookie value that carries it."""
        device = secrets.token_urlsafe(18)
        return device, self._devices.sign(device).decode("ascii")

    def device_of(self, cookie: str | None) -> str | None:
        """The device id in a cookie value, or None when there is none or it is forged."""
        if not cookie or len(cookie) > 200:
            return None
        try:
            return self._devices.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None

    def device_key(self, device: str, calendar: str, uid: str, occurrence: dt.datetime) -> str:
        """What the store keeps of a device: unique per device and occurrence, unlinkable."""
        text = "\0".join((device, calendar, uid, occurrence.astimezone(dt.UTC).isoformat()))
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    # -- the time on the form ------------------------------------------------------------

    def form_stamp(self) -> str:
        """A signed stamp of now, put in the form; its age is the time spent on it."""
        return self._stamps.sign(b"form").decode("ascii")

    def form_age(self, stamp: str | None, now: dt.datetime | None = None) -> float | None:
        """Seconds since the form was served; None for a missing or forged stamp."""
        if not stamp or len(stamp) > 200:
            return None
        try:
            _value, signed_at = self._stamps.unsign(stamp, return_timestamp=True)
        except (BadSignature, UnicodeDecodeError):
            return None
        moment = now or dt.datetime.now(dt.UTC)
        return (moment - signed_at).total_seconds()


def feedback_keys(hub: Hub) -> FeedbackKeys:
    """The hub's feedback keys (the key file is made on first use)."""
    return FeedbackKeys(load_or_create_key(hub.root / KEY_NAME))


def form_url(base_url: str, keys: FeedbackKeys, target: LinkTarget) -> str:
    """The whole address of the form, e.g. ``https://calendar.school.example/f/<token>``."""
    return base_url.rstrip("/") + FORM_PATH + keys.token(target)
