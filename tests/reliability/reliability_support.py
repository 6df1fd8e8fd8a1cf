"""Helpers for the reliability suite: more servers on one data directory, kill -9, the CLI
in a subprocess, /proc readings, clash snapshots, and the figures the suite reports.

Every server here is started through the ``fresh_hub``/``module_hubs`` factories of
``tests/conftest.py`` (127.0.0.1 only, SIGTERM at teardown, killed if it hangs); a server
a test kills with SIGKILL is taken off its factory's list, so the teardown does not expect
a clean exit from it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import icalendar
from helpers import PASSWORDS, make_event, request

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8"}
CLI_TIMEOUT = 120.0
THREAD_JOIN_TIMEOUT = 120.0

# -- figures -----------------------------------------------------------------------------

# section -> name -> value; printed at the end of the run (see conftest.py) and quoted in
# docs/reliability.md.
FIGURES: dict[str, dict[str, Any]] = {}
_figures_lock = threading.Lock()


def record(section: str, **numbers: Any) -> None:
    with _figures_lock:
        FIGURES.setdefault(section, {}).update(numbers)
    shown = ", ".join(f"{name}={value}" for name, value in numbers.items())
    print(f"\n[reliability] {section}: {shown}", flush=True)


# -- time slots --------------------------------------------------------------------------

# Inside the default clash-check horizon (a year back, two ahead) on every day the suite
# may run; each hub in this suite is private, so only the tests of one module share slots.
BASE_DAY = dt.date.today() + dt.timedelta(days=21)


def day(n: int) -> dt.date:
    return BASE_DAY + dt.timedelta(days=n)


def at(on: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(on, dt.time(hour, minute))


def event(uid: str, summary: str, start: dt.datetime, minutes: int = 60, **kwargs: Any) -> str:
    return make_event(uid, summary, start, start + dt.timedelta(minutes=minutes), **kwargs)


def uid_of(text: str) -> str:
    return text.split("UID:", 1)[1].split("\r\n", 1)[0]


# -- HTTP shortcuts ----------------------------------------------------------------------


def put(hub: Any, login: str, path: str, body: str | bytes, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", ICS)
    return hub.request("PUT", path, login, PASSWORDS[login], body=body, headers=headers, **kwargs)


def get(hub: Any, path: str, login: str = "coordinator", **kwargs: Any) -> Any:
    return hub.request("GET", path, login, PASSWORDS[login], **kwargs)


def delete(hub: Any, path: str, login: str = "coordinator") -> Any:
    return hub.request("DELETE", path, login, PASSWORDS[login])


def api_json(hub: Any, path: str, login: str = "coordinator") -> Any:
    response = hub.request("GET", path, login, PASSWORDS[login])
    assert response.status == 200, (path, response.status, response.text[:300])
    return json.loads(response.text)


def collection_hrefs(hub: Any, calendar_path: str, login: str = "coordinator") -> dict[str, str]:
    """href -> etag of every object in a calendar (one PROPFIND, Depth 1)."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
        "<D:prop><D:getetag/></D:prop></D:propfind>"
    )
    response = hub.request(
        "PROPFIND",
        calendar_path,
        login,
        PASSWORDS[login],
        body=body,
        headers={"Depth": "1", **XML},
    )
    assert response.status == 207, (calendar_path, response.status, response.text[:300])
    found = {}
    for item in ET.fromstring(response.text).iter("{DAV:}response"):
        href = item.findtext("{DAV:}href") or ""
        if href.rstrip("/") == calendar_path.rstrip("/"):
            continue
        found[href] = item.findtext(".//{DAV:}getetag") or ""
    return found


def healthy(hub: Any) -> bool:
    return int(request(hub.url, "GET", "/healthz", timeout=30).status) == 200


# -- what an event says ------------------------------------------------------------------


def event_fields(text: str) -> tuple[str, str, str, str]:
    """(UID, SUMMARY, DTSTART, DTEND) of the one VEVENT, as instants, for comparing what a
    client sent with what the server gives back (Radicale re-serialises the text)."""
    calendar = icalendar.Calendar.from_ical(text)
    [vevent] = calendar.walk("VEVENT")

    def moment(name: str) -> str:
        value = vevent.get(name).dt
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()

    return str(vevent.get("UID")), str(vevent.get("SUMMARY")), moment("DTSTART"), moment("DTEND")


