"""The hub's one WSGI stack: body limit, access log, then /dav to Radicale and / to Flask.

access log → security headers → body limit → /.well-known/caldav → 301 /dav/
                                         → /dav/...            → clash-refusal mapping → Radicale
                                         → everything else     → Flask (dashboard, API, /healthz)
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from calhub.dav.actor import LOGIN_ENVIRON_KEY
from calhub.dav.app import DAV_PREFIX, build_radicale_app
from calhub.dav.mirror import DeleteGuard
from calhub.dav.refusal import CALDAV_NS, error_xml, xml_answer
from calhub.dav.request import basic_credentials, request_problem
from calhub.runtime.signin import wsgi_client_address

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("calhub.access")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def plain_response(
    start_response: StartResponse, status: str, text: str, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, whatever server runs the hub.

    Embedded Radicale does not enforce its own max_content_length, and a chunked body has
    no Content-Length to check up front, so a chunked body is read here up to the limit and
    handed on with a length (Radicale reads bodies by Content-Length only).
    """

    def __init__(self, app: WSGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        limit = self.limit()
        length_header = environ.get("CONTENT_LENGTH") or ""
        if length_header:
            try:
                length = int(length_header)
            except ValueError:
                return plain_response(
                    start_response, "400 Bad Request", "Invalid Content-Length.\n"
                )
            if length < 0:
                return plain_response(
                    start_response, "400 Bad Request", "Invalid Content-Length.\n"
                )
            if length > limit:
                return self._too_large(environ, start_response, limit)
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return self._too_large(environ, start_response, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    @staticmethod
    def _too_large(environ: Environ, start_response: StartResponse, limit: int) -> list[bytes]:
        environ["calhub.store.refused"] = "body limit"
        text = (
            f"Запрос слишком большой: хаб принимает не больше {limit} байт. "
            "Разделите загрузку на части.\n"
            f"The request body is too large: the hub accepts at most {limit} bytes. "
            "Split the upload into smaller parts.\n"
        )
        status = "413 Request Entity Too Large"
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "PUT" and path.startswith(DAV_PREFIX + "/"):
            # An object over the calendar's max-resource-size (RFC 4791 §5.3.2.1): the
            # status stays 413, as plain Radicale's, since the body was never read.
            payload = error_xml(CALDAV_NS, "max-resource-size", text)
            return xml_answer(start_response, status, payload)
        return plain_response(start_response, status, text)


def wsgi_text(value: str) -> str | None:
    """A PEP 3333 native string (bytes read as Latin-1) as the UTF-8 text it carries.

    Radicale's own server decodes request paths as UTF-8; a WSGI server hands them on as
    Latin-1, so ``ä`` arrives as ``Ã¤``. None if the bytes are not UTF-8. A string that
    cannot be Latin-1 was decoded already (by a server that does not follow PEP 3333).
    """
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


class Dispatcher:
    """Routes /dav to Radicale (with /dav as its SCRIPT_NAME) and the rest to Flask."""

    def __init__(self, dav: WSGIApp, web: WSGIApp) -> None:
        self.dav = dav
        self.web = web

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path in ("/.well-known/caldav", "/.well-known/caldav/", "/.well-known/carddav"):
            location = environ.get("SCRIPT_NAME", "") + DAV_PREFIX + "/"
            return plain_response(
                start_response,
                "301 Moved Permanently",
                f"See {location}\n",
                [("Location", location)],
            )
        if path == "/" and environ.get("REQUEST_METHOD") in ("PROPFIND", "REPORT", "OPTIONS"):
            # Some apps ask the bare host for their principal before trying .well-known,
            # and look for the DAV header in an OPTIONS of the root.
            path = DAV_PREFIX + "/"
        if path in (DAV_PREFIX, DAV_PREFIX + "/") and environ.get("REQUEST_METHOD") == "GET":
            # A person who opens the CalDAV address in a browser wants the web pages.
            location = environ.get("SCRIPT_NAME", "") + "/"
            return plain_response(
                start_response, "302 Found", f"See {location}\n", [("Location", location)]
            )
        if path == DAV_PREFIX or path.startswith(DAV_PREFIX + "/"):
            dav_path = wsgi_text(path[len(DAV_PREFIX) :] or "/")
            if dav_path is None:
                return plain_response(
                    start_response,
                    "400 Bad Request",
                    "Адрес не в кодировке UTF-8. / The address is not UTF-8 text.\n",
                )
            problem = request_problem(environ, dav_path)
            if problem is not None:
                return plain_response(start_response, *problem)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + DAV_PREFIX
            environ["PATH_INFO"] = dav_path
            return self.dav(environ, start_response)
        return self.web(environ, start_response)


def basic_login(environ: Environ) -> str:
    """The login named in an HTTP Basic header, for logging only (never the password)."""
    return basic_credentials(environ)[0] or "-"


# A feed's address is its secret (calhub.feeds.tokens): never written to a log. So is a
# partner's survey link; and a feedback form's link is left out too, so that the log (which
# has the client's address) does not say which event someone rated (calhub.feedback).
_SECRET_PATHS = (
    (re.compile(r"^/feeds/[^/]*$"), "/feeds/<token>.ics"),
    (re.compile(r"^/survey/[^/]*$"), "/survey/<token>"),
    (re.compile(r"^/f/[^/]*$"), "/f/<link>"),
)
# Any deeper path below /feeds/ may hold a token too (what a client made of one), but the
# coordinator's revoke form, which names the feed by its number.
_FEED_TREE = re.compile(r"^/feeds/(?!\d+/revoke$).")


def logged_path(path: str) -> str:
    """The request path as the access log shows it: UTF-8 text, secrets left out.
    (The query string is never logged: a client may put anything there.)"""
    text = wsgi_text(path) or path
    for pattern, shown in _SECRET_PATHS:
        if pattern.match(text):
            return shown
    return "/feeds/<hidden>" if _FEED_TREE.match(text) else text


def is_event_stream(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether an answer's headers say Server-Sent Events (calhub.web.live)."""
    return any(
        name.lower() == "content-type" and value.startswith("text/event-stream")
        for name, value in headers
    )


class LoggedStream:
    """A streamed body that counts what it hands on and reports it once, when the server
    closes it (whether it ran to its end, failed, or the client left)."""

    def __init__(self, body: Iterable[bytes], report: Callable[[int], None]) -> None:
        self.body = body
        self.report: Callable[[int], None] | None = report
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            report, self.report = self.report, None
            if report is not None:
                report(self.sent)


class AccessLog:
    """One line per request: client, login, method, path, status, bytes, milliseconds.

    An answer is read whole before it is logged (an error while it is made is then still
    a 500 the server can send), except an event stream (``text/event-stream``,
    calhub.web.live), which is handed on chunk by chunk and logged when it ends, with its
    whole duration and size.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status_holder: list[str] = ["-"]
        streaming: list[bool] = [False]

        def logging_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_holder[0] = status.split(" ", 1)[0]
            streaming[0] = is_event_stream(headers)
            return start_response(status, headers, exc_info)

        chunks: list[bytes] = []
        try:
            body = self.app(environ, logging_start_response)
            if streaming[0]:
                return self._streamed(body, environ, status_holder, started)
            try:
                chunks = list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except BaseException:
            status_holder[0] = "500"
            raise
        finally:
            if not streaming[0]:
                self._log(environ, status_holder[0], chunks, started)
        return chunks

    def _streamed(
        self, body: Iterable[bytes], environ: Environ, status: list[str], started: float
    ) -> LoggedStream:
        return LoggedStream(body, lambda sent: self._log(environ, status[0], [], started, sent))

    @staticmethod
    def _log(
        environ: Environ, status: str, chunks: list[bytes], started: float, size: int = 0
    ) -> None:
        size += sum(len(chunk) for chunk in chunks)
        # Behind the local TLS proxy: the client's address it forwarded.
        remote = wsgi_client_address(environ) or "-"
        # A web session's login, as the web app found it; else the Basic header's.
        login = str(environ.get(LOGIN_ENVIRON_KEY) or basic_login(environ))
        method = str(environ.get("REQUEST_METHOD", "-"))
        path = str(environ.get("SCRIPT_NAME", "")) + logged_path(environ.get("PATH_INFO", ""))
        duration = (time.perf_counter() - started) * 1000
        # The fields again for a JSON log (calhub.server.logs); the text line is the message.
        fields = {
            "method": method,
            "path": path,
            "status": int(status) if status.isdigit() else status,
            "bytes": size,
            "duration_ms": round(duration, 1),
            "remote": remote,
            "login": login,
        }
        access_logger.info(
            '%s %s "%s %s" %s %d %.1fms',
            remote,
            login,
            method,
            path,
            status,
            size,
            duration,
            extra={"access": fields},
        )


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` on every answer.

    The web app sets them on its pages; this covers /dav/ and the hub's own answers (413,
    400, redirects), so a browser never sniffs a calendar object as HTML or frames it.
    A header the answer already has is left as it is.
    """

    HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"))

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            extra = [(name, value) for name, value in self.HEADERS if name.lower() not in present]
            return start_response(status, [*headers, *extra], exc_info)

        return self.app(environ, with_headers)


def build_stack(
    hub: Hub, threads: int | None = None, on_runtime: Callable[[Runtime], None] | None = None
) -> WSGIApp:
    """The whole stack; ``threads``: how many workers the server runs, which rations the
    live streams each of which holds one (calhub.web.live); ``on_runtime`` is handed the
    process's one runtime (``calhub serve`` starts its background work on it)."""
    from calhub.dav.answers import DavAnswers
    from calhub.dav.capture import RefusalRecorder
    from calhub.dav.login import DavLogin
    from calhub.dav.maintenance import open_runtime, verify_index
    from calhub.dav.mapper import RefusalMapper
    from calhub.dav.precheck import PutCheck
    from calhub.dav.proppatch import PropertyGuard
    from calhub.store.health import check_hub_database
    from calhub.web import create_app

    # Approvals live in hub.sqlite: refuse to start on a damaged one, before anything else
    # opens it, and fold its write-ahead log in (docs/reliability.md).
    check_hub_database(hub.paths.hub_db)
    # One runtime for the process: Radicale's plugins and the web share its stores.
    runtime = open_runtime(hub)
    if on_runtime is not None:
        on_runtime(runtime)
    problems = verify_index(runtime, repair=True)
    for problem in problems:
        logger.warning("Index was out of step with storage and was repaired: %s", problem)
    from calhub.web.live import LIMIT_CONFIG, stream_limit

    workers = threads or hub.settings.server.threads
    web = create_app({LIMIT_CONFIG: stream_limit(workers)}, hub=hub, runtime=runtime)
    answers = DavAnswers(
        build_radicale_app(runtime), runtime.policy, lambda: hub.settings.max_body_bytes
    )
    # Refused writes are kept for the dashboard, so an event a calendar app cannot send
    # is not lost (calhub.store.refused); a later write of the same event resolves the record.
    recorder = RefusalRecorder(runtime)
    mapper = RefusalMapper(
        PropertyGuard(answers, hub),
        PutCheck(runtime),
        recorder.refused,
        recorder.written,
        max_properties=lambda: hub.settings.max_properties_per_request,
        before_delete=DeleteGuard(runtime),
    )
    # Credentials first, once per request, within the sign-in limit (calhub.dav.login).
    dav = DavLogin(mapper, runtime)
    dispatcher = Dispatcher(dav, web)
    return AccessLog(SecurityHeaders(BodyLimit(dispatcher, lambda: hub.settings.max_body_bytes)))
