"""``calhub serve --workers N``: N server processes on one port and one data directory.

The supervisor (the process ``calhub serve`` started as) binds the listening socket, forks
N workers that each accept from it, and does nothing else: it never opens the hub's
stores, so nothing it holds is shared by accident. Each worker is a whole server
(:func:`calhub.server.http.serve`): its own runtime, stores, Radicale and threads.

What the workers share lives on disk and is already safe between processes: Radicale's
storage lock (a file lock) makes every write and its clash check one step; the index,
clash records, sign-in counters, sessions, feed tokens and the outbox are SQLite in WAL
mode with explicit write transactions; the session key and the accounts are files re-read
when they change. The notification sender runs in worker 0 only (the outbox's leases would
keep two apart, but one is enough). Per process: the per-address connection cap and the
live-stream ration (each worker enforces its own).

A worker that dies (a crash, ``kill -9``) is started again; requests it had in flight get
a reset connection, and what it acknowledged is on disk. SIGTERM or SIGINT to the
supervisor stops every worker cleanly and then the supervisor (exit 0). A worker whose
supervisor is gone stops by itself.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from calhub.errors import UserError
from calhub.hub import Hub
from calhub.server import http

logger = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds for every worker to listen (each verifies the index first)
STOP_TIMEOUT = http.STOP_GRACE + 15.0
POLL = 0.2
# A worker that dies again this soon after its start is not started at once again.
RESTART_PAUSE = 5.0
MAX_WORKERS = 32

# What the CLI does with an error a worker raises (print it for a person; exit status).
Report = Callable[[BaseException], int]


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts from; UserError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise UserError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint="Another program may use that port: choose another with --port, "
            "or --port 0 for any free one.",
        ) from exc
    sock.setblocking(False)
    return sock


@dataclass
class Worker:
    slot: int
    pid: int
    started: float
    ready: bool = False


@dataclass
class Supervisor:
    hub: Hub
    host: str
    sock: socket.socket
    count: int
    threads: int | None
    background: http.Background | None
    report: Report
    workers: dict[int, Worker] = field(default_factory=dict)  # by pid
    stop_signal: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def run(self, on_ready: Callable[[str], None]) -> int:
        def note(signum: int, frame: FrameType | None) -> None:
            self.stop_signal.append(signum)

        previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
        ready_read, ready_write = os.pipe()
        try:
            for slot in range(self.count):
                self._start(slot, ready_read, ready_write)
            self._wait_ready(ready_read)
            logger.info("%d workers serving on one port (pids %s)", self.count, self.pids())
            on_ready(self.url)
            while not self.stop_signal:
                self._reap_and_restart(ready_read, ready_write)
                self._drain(ready_read)
        finally:
            code = self._stop_all()
            os.close(ready_read)
            os.close(ready_write)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.stop_signal:
            logger.info("Received %s, stopped", signal.Signals(self.stop_signal[0]).name)
        return code

    def pids(self) -> list[int]:
        return sorted(self.workers)

    # -- starting --------------------------------------------------------------------

    def _start(self, slot: int, ready_read: int, ready_write: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(ready_read)
            os._exit(self._work(slot, ready_write))
        self.workers[pid] = Worker(slot, pid, time.monotonic())
        logger.info("Worker %d started (pid %d)", slot, pid)

    def _work(self, slot: int, ready_write: int) -> int:
        supervisor = os.getppid()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)

        def ready(url: str) -> None:
            os.write(ready_write, slot.to_bytes(1, "big"))

        try:
            http.serve(
                self.hub,
                self.host,
                self.sock.getsockname()[1],
                self.threads,
                on_ready=ready,
                background=self.background if slot == 0 else None,
                sock=self.sock,
                orphaned=lambda: os.getppid() != supervisor,
            )
            return 0
        except BaseException as error:  # noqa: BLE001 - a forked worker reports, then exits
            return self.report(error)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()

    def _drain(self, ready_read: int, timeout: float = POLL) -> None:
        readable, _, _ = select.select([ready_read], [], [], timeout)
        if readable:
            for byte in os.read(ready_read, 256):
                for worker in self.workers.values():
                    if worker.slot == byte:
                        worker.ready = True

    def _wait_ready(self, ready_read: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(w.ready for w in self.workers.values()):
            if self.stop_signal:
                return
            for worker, status in self._exited():
                raise UserError(
                    f"Worker {worker.slot} stopped while starting ({_describe(status)}); "
                    "its message is above.",
                    hint="Fix what it names and start the server again.",
                )
            if time.monotonic() > deadline:
                raise UserError(
                    f"The workers did not all listen within {START_TIMEOUT:.0f} s.",
                    hint="See the log above; start with --workers 1 to see one alone.",
                )
            self._drain(ready_read)

    # -- watching ---------------------------------------------------------------------

    def _exited(self) -> list[tuple[Worker, int]]:
        """The workers that have exited, reaped and taken off the list, with their status."""
        gone = []
        for pid in list(self.workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                gone.append((self.workers.pop(pid), status))
        return gone

    def _reap_and_restart(self, ready_read: int, ready_write: int) -> None:
        for worker, status in self._exited():
            logger.error(
                "Worker %d (pid %d) stopped: %s; starting it again",
                worker.slot,
                worker.pid,
                _describe(status),
            )
            lived = time.monotonic() - worker.started
            if lived < RESTART_PAUSE:
                # Dying at once again and again (a bad file, no memory): do not spin.
                time.sleep(RESTART_PAUSE - lived)
            if not self.stop_signal:
                self._start(worker.slot, ready_read, ready_write)

    # -- stopping ---------------------------------------------------------------------

    def _stop_all(self) -> int:
        for pid in self.workers:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        code = 0
        while self.workers:
            for worker, status in self._exited():
                if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                    logger.warning("Worker %d stopped: %s", worker.slot, _describe(status))
                    code = 1
            if time.monotonic() > deadline:
                for pid in list(self.workers):
                    logger.error("Worker pid %d did not stop in %.0f s; killed", pid, STOP_TIMEOUT)
                    _signal(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    del self.workers[pid]
                return 1
            time.sleep(0.05)
        self.sock.close()
        logger.info("Stopped")
        return code


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        logger.debug("Worker pid %d was gone already", pid)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def serve_workers(
    hub: Hub,
    host: str,
    port: int,
    count: int,
    threads: int | None,
    on_ready: Callable[[str], None],
    background: http.Background | None,
    report: Report,
) -> int:
    """Serve ``hub`` from ``count`` processes on one port; the exit status of the whole."""
    supervisor = Supervisor(hub, host, bind(host, port), count, threads, background, report)
    return supervisor.run(on_ready)
