"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

from calhub.dav.actor import Actor, acting
from calhub.dav.maintenance import open_runtime
from calhub.dav.upgrade import upgrade
from calhub.errors import UserError
from calhub.hub import Hub, resolve_data_dir
from calhub.hub.accounts import check_password_strength, generate_password
from calhub.runtime import Runtime
from calhub.store.audit import AuditLog, Origin, decision


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


def cli_login() -> str:
    """Who runs a command, for the audit log: ``cli:<system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container's bare user)
        return "cli"


@contextlib.contextmanager
def cli_actor(via: str = "cli", note: str = "") -> Iterator[Actor]:
    """Writes inside are this command's, for the audit log."""
    with acting(cli_login(), "", via, note) as actor:
        yield actor


def audit_decision(hub: Hub, action: str, subject: str, calendar: str = "") -> None:
    """The audit entry of a command's change to accounts or partners (never a password)."""
    log = AuditLog(hub.paths.hub_db)
    try:
        log.record(
            [decision(cli_login(), action, Origin("", "cli"), calendar=calendar, subject=subject)]
        )
    finally:
        log.close()


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


def write_output(output: str, body: bytes, text: bool = False) -> Path | None:
    """A file a command made, written to ``output`` (``-``: standard output, then None;
    ``text``: UTF-8 text, written as text, so that a captured stdout takes it too)."""
    if output == "-":
        if text:
            sys.stdout.write(body.decode("utf-8"))
        else:
            sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return None
    target = Path(output)
    if not target.parent.is_dir():
        raise UserError(
            f"Нет папки {target.parent}. / There is no directory {target.parent}.",
            "Создайте её или укажите другой -o. / Create it or give another -o.",
        )
    try:
        target.write_bytes(body)
    except OSError as exc:
        raise UserError(
            f"Не удалось записать {target}: {exc.strerror}. / Could not write {target}: "
            f"{exc.strerror}.",
            "Проверьте права на папку. / Check the directory's permissions.",
        ) from exc
    return target
