"""Fixtures for the hub tests (application-factory style, as in Flask's tutorial).

- ``hub_template`` (session): a hub created in-process (``create_hub`` and ``calhub partner
  add``) with partners ``bfu`` and ``kgtu``; never served. Other hubs are copies of it.
- ``hub_dir``    (session): the shared hub: a copy of the template plus one account hashed
  at the production bcrypt cost (for the login-cache test).
- ``hub_server`` (session): the real hub serving ``hub_dir`` in a subprocess, started with
  ``python -m calhub serve --port 0`` exactly as an operator would; shared by every test
  that does not change accounts or configuration.
- ``fresh_hub``  (function): a factory for a private hub directory and server, for tests
  that change accounts or configuration; ``module_hubs`` is the same for one module.
- ``app`` / ``client``: the Flask web app on ``hub_dir``, in-process.
- ``runner``: runs ``calhub.cli.main(argv)`` in-process with captured stdout/stderr and a
  given stdin; returns ``(exit_code, stdout, stderr)``.

Every server binds 127.0.0.1 only and is stopped with SIGTERM at teardown; the teardown
checks it exits cleanly (status 0) and kills it if it does not, so nothing is left running.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# bcrypt at the production cost (12) takes about 0.25 s per hash and the suite creates
# dozens of accounts (every fixture hub, every CLI test). Cost 4, the minimum bcrypt
# allows, runs the same code paths in about a millisecond. The variable is read by
# calhub.hub.accounts.hash_password at hashing time, and subprocess servers inherit it.
# (Only the login-cache test needs a slow hash; it creates its account at cost 12.)
os.environ["CALHUB_BCRYPT_ROUNDS"] = "4"

from helpers import (  # after the environment above is set
    PASSWORDS,
    SCHOOL_NAME,
    SLOW_LOGIN,
    CliResult,
    cli_ok,
    request,
    run_cli,
)

SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0


@pytest.fixture(autouse=True)
def _no_ambient_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's $CALHUB_DATA must never be the hub a test changes."""
    monkeypatch.delenv("CALHUB_DATA", raising=False)


# -- running the CLI in-process ----------------------------------------------------------


@pytest.fixture
def runner() -> Callable[..., CliResult]:
    """``runner(*argv, input="")`` → ``(exit_code, stdout, stderr)``."""

    def run(*argv: str, input: str = "") -> CliResult:
        return run_cli(argv, input)

    return run


# -- building hub directories ------------------------------------------------------------


def build_hub(
    root: Path,
    partners: Sequence[str] = ("bfu", "kgtu"),
    hub_settings: Mapping[str, Any] | None = None,
) -> Path:
    """A hub in ``root``: coordinator, school calendars and the given partners, all with the
    passwords in ``helpers.PASSWORDS``; ``hub_settings`` overrides keys of ``[hub]``."""
    from calhub.cli.init import create_hub
    from calhub.hub import HubPaths

    create_hub(HubPaths(root), SCHOOL_NAME, "Europe/Kaliningrad", PASSWORDS["coordinator"])
    names = {"bfu": "БФУ им. И. Канта", "kgtu": "КГТУ"}
    for partner in partners:
        cli_ok(
            [
                "partner",
                "add",
                partner,
                "--name",
                names.get(partner, partner.upper()),
                "--password-stdin",
                "--data",
                str(root),
            ],
            stdin=PASSWORDS[partner] + "\n",
        )
    if hub_settings:
        set_hub_settings(root, hub_settings)
    return root


def set_hub_settings(root: Path, hub_settings: Mapping[str, Any]) -> None:
    """Set keys of ``[hub]`` in calhub.toml, as a coordinator would edit it."""
    from calhub.hub import configfile

    document = configfile.read_document(root)
    hub_table: Any = document["hub"]
    for key, value in hub_settings.items():
        hub_table[key] = value
    configfile.save_document(root, document)


@pytest.fixture(scope="session")
def hub_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine hub (coordinator, bfu, kgtu), never served; fresh hubs are copies of it."""
    return build_hub(tmp_path_factory.mktemp("template") / "data")


@pytest.fixture(scope="session")
def hub_dir(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Path:
    root = tmp_path_factory.mktemp("hub") / "data"
    shutil.copytree(hub_template, root)
    # One account hashed at the production bcrypt cost, for the login-cache test only.
    saved = os.environ["CALHUB_BCRYPT_ROUNDS"]
    os.environ["CALHUB_BCRYPT_ROUNDS"] = "12"
    try:
        cli_ok(
            [
                "partner",
                "add",
                SLOW_LOGIN,
                "--name",
                "Slow",
                "--password-stdin",
                "--data",
                str(root),
            ],
            stdin=PASSWORDS[SLOW_LOGIN] + "\n",
        )
    finally:
        os.environ["CALHUB_BCRYPT_ROUNDS"] = saved
    return root


# -- running servers -----------------------------------------------------------------------


@dataclass
class RunningHub:
    """A ``calhub serve`` (or ``calhub demo``) subprocess."""

    data_dir: Path
    process: subprocess.Popen[str]
    stderr_path: Path
    url: str = ""
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def dav_url(self) -> str:
        return self.url + "dav/"

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def access_lines(self) -> list[str]:
        return [line for line in self.stderr().splitlines() if " calhub.access: " in line]

    def request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        return request(self.url, method, path, *args, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and wait; kill it if it does not stop. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # PYTHONFAULTHANDLER is set: SIGABRT makes it dump every thread's stack.
                self.process.send_signal(signal.SIGABRT)
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                raise AssertionError(
                    f"the hub did not stop within {SERVER_STOP_TIMEOUT} s of "
                    f"{signal.Signals(sig).name}; killed it. stderr:\n{self.stderr()[-6000:]}"
                ) from None
        return self.process.returncode


def start_server(
    data_dir: Path,
    log_dir: Path,
    command: str = "serve",
    extra: Sequence[str] = (),
    timeout: float = SERVER_START_TIMEOUT,
) -> RunningHub:
    """Start ``python -m calhub COMMAND --data DIR --port 0`` and wait for its URL."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = log_dir / f"{command}-{time.monotonic_ns()}.stderr"
    # No --host: the default must be 127.0.0.1 (checked on the listening line below).
    argv = [sys.executable, "-m", "calhub", command, "--data", str(data_dir), "--port", "0"]
    argv += extra
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=log_dir,  # not the checkout: the server must not depend on its cwd
        )
    hub = RunningHub(data_dir=data_dir, process=process, stderr_path=stderr_path)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            hub.stdout_lines.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while not hub.url:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no 'listening on' line within {timeout} s") from None
            if line is None:
                raise AssertionError(f"the hub exited with {process.wait()} before listening")
            if "listening on " in line:
                hub.url = line.split("listening on ", 1)[1].strip()
        assert hub.url.startswith("http://127.0.0.1:"), hub.url
        assert hub.url.endswith("/"), hub.url
    except AssertionError as error:
        if process.poll() is None:
            process.kill()
        process.wait()
        raise AssertionError(f"{error}\nstdout:\n{hub.stdout()}\nstderr:\n{hub.stderr()}") from None
    return hub


