"""The webhook: each batch of notices POSTed as JSON to one URL, signed with HMAC-SHA256.

The school bridges it to the messenger it uses. The body is the notices with their clash
(what, when, where, a link); ``X-Calhub-Signature: sha256=<hex>`` is the HMAC-SHA256 of the
exact body under the key from ``[notify.webhook] secret_env`` (an environment variable) or
``secret_cmd`` (a command that prints it; never the key itself in calhub.toml), and
``X-Calhub-Delivery`` is the message's idempotency key, the same on every attempt, so the
receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from calhub.hub.notify_settings import WebhookSettings
from calhub.notify.compose import Composer, Item
from calhub.notify.keys import KeyUnavailable, read_secret
from calhub.notify.smtp import SendFailed
from calhub.store.outbox import Message

__all__ = ["body", "post", "signature"]

SIGNATURE_HEADER = "X-Calhub-Signature"
DELIVERY_HEADER = "X-Calhub-Delivery"


def signature(secret: bytes, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret, payload, hashlib.sha256).hexdigest()


def body(items: Sequence[Item], composer: Composer) -> str:
    """The JSON text of one webhook call."""
    notices: list[dict[str, Any]] = []
    for item in items:
        notice, record = item.notice, item.record
        entry: dict[str, Any] = {
            "id": notice.id,
            "kind": notice.kind,
            "clash": notice.clash_id,
            "actor": notice.actor,
            "at": notice.at,
            "severity": notice.severity,
            "details": dict(notice.payload),
            "url": composer.clash_url(notice.clash_id),
            "headline": {lang: composer.headline(item, lang) for lang in ("ru", "en")},
        }
        if record is not None:
            entry["message"] = record.message.as_json()
            entry["occurrences"] = record.occurrences
        notices.append(entry)
    return json.dumps({"notices": notices}, ensure_ascii=False, sort_keys=True)


def post(settings: WebhookSettings, message: Message) -> None:
    """One POST; SendFailed (safe to log: no key, no body) unless the answer is 2xx."""
    try:
        secret = read_secret("notify.webhook", "secret", settings.secret_env, settings.secret_cmd)
    except KeyUnavailable as exc:
        raise SendFailed(str(exc)) from None
    if not secret:
        raise SendFailed("[notify.webhook] gives no signing key (secret_env or secret_cmd)")
    payload = message.text.encode()
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL checked by the schema
        settings.url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "calhub",
            SIGNATURE_HEADER: signature(secret.encode(), payload),
            DELIVERY_HEADER: message.idem_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise SendFailed(f"the webhook answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = f"cannot reach the webhook: {type(exc).__name__}: {reason}"
        raise SendFailed(text[:300]) from None
    if not 200 <= status < 300:
        raise SendFailed(f"the webhook answered {status}")
