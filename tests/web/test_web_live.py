"""Live updates in-process (issue 15): ``/api/live`` and the stream's start, cap and end.

The stream over a real server (events within 2 s of a CalDAV PUT, SIGTERM with a stream
open) is in tests/test_live_stream.py; the pages in Chromium in test_web_browser.py.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from web_support import at, sign_in

from calhub.runtime import Runtime
from calhub.web import create_app, live

# w-bfu-physics [10-11] is Monday 15:00-16:30; a seminar of 11Б meets it (and only it):
# one new hard clash, of bfu alone.
CLASH_UID = "w-live-clash"


def write_clash(runtime: Runtime) -> None:
    """A bfu event over the storage path (the hooks index it and record its clash)."""
    from helpers import make_event

    from calhub.dav.importer import import_objects

    calendar = runtime.settings.calendar("bfu")
    assert calendar is not None
    text = make_event(CLASH_UID, "Семинар [11Б]", at(0, 15, 15), at(0, 16))
    import_objects(runtime, calendar, [text])


def live_json(client: Any, **kwargs: Any) -> dict[str, Any]:
    response = client.get("/api/live", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == f'"{response.json["version"]}"'
    data: dict[str, Any] = response.json
    return data


def test_anonymous_gets_401(web_client: Any) -> None:
    for path in ("/api/live", "/api/live/stream"):
        response = web_client.get(path)
        assert response.status_code == 401
        assert "Sign in" in response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_counts_match_the_badge_and_a_write_changes_the_version(
    web_client: Any, web_runtime: Runtime
) -> None:
    sign_in(web_client, "coordinator")
    before = live_json(web_client)
    assert before["hard"] == 2 and before["soft"] == 1, before  # the sample week's clashes
    assert before["open"] == 3
    page = web_client.get("/conflicts").get_data(as_text=True)
    assert re.search(rf'id="open-count" title="[^"]+">{before["open"]}<', page)
    assert f'data-version="{before["version"]}"' in page, "the page carries its version"
    assert live_json(web_client) == before, "nothing written: the same answer"

    write_clash(web_runtime)
    after = live_json(web_client)
    assert after["version"] != before["version"]
    assert after["hard"] == before["hard"] + 1 and after["soft"] == before["soft"]


def test_if_none_match_is_304_until_a_write(web_client: Any, web_runtime: Runtime) -> None:
    sign_in(web_client, "bfu")
    first = web_client.get("/api/live")
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = web_client.get("/api/live", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.get_data() == b""
    write_clash(web_runtime)
    changed = web_client.get("/api/live", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_a_partner_sees_its_own_scope(web_app: Any, web_runtime: Runtime) -> None:
    coordinator, bfu, kgtu = (web_app.test_client() for _ in range(3))
    sign_in(coordinator, "coordinator")
    sign_in(bfu, "bfu")
    sign_in(kgtu, "kgtu")
    seen = {name: live_json(c) for name, c in (("c", coordinator), ("b", bfu), ("k", kgtu))}
    assert len({s["version"] for s in seen.values()}) == 3, "each scope its own version"
    # bfu: the audience clash with kgtu and the travel warning; not the school's venue clash.
    assert (seen["b"]["hard"], seen["b"]["soft"]) == (1, 1)
    assert (seen["c"]["hard"], seen["c"]["soft"]) == (2, 1)
    write_clash(web_runtime)
    assert live_json(bfu)["hard"] == 2
    assert live_json(kgtu)["hard"] == 1, "a clash of bfu's alone is not kgtu's"
    assert live_json(coordinator)["hard"] == 3


def test_basic_auth_works_and_polls_do_not_keep_a_session_alive(web_client: Any) -> None:
    from helpers import PASSWORDS, basic_auth

    header = {"Authorization": basic_auth("kgtu", PASSWORDS["kgtu"])}
    assert web_client.get("/api/live", headers=header).json["hard"] == 1
    sign_in(web_client, "bfu")
    with web_client.session_transaction() as session:
        session["seen"] = int(time.time()) - 3600  # an hour idle, within 120 minutes
    assert web_client.get("/api/live").status_code == 200
    with web_client.session_transaction() as session:
        assert int(time.time()) - session["seen"] >= 3599, "a poll is not activity"
    web_client.get("/plan")
    with web_client.session_transaction() as session:
        assert int(time.time()) - session["seen"] < 60, "a page is"


def read_events(response: Any, wanted: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            for line in block.splitlines():
                if line.startswith("data: "):
                    found.append(json.loads(line[6:]))
        if len(found) >= wanted:
            break
    return found


def test_the_stream_starts_with_the_state_and_ends_by_itself(web_runtime: Runtime) -> None:
    app = create_app({"TESTING": True, live.SECONDS_CONFIG: 1}, runtime=web_runtime)
    client = app.test_client()
    sign_in(client, "coordinator")
    started = time.monotonic()
    response = client.get("/api/live/stream")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    text = response.get_data(as_text=True)  # the whole stream: it ends by itself
    assert time.monotonic() - started < 5
    assert text.startswith(f"retry: {live.RETRY_MS}\n")
    first = json.loads(text.split("data: ", 1)[1].split("\n", 1)[0])
    assert first == live_json(client)


def test_the_cap_gives_503_and_a_closed_stream_frees_its_slot(web_runtime: Runtime) -> None:
    app = create_app({"TESTING": True, live.LIMIT_CONFIG: 1}, runtime=web_runtime)
    client = app.test_client()
    sign_in(client, "coordinator")
    first = client.get("/api/live/stream", buffered=False)
    assert first.status_code == 200
    assert read_events(first, 1)[0]["open"] == 3
    refused = client.get("/api/live/stream")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(live.RETRY_AFTER)
    assert "Too many live streams" in refused.json["error"]
    assert "/api/live" in refused.json["hint"]
    assert client.get("/api/live").status_code == 200, "polling still works"
    first.close()
    again = client.get("/api/live/stream", buffered=False)
    assert again.status_code == 200
    again.close()


def test_the_default_cap_follows_the_threads(web_runtime: Runtime) -> None:
    app = create_app({"TESTING": True}, runtime=web_runtime)
    threads = web_runtime.hub.settings.server.threads
    assert app.extensions[live.STREAMS_KEY].limit == max(1, threads // 4)
    assert live.stream_limit(1) == 1 and live.stream_limit(8) == 2 and live.stream_limit(64) == 16


def test_a_head_of_the_stream_gives_its_slot_back(web_runtime: Runtime) -> None:
    app = create_app({"TESTING": True, live.LIMIT_CONFIG: 1}, runtime=web_runtime)
    client = app.test_client()
    sign_in(client, "kgtu")
    assert client.head("/api/live/stream").status_code == 200
    assert app.extensions[live.STREAMS_KEY].running == 0
    streamed = client.get("/api/live/stream", buffered=False)
    assert streamed.status_code == 200
    assert app.extensions[live.STREAMS_KEY].running == 1
    streamed.close()
    assert app.extensions[live.STREAMS_KEY].running == 0
