"""What the coordinator is told about the hub's notifications on the dashboard (issue 17):
that no e-mail goes out at all without a ``[notify.smtp] host``, and how the e-mail and the
webhook channel are doing (the newest delivery, the error that holds messages back).

Shown on the pages where a coordinator would wonder why nobody heard of a clash: the
clashes, the partners and the home page, and the notification settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from calhub.hub.accounts import Account
from calhub.runtime import Runtime
from calhub.store.outbox import EMAIL, WEBHOOK, ChannelState

__all__ = ["NotifyStatus", "notify_status"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotifyStatus:
    email_enabled: bool
    smtp: str  # host:port, or "" when e-mail is off
    webhook_url: str
    notices_waiting: int
    email: ChannelState
    webhook: ChannelState


def notify_status(runtime: Runtime, account: Account | None) -> NotifyStatus | None:
    """The notifications' state for a coordinator; None for anyone else."""
    if account is None or not runtime.policy.may_coordinate(account):
        return None
    notify = runtime.settings.notify
    outbox = runtime.outbox
    return NotifyStatus(
        email_enabled=notify.email_enabled,
        smtp=f"{notify.smtp.host}:{notify.smtp.port}" if notify.email_enabled else "",
        webhook_url=notify.webhook.url,
        notices_waiting=outbox.count_pending(),
        email=outbox.channel_state(EMAIL),
        webhook=outbox.channel_state(WEBHOOK),
    )
