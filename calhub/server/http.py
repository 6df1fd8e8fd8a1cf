"""Serving the hub from one process and one port with waitress.

waitress reads every connection in one event loop (poll) and hands a request to a worker
thread only when the whole request, headers and body, has arrived; bodies over 512 KiB wait
in a temporary file rather than in memory. A client that trickles its request holds a
socket, never a worker, so slow clients cannot stop the hub (issue 11; with cheroot, 17
connections sending a header line a second held all 16 workers). On top of waitress:

- ``connections_per_address``: a client address with that many open connections gets a
  503 for the next one at once (waitress has only a global ``connection_limit``); the
  proxy in front (``proxy_addresses``) is exempt, its own limit (nginx ``limit_conn``)
  caps the users behind it.
- ``request_timeout``: a request not complete that many seconds after its first byte is
  answered 408 and its connection closed. waitress's own ``channel_timeout`` counts from
  the last byte received, so a client sending one byte now and then would keep it forever.
- the body limit follows ``[hub] max_body_bytes`` (re-read with calhub.toml): waitress stops
  reading a body over it, and the request is answered by the hub's BodyLimit (the 413
  with the reason and, for a calendar PUT, max-resource-size) without its body.

SIGTERM and SIGINT stop it cleanly: listening stops, live streams end (``stopping``),
requests in flight finish (for up to ``STOP_GRACE`` seconds), worker threads are joined.
"""

from __future__ import annotations

import gc
import io
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

from calhub.errors import UserError
from calhub.hub import Hub
from calhub.hub.settings import ServerSettings
from calhub.server.allocator import limit_malloc_arenas
from calhub.server.stack import WSGIApp, build_stack, is_event_stream

if TYPE_CHECKING:
    from calhub.runtime import Runtime

# Work a server runs beside its requests (calhub serve: the notification sender): started
# with the runtime and the server's address once it listens; returns how to stop it.
Background = Callable[["Runtime", str], Callable[[], None]]

logger = logging.getLogger(__name__)

LOOP_TIMEOUT = 0.5  # seconds: the longest the loop sleeps, so how soon it sees SIGTERM
STOP_GRACE = 10.0  # seconds requests in flight get to finish after SIGTERM

REFUSED_BUSY = (
    "Слишком много соединений с вашего адреса: закройте лишние и повторите позже.\n"
    "Too many connections from your address: close some and try again later.\n"
)
REFUSED_SLOW = (
    "Запрос не пришёл целиком за {seconds} с: соединение закрыто, отправьте его снова.\n"
    "The request did not arrive in full within {seconds} s: the connection is closed, "
    "send it again.\n"
)


