"""The two servers under test, built on the same data and started the same way.

- the hub: a data directory made by ``calhub.cli.init.create_hub`` (plus partner accounts),
  served by ``python -m calhub serve --data DIR --port 0`` (CalDAV under ``/dav/``);
- plain Radicale 3.9: ``python -m radicale --config FILE`` with a bcrypt (cost 12) htpasswd
  file, the same login cache (``cache_logins``, 900 s, as the hub's ``login_cache_seconds``),
  ``owner_write`` rights (owners write their calendars, every login reads) and the same
  calendar properties as the hub gives its calendars.

Events are copied as identical ``.ics`` files into both storages (``collection-root/<owner>/
<calendar>/<uid>.ics``); the hub's index is then rebuilt in-process with
``calhub.dav.maintenance.rebuild_index``, as ``calhub index rebuild`` does. Servers bind
127.0.0.1 only and are stopped with SIGTERM (then killed) by ``Server.stop``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import GROUPS, VENUE_ALIASES, CalendarSpec, GeneratedEvent

BCRYPT_COST = 12
LOGIN_CACHE_SECONDS = 900
START_TIMEOUT = 300.0  # the hub verifies its index against storage before it listens
STOP_TIMEOUT = 20.0
SCHOOL_NAME = "МАОУ гимназия №32 (бенчмарк)"
HUB_TZ = "Europe/Kaliningrad"


def password_of(login: str) -> str:
    return f"{login}-bench-password"


@dataclass
class Server:
    """A server subprocess: ``prefix`` is where CalDAV lives on it ("/dav" or "")."""

    name: str
    process: subprocess.Popen[bytes]
    host: str
    port: int
    prefix: str
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def status_kb(self, key: str) -> int:
        """A memory figure of the server process from /proc (VmHWM: peak RSS)."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    @property
    def peak_rss_mb(self) -> float:
        return self.status_kb("VmHWM") / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}; log {server.log}:\n"
                + server.log.read_text(errors="replace")[-3000:]
            )
        try:
            connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
            connection.request("OPTIONS", server.prefix + "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {START_TIMEOUT} s")


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("CALHUB_BCRYPT_ROUNDS", None)  # production cost for any hash the server makes
    return env


# -- the hub ---------------------------------------------------------------------------


def hub_settings(spec: CalendarSpec):  # -> calhub.hub.settings.CalendarSettings
    from calhub.hub.settings import CalendarSettings

    return CalendarSettings(
        id=spec.id, name=spec.name, role=spec.role, audience=spec.audience, policy="record"
    )


def build_hub(root: Path, calendars: Sequence[CalendarSpec], logins: Iterable[str]) -> Path:
    """A hub with the given calendars, partner accounts and extra (reader) logins."""
    os.environ["CALHUB_BCRYPT_ROUNDS"] = str(BCRYPT_COST)
    from calhub.cli.init import COORDINATOR, create_hub
    from calhub.dav import calendars as hub_calendars
    from calhub.hub import HubPaths, configfile

    partners = tuple(hub_settings(s) for s in calendars if s.role == "partner")
    hub = create_hub(HubPaths(root), SCHOOL_NAME, HUB_TZ, password_of(COORDINATOR), partners)
    document = configfile.read_document(root)
    document["audience"]["groups"].update(GROUPS)
    document["venues"]["aliases"].update(VENUE_ALIASES)
    configfile.save_document(root, document)
    for spec in calendars:
        if spec.role == "partner":
            hub.accounts.add(spec.id, "partner", spec.name, password_of(spec.id))
    for login in logins:
        hub.accounts.add(login, "partner", login, password_of(login))
        (root / "storage" / "collection-root" / login).mkdir(parents=True, exist_ok=True)
    # The groups changed after create_hub provisioned (and indexed) the calendars.
    fresh = open_hub(root)
    try:
        for calendar in fresh.settings.calendars:
            hub_calendars.provision(fresh, calendar)
    finally:
        fresh.close()
    return root / "storage" / "collection-root"


def open_hub(root: Path):  # -> calhub.runtime.Runtime
    """The hub at ``root`` at work in this process, as a CLI command opens it (a damaged
    index is repaired from storage); ``.close()`` it when done."""
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import Hub

    return open_runtime(Hub(root))