# -- clash records -----------------------------------------------------------------------


def conflict_snapshot(hub: Any) -> set[tuple[Any, ...]]:
    """Every clash record as (id, rule, severity, status, approval comment, occurrences)."""
    records = api_json(hub, "/api/conflicts")
    snapshot = set()
    for record in records:
        occurrences = tuple(
            sorted(
                (o["calendar"], o["uid"], o["recurrence_id"] or "", o["start"], o["end"])
                for o in record["occurrences"]
            )
        )
        comment = (record.get("approval") or {}).get("comment", "")
        snapshot.add(
            (
                record["id"],
                record["rule"],
                record["severity"],
                record["status"],
                comment,
                occurrences,
            )
        )
    return snapshot


# -- servers -----------------------------------------------------------------------------


def kill9(factory: Any, hub: Any) -> None:
    """SIGKILL a server and take it off its factory's list (no clean exit to expect)."""
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGKILL)
    hub.process.wait(30)
    if hub in factory.servers:
        factory.servers.remove(hub)


def assert_rebuild_keeps_records(hub: Any, data_dir: Path) -> set[tuple[Any, ...]]:
    """``calhub index rebuild`` (a rescan from Radicale's storage) gives the clash records the
    hub holds now: what it had recorded is what its events say. Returns the records."""
    before = conflict_snapshot(hub)
    rebuild = calhub_cli(data_dir, "index", "rebuild")
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    after = conflict_snapshot(hub)
    assert after == before, {"only before": before - after, "only after": after - before}
    return before


def calhub_cli(data_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m calhub ARGV --data DIR`` in a subprocess, as an operator runs it."""
    command = [sys.executable, "-m", "calhub", *argv, "--data", str(data_dir)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
        cwd=data_dir.parent,
    )


RADICALE_VERIFY = """
import sys
from calhub.dav.maintenance import open_runtime
from calhub.dav.storage import open_storage
from calhub.hub import Hub
runtime = open_runtime(Hub(__import__("pathlib").Path(sys.argv[1])))
storage = open_storage(runtime)
with storage.acquire_lock("r", "calhub"):
    sys.exit(0 if storage.verify() else 1)
"""


def radicale_verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Radicale's own storage check (``radicale --verify-storage``) on the hub's storage."""
    return subprocess.run(
        [sys.executable, "-c", RADICALE_VERIFY, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
        cwd=data_dir.parent,
    )


def set_policy(data_dir: Path, calendar_id: str, policy: str) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(data_dir)
    configfile.set_calendar_key(document, calendar_id, "policy", policy)
    configfile.save_document(data_dir, document)


# -- /proc -------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- threads -----------------------------------------------------------------------------


def run_threads(
    targets: Iterable[Callable[[], None]], timeout: float = THREAD_JOIN_TIMEOUT
) -> None:
    """Run each target in a thread; re-raise the first exception; bounded in time."""
    errors: list[BaseException] = []

    def wrap(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # reported to the test below
                errors.append(error)

        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    assert not alive, f"{len(alive)} client threads still running after {timeout} s"
    if errors:
        raise errors[0]


# -- raw HTTP ----------------------------------------------------------------------------


def raw_request(
    hub: Any,
    method: str,
    path: str,
    login: tuple[str, str] | tuple[()] = (),
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Any:
    """One request whose request line carries ``path`` as raw UTF-8 bytes (http.client
    only sends ASCII), read until the server closes the connection."""
    import base64
    import socket

    from helpers import Response

    lines = [f"{method} ".encode() + path.encode("utf-8") + b" HTTP/1.1"]
    all_headers = {"Host": f"127.0.0.1:{hub.port}", "Connection": "close", **(headers or {})}
    if login:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        all_headers["Authorization"] = f"Basic {token}"
    all_headers["Content-Length"] = str(len(body))
    lines += [f"{name}: {value}".encode() for name, value in all_headers.items()]
    with socket.create_connection(("127.0.0.1", hub.port), timeout=timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        received = b""
        while data := sock.recv(65536):
            received += data
    head, _, content = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return Response(status=status, text=content.decode("utf-8", "replace"))
