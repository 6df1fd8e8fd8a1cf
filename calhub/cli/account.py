"""``calhub account edit|list``: how each account hears about clashes (any account, the
coordinator's too): e-mail address, language, and immediate, daily digest or nothing."""

from __future__ import annotations

import argparse
import json

from calhub.cli.common import audit_decision, open_hub
from calhub.hub.accounts import LANGUAGES, NOTIFY_MODES


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "account",
        help="an account's e-mail address, language and notifications",
        description="Accounts are made by 'calhub init' (the coordinator) and "
        "'calhub partner add'; here they get where and how they hear about clashes.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    edit = actions.add_parser(
        "edit", parents=[common], help="set an account's address, language or notifications"
    )
    edit.add_argument("login", metavar="LOGIN", help="e.g. coordinator or bfu")
    edit.add_argument("--email", metavar="ADDR", help="e-mail address; '' turns e-mail off")
    edit.add_argument("--language", choices=LANGUAGES, help="language of its messages")
    edit.add_argument(
        "--notify",
        choices=NOTIFY_MODES,
        help="immediate: each clash at once; digest: once a day; off: nothing",
    )
    edit.set_defaults(handler=run_edit)
    listing = actions.add_parser("list", parents=[common], help="list accounts")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=run_list)


def run_edit(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    account = hub.accounts.edit(
        args.login, email=args.email, language=args.language, notify=args.notify
    )
    audit_decision(
        hub,
        "account-changed",
        f"account {account.login}: e-mail {account.email or '-'}, language {account.language}, "
        f"notify {account.notify}",
    )
    print(
        f"Account {account.login!r}: e-mail {account.email or '(none)'}, "
        f"language {account.language}, notify {account.notify}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    accounts = list(hub.accounts)
    if args.json:
        rows = [
            {
                "login": a.login,
                "role": a.role,
                "name": a.name,
                "email": a.email,
                "language": a.language,
                "notify": a.notify,
            }
            for a in accounts
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"{'LOGIN':<14} {'ROLE':<12} {'LANG':<5} {'NOTIFY':<10} E-MAIL")
    for a in accounts:
        print(f"{a.login:<14} {a.role:<12} {a.language:<5} {a.notify:<10} {a.email or '-'}")
    return 0
