"""``calhub serve`` and ``calhub demo``: run the whole hub from one process and one port."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from calhub.audit.rotation import AuditRotation
from calhub.cli import handle_cli_error
from calhub.cli.common import data_dir
from calhub.cli.preload import import_everything
from calhub.dav.upgrade import upgrade
from calhub.hub import Hub, HubPaths, dataformat
from calhub.notify.worker import Notifier
from calhub.runtime import Runtime
from calhub.server import http as server
from calhub.server import logs
from calhub.server.logs import FORMATS
from calhub.server.workers import MAX_WORKERS, serve_workers
from calhub.sources.scheduler import Scheduler

logger = logging.getLogger(__name__)

DEMO_DIR = "calhub-demo"
DEMO_PASSWORD_PREFIX = "demo-"  # noqa: S105 - demo accounts are public on purpose


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535 (0: any free port)")
    return port


def _threads(value: str) -> int:
    try:
        threads = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of threads") from None
    if not 1 <= threads <= 64:
        raise argparse.ArgumentTypeError("threads: a whole number from 1 to 64")
    return threads


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"workers: a whole number from 1 to {MAX_WORKERS}")
    return count


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=_port, default=5232, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        type=_threads,
        default=None,
        help="worker threads (default: [server] threads in calhub.toml, 8)",
    )
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default=None,
        help="text lines, or json: one JSON object per line for journald and log shippers "
        "(default: [server] log_format in calhub.toml, text)",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes sharing the port and the data directory, each with --threads "
        "threads; a worker that dies is started again (default: %(default)s)",
    )


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=[common],
        help="serve CalDAV (/dav/), the web app (/) and /healthz",
        description="Serve the hub. Stop with Ctrl+C or SIGTERM.",
    )
    _add_server_options(serve)
    serve.set_defaults(handler=run_serve)

    demo = subparsers.add_parser(
        "demo",
        parents=[common],
        help="create (or reuse) a demo hub with sample data and serve it",
        description=f"Create a demo hub in ./{DEMO_DIR} (or --data) with the gymnasium, its "
        "partners and a term of events, then serve it.",
    )
    _add_server_options(demo)
    demo.set_defaults(handler=run_demo)


def announce(url: str) -> None:
    # Tests and scripts read this line to find the port when --port 0 is used.
    print(f"calhub listening on {url}", flush=True)
    print(f"CalDAV: {url}dav/   Health: {url}healthz", flush=True)


def start_up_warnings() -> None:
    from calhub.web import assets

    for warning in (assets.grid_missing_warning(), assets.charts_missing_warning()):
        if warning is not None:
            logger.warning("%s", warning)


def start_notifier(runtime: Runtime, url: str) -> Callable[[], None]:
    """The notification sender, in a thread of its own beside the server's."""
    notifier = Notifier(runtime, url)
    if not runtime.settings.notify.email_enabled:
        logger.info("Notifications: no [notify.smtp] host; notices are kept, nothing is sent")
    notifier.start()
    return notifier.stop


def start_background(runtime: Runtime, url: str) -> Callable[[], None]:
    """The threads beside the server's: the notification sender, the sources' scheduler and
    the audit log's rotation."""
    stop_notifier = start_notifier(runtime, url)
    scheduler = Scheduler(runtime)
    scheduler.start()
    rotation = AuditRotation(runtime)
    rotation.start()

    def stop() -> None:
        rotation.stop()
        scheduler.stop()
        stop_notifier()

    return stop


def _serve(hub: Hub, args: argparse.Namespace, on_ready: Callable[[str], None]) -> int:
    log_format = args.log_format or hub.settings.server.log_format
    logs.use_format(log_format, with_process=args.workers > 1)
    import_everything()
    start_up_warnings()
    if hub.needs_upgrade:
        upgrade(hub)
    # Held shared while serving: a restore or an upgrade waits for the server to stop.
    with dataformat.format_lock(hub.root, shared=True):
        if args.workers > 1:
            return serve_workers(
                hub,
                args.host,
                args.port,
                args.workers,
                args.threads,
                on_ready,
                start_background,
                handle_cli_error,
            )
        server.serve(
            hub, args.host, args.port, args.threads, on_ready=on_ready, background=start_background
        )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    if args.log_format:
        # Before the hub is opened: an upgrade's messages are in the chosen format too.
        logs.use_format(args.log_format, with_process=args.workers > 1)
    # _serve upgrades an older directory (a backup first), once the log format is set.
    hub = Hub(data_dir(args))
    return _serve(hub, args, announce)


