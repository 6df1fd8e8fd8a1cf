"""deploy/Containerfile really builds and runs: buildah, which needs no container engine or
daemon, builds the image from the checkout and runs the hub from it (chroot isolation, the
host's loopback); the ``caldav`` client PUTs and REPORTs against it, ``/healthz`` and the
image's own HEALTHCHECK command answer, it runs as the ``calhub`` user with ``/data`` as its
volume, and the final image holds no npm, compiler or pip.

The base image: the Containerfile's default (``python:3.11-slim-bookworm`` from Docker Hub) is
not reachable from CI, so the test builds a stand-in of the same Debian release with
debootstrap from Debian's mirror (python3, its venv module, ``python`` on the PATH) and passes
it as ``--build-arg BASE=``, the documented way to build from a mirror. The machine's CA
bundle goes into the stand-in so that pip and npm inside the build trust what the machine
trusts. Everything else is the shipped Containerfile, unchanged.

Outside CI a missing buildah or debootstrap skips the test; with ``CI`` set it fails
(.ci/run installs both). A stand-in already built (``localhost/calhub-test-base:bookworm``)
is reused, for a quicker inner loop.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import caldav
import pytest
from clash_support import at, own_week
from helpers import make_event, tool
from notify_support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BASE = "localhost/calhub-test-base:bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_TIMEOUT = 1500.0
RUN_TIMEOUT = 120.0
START_TIMEOUT = 60.0
ADD_PARTNER = ("calhub", "partner", "add", "bfu", "--name", "БФУ", "--password-stdin")
SERVE = ("calhub", "serve", "--host", "127.0.0.1", "--port")
# The sandboxes tests run in may refuse raising a limit; these are below any default.
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def run(*args: str, timeout: float = RUN_TIMEOUT, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def image_exists(buildah: str, name: str) -> bool:
    done = subprocess.run(
        [buildah, "inspect", "--type", "image", name], capture_output=True, timeout=60
    )
    return done.returncode == 0


def make_base(buildah: str, folder: Path) -> None:
    """The stand-in base: Debian bookworm (the release of python:3.11-slim-bookworm)."""
    debootstrap = tool("debootstrap")
    rootfs = folder / "rootfs"
    run(
        debootstrap,
        "--variant=minbase",
        "--include=python3,python3-venv,python-is-python3,ca-certificates",
        "bookworm",
        str(rootfs),
        "http://deb.debian.org/debian",
        timeout=BUILD_TIMEOUT,
    )
    if CA_BUNDLE.is_file():
        shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    container = run(buildah, "from", "scratch").strip()
    try:
        mount = Path(run(buildah, "mount", container).strip())
        run("cp", "-a", f"{rootfs}/.", str(mount), timeout=BUILD_TIMEOUT)
        run(buildah, "umount", container)
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        for env in ("SSL_CERT_FILE", "PIP_CERT", "NODE_EXTRA_CA_CERTS", "npm_config_cafile"):
            run(buildah, "config", "--env", f"{env}={bundle}", container)
        run(buildah, "commit", "--rm", container, BASE, timeout=BUILD_TIMEOUT)
    finally:
        subprocess.run([buildah, "rm", container], capture_output=True, timeout=60)
    shutil.rmtree(rootfs, ignore_errors=True)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    buildah = tool("buildah")
    if not image_exists(buildah, BASE):
        make_base(buildah, tmp_path_factory.mktemp("base"))
    # A clean copy of the tree as git has it: the build context never sees a venv or caches.
    context = tmp_path_factory.mktemp("context") / "calhub"
    files = run("git", "-C", str(ROOT), "ls-files", "-z").split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, context / name)
    tag = f"localhost/calhub-test:{uuid.uuid4().hex[:12]}"
    run(
        buildah,
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",  # keeps the HEALTHCHECK, which the OCI image format has no field for
        "--layers=false",
        *LIMITS,
        "--build-arg",
        f"BASE={BASE}",
        "-f",
        str(context / "deploy/Containerfile"),
        "--ignorefile",
        str(context / "deploy/Containerfile.dockerignore"),
        "-t",
        tag,
        str(context),
        timeout=BUILD_TIMEOUT,
    )
    try:
        yield buildah, tag
    finally:
        subprocess.run([buildah, "rmi", "--force", tag], capture_output=True, timeout=120)


@pytest.fixture
def container(image: tuple[str, str]) -> Iterator[tuple[str, str]]:
    buildah, tag = image
    name = run(buildah, "from", tag).strip()
    try:
        yield buildah, name
    finally:
        subprocess.run([buildah, "rm", name], capture_output=True, timeout=120)


def in_container(buildah: str, name: str) -> list[str]:
    """The command line prefix that runs what follows it in the container ``name``."""
    return [buildah, "run", "--isolation", "chroot", name, "--"]


def inside(buildah: str, name: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*in_container(buildah, name), *command],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def test_the_final_image_is_what_the_issue_asks(image: tuple[str, str]) -> None:
    buildah, tag = image
    config = json.loads(run(buildah, "inspect", "--type", "image", tag))
    docker = config["Docker"]["config"]
    assert docker["User"] == "calhub"
    assert "/data" in docker["Volumes"]
    assert docker["Entrypoint"] == ["calhub"]
    assert "http://127.0.0.1:5232/healthz" in " ".join(docker["Healthcheck"]["Test"])


def test_no_build_tools_in_the_final_image(container: tuple[str, str]) -> None:
    buildah, name = container
    found = inside(buildah, name, "sh", "-c", "command -v npm node gcc cc make pip pip3 || true")
    assert found.returncode == 0 and found.stdout.strip() == "", found
    who = inside(buildah, name, "id", "-u")
    assert who.stdout.strip() == "10001", who


def test_the_hub_runs_from_the_image(container: tuple[str, str]) -> None:
    buildah, name = container
    made = inside(buildah, name, "calhub", "init", "--school", "Гимназия №32")
    assert made.returncode == 0 and "Created hub" in made.stdout, made
    added = subprocess.run(
        [*in_container(buildah, name), *ADD_PARTNER],
        input="bfu-container-pass\n",
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert added.returncode == 0, added
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Chroot isolation shares the host's network: the hub listens on the host's loopback.
    server = subprocess.Popen(
        [*in_container(buildah, name), *SERVE, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(url, server)
        check = inside(
            buildah,
            name,
            "python",
            "-c",
            "import sys, urllib.request; "
            f"sys.exit(urllib.request.urlopen('{url}/healthz', timeout=4).status != 200)",
        )
        assert check.returncode == 0, check  # the image's HEALTHCHECK command, port aside
        put_and_report(url)
    finally:
        stop(server)
    data = inside(buildah, name, "sh", "-c", "stat -c '%U %a' /data; ls /data")
    assert data.stdout.startswith("calhub 700"), data
    assert "storage" in data.stdout and "calhub.toml" in data.stdout, data


def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0][-3000:]
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                body: dict[str, Any] = json.loads(answer.read())
                assert body["status"] == "ok", body
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the hub in the container did not answer {url}/healthz")


def put_and_report(url: str) -> None:
    client = caldav.DAVClient(
        url=url + "/", username="bfu", password="bfu-container-pass", timeout=15
    )
    calendars = {str(c.url): c for c in client.principal().calendars()}
    calendar = calendars[url + "/dav/bfu/calendar/"]
    day = own_week()
    calendar.save_event(make_event("in-container", "Лекция в контейнере", at(day, 12), at(day, 13)))
    found = calendar.search(
        start=dt.datetime.combine(day, dt.time(0)),
        end=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)),
        event=True,
    )
    assert [str(e.icalendar_component["uid"]) for e in found] == ["in-container"]


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
