"""``calhub restore FILE``: a backup archive back into a data directory, checked first."""

from __future__ import annotations

import argparse
from pathlib import Path

from calhub.cli.common import data_dir
from calhub.dav.restore import restore


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "restore",
        parents=[common],
        help="restore a backup archive into a data directory",
        description="Check a calhub-backup-*.tar.gz whole (its files, their paths and sizes, "
        "the config, the accounts, hub.sqlite), then unpack it into --data, rebuild the "
        "occurrence index and verify it. A directory that is not empty is replaced only with "
        "--force, and never while a server uses it. A refused archive changes nothing.",
    )
    parser.add_argument("file", metavar="FILE", help="the archive 'calhub backup' wrote")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the hub in --data (what is there now is lost; stop the server first)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = data_dir(args)
    restored = restore(Path(args.file).absolute(), root, force=args.force)
    verb = "Replaced the hub in" if restored.replaced else "Restored into"
    print(f"{verb} {root} from {args.file}")
    print(
        f"Index rebuilt and verified: {restored.events} objects, "
        f"{restored.occurrences} occurrences."
    )
    print(f"Next: calhub serve --data {root} (or systemctl start calhub)")
    return 0
