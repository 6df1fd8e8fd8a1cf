"""``calhub init``: create a hub with the coordinator account and the school's calendars."""

from __future__ import annotations

import argparse
import logging

from calhub.cli.common import data_dir, read_password
from calhub.dav import calendars
from calhub.dav.maintenance import open_runtime
from calhub.errors import UserError
from calhub.hub import Hub, HubPaths, configfile, dataformat
from calhub.hub.accounts import AccountStore, check_email
from calhub.hub.settings import CalendarSettings, check_timezone

logger = logging.getLogger(__name__)

COORDINATOR = "coordinator"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "init",
        parents=[common],
        help="create a new hub",
        description="Create a hub: its config, the coordinator account and the school's two "
        "calendars (events, and exams/holidays).",
    )
    parser.add_argument("--school", required=True, help="name of the school")
    parser.add_argument(
        "--timezone", default="Europe/Kaliningrad", help="IANA time zone (default: %(default)s)"
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the coordinator password from standard input instead of generating one",
    )
    parser.add_argument(
        "--email", default="", metavar="ADDR", help="the coordinator's address for clash notices"
    )
    parser.set_defaults(handler=run)


def school_calendars(school: str) -> tuple[CalendarSettings, CalendarSettings]:
    return (
        CalendarSettings(id="school", name=school, color="#1F6FEB", role="school"),
        CalendarSettings(
            id="blackout", name=f"{school}: экзамены и каникулы", color="#6E7781", role="blackout"
        ),
    )


def create_hub(
    paths: HubPaths,
    school: str,
    timezone: str,
    password: str,
    extra: tuple[CalendarSettings, ...] = (),
    email: str = "",
) -> Hub:
    """Write a new hub to disk and provision its calendars. ``extra`` are more calendars."""
    if paths.config.exists():
        raise UserError(
            f"There is a hub in {paths.root} already.",
            hint="Use it as it is, or choose another directory with --data.",
        )
    try:
        timezone = check_timezone(timezone)
    except ValueError as exc:
        raise UserError(f"--timezone: {exc}", hint="Use a name like Europe/Kaliningrad.") from exc
    if not school.strip():
        raise UserError("--school must not be empty.", hint='Use e.g. --school "Гимназия №32".')
    email = check_email(email)
    paths.root.mkdir(parents=True, exist_ok=True)
    # A new hub is of the current data format (the marker before the hub is opened).
    dataformat.write_format(paths.root)
    document = configfile.new_document(school.strip(), timezone)
    for calendar in (*school_calendars(school.strip()), *extra):
        configfile.add_calendar(document, calendar)
    configfile.save_document(paths.root, document)
    AccountStore(paths.accounts).add(
        COORDINATOR, "coordinator", "Координатор", password, email=email
    )
    hub = Hub(paths.root)
    runtime = open_runtime(hub)
    for calendar in hub.settings.calendars:
        calendars.provision(runtime, calendar)
    # Leave the databases closed and checkpointed: the hub is complete on disk.
    runtime.close()
    return hub


def run(args: argparse.Namespace) -> int:
    paths = HubPaths(data_dir(args))
    password, generated = read_password(args.password_stdin)
    hub = create_hub(paths, args.school, args.timezone, password, email=args.email)
    print(f"Created hub '{hub.settings.school}' in {paths.root}")
    print(
        "Calendars: /dav/school/calendar/ (school events), /dav/school/blackout/ (exams, holidays)"
    )
    if generated:
        print(f"Coordinator login: {COORDINATOR}")
        print(f"Coordinator password (shown once, keep it safe): {password}")
    print(f"Next: calhub partner add ID --name NAME --data {paths.root}, then calhub serve")
    return 0
