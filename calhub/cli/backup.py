"""``calhub backup``: one archive with everything that is not cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from calhub.cli.common import runtime_of
from calhub.dav.backup import backup, rotate
from calhub.errors import UserError


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
    parser.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="then delete all but the newest N backups in DIR (the nightly timer keeps 30)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.keep is not None and args.keep < 1:
        raise UserError(
            f"--keep {args.keep}: keep at least the backup just written.",
            hint="Use --keep 1 or more, e.g. --keep 30 for a month of nightly backups.",
        )
    target = Path(args.to).absolute()
    archive = backup(runtime_of(args), target)
    print(f"Backup written: {archive}")
    if args.keep is not None:
        removed = rotate(target, args.keep)
        print(f"Kept the newest {args.keep} backups in {target}; removed {len(removed)} older.")
    print(f"Restore: calhub restore {archive} --data NEWDIR")
    return 0
