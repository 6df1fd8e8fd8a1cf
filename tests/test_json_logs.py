"""Structured logs: a real server with ``--log-format json`` (or ``[server] log_format``)
writes every application and access record as one JSON object per line, with the access
fields, a web session's login, and never a feed's token or a query string; the text format
keeps its token out too."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from typing import Any

from helpers import PASSWORDS, make_event, unique_slot

from calhub.hub import configfile

ACCESS_FIELDS = {"method", "path", "status", "bytes", "duration_ms", "remote", "login"}


def feed_token(runner: Any, root: Any) -> str:
    code, out, err = runner("feed", "create", "--scope", "all", "--data", str(root))
    assert code == 0, err
    address = next(w for line in out.splitlines() for w in line.split() if "/feeds/" in w)
    return str(address.rsplit("/", 1)[1].removesuffix(".ics"))


def web_session(url: str) -> urllib.request.OpenerDirector:
    """Sign in through the form, as a browser does, keeping the session cookie."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(url + "login", timeout=15).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token[1], "login": "kgtu", "password": PASSWORDS["kgtu"]}
    opener.open(url + "login", urllib.parse.urlencode(form).encode(), timeout=15).read()
    return opener


def exercise(hub: Any, token: str) -> None:
    assert hub.request("GET", "/healthz").status == 200
    assert hub.request("GET", f"/feeds/{token}.ics").status == 200
    assert hub.request("GET", f"/feeds/{token}/anything?key={token}").status == 404
    assert hub.request("GET", f"/plan?token={token}").status in (302, 303, 401)
    put = hub.request(
        "PUT",
        "/dav/bfu/calendar/log-1.ics",
        "bfu",
        PASSWORDS["bfu"],
        body=make_event("log-1", "Лекция [10]", *unique_slot()),
        headers={"Content-Type": "text/calendar"},
    )
    assert put.status == 201, put.text
    opener = web_session(hub.url)
    assert opener.open(hub.url + "plan", timeout=15).status == 200


def test_json_lines_for_every_record(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    token = feed_token(runner, root)
    hub = fresh_hub.serve(root, extra=["--log-format", "json"])
    exercise(hub, token)
    fresh_hub.servers.remove(hub)
    assert hub.stop() == 0
    lines = [line for line in hub.stderr().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert dt.datetime.fromisoformat(record["time"]).utcoffset() is not None
    access = [r for r in records if r["logger"] == "calhub.access"]
    assert access and all(r.keys() >= ACCESS_FIELDS for r in access)
    assert any(
        r["logger"].startswith("calhub.") and r["logger"] != "calhub.access" for r in records
    )
    by_path = {(r["method"], r["path"]): r for r in access}
    put = by_path[("PUT", "/dav/bfu/calendar/log-1.ics")]
    assert (put["status"], put["login"], put["remote"]) == (201, "bfu", "127.0.0.1")
    assert isinstance(put["bytes"], int) and isinstance(put["duration_ms"], float)
    assert by_path[("GET", "/feeds/<token>.ics")]["status"] == 200
    assert ("GET", "/feeds/<hidden>") in by_path
    assert by_path[("GET", "/plan")]["login"] == "kgtu"  # the session's, not a header's
    assert token not in hub.stderr()


def test_the_setting_chooses_json_and_text_hides_the_token_too(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    token = feed_token(runner, root)
    document = configfile.read_document(root)
    server: Any = document.setdefault("server", {})
    server["log_format"] = "json"
    configfile.save_document(root, document)
    hub = fresh_hub.serve(root)
    assert hub.request("GET", f"/feeds/{token}.ics").status == 200
    fresh_hub.servers.remove(hub)
    assert hub.stop() == 0
    for line in hub.stderr().splitlines():
        if line.strip():
            json.loads(line)
    # --log-format text overrides the setting; the token stays out of a text log as well.
    hub = fresh_hub.serve(root, extra=["--log-format", "text"])
    exercise(hub, token)
    fresh_hub.servers.remove(hub)
    assert hub.stop() == 0
    text = hub.stderr()
    assert " calhub.access: " in text and not text.lstrip().startswith("{")
    assert token not in text


def test_a_bad_log_format_is_refused(fresh_hub: Any, runner: Any) -> None:
    root = fresh_hub.create()
    code, _, err = runner("serve", "--log-format", "xml", "--data", str(root))
    assert code == 2 and "--log-format" in err
    # As a person edits the file (save_document would refuse the value itself).
    config = root / "calhub.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[server]\nlog_format = "xml"\n')
    code, _, err = runner("serve", "--port", "0", "--data", str(root))
    assert code == 2 and "[server.log_format]" in err and "text, json" in err
