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
