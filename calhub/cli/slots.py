"""``calhub slots``: free times for an audience, as ``GET /api/slots`` finds them.

Each line is one slot in the hub's time zone, nearest to ``--near`` first: green ones raise
no clash, amber ones only soft clashes, listed under them. Works while the server runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from calhub.cli.common import runtime_of
from calhub.runtime.slots import DEFAULT_LIMIT, find_slots, read_query, slot_json

_MARK = {"green": "свободно / free", "amber": "есть замечания / soft clashes"}


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "slots",
        parents=[common],
        help="find free times for an audience (no hard clash, outside lessons)",
        description="Find times when an event for AUDIENCE raises no hard clash: the "
        "audience's events in every calendar, blackouts, the venue's bookings and the other "
        "rules count as in a write, and [schedule] keeps lesson times out. Nearest to --near "
        "(default: the first day) first.",
    )
    parser.add_argument("--audience", required=True, help="grades or classes, e.g. 10А or 10-11")
    parser.add_argument(
        "--duration", required=True, help="how long: 90 or 90m (minutes), 1h30m, 1:30"
    )
    parser.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day")
    parser.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day")
    parser.add_argument("--venue", metavar="V", help="where, as people write it (its bookings)")
    parser.add_argument(
        "--near", metavar="TIME", help="the wished time, YYYY-MM-DDTHH:MM in hub time"
    )
    parser.add_argument(
        "--limit", default=DEFAULT_LIMIT, metavar="N", help=f"how many (default {DEFAULT_LIMIT})"
    )
    parser.add_argument("--json", action="store_true", help="print JSON, as GET /api/slots")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    query = read_query(
        runtime,
        audience=args.audience,
        duration=args.duration,
        start=args.start,
        end=args.end,
        venue=args.venue,
        near=args.near,
        limit=args.limit,
    )
    zone = runtime.parts.config.zone
    found = find_slots(runtime, query)
    if args.json:
        json.dump([slot_json(s, zone) for s in found], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not found:
        print(
            f"Свободного времени для {query.audience.label()} не найдено. / "
            f"No free time for {query.audience.label('en')}.\n"
            "Try a wider --from/--to, a shorter --duration or another --venue; "
            "[schedule] in calhub.toml sets the hours."
        )
        return 0
    for slot in found:
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        print(f"{start:%Y-%m-%d %a %H:%M}–{end:%H:%M}  {_MARK[slot.grade]}")
        for clash in slot.soft:
            print(f"    {clash.rule}: {clash.message_ru}")
            print(f"    {' ' * len(clash.rule)}  {clash.message_en}")
    return 0