def demo_password(login: str) -> str:
    return f"{DEMO_PASSWORD_PREFIX}{login}"


def create_demo(root: Path, today: dt.date, *, term: bool = True) -> Hub:
    """The demo hub: the gymnasium, its partners, their accounts and, with ``term``, the
    demo term's events (without: the same calendars empty, for importing into)."""
    from calhub.cli.init import COORDINATOR, create_hub
    from calhub.dav import calendars
    from calhub.dav.importer import import_objects
    from calhub.dav.maintenance import open_runtime
    from calhub.demo import partners
    from calhub.demo.term import demo_events
    from calhub.errors import CalhubError
    from calhub.hub import configfile

    paths = HubPaths(root)
    hub = create_hub(
        paths,
        partners.SCHOOL_NAME,
        "Europe/Kaliningrad",
        demo_password(COORDINATOR),
        extra=partners.PARTNERS,
    )
    document = configfile.read_document(root)
    document["audience"]["groups"].update(partners.GROUPS)
    document["venues"]["aliases"].update(partners.VENUE_ALIASES)
    configfile.save_document(root, document)
    for partner in partners.PARTNERS:
        hub.accounts.add(partner.id, "partner", partner.name, demo_password(partner.id))
    if not term:
        return hub
    start = today - dt.timedelta(days=today.weekday() + 14)
    runtime = open_runtime(hub)
    for calendar_id, texts in demo_events(start, hub.settings.timezone).items():
        calendar = hub.settings.calendar(calendar_id)
        if calendar is None:
            raise CalhubError(f"The demo term names a calendar the demo hub lacks: {calendar_id}")
        calendars.provision(runtime, calendar)
        import_objects(runtime, calendar, texts)
    add_demo_feedback(runtime, start, today)
    runtime.close()
    return hub


def add_demo_feedback(runtime: Runtime, start: dt.date, today: dt.date) -> None:
    """The demo term's feedback on the events held before ``today`` and the partners'
    term survey, answered by some (calhub.demo.feedback makes the data; written here)."""
    import zoneinfo

    from calhub.demo.feedback import HeldOccurrence, demo_answers, demo_term_name, survey_answers
    from calhub.feedback.survey import send_surveys
    from calhub.store.feedback import NewAnswer

    zone = zoneinfo.ZoneInfo(runtime.settings.timezone)
    first = dt.datetime.combine(start, dt.time(), zone)
    midnight = dt.datetime.combine(today, dt.time(), zone)
    held = [
        HeldOccurrence(
            o.calendar,
            o.uid,
            o.recurrence_id,
            o.start,
            o.end,
            len(o.audience.grades | {grade for grade, _ in o.audience.classes}),
        )
        for o in runtime.index.overlapping(first, midnight)
        if o.start >= first and o.end <= midnight and not o.is_blackout
    ]
    for answer in demo_answers(held, today):
        answer_id = runtime.feedback.add(
            NewAnswer(
                answer.calendar,
                answer.uid,
                answer.recurrence_id,
                answer.occurrence,
                answer.device,
                answer.rating,
                answer.recommend,
                answer.comment,
                held="www." in answer.comment,
            ),
            now=answer.answered,
        )
        if answer.moderation:
            runtime.feedback.moderate(answer_id, answer.moderation, "coordinator", answer.answered)
    term = demo_term_name(today)
    partners = [c.id for c in runtime.settings.partners]
    sent = send_surveys(runtime, term, "http://127.0.0.1:5232", "coordinator")
    answered = survey_answers(partners)
    for item in sent:
        if item.partner in answered:
            runtime.feedback.answer_survey(item.survey.id, answered[item.partner])


def run_demo(args: argparse.Namespace) -> int:
    if args.log_format:
        logs.use_format(args.log_format, with_process=args.workers > 1)
    root = Path(args.data or DEMO_DIR).absolute()
    if (root / "calhub.toml").exists():
        print(f"Reusing the demo hub in {root}")
        hub = Hub(root)
    else:
        print(f"Creating a demo hub in {root} ...")
        hub = create_demo(root, dt.date.today())

    def ready(url: str) -> None:
        announce(url)
        print(f"\nDemo hub '{hub.settings.school}' — open {url} in a browser.")
        print("Accounts (login / password):")
        for account in hub.accounts:
            print(f"  {account.login:<12} / {demo_password(account.login):<20} {account.name}")
        print("Connect a calendar app to the server address above with one of the partner logins.")
        print("Stop with Ctrl+C.", flush=True)

    return _serve(hub, args, ready)
