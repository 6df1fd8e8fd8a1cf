"""``calhub backup``: one archive with everything that is not cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from calhub.cli.common import runtime_of
from calhub.dav.backup import backup


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "backup",
        parents=[common],
        help="write a backup archive (events, accounts, config, clash approvals)",
        description="Write calhub-backup-<time>.tar.gz with the calendars, accounts, config "
        "and hub.sqlite whole (clash approvals and history, feed tokens, the outbox, refused "
        "writes). Safe while the server runs. Restore it with 'calhub restore FILE --data "
        "DIR'.",
    )
    parser.add_argument("--to", required=True, metavar="DIR", help="directory for the archive")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    archive = backup(runtime_of(args), Path(args.to).absolute())
    print(f"Backup written: {archive}")
    print(f"Restore: calhub restore {archive} --data NEWDIR")
    return 0
