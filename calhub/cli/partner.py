"""``calhub partner add|list|edit|passwd|remove``: partner organisations and their accounts.

``edit`` sets what the public projects page (``/public/projects``) says of a partner: its
description and its joint projects with the school, kept in its ``[[calendars]]`` table of
``calhub.toml`` with its name and colour (backed up with it, edited by hand as well).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping

from calhub.cli.common import audit_decision, open_hub, read_password
from calhub.dav import calendars
from calhub.dav.maintenance import open_runtime
from calhub.errors import UserError
from calhub.hub import configfile, palette
from calhub.hub.accounts import check_email
from calhub.hub.settings import POLICIES, CalendarSettings, Settings, check_color, check_id

logger = logging.getLogger(__name__)

# Ids that name school calendars, principals or URL parts of the hub itself.
RESERVED_IDS = frozenset(
    {"school", "blackout", "coordinator", "dav", "api", "static", "well-known", "healthz", "admin"}
)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "partner",
        help="manage partner organisations",
        description="Each partner has one login and one calendar, /dav/<ID>/calendar/.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add", parents=[common], help="add a partner with an account and a calendar"
    )
    add.add_argument("id", metavar="ID", help="login and calendar id, e.g. bfu")
    add.add_argument("--name", required=True, help="display name, e.g. 'БФУ им. И. Канта'")
    add.add_argument(
        "--color",
        default=None,
        help="#RRGGBB (default: the next colour of the hub's palette; red, amber and green "
        "are refused: they mean clashes)",
    )
    add.add_argument(
        "--audience",
        default="",
        help="default audience of its events, e.g. '10-11' (default: whole school)",
    )
    add.add_argument(
        "--policy", default="record", choices=POLICIES, help="clash policy (default: record)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--email", default="", metavar="ADDR", help="where its clash notices go")
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", parents=[common], help="list partners")
    listing.add_argument("--all", action="store_true", help="include removed (archived) partners")
    listing.set_defaults(handler=run_list)

    edit = actions.add_parser(
        "edit",
        parents=[common],
        help="set a partner's description and joint projects (the public projects page)",
    )
    edit.add_argument("id", metavar="ID")
    edit.add_argument(
        "--description", default=None, metavar="TEXT", help="what the partner does with the school"
    )
    edit.add_argument(
        "--project",
        action="append",
        default=None,
        metavar="TEXT",
        help="a joint project (repeat for several; replaces the list)",
    )
    edit.add_argument("--no-projects", action="store_true", help="clear the list of projects")
    edit.set_defaults(handler=run_edit)

    passwd = actions.add_parser("passwd", parents=[common], help="set a new password")
    passwd.add_argument("id", metavar="ID")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    passwd.set_defaults(handler=run_passwd)

    remove = actions.add_parser(
        "remove",
        parents=[common],
        help="remove a partner: its login stops working, its calendar is archived",
    )
    remove.add_argument("id", metavar="ID")
    remove.set_defaults(handler=run_remove)


def _colour(given: str | None, settings: Settings) -> str:
    """The partner's colour: ``--color`` if it cannot be mistaken for a clash colour, else
    the next palette colour no calendar of the hub has yet.

    A colour too close to red, amber or green is refused, not taken with a warning: the
    dashboard would show a palette colour in its place anyway (``palette.display_colours``),
    so the config would name a colour nobody ever sees, and a warning scrolls away unread.
    The message names the nearest palette colours to choose from instead.
    """
    if given is None:
        used = [c.color for c in settings.calendars if not c.archived]
        return palette.next_colour(used)
    try:
        colour = check_color(given)
    except ValueError as exc:
        raise UserError(str(exc), hint="See 'calhub partner add --help'.") from exc
    too_close = palette.clash_too_close(colour)
    if too_close is not None:
        clash, distance = too_close
        suggestions = ", ".join(palette.nearest_palette(colour))
        raise UserError(
            f"--color {colour} is too close to {clash}, the {palette.CLASH_COLOURS[clash]} "
            f"colour of the dashboard (ΔE {distance:.0f}, at least "
            f"{palette.MIN_DISTANCE:.0f} needed): people would read the partner's events as "
            "clashes.",
            hint=f"Use one of the nearest palette colours: {suggestions}; or leave --color out "
            "to get the next free one.",
        )
    return colour


def _validated_calendar(args: argparse.Namespace, settings: Settings) -> CalendarSettings:
    try:
        partner_id = check_id(args.id)
    except ValueError as exc:
        raise UserError(str(exc), hint="See 'calhub partner add --help'.") from exc
    color = _colour(args.color, settings)
    if partner_id in RESERVED_IDS:
        raise UserError(
            f"{partner_id!r} is reserved by the hub.", hint="Choose another id for the partner."
        )
    name = args.name.strip()
    if not name:
        raise UserError("--name must not be empty.", hint='Use e.g. --name "БФУ им. И. Канта".')
    return CalendarSettings(
        id=partner_id, name=name, color=color, audience=args.audience.strip(), policy=args.policy
    )


def run_add(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    calendar = _validated_calendar(args, hub.settings)
    existing = hub.settings.calendar(calendar.id)
    if existing is not None or hub.accounts.get(calendar.id) is not None:
        state = (
            " (removed earlier; its calendar is archived)" if existing and existing.archived else ""
        )
        raise UserError(
            f"A partner or account {calendar.id!r} exists already{state}.",
            hint="Choose another id, or 'calhub partner passwd ID' to reset its password.",
        )
    if calendar.audience:
        _check_audience(calendar.audience, hub.settings.groups)
    email = check_email(args.email)
    password, generated = read_password(args.password_stdin)
    document = configfile.read_document(hub.root)
    configfile.add_calendar(document, calendar)
    configfile.save_document(hub.root, document)
    calendars.provision(open_runtime(hub), calendar)
    hub.accounts.add(calendar.id, "partner", calendar.name, password, email=email)
    audit_decision(hub, "account-added", f"partner {calendar.id} «{calendar.name}»", calendar.id)
    print(f"Added partner {calendar.id!r} ({calendar.name}); calendar /dav{calendar.path}")
    print(f"Login: {calendar.id}")
    if generated:
        print(f"Password (shown once, give it to the partner): {password}")
    return 0


def _check_audience(text: str, groups: Mapping[str, str]) -> None:
    """Refuse a default audience the clash engine could not read."""
    try:
        from calhub.engine import AudienceParser
    except ImportError:
        return
    if AudienceParser(groups).parse(text) is None:
        raise UserError(
            f"--audience {text!r} is not an audience.",
            hint="Use grades and classes such as '10-11', '9', '10А, 11Б'; see docs/audience.md.",
        )


def run_list(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    partners = [p for p in hub.settings.partners if args.all or not p.archived]
    if not partners:
        print("No partners yet. Add one with: calhub partner add ID --name NAME")
        return 0
    print(f"{'ID':<14} {'NAME':<30} {'AUDIENCE':<10} {'POLICY':<7} {'LOGIN':<6} CALENDAR")
    for partner in partners:
        login = "yes" if hub.accounts.get(partner.id) is not None else "no"
        where = "(archived)" if partner.archived else f"/dav{partner.path}"
        print(
            f"{partner.id:<14} {partner.name:<30} {partner.audience or '-':<10} "
            f"{partner.policy:<7} {login:<6} {where}"
        )
    return 0


def run_edit(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    calendar = hub.settings.calendar(args.id)
    if calendar is None or calendar.role != "partner" or calendar.archived:
        raise UserError(
            f"Нет действующего партнёра «{args.id}». / There is no active partner {args.id!r}.",
            hint="Список: calhub partner list. / See 'calhub partner list'.",
        )
    if args.project is not None and args.no_projects:
        raise UserError(
            "--project и --no-projects вместе не имеют смысла. / --project and --no-projects "
            "contradict each other.",
            hint="Дайте одно из двух. / Give one of them.",
        )
    changes: dict[str, object] = {}
    if args.description is not None:
        changes["description"] = args.description
    if args.project is not None:
        changes["projects"] = list(args.project)
    if args.no_projects:
        changes["projects"] = []
    if not changes:
        raise UserError(
            "Нечего менять. / Nothing to change.",
            hint="Дайте --description, --project или --no-projects. / Give --description, "
            "--project or --no-projects.",
        )
    document = configfile.read_document(hub.root)
    for key, value in changes.items():
        configfile.set_calendar_key(document, calendar.id, key, value)
    # Checked against the schema before the file is replaced: a bad value changes nothing.
    configfile.save_document(hub.root, document)
    print(
        f"Партнёр «{calendar.id}» изменён: {', '.join(changes)}. / Partner {calendar.id!r} "
        f"changed: {', '.join(changes)}."
    )
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    calendar = hub.settings.calendar(args.id)
    if calendar is None or calendar.role != "partner" or calendar.archived:
        raise UserError(
            f"There is no active partner {args.id!r}.", hint="See 'calhub partner list'."
        )
    password, generated = read_password(args.password_stdin)
    if hub.accounts.get(calendar.id) is None:
        hub.accounts.add(calendar.id, "partner", calendar.name, password)
    else:
        hub.accounts.set_password(calendar.id, password)
    # Whoever had the old password may have signed in with it: end those web sessions too.
    open_runtime(hub).sessions.bump(calendar.id)
    audit_decision(hub, "account-changed", f"partner {calendar.id}: new password", calendar.id)
    print(f"New password set for {calendar.id!r}; apps using the old one will be asked again.")
    print("Every web sign-in of this login has ended.")
    if generated:
        print(f"Password (shown once): {password}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    calendar = hub.settings.calendar(args.id)
    if calendar is None or calendar.role != "partner" or calendar.archived:
        raise UserError(
            f"There is no active partner {args.id!r}.", hint="See 'calhub partner list'."
        )
    if hub.accounts.get(calendar.id) is not None:
        hub.accounts.remove(calendar.id)
    document = configfile.read_document(hub.root)
    configfile.set_calendar_key(document, calendar.id, "archived", True)
    configfile.save_document(hub.root, document)
    target = calendars.archive(open_runtime(hub), calendar)
    audit_decision(hub, "account-removed", f"partner {calendar.id}: calendar archived", calendar.id)
    print(f"Removed partner {calendar.id!r}: its login no longer works.")
    if target is not None:
        print(f"Its calendar was archived, not deleted: {target}")
    return 0
