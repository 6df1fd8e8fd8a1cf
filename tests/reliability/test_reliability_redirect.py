"""Issue 11, finding 4: no open redirect through ``next`` after signing in.

A browser reads a ``Location`` the WHATWG way (ASCII tab and newline dropped anywhere,
controls and spaces trimmed at the ends, a backslash read as a slash), so ``/<TAB>/evil``
becomes ``//evil``, another site. Every control, format and whitespace character is tried
in the places that matter, against a real hub, through the sign-in form and through the
redirect a signed-in browser gets from ``/login?next=``; the ``Location`` the hub sends is
resolved as a browser would and must stay on the hub.
"""

from __future__ import annotations

import re
import sys
import unicodedata
import urllib.parse
from typing import Any

import pytest
import requests
from helpers import PASSWORDS
from reliability_support import record

REQUEST_TIMEOUT = 15.0


def dangerous_characters() -> list[str]:
    """Every control (C0, DEL, C1), every whitespace character, and the format characters
    (zero-width, bidi marks) a person cannot see in an address."""
    found = []
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        category = unicodedata.category(character)
        if category in ("Cc", "Cf", "Zs", "Zl", "Zp") or character.isspace():
            found.append(character)
    return found


def targets() -> list[str]:
    found = []
    for character in dangerous_characters():
        found += [
            f"/{character}/evil.example/",
            f"{character}//evil.example/",
            f"/{character}\\evil.example/",
            f"//{character}evil.example/",
            f"/{character}{character}/evil.example/",
        ]
    return found


def browser_reading(base: str, location: str) -> urllib.parse.SplitResult:
    """Where a browser goes with this ``Location`` (WHATWG URL parsing, the parts that
    matter here)."""
    trimmed = location.strip("".join(chr(code) for code in range(0x21)))
    cleaned = re.sub("[\t\n\r]", "", trimmed).replace("\\", "/")
    return urllib.parse.urlsplit(urllib.parse.urljoin(base, cleaned))


@pytest.fixture(scope="module")
def hub(module_hubs: Any) -> Any:
    return module_hubs()


def signed_in(hub: Any, next_url: str = "") -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(hub.url + "login", timeout=REQUEST_TIMEOUT)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    answer = session.post(
        hub.url + "login",
        data={
            "csrf_token": match.group(1),
            "login": "bfu",
            "password": PASSWORDS["bfu"],
            "next": next_url,
        },
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    assert answer.status_code == 303, (repr(next_url), answer.status_code, answer.text[:300])
    return session, answer


def assert_stays_on_the_hub(hub: Any, target: str, location: str) -> None:
    own = urllib.parse.urlsplit(hub.url)
    went = browser_reading(hub.url, location)
    assert (went.scheme, went.netloc) == (own.scheme, own.netloc), (target, location, went)


def test_the_reported_tab_is_no_way_off_the_site(hub: Any) -> None:
    _, answer = signed_in(hub, "/\t/evil.example")
    assert_stays_on_the_hub(hub, "/\t/evil.example", answer.headers["Location"])
    assert answer.headers["Location"] == "/plan"


def test_a_same_site_next_is_still_followed(hub: Any) -> None:
    _, answer = signed_in(hub, "/conflicts?status=all")
    assert answer.headers["Location"] == "/conflicts?status=all"
    session, _ = signed_in(hub)
    again = session.get(
        hub.url + "login",
        params={"next": "/plan?calendar=bfu"},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    assert again.status_code == 302
    assert again.headers["Location"] == "/plan?calendar=bfu"


def test_no_control_or_whitespace_character_leads_off_the_site(hub: Any) -> None:
    tried = targets()
    session, _ = signed_in(hub)
    for target in tried:
        # A signed-in browser sent to /login?next= is redirected at once, by the same check.
        answer = session.get(
            hub.url + "login",
            params={"next": target},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        assert answer.status_code == 302, (repr(target), answer.status_code)
        assert_stays_on_the_hub(hub, target, answer.headers["Location"])
    # Through the sign-in form too, one character of each kind.
    form_cases = [f"/{c}/evil.example/" for c in ("\t", "\n", "\x0b", "\x00", "\u200b", "\u3000")]
    for target in form_cases:
        _, answer = signed_in(hub, target)
        assert_stays_on_the_hub(hub, target, answer.headers["Location"])
    record(
        "open redirect",
        characters=len(dangerous_characters()),
        targets=len(tried) + len(form_cases),
    )
