"""``calhub serve`` (and, lightly, ``calhub demo``) as real subprocesses: the listening line,
clean shutdown on SIGTERM/SIGINT, one access-log line per request, start-up errors."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import PASSWORDS, assert_user_error, creds, propfind_body, request, simple_event

import calhub

SERVE_TIMEOUT = 60


def run_calhub(
    *argv: str, cwd: Path, timeout: float = SERVE_TIMEOUT
) -> subprocess.CompletedProcess:
    """``python -m calhub ARGV`` that is expected to exit by itself (e.g. a start-up error)."""
    return subprocess.run(
        [sys.executable, "-m", "calhub", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_cli_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("calhub: error: ")]
    assert errors, result.stderr[-2000:]
    assert len(lines) > errors[0] + 1 and lines[errors[0] + 1].startswith("calhub: "), lines
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr[-2000:])
    assert "listening on" not in result.stdout


# -- the listening line and shutdown ----------------------------------------------------------


def test_listening_line_names_a_free_local_port(hub_server):
    first = hub_server.stdout().splitlines()[0]
    assert re.fullmatch(r"calhub listening on http://127\.0\.0\.1:(\d+)/", first), first
    assert hub_server.port not in (0, 5232)
    assert request(hub_server.url, "GET", "/healthz").status == 200


def test_sigterm_stops_cleanly_with_one_access_line_per_request(fresh_hub):
    hub = fresh_hub()
    uid = f"log-{uuid.uuid4().hex[:6]}"
    requests = [
        ("GET", "/healthz", (), {}, 200),
        ("GET", "/", (), {}, 200),
        ("GET", "/.well-known/caldav", (), {}, 301),
        ("GET", "/no-such-page", (), {}, 404),
        ("PROPFIND", "/dav/", (), {"headers": {"Depth": "0"}}, 401),
        ("PROPFIND", "/dav/", creds("bfu"), {"headers": {"Depth": "0"}}, 207),
        ("PUT", f"/dav/bfu/calendar/{uid}.ics", creds("bfu"), {"body": simple_event(uid)}, 201),
        ("PUT", f"/dav/school/calendar/{uid}.ics", creds("bfu"), {"body": simple_event(uid)}, 403),
        ("GET", f"/dav/bfu/calendar/{uid}.ics", creds("kgtu"), {}, 200),
        ("DELETE", f"/dav/bfu/calendar/{uid}.ics", creds("bfu"), {}, 200),
    ]
    before = len(hub.access_lines())
    for method, path, login, kwargs, status in requests:
        assert request(hub.url, method, path, *login, **kwargs).status == status, (method, path)

    assert hub.stop(signal.SIGTERM) == 0
    lines = hub.access_lines()[before:]
    assert len(lines) == len(requests), "\n".join(lines)
    for line, (method, path, login, _, status) in zip(lines, requests, strict=True):
        assert f'"{method} {path}"' in line, line
        assert f" {status} " in line, line
        who = login[0] if login else "-"
        assert f" {who} " in line, line
    stderr = hub.stderr()
    for password in PASSWORDS.values():
        assert password not in stderr, "a password reached the log"
    assert "Traceback" not in stderr


def test_sigint_stops_cleanly(fresh_hub):
    hub = fresh_hub()
    assert request(hub.url, "GET", "/healthz").status == 200
    assert hub.stop(signal.SIGINT) == 0
    assert "Traceback" not in hub.stderr()


def test_sigterm_while_a_client_holds_a_connection(fresh_hub):
    """An idle keep-alive connection must not keep the hub from stopping."""
    import http.client

    hub = fresh_hub()
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().read()
    started = time.monotonic()
    try:
        assert hub.stop(signal.SIGTERM) == 0
    finally:
        connection.close()
    assert time.monotonic() - started < 10


# A SIGTERM that lands while the serving thread holds a lock. A handler that raises from
# inside whatever the main thread is doing can hit the instant between acquiring a lock and
# entering the ``with`` block; the lock is then never released and the shutdown waits for it.
# That happened by chance under cheroot (about once in ten stops under load) until the
# handler stopped raising. Here the lock is the one waitress's event loop takes for every
# chunk a connection receives (HTTPChannel.requests_lock); this script makes the instant
# certain.
SIGTERM_RACE = """
import os, signal, sys, threading, urllib.request
from waitress.channel import HTTPChannel
from calhub import cli
from calhub.cli import serve

original_received = HTTPChannel.received
state = {"fired": False}

def received(self, data):
    if not state["fired"]:
        state["fired"] = True
        lock = self.requests_lock
        lock.acquire()                        # what the with statement does, and then
        os.kill(os.getpid(), signal.SIGTERM)  # the SIGTERM arrives
        sum(range(1000))                      # (the handler runs at a bytecode boundary)
        lock.release()                        # not reached if the handler raised
    return original_received(self, data)