def rebuild_hub_index(root: Path) -> tuple[int, int, float]:
    """``calhub index rebuild`` in-process: (objects, occurrences, seconds)."""
    from calhub.dav.maintenance import rebuild_index

    runtime = open_hub(root)
    try:
        return rebuild_index(runtime)
    finally:
        runtime.close()


def index_new_events(
    root: Path, new: Mapping[CalendarSpec, Sequence[str]], rescan: bool = True
) -> float:
    """Index events copied into hub calendars behind its back; returns seconds.

    Does what ``calhub index rebuild`` does (expand, store in the index, one full clash
    scan with ``rescan``), but only for the new objects, so growing a calendar step by step
    expands each object once. A calendar the index does not hold yet is indexed whole.
    """
    from radicale import storage as radicale_storage

    from calhub.dav.hooks import WriteHooks
    from calhub.dav.indexing import Indexer
    from calhub.dav.maintenance import recovering
    from calhub.dav.storage import open_storage

    started = time.perf_counter()
    runtime = open_hub(root)
    hooks = WriteHooks(runtime)
    indexer = Indexer(runtime)
    index = runtime.index
    storage = open_storage(runtime)
    try:
        with storage.acquire_lock("w", "calhub"):
            for spec, hrefs in new.items():
                calendar = runtime.settings.calendar(spec.id)
                assert calendar is not None
                collection = next(iter(storage.discover(calendar.path)))
                assert isinstance(collection, radicale_storage.BaseCollection)
                if not indexer.fresh(calendar):
                    hooks.reindex_calendar(calendar, collection)
                    continue
                rows = []
                for href, item in collection.get_multi(hrefs):
                    assert item is not None, href
                    # The row a PUT of this object would leave (exact span included).
                    rows.append(indexer.index_row(calendar, item))
                with index.transaction() as db:
                    for row, occurrences in rows:
                        index.put_item(db, calendar.id, row, occurrences)
            if rescan:
                # Under the lock, as the write hooks scan: a damaged index is rebuilt.
                recovering(runtime, runtime.clashes.rescan_all)
    finally:
        runtime.close()
    return time.perf_counter() - started


def start_hub(root: Path, log_dir: Path, cheroot: bool = False, args: Sequence[str] = ()) -> Server:
    """``calhub serve`` on ``root`` (with ``args``, e.g. ``--threads 2``); with ``cheroot``,
    the same stack on the server calhub used before (bench/cheroot_serve.py)."""
    log = log_dir / f"hub-{time.monotonic_ns()}.log"
    env = _env()
    if cheroot:
        argv = [sys.executable, "-m", "bench.cheroot_serve", "--data", str(root), "--port", "0"]
        checkout = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    else:
        argv = [sys.executable, "-m", "calhub", "serve", "--data", str(root)]
        argv += ["--host", "127.0.0.1", "--port", "0", *args]
    with log.open("wb") as err:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=log_dir,
        )
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            if "listening on " in line and not found:
                found.append(line.split("listening on ", 1)[1].strip())

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    server = Server("calhub", process, "127.0.0.1", 0, "/dav", log)
    while not found:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"calhub did not start; log {log}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    server.port = int(found[0].rstrip("/").rsplit(":", 1)[1])
    _wait_for_port(server, deadline)
    return server


# -- plain Radicale ---------------------------------------------------------------------

RADICALE_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
max_connections = 16

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = bcrypt
htpasswd_cache = True
cache_logins = True
cache_successful_logins_expiry = {cache}

