"""``calhub source add|list|sync|remove``: external calendars mirrored into partner calendars.

A source is fetched by ``calhub serve`` on its interval; ``sync`` runs one now, here. Its
password is never given on the command line nor kept: ``--password-env`` names a variable
of the server's environment, ``--password-cmd`` a command that prints it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import zoneinfo

from calhub.cli.common import runtime_of
from calhub.errors import UserError
from calhub.sources.manage import NewSource, add_source, parse_every, remove_source
from calhub.sources.sync import sync_source
from calhub.store.audit import Origin
from calhub.store.sources import KINDS, Source

CREATED_BY = "cli"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "source",
        help="mirror partners' own calendars (ICS, CalDAV, another hub's feed) into the hub",
        description="Внешние календари партнёров, зеркалируемые в их календари хаба / "
        "A partner's own calendar, mirrored one way into its hub calendar.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", parents=[common], help="add a source (synced at once)")
    add.add_argument("partner", metavar="PARTNER", help="the partner whose calendar mirrors it")
    add.add_argument("url", metavar="URL", help="the calendar's address (https, webcal)")
    add.add_argument("--kind", choices=KINDS, default="ics", help="ics (default) or caldav")
    add.add_argument("--username", default="", help="login at the source, if it needs one")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-env", default="", metavar="VAR", help="variable holding the password"
    )
    secret.add_argument(
        "--password-cmd", default="", metavar="CMD", help="command that prints the password"
    )
    add.add_argument("--every", default="15m", help="how often to sync (default: %(default)s)")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", parents=[common], help="list sources and their status")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=run_list)

    sync = actions.add_parser("sync", parents=[common], help="sync one source now")
    sync.add_argument("id", metavar="ID", help="the source's number from 'calhub source list'")
    sync.add_argument("--json", action="store_true", help="print one JSON object")
    sync.set_defaults(handler=run_sync)

    remove = actions.add_parser(
        "remove", parents=[common], help="remove a source and the events mirrored from it"
    )
    remove.add_argument("id", metavar="ID", help="the source's number from 'calhub source list'")
    remove.add_argument("--json", action="store_true", help="print one JSON object")
    remove.set_defaults(handler=run_remove)


def _source_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise UserError(
            f"{text!r} — не номер источника / is not a source number.",
            hint="Номера источников / Source numbers: calhub source list",
        )
    return int(text)


def _local(stamp: str | None, zone: zoneinfo.ZoneInfo) -> str:
    if not stamp:
        return "-"
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def run_add(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    new = NewSource(
        partner=args.partner,
        url=args.url,
        kind=args.kind,
        username=args.username,
        password_env=args.password_env,
        password_cmd=args.password_cmd,
        every_seconds=parse_every(args.every),
    )
    source = add_source(runtime, new, CREATED_BY, origin=Origin("", "cli"))
    if args.json:
        print(json.dumps(source.as_json(), ensure_ascii=False))
        return 0
    print(
        f"Источник {source.id} добавлен: {source.url} → {source.calendar} "
        f"(каждые {source.interval_seconds // 60} мин). / Source {source.id} added: "
        f"{source.url} → {source.calendar} (every {source.interval_seconds // 60} min)."
    )
    print(
        f"calhub serve синхронизирует его сразу; сейчас и здесь / syncs it at once; now: "
        f"calhub source sync {source.id}"
    )
    return 0


def _status(source: Source) -> str:
    if source.last_error:
        return f"ошибка / error: {source.last_error}"
    if source.last_success_at is None:
        return "ещё не синхронизирован / not synced yet"
    counts = source.counts
    return (
        f"+{counts.added} ~{counts.changed} -{counts.removed} refused {counts.refused}, "
        f"{counts.mirrored} mirrored"
    )


def run_list(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    sources = runtime.sources.query()
    if args.json:
        print(json.dumps([source.as_json() for source in sources], ensure_ascii=False))
        return 0
    if not sources:
        print(
            "Источников пока нет / No sources yet. "
            "calhub source add bfu https://bfu.example/calendar.ics"
        )
        return 0
    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    for source in sources:
        print(f"{source.id:>4}  {source.calendar:<12} {source.kind:<6} {source.url}")
        print(
            f"      last success {_local(source.last_success_at, zone)}, "
            f"next run {_local(source.next_run_at, zone)}: {_status(source)}"
        )
        if source.note:
            print(f"      {source.note}")
    print(f"({runtime.settings.timezone})")
    return 0


def run_sync(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    outcome = sync_source(runtime, _source_id(args.id))
    source = runtime.sources.get(outcome.source)
    if args.json:
        shown = source.as_json() if source is not None else {"id": outcome.source}
        print(json.dumps(shown | {"not_modified": outcome.counts is None and not outcome.error}))
        return 0 if not outcome.error else 2
    if outcome.error:
        raise UserError(
            f"Источник {outcome.source} не синхронизирован: {outcome.error}",
            hint="The hub's events are as they were; it tries again with a growing pause, or "
            f"run 'calhub source sync {outcome.source}' after fixing the source.",
        )
    if outcome.counts is None:
        print(f"Источник {outcome.source} не изменился. / Source {outcome.source} has not changed.")
        return 0
    counts = outcome.counts
    print(
        f"Источник {outcome.source}: добавлено {counts.added}, изменено {counts.changed}, "
        f"удалено {counts.removed}, отклонено {counts.refused}. / Source {outcome.source}: "
        f"{counts.added} added, {counts.changed} changed, {counts.removed} removed, "
        f"{counts.refused} refused."
    )
    if outcome.note:
        print(outcome.note)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    source, removed = remove_source(
        runtime, _source_id(args.id), CREATED_BY, origin=Origin("", "cli")
    )
    if args.json:
        print(json.dumps({"id": source.id, "removed_events": removed}))
        return 0
    print(
        f"Источник {source.id} удалён вместе с {removed} событиями, скопированными из него; "
        f"события, записанные в хабе, не тронуты. / Source {source.id} removed, with the "
        f"{removed} events mirrored from it; events written in the hub are untouched."
    )
    return 0