def plain_answer(status: str, text: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, for answers the app never sees."""
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n{extra}"
        "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HubAdjustments(Adjustments):
    """waitress's settings, with the body limit taken from the hub's current settings."""

    def __init__(self, body_limit: Callable[[], int], **kw: Any) -> None:
        self._body_limit = body_limit
        self._limit = body_limit()
        super().__init__(**kw)

    @property
    def max_request_body_size(self) -> int:
        # waitress refuses a body of this size or more; the hub accepts max_body_bytes.
        # Read each time (a stat of calhub.toml) so a raised limit holds at once.
        try:
            self._limit = self._body_limit()
        except (UserError, OSError) as exc:
            # This runs in the event loop: keep the last limit rather than stop serving.
            logger.warning("Keeping body limit %d: %s", self._limit, exc)
        return self._limit + 1


class ChunkedSlack:
    """The adjustments one request's parser sees: for a chunked body, room for framing.

    waitress counts a chunked body's bytes on the wire, chunk-size lines included, so a
    body of exactly the limit would be refused; such a body is read whole within twice the
    limit and 64 KiB (the hub's BodyLimit refuses it by its real length if it is too large).
    """

    def __init__(self, adj: HubAdjustments, parser: HubRequestParser) -> None:
        self._adj = adj
        self._parser = parser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adj, name)

    @property
    def max_request_body_size(self) -> int:
        limit: int = self._adj.max_request_body_size
        return 2 * limit + 65536 if self._parser.chunked else limit


class HubRequestParser(HTTPRequestParser):
    error: Any  # waitress's: why the request is refused, or None

    def __init__(self, adj: HubAdjustments) -> None:
        super().__init__(ChunkedSlack(adj, self))

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        receiver: Any = self.body_rcv
        if self.error is None and self.chunked and receiver is not None:
            # A chunk that announces more than the limit (2^72 bytes) is refused now, not
            # after waiting for bytes that will never come.
            announced = self.body_bytes_received + getattr(receiver, "chunk_remainder", 0)
            if announced >= self.adj.max_request_body_size:
                self.error = RequestEntityTooLarge("a chunk exceeds the body limit")
                self.completed = True
        if self.error is not None:
            # waitress would still send "100 Continue" to a refused request and then wait
            # for a body it never reads; the refusal is the answer.
            self.expect_continue = False
        return consumed


STOPPING_ENVIRON = "calhub.server.stopping"  # read by calhub.web.live


class HubTask(WSGITask):
    """A request's task: tells the app when the server stops, and its channel when the
    answer is an event stream (calhub.web.live).

    waitress (3.x) sends every chunk the app yields at once (``send_bytes`` is 1 since
    1.3, so each write is flushed from the worker thread), so events need no padding. What
    it does not do is notice a client that left while its request runs: a channel is not
    read meanwhile unless ``channel_request_lookahead`` is set. A stream's channel is read
    (``HubChannel.readable``), so a closed tab frees its worker within a check, not at the
    next failed write.
    """

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        environ[STOPPING_ENVIRON] = self.channel.server.stopping
        return environ

    def write(self, data: bytes) -> None:
        if not self.wrote_header and is_event_stream(self.response_headers):
            self.channel.streaming = True
        super().write(data)

    def service(self) -> None:
        try:
            super().service()
        finally:
            self.channel.streaming = False


class TooLargeTask(HubTask):
    """A request whose body waitress stopped reading, handed to the app without it.

    The hub's BodyLimit then answers from the length alone (the 413 with its reason), and
    the connection is closed, since the rest of the body may still be on its way.
    """

    def execute(self) -> None:
        self.set_close_on_finish()
        super().execute()

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        announced = self.request.content_length or 0
        received = self.request.body_bytes_received or 0
        # A chunked body has no length; what arrived already is over the limit. The limit
        # now, should calhub.toml have raised it since, so BodyLimit surely refuses.
        now = self.channel.server.adj.max_request_body_size
        environ["CONTENT_LENGTH"] = str(max(announced, received, now))
        environ["wsgi.input"] = io.BytesIO(b"")
        return environ


class HubChannel(HTTPChannel):
    """A connection that remembers when its current request began to arrive."""

    parser_class = HubRequestParser
    task_class = HubTask
    request_started: float | None = None
    streaming = False  # the answer being sent is an event stream (HubTask)
    requests: list[Any]  # waitress's: the complete requests not yet answered

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.monotonic()
        result: bool = super().received(data)
        if self.request is None:
            self.request_started = None
        return result

    def service(self) -> None:
        request = self.requests[0]
        if isinstance(request.error, RequestEntityTooLarge) and request.headers_finished:
            try:
                TooLargeTask(self, request).service()
            except ClientDisconnected:
                logger.debug("Client gone before its 413 was sent")
            finally:
                with self.requests_lock:
                    self.close_when_flushed = True
                    for pending in self.requests:
                        pending.close()
                    self.requests = []
                self.server.pull_trigger()
            return
        super().service()

    def readable(self) -> bool:
        if self.streaming:
            # As waitress with channel_request_lookahead = 1: read on while the stream
            # runs, so a client's close is seen (waitress.client_disconnected); a request
            # sent meanwhile only waits its turn.
            return not (
                self.will_close
                or self.close_when_flushed
                or len(self.requests) > 1
                or self.total_outbufs_len
            )
        result: bool = super().readable()
        return result

    def time_out(self, seconds: int) -> None:
        """Answer 408 and close: the request did not arrive in time (event loop only)."""
        payload = plain_answer("408 Request Timeout", REFUSED_SLOW.format(seconds=seconds))
        with self.requests_lock:
            self.request = None
            self.request_started = None
        with self.outbuf_lock:
            self.outbufs[-1].append(payload)
            self.total_outbufs_len += len(payload)
        self.close_when_flushed = True


class HubServer(TcpWSGIServer):
    """waitress's TCP server with a cap per client address and a whole-request deadline."""

    channel_class = HubChannel

    def __init__(self, app: WSGIApp, limits: ServerSettings, **kw: Any) -> None:
        self.limits = limits
        self.refusals_logged: dict[str, float] = {}
        # Set when the server stops: live streams end at once (calhub.web.live).
        self.stopping = threading.Event()
        super().__init__(app, **kw)

    def accept(self) -> tuple[socket.socket, Any] | None:
        # waitress's handle_accept makes a channel of whatever this returns; a connection
        # over the cap is answered here and never becomes one.
        pair: tuple[socket.socket, Any] | None = super().accept()
        if pair is None:
            return None
        conn, addr = pair
        address = str(addr[0])
        if address in self.limits.proxy_addresses:
            return pair
        open_here = sum(1 for ch in self.active_channels.values() if ch.addr[0] == address)
        if open_here < self.limits.connections_per_address:
            return pair
        self.refuse(conn, address)
        return None

    def refuse(self, conn: socket.socket, address: str) -> None:
        now = time.monotonic()
        if now - self.refusals_logged.get(address, -3600.0) > 60:
            self.refusals_logged[address] = now
            logger.warning(
                "Refusing connections from %s: %d open, the limit per address "
                "([server] connections_per_address)",
                address,
                self.limits.connections_per_address,
            )
        try:
            conn.setblocking(False)
            conn.send(plain_answer("503 Service Unavailable", REFUSED_BUSY, "Retry-After: 5\r\n"))
        except OSError as exc:
            # A client that is gone or not reading loses nothing: it is refused either way.
            logger.debug("503 to %s not sent: %s", address, exc)
        finally:
            conn.close()

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # closes connections idle for channel_timeout
        deadline = time.monotonic() - self.limits.request_timeout
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if (
                started is not None
                and started < deadline
                and channel.request is not None
                and not channel.requests
                and not (channel.will_close or channel.close_when_flushed)
            ):
                logger.info(
                    "Closing a connection from %s: request not complete after %d s",
                    channel.addr[0],
                    self.limits.request_timeout,
                )
                channel.time_out(self.limits.request_timeout)


def make_server(
    app: WSGIApp,
    host: str,
    port: int,
    limits: ServerSettings,
    body_limit: Callable[[], int],
    threads: int | None = None,
    sock: socket.socket | None = None,
) -> HubServer:
    """A bound, listening server (not yet serving); UserError if the address is taken.
    ``sock``: a socket bound already (by the workers' supervisor, shared by them all)."""
    shown = f"[{host}]" if ":" in host else host
    adjustments = HubAdjustments(
        body_limit,
        listen=f"{shown}:{port}",
        threads=threads or limits.threads,
        connection_limit=limits.connection_limit,
        channel_timeout=limits.idle_timeout,
        # maintenance (idle and whole-request deadlines) looks every second.
        cleanup_interval=1,
        asyncore_use_poll=True,  # select() cannot watch descriptors above 1023
        asyncore_loop_timeout=LOOP_TIMEOUT,
        ident="calhub",
        # The web app decides about X-Forwarded-* itself (calhub.web.security), and
        # waitress would otherwise strip them.
        clear_untrusted_proxy_headers=False,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adjustments.threads)
    try:
        # Like cheroot before, one listening socket: the first address the host names.
        return HubServer(
            app,
            limits,
            map={},
            dispatcher=dispatcher,
            adj=adjustments,
            sockinfo=adjustments.listen[0],
            _sock=sock,
            bind_socket=sock is None,
        )
    except OSError as exc:
        dispatcher.shutdown()
        raise UserError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint="Another program may use that port: choose another with --port, "
            "or --port 0 for any free one.",
        ) from exc


def run_until(server: HubServer, stopping: Callable[[], bool]) -> None:
    """Serve until ``stopping()``; then stop listening and let requests in flight finish."""
    socket_map = server._map
    while not stopping():
        wasyncore.loop(timeout=LOOP_TIMEOUT, map=socket_map, use_poll=True, count=1)
    logger.info("Shutting down")
    server.stopping.set()
    # Only the listening socket: the channels and the trigger stay in the loop.
    wasyncore.dispatcher.close(server)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline and any(
        channel.requests for channel in list(server.active_channels.values())
    ):
        wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(timeout=2)
    wasyncore.close_all(socket_map)


def serve(
    hub: Hub,
    host: str,
    port: int,
    threads: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    background: Background | None = None,
    sock: socket.socket | None = None,
    orphaned: Callable[[], bool] = lambda: False,
) -> None:
    """Serve until SIGTERM or SIGINT. A worker of ``calhub serve --workers`` passes the
    shared ``sock`` and ``orphaned`` (its supervisor is gone: stop too)."""
    limit_malloc_arenas()
    limits = hub.settings.server
    runtimes: list[Runtime] = []
    server = make_server(
        build_stack(hub, threads, runtimes.append),
        host,
        port,
        limits,
        lambda: hub.settings.max_body_bytes,
        threads,
        sock,
    )
    bound = str(server.effective_host)
    url = f"http://{f'[{bound}]' if ':' in bound else bound}:{server.effective_port}/"
    stop_requested: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        # Only note it: raising here could land inside a lock the loop holds. The loop
        # looks at least every LOOP_TIMEOUT seconds.
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    stop_background = None if background is None else background(runtimes[0], url)
    # What start-up made (modules, the app, the runtime) lives as long as the process: out
    # of the collector's way, a full collection walks only what requests made since.
    gc.freeze()
    try:
        if on_ready is not None:
            on_ready(url)
        run_until(server, lambda: bool(stop_requested) or orphaned())
        if stop_requested:
            logger.info("Received %s, stopped", signal.Signals(stop_requested[0]).name)
    finally:
        if stop_background is not None:
            stop_background()
        for sig, old_handler in previous.items():
            signal.signal(sig, old_handler)
        logger.info("Stopped")
        sys.stdout.flush()
