"""``calhub index verify|rebuild``: the occurrence index is a cache of storage."""

from __future__ import annotations

import argparse

from calhub.cli.common import runtime_of
from calhub.dav.maintenance import rebuild_index, verify_index


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "index",
        help="check or rebuild the occurrence index",
        description="The index is a cache of Radicale's storage; rebuilding it loses nothing "
        "(clash approvals live in hub.sqlite).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", parents=[common], help="compare the index with storage (exit 1 if they differ)"
    )
    verify.add_argument("--repair", action="store_true", help="fix what differs")
    verify.set_defaults(handler=run_verify)
    rebuild = actions.add_parser("rebuild", parents=[common], help="rebuild it from storage")
    rebuild.set_defaults(handler=run_rebuild)


def run_verify(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    problems = verify_index(runtime, repair=args.repair)
    if not problems:
        items, occurrences = runtime.index.count()
        print(f"Index agrees with storage: {items} objects, {occurrences} occurrences.")
        return 0
    for problem in problems:
        print(f"differs: {problem}")
    if args.repair:
        print("Repaired.")
        return 0
    print("Run 'calhub index verify --repair' or 'calhub index rebuild' to fix it.")
    return 1


def run_rebuild(args: argparse.Namespace) -> int:
    items, occurrences, seconds = rebuild_index(runtime_of(args))
    print(f"Rebuilt the index: {items} objects, {occurrences} occurrences in {seconds:.1f} s.")
    return 0
