"""Serving the hub from one process and one port with a production WSGI server (cheroot).

cheroot is CherryPy's threaded HTTP server: pure Python, HTTP/1.1 keep-alive, a pool of
worker threads. SIGTERM and SIGINT stop it cleanly: listening stops, in-flight requests
finish, worker threads are joined.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from cheroot import wsgi

from calhub.allocator import limit_malloc_arenas
from calhub.errors import UserError
from calhub.hub import Hub
from calhub.wsgi import build_stack

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 16


def _stop_on_signal(server: wsgi.Server) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        logger.info("Received %s, shutting down", signal.Signals(signum).name)
        # Only ask the loop to stop: raising here could land inside one of cheroot's
        # locks, and stop() would then wait for it forever.
        threading.Thread(target=server.stop, name="calhub-stop", daemon=True).start()

    return handler


def serve(
    hub: Hub,
    host: str,
    port: int,
    threads: int = DEFAULT_THREADS,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    limit_malloc_arenas()
    server = wsgi.Server(
        (host, port),
        build_stack(hub),
        numthreads=threads,
        server_name="calhub",
        request_queue_size=64,
        timeout=30,
    )
    try:
        server.prepare()
    except OSError as exc:
        raise UserError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint="Another program may use that port: choose another with --port, "
            "or --port 0 for any free one.",
        ) from exc
    bound_host, bound_port = server.bind_addr[:2]
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    url = f"http://{shown_host}:{bound_port}/"
    handler = _stop_on_signal(server)
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready is not None:
            on_ready(url)
        server.serve()
    finally:
        server.stop()
        for sig, old_handler in previous.items():
            signal.signal(sig, old_handler)
        logger.info("Stopped")
        sys.stdout.flush()
