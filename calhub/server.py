"""Serving the hub from one process and one port with a production WSGI server (cheroot).

cheroot is CherryPy's threaded HTTP server: pure Python, HTTP/1.1 keep-alive, a pool of
worker threads. SIGTERM and SIGINT stop it cleanly: listening stops, in-flight requests
finish, worker threads are joined.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType

from cheroot import wsgi

from calhub.hub import Hub
from calhub.wsgi import build_stack

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 16


class Shutdown(SystemExit):
    """Raised from the signal handler to leave cheroot's serve loop."""


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    logger.info("Received %s, shutting down", signal.Signals(signum).name)
    raise Shutdown(0)


def serve(
    hub: Hub,
    host: str,
    port: int,
    threads: int = DEFAULT_THREADS,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    server = wsgi.Server(
        (host, port),
        build_stack(hub),
        numthreads=threads,
        server_name="calhub",
        request_queue_size=64,
        timeout=30,
    )
    server.prepare()
    bound_host, bound_port = server.bind_addr[:2]
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    url = f"http://{shown_host}:{bound_port}/"
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready is not None:
            on_ready(url)
        server.serve()
    except Shutdown:
        pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("Stopped")
        sys.stdout.flush()
