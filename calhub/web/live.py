"""Live updates (issue 15): how a dashboard learns, within 2 s, that a write changed it.

``GET /api/live`` answers a version and the account's open clash count (hard and soft),
with an ETag: a poll of an unchanged hub is a 304 that costs two reads of the stores'
``state()`` and no count. ``GET /api/live/stream`` is the same as Server-Sent Events: the
state at once, then an event whenever the version changes (looked at every
``CHECK_EVERY`` seconds), a comment now and then so proxies keep the connection.

A stream holds one of the server's few worker threads (waitress, ``[server] threads``) for
its whole life, and the hub faces the internet, so streams are rationed:

- each ends by itself after ``STREAM_SECONDS`` (EventSource reconnects after ``retry``),
  when its client is gone (waitress tells, calhub.server.http keeps such a channel
  readable) or when the server stops (``calhub.server.stopping`` in the environ);
- at most ``max(1, threads // 4)`` run at once per process: with the default 8 threads, 2
  streams leave 6 workers for calendar apps' syncs and pages. One more gets a 503 with
  Retry-After; the page then polls ``/api/live`` every 1.5 s, which a worker answers in a
  millisecond.

The version is derived from the index's and the records' ``state()`` (any write of an
event or a clash record changes it) and the account's clash scope, so a partner's version
is not the coordinator's. Neither request counts as activity for the session's idle
timeout: an open tab does not keep a forgotten sign-in alive.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from calhub.errors import UserError
from calhub.web.auth import api_error, api_user_error, current_account, login_required
from calhub.web.context import current_runtime

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

bp = Blueprint("live", __name__, url_prefix="/api")
bp.register_error_handler(UserError, api_user_error)

F = TypeVar("F", bound=Callable[..., Any])

FORMAT = "1"  # part of every version: a change of what /api/live says changes them all
STREAMS_KEY = "calhub_live_streams"
LIMIT_CONFIG = "CALHUB_LIVE_STREAMS"  # streams at once; default max(1, threads // 4)
SECONDS_CONFIG = "CALHUB_LIVE_STREAM_SECONDS"  # a stream's life; default STREAM_SECONDS
# Set by calhub.server.http in every request's environ: a threading.Event set at SIGTERM.
STOPPING_ENVIRON = "calhub.server.stopping"
# waitress's: whether the client closed the connection (a callable).
GONE_ENVIRON = "waitress.client_disconnected"

CHECK_EVERY = 0.5  # seconds between looks at the version: a write shows within 0.5 s
# Seconds between looks at the client: the slot of a tab that navigated away is free by
# the time its next page opens a stream.
GONE_EVERY = 0.1
HEARTBEAT_EVERY = 10.0  # seconds of silence before a comment line
STREAM_SECONDS = 25.0  # a stream's life, under nginx's default 60 s proxy_read_timeout
RETRY_MS = 1500  # EventSource waits this long before it reconnects
RETRY_AFTER = 30  # seconds, in the 503's Retry-After


@dataclasses.dataclass(frozen=True, slots=True)
class LiveState:
    version: str
    hard: int
    soft: int

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "open": self.hard + self.soft,
            "hard": self.hard,
            "soft": self.soft,
        }


def live_version(runtime: Runtime, scope: str | None) -> str:
    """What an account with clash scope ``scope`` sees, as a short opaque string: equal
    strings, equal plan and clash list. Two small reads, no scan."""
    text = "|".join(
        (FORMAT, runtime.index.state(), runtime.records.state(), "*" if scope is None else scope)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def live_state(runtime: Runtime, scope: str | None) -> LiveState:
    # The version first: a write between the two reads then shows as one more change,
    # never as a count that the version does not account for.
    version = live_version(runtime, scope)
    counts = runtime.records.open_counts(calendar=scope)
    return LiveState(version, counts.get("hard", 0), counts.get("soft", 0))


class StreamSlots:
    """How many streams run in this process, and at most how many may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self._lock = threading.Lock()

    def take(self) -> Callable[[], None] | None:
        """A slot's release (call it once or more), or None when all are taken."""
        with self._lock:
            if self.running >= self.limit:
                return None
            self.running += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self.running -= 1

        return release


