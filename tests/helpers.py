"""Small helpers shared by the hub tests: raw HTTP and iCalendar text builders.

Raw HTTP goes through ``http.client`` on purpose: it sends the request line exactly as
given (no path normalisation, no automatic redirects, no hidden auth negotiation), which
is what the rights and path-trick tests need.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import http.client
import io
import itertools
import os
import shutil
import sys
import tarfile
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import caldav
import icalendar
import pytest

from calhub.engine import Audience, Occurrence

# -- the fixture hub -----------------------------------------------------------------------

SCHOOL_NAME = "Гимназия №32 (тест)"
SLOW_LOGIN = "slowpoke"  # hashed at bcrypt cost 12, for the login-cache test
PASSWORDS = {
    "coordinator": "coordinator-pass-1",
    "bfu": "bfu-password-1",
    "kgtu": "kgtu-password-1",
    SLOW_LOGIN: "slowpoke-password-1",
}


def creds(login: str) -> tuple[str, str]:
    return login, PASSWORDS[login]


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    text: str = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def request(
    base_url: str,
    method: str,
    path: str,
    user: str | None = None,
    password: str | None = None,
    body: str | bytes | Iterable[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    chunked: bool = False,
    timeout: float = 15.0,
) -> Response:
    """Send one request to ``base_url`` (scheme://host:port/) with ``path`` sent verbatim.

    ``body`` may be an iterable of byte chunks with ``chunked=True`` for a request with
    ``Transfer-Encoding: chunked`` and no Content-Length.
    """
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    all_headers = dict(headers or {})
    if user is not None:
        all_headers["Authorization"] = basic_auth(user, password or "")
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        try:
            if chunked:
                connection.request(
                    method, path, body=body, headers=all_headers, encode_chunked=True
                )
            else:
                connection.request(method, path, body=body, headers=all_headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server answered (e.g. 413) and closed before the whole body was sent;
            # a good client still reads that answer, so try to.
            pass
        raw = connection.getresponse()
        data = raw.read()
        return Response(
            status=raw.status,
            headers={name.lower(): value for name, value in raw.getheaders()},
            text=data.decode("utf-8", "replace"),
        )
    finally:
        connection.close()


def dav_client(url: str, login: str, password: str | None = None) -> caldav.DAVClient:
    """The real caldav client for ``login``, sending its Basic credentials with every request
    (as DAVx5 and iOS do once they know the server). Tests of the 401 → credentials
    negotiation build their own client without ``auth_type``."""
    return caldav.DAVClient(
        url=url,
        username=login,
        password=PASSWORDS[login] if password is None else password,
        auth_type="basic",
        timeout=15,
    )


# -- WebDAV XML ------------------------------------------------------------------------------

NAMESPACES = {
    "D": "DAV:",
    "C": "urn:ietf:params:xml:ns:caldav",
    "ICAL": "http://apple.com/ns/ical/",
}


def clark(name: str) -> str:
    """``"C:calendar-timezone"`` → ``"{urn:ietf:params:xml:ns:caldav}calendar-timezone"``."""
    prefix, local = name.split(":", 1)
    return f"{{{NAMESPACES[prefix]}}}{local}"


def multistatus(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == clark("D:multistatus"), text[:300]
    return root


def found_props(text: str, href_suffix: str = "") -> dict[str, ET.Element]:
    """Props with status 200 in a multistatus, for the response whose href ends with
    ``href_suffix`` (or the first response); keyed by ``prefix:name``."""
    root = multistatus(text)
    responses = root.findall("D:response", NAMESPACES)
    chosen = next(
        (r for r in responses if (r.findtext("D:href", "", NAMESPACES)).endswith(href_suffix)),
        None,
    )
    assert chosen is not None, f"no response for {href_suffix!r} in {text[:500]}"
    props: dict[str, ET.Element] = {}
    reverse = {uri: prefix for prefix, uri in NAMESPACES.items()}
    for propstat in chosen.findall("D:propstat", NAMESPACES):
        if " 200 " not in propstat.findtext("D:status", "", NAMESPACES) + " ":
            continue
        prop_element = propstat.find("D:prop", NAMESPACES)
        for prop in [] if prop_element is None else list(prop_element):
            uri, _, local = prop.tag[1:].partition("}")
            props[f"{reverse.get(uri, uri)}:{local}"] = prop
    return props


def response_hrefs(text: str) -> list[str]:
    return [h.text or "" for h in multistatus(text).iter(clark("D:href"))]


# -- assertions ------------------------------------------------------------------------------


def assert_login_refused(response: Response) -> None:
    """The request was refused for want of a valid login: 401 with a Basic challenge."""
    assert response.status == 401, f"expected 401, got {response.status}: {response.text[:200]}"
    challenge = response.header("www-authenticate")
    assert challenge.lower().startswith("basic"), f"no Basic challenge: {challenge!r}"


def assert_user_error(result: tuple[int, str, str], *fragments: str) -> None:
    """Exit 2, ``calhub: error: ...`` naming every fragment, then a ``calhub: `` hint line."""
    code, _, err = result
    assert code == 2, result
    lines = err.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("calhub: error: ")]
    assert errors, err
    assert len(lines) > errors[0] + 1, f"no hint line after the error: {err!r}"
    hint = lines[errors[0] + 1]
    assert hint.startswith("calhub: ") and not hint.startswith("calhub: error:"), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert "Traceback" not in err


# -- iCalendar -------------------------------------------------------------------------

PRODID = "-//calhub tests//EN"


def _format_time(value: dt.datetime | dt.date, tzid: str | None) -> tuple[str, str]:
    """(parameters, value) of a DTSTART/DTEND line."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return "", value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        if tzid:
            return f";TZID={tzid}", value.strftime("%Y%m%dT%H%M%S")
        return "", value.strftime("%Y%m%dT%H%M%S")
    return ";VALUE=DATE", value.strftime("%Y%m%d")


@functools.cache
def vtimezone(tzid: str) -> str:
    """The VTIMEZONE component of ``tzid`` as iCalendar text (CRLF line ends); cached, as
    icalendar takes ~0.1 s to compute one."""
    return icalendar.Timezone.from_tzid(tzid).to_ical().decode()


def make_event(
    uid: str,
    summary: str,
    start: dt.datetime | dt.date,
    end: dt.datetime | dt.date,
    tzid: str | None = "Europe/Kaliningrad",
    location: str | None = None,
    description: str | None = None,
) -> str:
    """A VCALENDAR with one VEVENT.

    Naive datetimes are local times in ``tzid`` (a VTIMEZONE is included); aware ones are
    written in UTC; dates make an all-day event. ``tzid=None`` with naive datetimes gives
    floating times.
    """
    start_params, start_value = _format_time(start, tzid)
    end_params, end_value = _format_time(end, tzid)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    body = "\r\n".join(lines) + "\r\n"
    if "TZID=" in start_params + end_params and tzid:
        body += vtimezone(tzid)
    event = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20250101T000000Z",
        f"DTSTART{start_params}:{start_value}",
        f"DTEND{end_params}:{end_value}",
        f"SUMMARY:{_escape(summary)}",
    ]
    if location is not None:
        event.append(f"LOCATION:{_escape(location)}")
    if description is not None:
        event.append(f"DESCRIPTION:{_escape(description)}")
    event += ["END:VEVENT", "END:VCALENDAR"]
    return body + "\r\n".join(event) + "\r\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


