"""``calhub`` command line: one parser, one sub-module per command group, one error handler.

Every command takes ``--data DIR`` (default ``$CALHUB_DATA``, else ``./calhub-data``).
Errors the user can fix are printed with what to do next; anything else is a bug and is
printed with a pointer to the log instead of a bare traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from calhub import __version__
from calhub.errors import CalhubError, UserError

logger = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
EXIT_BUG = 70


def data_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        metavar="DIR",
        help="hub data directory (default: $CALHUB_DATA, else ./calhub-data)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    return common


def build_parser() -> argparse.ArgumentParser:
    from calhub.cli import (
        account,
        audit,
        backup,
        conflicts,
        export,
        feed,
        feedback,
        importing,
        index,
        init,
        notify,
        partner,
        report,
        restore,
        serve,
        slots,
        source,
    )

    parser = argparse.ArgumentParser(
        prog="calhub",
        description="Calendar federation hub for a school and its partners.",
        epilog="Start with 'calhub demo' to see a hub with sample data.",
    )
    parser.add_argument("--version", action="version", version=f"calhub {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = data_option()
    for module in (
        init,
        partner,
        account,
        serve,
        conflicts,
        index,
        backup,
        restore,
        feed,
        slots,
        importing,
        export,
        report,
        notify,
        source,
        audit,
        feedback,
    ):
        module.register(subparsers, common)
    return parser


def setup_logging(verbose: bool, serving: bool) -> None:
    """Commands print their results; a server also logs one access line per request."""
    level = logging.DEBUG if verbose else logging.INFO if serving else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Radicale narrates its start-up at INFO; keep that for --verbose.
    logging.getLogger("radicale").setLevel(logging.DEBUG if verbose else logging.WARNING)


def handle_cli_error(error: BaseException) -> int:
    """Print an error for a person and return the exit status."""
    if isinstance(error, UserError):
        print(f"calhub: error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"calhub: {error.hint}", file=sys.stderr)
        return EXIT_USER_ERROR
    if isinstance(error, KeyboardInterrupt):
        print("calhub: interrupted", file=sys.stderr)
        return 130
    if isinstance(error, CalhubError):
        print(f"calhub: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    logger.error("Unexpected error", exc_info=error)
    print(
        f"calhub: unexpected error: {error!r}. This is a bug in calhub; the log above has "
        "the details. Please report it with the command you ran.",
        file=sys.stderr,
    )
    return EXIT_BUG


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", False), args.command in ("serve", "demo"))
    try:
        result: int = args.handler(args)
    except Exception as error:  # noqa: BLE001 - the one place that turns errors into messages
        return handle_cli_error(error)
    except KeyboardInterrupt as error:
        return handle_cli_error(error)
    return result