def stream_limit(threads: int) -> int:
    return max(1, threads // 4)


def init_app(app: Any) -> None:
    """The slots of this app's streams (from its config, else the hub's ``[server]
    threads``; calhub.server.stack passes the count the server really runs)."""
    limit = app.config.get(LIMIT_CONFIG)
    if not limit:
        hub: Hub = app.extensions["calhub"]
        limit = stream_limit(hub.settings.server.threads)
    app.extensions[STREAMS_KEY] = StreamSlots(int(limit))
    app.register_blueprint(bp)


def quiet(view: F) -> F:
    """The request does not count as the session's activity (calhub.web.auth)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.quiet_session = True
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _scope() -> str | None:
    account = current_account()
    assert account is not None
    return current_runtime().policy.clash_scope(account)


@bp.app_context_processor
def _page_version() -> dict[str, Any]:
    """The version a signed-in page was made at, so live.js sees a write that came
    between making the page and opening the stream."""
    account = current_account()
    if account is None:
        return {}
    scope = current_runtime().policy.clash_scope(account)
    return {
        "live_version": live_version(current_runtime(), scope),
        "live_poll_url": url_for("live.state"),
        "live_stream_url": url_for("live.stream"),
    }


@bp.get("/live")
@quiet
@login_required
def state() -> ResponseReturnValue:
    runtime = current_runtime()
    scope = _scope()
    version = live_version(runtime, scope)
    headers = {"ETag": f'"{version}"', "Cache-Control": "private, no-cache"}
    if request.if_none_match.contains(version):
        return Response(status=304, headers=headers)
    found = live_state(runtime, scope)
    response = jsonify(found.as_json())
    response.headers.update(headers)
    response.headers["ETag"] = f'"{found.version}"'
    return response


def _event(found: LiveState) -> bytes:
    return f"data: {json.dumps(found.as_json())}\n\n".encode()


def _events(
    runtime: Runtime,
    scope: str | None,
    first: LiveState,
    seconds: float,
    stopping: threading.Event,
    gone: Callable[[], bool],
) -> Iterator[bytes]:
    yield f"retry: {RETRY_MS}\n".encode() + _event(first)
    last = first.version
    ends = time.monotonic() + seconds
    quiet_since = time.monotonic()
    while time.monotonic() < ends:
        # A closed tab or SIGTERM is seen within GONE_EVERY, a write within CHECK_EVERY.
        for _ in range(round(CHECK_EVERY / GONE_EVERY)):
            if stopping.wait(GONE_EVERY) or gone():
                return
        version = live_version(runtime, scope)
        now = time.monotonic()
        if version != last:
            found = live_state(runtime, scope)
            last = found.version
            quiet_since = now
            yield _event(found)
        elif now - quiet_since >= HEARTBEAT_EVERY:
            quiet_since = now
            yield b": still here\n\n"


def _never() -> bool:
    return False


@bp.get("/live/stream")
@quiet
@login_required
def stream() -> ResponseReturnValue:
    if request.method == "HEAD":
        # Nothing will be read from it: no slot, no worker held.
        return Response(mimetype="text/event-stream", headers={"Cache-Control": "no-store"})
    slots: StreamSlots = current_app.extensions[STREAMS_KEY]
    release = slots.take()
    if release is None:
        logger.info("Live stream refused: %d running, the limit", slots.limit)
        answer: Any = api_error(
            503,
            "Слишком много открытых потоков обновлений; страница будет опрашивать хаб. / "
            "Too many live streams are open; the page polls the hub instead.",
            f"Poll GET /api/live, or try the stream again in {RETRY_AFTER} s.",
        )
        body, status, headers = answer
        headers["Retry-After"] = str(RETRY_AFTER)
        return body, status, headers
    try:
        runtime = current_runtime()
        scope = _scope()
        first = live_state(runtime, scope)
        seconds = float(current_app.config.get(SECONDS_CONFIG) or STREAM_SECONDS)
        environ = request.environ
        stopping = environ.get(STOPPING_ENVIRON)
        if not isinstance(stopping, threading.Event):
            stopping = threading.Event()  # not under calhub.server: nothing stops it early
        gone = environ.get(GONE_ENVIRON)
        events = _events(runtime, scope, first, seconds, stopping, gone or _never)
        response = Response(events, mimetype="text/event-stream")
    except BaseException:
        release()
        raise
    # Called when the server closes the body, whether it ran to its end or not.
    response.call_on_close(release)
    response.headers["Cache-Control"] = "no-store"
    # nginx would otherwise buffer the events (deploy/nginx-calhub.conf).
    response.headers["X-Accel-Buffering"] = "no"
    return response