_slots = itertools.count()


def unique_slot(hours: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """A time slot (local, naive) no other call in this process returns: one per day from
    2031 on, so events of independent tests never overlap (and never clash)."""
    start = dt.datetime(2031, 1, 1, 15, 0) + dt.timedelta(days=next(_slots))
    return start, start + dt.timedelta(hours=hours)


def simple_event(uid: str, summary: str | None = None) -> str:
    """A one-hour event in its own time slot, local time in Kaliningrad."""
    start, end = unique_slot()
    return make_event(uid, summary or f"Событие {uid}", start, end)


# -- WebDAV bodies -----------------------------------------------------------------------

PROPFIND_ALL = """<?xml version="1.0" encoding="utf-8"?>
<propfind xmlns="DAV:"><allprop/></propfind>
"""


def propfind_body(*props: str) -> str:
    """A PROPFIND asking for the given props, written as ``prefix:name`` with prefixes
    D (DAV:), C (caldav), ICAL (Apple iCal)."""
    inner = "".join(f"<{p}/>" for p in props)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        'xmlns:ICAL="http://apple.com/ns/ical/">'
        f"<D:prop>{inner}</D:prop></D:propfind>"
    )


def proppatch_body(displayname: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        f"<D:displayname>{displayname}</D:displayname>"
        "</D:prop></D:set></D:propertyupdate>"
    )


def mkcalendar_body(displayname: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:set><D:prop><D:displayname>{displayname}</D:displayname></D:prop></D:set>"
        "</C:mkcalendar>"
    )


CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>
  </C:filter>
</C:calendar-query>
"""


def hour_long_occurrence(calendar: str, uid: str, start: dt.datetime, summary: str) -> Occurrence:
    """A one-hour occurrence for grade 10, as the engine would give it (for index and
    record tests that need occurrences without parsing iCalendar)."""
    return Occurrence(
        calendar=calendar,
        uid=uid,
        recurrence_id="",
        summary=summary,
        start=start,
        end=start + dt.timedelta(hours=1),
        all_day=False,
        location="",
        venue="",
        audience=Audience(frozenset({10})),
        audience_source="summary",
        is_blackout=False,
    )


# -- running the CLI in-process ----------------------------------------------------------


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def run_cli(argv: Sequence[str], stdin: str = "") -> CliResult:
    """``calhub.cli.main(argv)`` with stdin fed from ``stdin`` and stdout/stderr captured.

    argparse's ``--help`` and usage errors leave through SystemExit; its code is returned.
    """
    from calhub import cli

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if not exit_.code else 2)
    finally:
        sys.stdin = saved_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


def cli_ok(argv: Sequence[str], stdin: str = "") -> CliResult:
    result = run_cli(argv, stdin)
    assert result.code == 0, f"calhub {' '.join(argv)} failed: {result}"
    return result


def backup_and_restore(runner: Any, data_dir: Path, scratch: Path) -> Path:
    """``calhub backup`` of ``data_dir``, unpacked into a new directory (returned), the way
    the restore instructions say."""
    code, _, err = runner("backup", "--to", str(scratch / "backups"), "--data", str(data_dir))
    assert code == 0, err
    [archive] = (scratch / "backups").glob("calhub-backup-*.tar.gz")
    restored = scratch / "restored"
    restored.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(restored, filter="data")
    return restored


def tool(name: str) -> str:
    """The program ``name`` (sbin included), or a skip outside CI and a failure under CI, where
    .ci/run installs every program the tests use."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        reason = f"{name} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run installs it: CI must run the tests that need it)")
        pytest.skip(reason)
    return found
