"""``calhub feed create|list|revoke``: the feeds people without an account subscribe to.

A feed's address holds its token, which the hub keeps only hashed: ``create`` is the one
time it is shown. Whoever has the address reads the feed, so losing one means revoking it
and making a new one, never finding the old token again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import zoneinfo

from calhub.cli.common import runtime_of
from calhub.errors import UserError
from calhub.feeds.tokens import FALLBACK_BASE_URL, create_feed
from calhub.store.audit import Origin
from calhub.store.feeds import FeedToken

CREATED_BY = "cli"
SCOPE_HELP = "all | calendar:ID | audience:SPEC (e.g. audience:10А) | busy:SPEC | conflicts"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "feed",
        help="manage subscription feeds (webcal) for people without an account",
        description="Ленты для подписки без учётной записи (ученики, родители, учителя) / "
        "Subscription feeds for people without an account: /feeds/<token>.ics.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create", parents=[common], help="make a feed and print its addresses (shown once)"
    )
    create.add_argument("--scope", required=True, metavar="SCOPE", help=SCOPE_HELP)
    create.add_argument("--name", default="", help="what the feed is for, e.g. '10А, родители'")
    create.add_argument(
        "--url",
        metavar="BASE",
        help="the hub's address as people reach it (default: [public] url in calhub.toml)",
    )
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", parents=[common], help="list feeds (never their tokens)")
    listing.add_argument("--all", action="store_true", help="include revoked feeds")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser(
        "revoke", parents=[common], help="revoke a feed: its address stops working at once"
    )
    revoke.add_argument("id", metavar="ID", help="the feed's number from 'calhub feed list'")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    base_url = args.url if args.url is not None else runtime.settings.public_url
    fallback = not base_url
    if fallback:
        base_url = FALLBACK_BASE_URL
    created = create_feed(
        runtime, args.scope, args.name, CREATED_BY, base_url, origin=Origin("", "cli")
    )
    if fallback:
        print(
            f"calhub: внимание: адрес хаба не задан, адреса лент начинаются с {base_url}; "
            "задайте [public] url в calhub.toml или --url / "
            f"warning: the hub's address is not set, feed addresses start with {base_url}; "
            "set [public] url in calhub.toml or pass --url",
            file=sys.stderr,
        )
    if args.json:
        shown = created.token.as_json() | {
            "url": created.address.https,
            "webcal": created.address.webcal,
        }
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    token = created.token
    print(f"Лента / Feed {token.id}: {token.scope}" + (f" ({token.name})" if token.name else ""))
    print(f"  {created.address.https}")
    print(f"  {created.address.webcal}")
    print(
        "Адрес показан только сейчас: сохраните его, хаб хранит лишь его хэш. "
        "Кто знает адрес, тот видит ленту."
    )
    print(
        "The address is shown only this once: keep it, the hub stores only its hash. "
        "Whoever has the address can read the feed."
    )
    print(f"Отозвать / To revoke: calhub feed revoke {token.id}")
    if created.scope.coordinator_only:
        print(
            "Эта лента показывает все открытые накладки: только для координатора. / "
            "This feed shows every open clash: for the coordinator only."
        )
    return 0


def _local(stamp: str | None, zone: zoneinfo.ZoneInfo) -> str:
    if stamp is None:
        return "-"
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def run_list(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    feeds = runtime.feeds.query(include_revoked=args.all)
    if args.json:
        print(json.dumps([feed.as_json() for feed in feeds], ensure_ascii=False))
        return 0
    if not feeds:
        print("Лент пока нет / No feeds yet. calhub feed create --scope audience:10А --name '10А'")
        return 0
    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    print(f"{'ID':>4}  {'SCOPE':<22} {'NAME':<24} {'CREATED':<16}  {'LAST USED':<16}  REVOKED")
    for feed in feeds:
        print(
            f"{feed.id:>4}  {feed.scope:<22} {feed.name or '-':<24} "
            f"{_local(feed.created_at, zone):<16}  {_local(feed.last_used_at, zone):<16}  "
            f"{_local(feed.revoked_at, zone)}"
        )
    print(f"({runtime.settings.timezone})")
    return 0


def _feed_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise UserError(
            f"{text!r} — не номер ленты / is not a feed number.",
            hint="Номера лент / Feed numbers: calhub feed list",
        )
    return int(text)


def _no_such_feed(feed_id: int, feed: FeedToken | None, zone: zoneinfo.ZoneInfo) -> UserError:
    if feed is None:
        return UserError(
            f"Ленты {feed_id} нет / There is no feed {feed_id}.",
            hint="Номера лент / Feed numbers: calhub feed list",
        )
    when = _local(feed.revoked_at, zone)
    return UserError(
        f"Лента {feed_id} уже отозвана ({when}) / Feed {feed_id} was revoked already ({when}).",
        hint="Действующие ленты / Active feeds: calhub feed list",
    )


def run_revoke(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    feed_id = _feed_id(args.id)
    if not runtime.feeds.revoke(feed_id, CREATED_BY, origin=Origin("", "cli")):
        zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
        raise _no_such_feed(feed_id, runtime.feeds.get(feed_id), zone)
    feed = runtime.feeds.get(feed_id)
    scope = feed.scope if feed is not None else ""
    print(
        f"Лента {feed_id} ({scope}) отозвана: её адрес больше не открывается. / "
        f"Feed {feed_id} ({scope}) revoked: its address no longer opens."
    )
    return 0
