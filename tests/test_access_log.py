"""The access log: one line per request, and never a feed's secret address."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from calhub.server.stack import AccessLog


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/feeds/oCir1iCwvq3jX5b2mUq0yZpTL9rAqk7H.ics", "/feeds/<token>.ics"),
        ("/feeds/garbage", "/feeds/<token>.ics"),
        ("/survey/Zk3q9Vb2mUq0yZpTL9rAqk7HoCir1iCw", "/survey/<token>"),
        ("/f/WyJiZnUiLCJmYi1lbmRlZCJd.F9nsv4YzNXkqz_QYtXOKpUBM1_w", "/f/<link>"),
        ("/plan", "/plan"),
        ("/dav/bfu/calendar/", "/dav/bfu/calendar/"),
    ],
)
def test_a_feed_token_never_reaches_the_log(
    caplog: pytest.LogCaptureFixture, path: str, shown: str
) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1"}
    with caplog.at_level(logging.INFO, logger="calhub.access"):
        assert AccessLog(app)(environ, lambda *args: None) == [b"ok"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "calhub.access"]
    assert f'"GET {shown}"' in line
    if shown != path:
        assert path.split("/")[-1] not in line


def test_an_event_stream_is_handed_on_as_it_comes_and_logged_once_at_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: list[str] = []
    closed: list[bool] = []

    class Events:
        def __iter__(self) -> Any:
            for name in ("first", "second"):
                made.append(name)
                yield f"data: {name}\n\n".encode()

        def close(self) -> None:
            closed.append(True)

    def streaming(environ: dict[str, Any], start_response: Any) -> Events:
        start_response("200 OK", [("Content-Type", "text/event-stream; charset=utf-8")])
        return Events()

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/live/stream", "REMOTE_ADDR": "::1"}
    with caplog.at_level(logging.INFO, logger="calhub.access"):
        body = AccessLog(streaming)(environ, lambda *args: None)
        chunks = iter(body)
        assert next(chunks) == b"data: first\n\n"
        assert made == ["first"], "the second event is not made before the first is sent"
        assert not [r for r in caplog.records if r.name == "calhub.access"], "not yet ended"
        body.close()  # type: ignore[attr-defined]
        body.close()  # type: ignore[attr-defined]
    assert closed == [True, True]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "calhub.access"]
    assert '"GET /api/live/stream" 200 13 ' in line
