"""``calhub outbox [--json]``, ``calhub outbox retry ID`` and ``calhub notify test ADDRESS``:
the queue of clash notices and messages, and a test of the mail settings."""

from __future__ import annotations

import argparse
import json
import secrets

from calhub.cli.common import open_hub, runtime_of
from calhub.errors import UserError
from calhub.hub.accounts import LANGUAGES, Account, check_email
from calhub.notify.compose import Composer
from calhub.notify.smtp import SendFailed, build_email, send_email
from calhub.store.outbox import Message


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    outbox = subparsers.add_parser(
        "outbox",
        parents=[common],
        help="the messages about clashes: queued, sent, failed",
        description="Shows whether mail is set up, the notices waiting and the latest messages.",
    )
    outbox.add_argument("--json", action="store_true", help="as JSON")
    outbox.set_defaults(handler=run_outbox)
    actions = outbox.add_subparsers(dest="action", metavar="ACTION")
    retry = actions.add_parser("retry", parents=[common], help="send a waiting or failed one now")
    retry.add_argument("id", metavar="ID", type=int, help="the message id 'calhub outbox' shows")
    retry.set_defaults(handler=run_retry)

    notify = subparsers.add_parser("notify", help="test the hub's e-mail settings")
    tests = notify.add_subparsers(dest="action", metavar="ACTION", required=True)
    test = tests.add_parser(
        "test", parents=[common], help="send a test message through [notify.smtp] now"
    )
    test.add_argument("address", metavar="ADDRESS")
    test.add_argument("--language", choices=LANGUAGES, default="ru")
    test.set_defaults(handler=run_test)


def _line(message: Message) -> str:
    when = message.sent_at if message.status == "sent" else message.next_at
    text = (
        f"{message.id:>6} {message.status:<7} {message.attempts:>3} {when:<21} "
        f"{message.recipient:<12} {message.address:<28} {message.subject}"
    )
    if message.last_error and message.status != "sent":
        text += f"\n{'':>6} last error: {message.last_error}"
    return text


def run_outbox(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    notify = runtime.settings.notify
    outbox = runtime.outbox
    enabled = notify.email_enabled
    counts = outbox.counts()
    pending = outbox.count_pending()
    messages = outbox.messages(limit=50)
    if args.json:
        document = {
            "email_enabled": enabled,
            "smtp": f"{notify.smtp.host}:{notify.smtp.port}" if enabled else None,
            "webhook": notify.webhook.url or None,
            "notices_waiting": pending,
            "counts": counts,
            "messages": [m.as_json() for m in messages],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    if enabled:
        print(
            f"E-mail: through {notify.smtp.host}:{notify.smtp.port} ({notify.smtp.security}), "
            f"from {notify.sender}"
        )
    else:
        print(
            "E-mail is off: calhub.toml has no [notify.smtp] host, so no e-mail is sent. "
            "Notices are kept and made into messages once a host is set (those older than "
            f"{notify.expire_days} days are dropped)."
        )
    if notify.webhook_enabled:
        key = (
            f"${notify.webhook.secret_env}"
            if notify.webhook.secret_env
            else f"the output of '{notify.webhook.secret_cmd}'"
        )
        print(f"Webhook: {notify.webhook.url}, signed with the key in {key}")
    print(
        f"Notices waiting: {pending}; messages queued {counts['queued']}, "
        f"sent {counts['sent']}, failed {counts['failed']}"
    )
    if messages:
        print(
            f"{'ID':>6} {'STATUS':<7} {'TRY':>3} {'NEXT/SENT':<21} {'LOGIN':<12} "
            f"{'ADDRESS':<28} SUBJECT"
        )
        for message in messages:
            print(_line(message))
    return 0


def run_retry(args: argparse.Namespace) -> int:
    runtime = runtime_of(args)
    message = runtime.outbox.retry(args.id)
    print(f"Message {message.id} to {message.address} is due now; the running server sends it.")
    if not runtime.settings.notify.email_enabled:
        print("E-mail is off (no [notify.smtp] host in calhub.toml): it waits until one is set.")
    return 0


def run_test(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    settings = hub.settings
    notify = settings.notify
    if not notify.email_enabled:
        raise UserError(
            "calhub.toml has no [notify.smtp] host: there is nothing to test.",
            hint="Set [notify] sender and [notify.smtp] host (docs/notifications.md).",
        )
    address = check_email(args.address)
    if not address:
        raise UserError("ADDRESS is empty.", hint="Give the address to send the test to.")
    account = Account("test", "partner", address, "", email=address, language=args.language)
    composed = Composer(settings, settings.public_url or "http://localhost").test(account)
    message = Message(
        id=0,
        channel="email",
        recipient="test",
        address=address,
        subject=composed.subject,
        text=composed.text,
        html=composed.html,
        headers=composed.headers,
        idem_key="test-" + secrets.token_hex(12),
        notices=(),
        status="queued",
        attempts=0,
        next_at="",
        last_error="",
        lease_owner=None,
        lease_until=None,
        created_at="",
        sent_at=None,
    )
    try:
        send_email(notify, build_email(message, notify.sender))
    except SendFailed as exc:
        raise UserError(
            f"The test message was not sent: {exc}.",
            hint="Check [notify.smtp] in calhub.toml and the password variable or command.",
        ) from None
    print(f"Sent a test message to {address} through {notify.smtp.host}:{notify.smtp.port}.")
    return 0
