"""The hub's WSGI stack under cheroot, as ``calhub serve`` ran it before issue 11.

    python -m bench.cheroot_serve --data DIR [--port 0]

For bench/server_bench.py only: the same ``calhub.server.stack.build_stack`` the hub serves, on
cheroot's threaded server with the settings calhub used (16 worker threads, a request queue
of 64, a 30 s socket timeout, two malloc arenas). Prints the same "listening on" line.
cheroot is no dependency of calhub any more: ``pip install cheroot`` to run this.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        from cheroot import wsgi
    except ImportError:
        print("cheroot is not installed: pip install cheroot", file=sys.stderr)
        return 2

    from calhub.cli.preload import import_everything
    from calhub.hub import Hub
    from calhub.server.allocator import limit_malloc_arenas
    from calhub.server.stack import build_stack

    import_everything()
    limit_malloc_arenas()
    server = wsgi.Server(
        ("127.0.0.1", args.port),
        build_stack(Hub(args.data)),
        numthreads=16,
        server_name="calhub",
        request_queue_size=64,
        timeout=30,
    )
    server.prepare()

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.bind_addr[:2]
    print(f"calhub listening on http://{host}:{port}/", flush=True)
    try:
        server.serve()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