[rights]
type = owner_write

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = warning
mask_passwords = True
"""


def build_plain(
    root: Path, calendars: Sequence[CalendarSpec], logins: Iterable[str]
) -> tuple[Path, Path]:
    """Storage, htpasswd and the calendars (same properties as the hub's); returns
    (config template path, collection-root)."""
    import bcrypt
    from radicale import config as radicale_config
    from radicale import storage as radicale_storage

    from calhub.dav.calendars import calendar_props
    from calhub.hub.settings import CalendarSettings

    root.mkdir(parents=True, exist_ok=True)
    storage_dir = root / "storage"
    users = ["coordinator", *(s.id for s in calendars if s.role == "partner"), *logins]
    lines = []
    for login in users:
        digest = bcrypt.hashpw(password_of(login).encode(), bcrypt.gensalt(BCRYPT_COST))
        lines.append(f"{login}:{digest.decode()}")
    htpasswd = root / "users"
    htpasswd.write_text("\n".join(lines) + "\n")
    template = root / "radicale.conf.in"
    template.write_text(
        RADICALE_CONFIG.replace("{htpasswd}", str(htpasswd))
        .replace("{storage}", str(storage_dir))
        .replace("{cache}", str(LOGIN_CACHE_SECONDS))
    )
    configuration = radicale_config.load()
    configuration.update(
        {"storage": {"filesystem_folder": str(storage_dir)}}, "bench", privileged=True
    )
    storage = radicale_storage.load(configuration)
    with storage.acquire_lock("w"):
        for owner in sorted({s.owner for s in calendars} | set(users)):
            if next(iter(storage.discover(f"/{owner}/")), None) is None:
                storage.create_collection(f"/{owner}/")
        for spec in calendars:
            settings = CalendarSettings(id=spec.id, name=spec.name, role=spec.role)
            props = calendar_props(settings, SCHOOL_NAME, HUB_TZ)
            storage.create_collection(f"/{spec.path}/", props=props)
    return template, storage_dir / "collection-root"


def start_plain(template: Path, log_dir: Path) -> Server:
    port = free_port()
    config = log_dir / f"radicale-{port}.conf"
    config.write_text(template.read_text().replace("{port}", str(port)))
    log = log_dir / f"radicale-{time.monotonic_ns()}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            env=_env(),
            cwd=log_dir,
        )
    server = Server("radicale", process, "127.0.0.1", port, "", log)
    _wait_for_port(server, time.monotonic() + START_TIMEOUT)
    return server


# -- data ---------------------------------------------------------------------------------


def copy_events(
    collection_roots: Sequence[Path], spec: CalendarSpec, events: Sequence[GeneratedEvent]
) -> None:
    """The same files into every storage (servers stopped, or the hub reindexed after),
    each as Radicale stores the body of a PUT (its own serialisation, see
    :func:`stored_text`), so both servers read what a real calendar's folder holds."""
    texts = [(event.href, stored_text(event.text)) for event in events]
    for root in collection_roots:
        folder = root / spec.owner / spec.slug
        folder.mkdir(parents=True, exist_ok=True)
        for href, text in texts:
            (folder / href).write_text(text, encoding="utf-8", newline="")


def add_events(
    hub_root: Path,
    collection_roots: tuple[Path, Path],
    spec: CalendarSpec,
    events: Sequence[GeneratedEvent],
    rescan: bool,
) -> float:
    """The same events into the hub's and plain Radicale's folders (``collection_roots``,
    in that order), the hub's index updated (the full clash scan with ``rescan``) and the
    hub's item cache of the calendar copied to plain Radicale; the seconds of indexing."""
    hub_storage, plain_storage = collection_roots
    copy_events([hub_storage, plain_storage], spec, events)
    hrefs = [event.href for event in events]
    seconds = index_new_events(hub_root, {spec: hrefs}, rescan=rescan)
    copy_item_cache(hub_storage, plain_storage, spec)
    return seconds


def stored_text(text: str) -> str:
    """``text`` as Radicale writes it into its folder on a PUT: parsed and serialised by
    vobject (a VTIMEZONE, for one, comes back shorter). Radicale answers every read with
    that serialisation whatever the file holds; a file that already holds it is what a
    server that was only ever written by PUT has."""
    from radicale import item as radicale_item

    components = radicale_item.read_components(text)
    radicale_item.check_and_sanitize_items(
        components, max_vevent_rrule_occurrence=10_000, tag="VCALENDAR"
    )
    (component,) = components
    return str(radicale_item.Item(collection_path="bench", vobject_item=component).serialize())


def copy_item_cache(source_root: Path, target_root: Path, spec: CalendarSpec) -> int:
    """Copy Radicale's item cache of one calendar between two storages holding the same
    files (same Radicale version): plain Radicale then starts as warm as the hub, whose
    indexing read every object. Entries are keyed by a hash of the file's content, so a
    stale one is simply ignored and rebuilt by Radicale."""
    source = source_root / spec.owner / spec.slug / ".Radicale.cache" / "item"
    target = target_root / spec.owner / spec.slug / ".Radicale.cache" / "item"
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for entry in source.iterdir():
        destination = target / entry.name
        if not destination.exists():
            destination.write_bytes(entry.read_bytes())
            copied += 1
    return copied