HTTPChannel.received = received
original_announce = serve.announce

def announce(url):
    original_announce(url)
    threading.Thread(
        target=lambda: urllib.request.urlopen(url + "healthz", timeout=5).read(), daemon=True
    ).start()

serve.announce = announce
sys.exit(cli.main(["serve", "--data", sys.argv[1], "--port", "0"]))
"""


def test_sigterm_at_any_moment_stops_the_hub(fresh_hub, tmp_path):
    root = fresh_hub.create()
    script = tmp_path / "sigterm_race.py"
    script.write_text(SIGTERM_RACE, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script), str(root)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError("the hub hung after SIGTERM") from None
    assert "listening on" in out
    assert process.returncode == 0, err[-2000:]


# -- a bad edit of calhub.toml while the hub runs --------------------------------------------------


def break_config(root: Path) -> str:
    """Write an invalid time zone into calhub.toml, as a coordinator's typo would; returns
    the good text to restore."""
    config = root / "calhub.toml"
    good = config.read_text(encoding="utf-8")
    bad = good.replace('timezone = "Europe/Kaliningrad"', 'timezone = "Mars/Base"', 1)
    assert bad != good
    config.write_text(bad, encoding="utf-8")
    return good


BROKEN_CONFIG_REQUESTS = [
    ("GET", "/healthz", ()),
    ("GET", "/", ()),
    ("PROPFIND", "/dav/bfu/calendar/", creds("bfu")),
]


def test_hub_recovers_when_a_broken_config_is_fixed(fresh_hub):
    hub = fresh_hub()
    good = break_config(hub.data_dir)
    for method, path, login in BROKEN_CONFIG_REQUESTS:
        request(hub.url, method, path, *login, headers={"Depth": "0"})
    assert hub.process.poll() is None, "a bad config must not kill the server"
    (hub.data_dir / "calhub.toml").write_text(good, encoding="utf-8")
    assert request(hub.url, "GET", "/healthz").status == 200
    assert (
        request(hub.url, "PROPFIND", "/dav/bfu/calendar/", *creds("bfu"), headers={"Depth": "0"})
    ).status == 207


def test_every_request_is_logged_even_when_it_fails(fresh_hub):
    hub = fresh_hub()
    break_config(hub.data_dir)
    before = len(hub.access_lines())
    for method, path, login in BROKEN_CONFIG_REQUESTS:
        request(hub.url, method, path, *login, headers={"Depth": "0"})
    assert hub.stop(signal.SIGTERM) == 0
    lines = hub.access_lines()[before:]
    assert len(lines) == len(BROKEN_CONFIG_REQUESTS), "\n".join(lines)


def test_a_broken_config_on_a_running_hub_is_reported_not_a_bare_500(fresh_hub):
    hub = fresh_hub()
    break_config(hub.data_dir)
    for method, path, login in BROKEN_CONFIG_REQUESTS:
        response = request(hub.url, method, path, *login, headers={"Depth": "0"})
        kept_serving = response.status in (200, 207)
        explained = (
            response.status == 503
            and "calhub.toml" in response.text
            and "hub.timezone" in response.text
        )
        assert kept_serving or explained, (method, path, response.status, response.text[:200])


# -- start-up errors ---------------------------------------------------------------------------


def test_port_in_use_is_a_user_error(hub_server, tmp_path):
    result = run_calhub(
        "serve", "--data", str(hub_server.data_dir), "--port", str(hub_server.port), cwd=tmp_path
    )
    assert_cli_error(result, str(hub_server.port), "--port")


def test_serve_refuses_a_bad_config(fresh_hub, tmp_path):
    root = fresh_hub.create()
    config = root / "calhub.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'timezone = "Europe/Kaliningrad"', 'timezone = "Mars/Base"'
        ),
        encoding="utf-8",
    )
    result = run_calhub("serve", "--data", str(root), "--port", "0", cwd=tmp_path)
    assert_cli_error(result, str(config), "hub.timezone", "Mars/Base")


def test_serve_without_a_hub(tmp_path, runner):
    assert_user_error(
        runner("serve", "--data", str(tmp_path / "nothing"), "--port", "0"), "calhub init"
    )


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_refuses_a_bad_port(tmp_path, runner, port):
    code, _, err = runner("serve", "--data", str(tmp_path), "--port", port)
    assert code == 2
    assert "--port" in err


# -- demo ----------------------------------------------------------------------------------------

DEMO_TERM = Path(calhub.__file__).parent / "demo" / "term.py"


@pytest.mark.slow
@pytest.mark.skipif(not DEMO_TERM.exists(), reason="calhub/demo/term.py is not written yet")
def test_demo_starts_prints_accounts_serves_and_stops(fresh_hub, tmp_path):
    # Creating the demo term (and checking it for clashes) takes a while on a slow machine.
    hub = fresh_hub.serve(tmp_path / "demo", command="demo", timeout=180)
    deadline = time.monotonic() + 30
    while "Stop with" not in hub.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    out = hub.stdout()
    assert hub.url in out
    accounts = dict(re.findall(r"^\s+([a-z][a-z0-9_-]+)\s+/\s+(\S+)", out, re.MULTILINE))
    assert "coordinator" in accounts and "bfu" in accounts, out
    assert request(hub.url, "GET", "/healthz").status == 200
    login = ("bfu", accounts["bfu"])
    response = request(
        hub.url,
        "PROPFIND",
        "/dav/bfu/calendar/",
        *login,
        body=propfind_body("D:displayname"),
        headers={"Depth": "0"},
    )
    assert response.status == 207
    assert hub.stop(signal.SIGTERM) == 0


# -- [server] settings -------------------------------------------------------------------------


def server_table(**values: object) -> dict:
    return {"hub": {"school": "x"}, "server": values}


def test_server_settings_default_when_the_table_is_left_out():
    from calhub.hub.settings import SERVER_SCHEMA, parse_settings

    settings = parse_settings(Path("calhub.toml"), {"hub": {"school": "x"}})
    for key, option in SERVER_SCHEMA.items():
        assert getattr(settings.server, key) == option.default
    assert settings.server.proxy_addresses == ("127.0.0.1", "::1")


def test_server_settings_are_read():
    from calhub.hub.settings import parse_settings

    settings = parse_settings(
        Path("calhub.toml"),
        server_table(threads=4, proxy_addresses=["10.0.0.5", "0:0::1"], request_timeout=5),
    )
    assert settings.server.threads == 4
    assert settings.server.proxy_addresses == ("10.0.0.5", "::1")
    assert settings.server.request_timeout == 5


@pytest.mark.parametrize(
    "values, key",
    [
        ({"threads": 0}, "server.threads"),
        ({"threads": "8"}, "server.threads"),
        ({"connections_per_address": 0}, "server.connections_per_address"),
        ({"proxy_addresses": "127.0.0.1"}, "server.proxy_addresses"),
        ({"proxy_addresses": ["nginx"]}, "server.proxy_addresses"),
        ({"request_timeout": 0}, "server.request_timeout"),
        ({"slowloris": True}, "server.slowloris"),
    ],
)
def test_a_bad_server_setting_names_its_key(values, key):
    from calhub.errors import ConfigError
    from calhub.hub.settings import parse_settings

    with pytest.raises(ConfigError) as error:
        parse_settings(Path("calhub.toml"), server_table(**values))
    assert key in str(error.value)


def test_serve_refuses_a_bad_server_setting(fresh_hub, tmp_path):
    root = fresh_hub.create()
    config = root / "calhub.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\n[server]\nthreads = 1000\n", encoding="utf-8"
    )
    result = run_calhub("serve", "--data", str(root), "--port", "0", cwd=tmp_path)
    assert_cli_error(result, str(config), "server.threads", "1 to 64")


@pytest.mark.parametrize("threads", ["0", "65", "many"])
def test_serve_refuses_a_bad_thread_count(tmp_path, runner, threads):
    code, _, err = runner("serve", "--data", str(tmp_path), "--threads", threads)
    assert code == 2
    assert "--threads" in err


def test_server_settings_reach_the_server():
    """[server] values (and --threads over them) are what the listening server runs with."""
    from waitress import wasyncore

    from calhub.hub.settings import ServerSettings
    from calhub.server.http import make_server

    def app(environ, start_response):  # never called: the server is not run
        raise AssertionError

    limits = ServerSettings(threads=3, connection_limit=42, idle_timeout=7, request_timeout=9)
    for threads, expected in ((None, 3), (5, 5)):
        server = make_server(app, "127.0.0.1", 0, limits, lambda: 4096, threads)
        try:
            assert server.effective_port != 0
            assert len(server.task_dispatcher.threads) == expected
            assert server.adj.connection_limit == 42
            assert server.adj.channel_timeout == 7
            assert server.limits.request_timeout == 9
            # waitress refuses a body of its limit or more; the hub's limit itself passes.
            assert server.adj.max_request_body_size == 4097
        finally:
            server.task_dispatcher.shutdown(timeout=2)
            wasyncore.close_all(server._map)