def stop_cleanly(hub: RunningHub) -> None:
    code = hub.stop(signal.SIGTERM)
    assert code == 0, f"the hub exited with {code} on SIGTERM; stderr:\n{hub.stderr()[-3000:]}"


@pytest.fixture(scope="session")
def hub_server(hub_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    hub = start_server(hub_dir, tmp_path_factory.mktemp("logs"))
    try:
        yield hub
    finally:
        stop_cleanly(hub)


class FreshHubFactory:
    """``fresh_hub(hub_settings=None, partners=("bfu", "kgtu"))`` → a running ``RunningHub``;
    ``fresh_hub.create(...)`` → just the data directory; ``fresh_hub.serve(dir)`` serves one."""

    def __init__(self, tmp_path: Path, template: Path) -> None:
        self.tmp_path = tmp_path
        self.template = template
        self.servers: list[RunningHub] = []
        self.count = 0

    def __call__(
        self,
        hub_settings: Mapping[str, Any] | None = None,
        partners: Sequence[str] = ("bfu", "kgtu"),
    ) -> RunningHub:
        return self.serve(self.create(hub_settings, partners))

    def create(
        self,
        hub_settings: Mapping[str, Any] | None = None,
        partners: Sequence[str] = ("bfu", "kgtu"),
    ) -> Path:
        self.count += 1
        root = self.tmp_path / f"hub{self.count}"
        if tuple(partners) != ("bfu", "kgtu"):
            return build_hub(root, partners, hub_settings)
        # A data directory is self-contained (no absolute paths inside), so a copy of a
        # pristine hub is a new hub; building one from scratch takes seconds.
        shutil.copytree(self.template, root)
        if hub_settings:
            set_hub_settings(root, hub_settings)
        return root

    def serve(
        self,
        root: Path,
        command: str = "serve",
        extra: Sequence[str] = (),
        timeout: float = SERVER_START_TIMEOUT,
    ) -> RunningHub:
        hub = start_server(root, self.tmp_path / "logs", command, extra, timeout)
        self.servers.append(hub)
        return hub

    def stop_all(self) -> None:
        errors = []
        for hub in self.servers:
            try:
                stop_cleanly(hub)
            except AssertionError as error:
                errors.append(str(error))
        assert not errors, "\n".join(errors)


@pytest.fixture
def fresh_hub(tmp_path: Path, hub_template: Path) -> Iterator[FreshHubFactory]:
    """A private hub and server for one test that changes accounts or configuration."""
    factory = FreshHubFactory(tmp_path, hub_template)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def module_hubs(
    tmp_path_factory: pytest.TempPathFactory, hub_template: Path
) -> Iterator[FreshHubFactory]:
    """Like ``fresh_hub``, shared by one module's tests (e.g. a hub with a small body limit)."""
    factory = FreshHubFactory(tmp_path_factory.mktemp("module-hubs"), hub_template)
    try:
        yield factory
    finally:
        factory.stop_all()


# -- the quick inner loop ------------------------------------------------------------------

# Files slow by nature, marked ``slow`` whole so that ``pytest -m "not slow"`` gives a quick
# inner loop (CI runs everything): the reliability suite (servers under load, crashes, the
# soak), the browser tests, installing the package, and the sync clients.
SLOW_FILES = (
    "reliability/",
    "web/test_web_browser",
    "test_install_",
    "test_interop_clients.py",
    "test_live_stream.py",  # one test waits for a whole event stream to end (25 s)
)
TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.resolve()
        inside = where.is_relative_to(TESTS_DIR)
        if inside and where.relative_to(TESTS_DIR).as_posix().startswith(SLOW_FILES):
            item.add_marker(pytest.mark.slow)


# -- the web app in-process --------------------------------------------------------------


@pytest.fixture
def app(hub_dir: Path) -> Any:
    from calhub.web import create_app

    return create_app(test_config={"TESTING": True, "CALHUB_DATA": str(hub_dir)})


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
