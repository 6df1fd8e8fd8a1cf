"""Who hears about a notice, and whether at once or in the daily digest.

The people involved are those who may see the clash (the coordinators, and the partners
whose calendars are in it: :meth:`calhub.hub.policy.Policy.can_see_clash`); a request to
move an event concerns the coordinators and the partner asked. Nobody hears about what they
did themselves; an account without an address, or with ``notify = "off"``, hears nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from calhub.hub.accounts import Account
from calhub.hub.notify_settings import NotifySettings
from calhub.hub.policy import Policy
from calhub.store.outbox import Notice

__all__ = ["Addressee", "addressees"]


@dataclass(frozen=True, slots=True)
class Addressee:
    account: Account
    digest: bool  # True: in the daily digest only


def _concerned(notice: Notice, calendars: Collection[str]) -> Collection[str]:
    """The calendars whose people a notice is for."""
    if notice.kind.startswith("move-"):
        asked = notice.payload.get("calendar")
        return [str(asked)] if asked else calendars
    return calendars


def addressees(
    notice: Notice,
    calendars: Collection[str],
    accounts: Iterable[Account],
    policy: Policy,
    settings: NotifySettings,
) -> list[Addressee]:
    """The accounts that hear about ``notice`` (a clash between events of ``calendars``)."""
    soft = notice.severity == "soft" and not notice.kind.startswith("move-")
    if soft and settings.soft == "off":
        return []
    concerned = _concerned(notice, calendars)
    found = []
    for account in accounts:
        if not account.email or account.notify == "off" or account.login == notice.actor:
            continue
        if not policy.can_see_clash(account, concerned):
            continue
        digest = account.notify == "digest" or (soft and settings.soft == "digest")
        found.append(Addressee(account, digest))
    return found
