"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from calhub.dav.maintenance import open_runtime
from calhub.dav.upgrade import upgrade
from calhub.errors import UserError
from calhub.hub import Hub, resolve_data_dir
from calhub.hub.accounts import check_password_strength, generate_password
from calhub.runtime import Runtime


def data_dir(args: argparse.Namespace) -> Path:
    return resolve_data_dir(getattr(args, "data", None))


def open_hub(args: argparse.Namespace) -> Hub:
    """The hub named by ``--data``: refused when a newer calhub wrote it, upgraded first
    (a backup, then the steps) when an older one did."""
    hub = Hub(data_dir(args))
    if hub.needs_upgrade:
        upgrade(hub)
    return hub


def runtime_of(args: argparse.Namespace) -> Runtime:
    """The hub named by ``--data`` at work: its stores and engine, for one command."""
    return open_runtime(open_hub(args))


def read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password and whether it was generated (and so must be shown once)."""
    if not from_stdin:
        return generate_password(), True
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise UserError(
            "--password-stdin was given but standard input had no password.",
            hint="Pipe the password in, e.g. printf '%s\\n' \"$PASSWORD\" | calhub ..., "
            "or leave out --password-stdin to get a generated one.",
        )
    check_password_strength(password)
    return password, False
