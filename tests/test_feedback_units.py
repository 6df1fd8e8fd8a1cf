"""The feedback package's parts on their own: the per-address limit (a sliding hour, bounded
memory), links in comments, cleaning a comment, the loyalty score, the signed links, device
cookie and form stamp."""

from __future__ import annotations

import datetime as dt

import pytest

from calhub.feedback.links import FeedbackKeys, LinkTarget
from calhub.feedback.scores import summarize
from calhub.feedback.spam import RateLimiter, clean_comment, has_link
from calhub.store.feedback import FeedbackAnswer

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def test_the_limit_is_a_sliding_hour_per_address() -> None:
    limiter = RateLimiter()
    assert [limiter.allow("a", 2, T0 + dt.timedelta(minutes=m)) for m in (0, 10, 20)] == [
        True,
        True,
        False,
    ]
    assert limiter.allow("b", 2, T0 + dt.timedelta(minutes=20)), "another address"
    assert not limiter.allow("a", 2, T0 + dt.timedelta(minutes=59, seconds=59))
    assert limiter.allow("a", 2, T0 + dt.timedelta(minutes=60)), "the first answer aged out"


def test_the_limit_forgets_the_least_recently_seen_address_first() -> None:
    limiter = RateLimiter(max_addresses=3)
    for address in ("a", "b", "c"):
        limiter.allow(address, 1, T0)
    limiter.allow("a", 1, T0)  # seen again: now the most recent
    limiter.allow("d", 1, T0)
    assert len(limiter) == 3
    assert not limiter.allow("a", 1, T0), "a is remembered"
    assert limiter.allow("b", 1, T0), "b was forgotten"


@pytest.mark.parametrize(
    ("comment", "linked"),
    [
        ("Смотрите https://spam.example", True),
        ("www.casino.example", True),
        ("пишите на ege-skidki.ru", True),
        ("сайт.рф", True),
        ("Было интересно, спасибо!", False),
        ("Лекция в 10.30 была короткой", False),
        ("т.е. хорошо", False),
    ],
)
def test_links_in_comments(comment: str, linked: bool) -> None:
    assert has_link(comment) is linked


def test_a_comment_is_cleaned() -> None:
    assert clean_comment("  Хорошо\r\n\r\n\r\n\r\nспасибо\x00\u200b ") == "Хорошо\n\nспасибо"
    assert clean_comment("е\u0308") == "ё", "NFC"


def answer(rating: int, recommend: bool | None) -> FeedbackAnswer:
    return FeedbackAnswer("bfu", "ev", T0, rating, recommend)


def test_the_loyalty_score() -> None:
    summary = summarize(
        [answer(5, True), answer(4, True), answer(3, True), answer(2, False), answer(4, None)]
    )
    assert summary.ratings == (0, 1, 1, 2, 1)
    assert summary.mean == pytest.approx(3.6)
    assert summary.loyalty == 50, "(3 yes − 1 no) / 4 who said"
    assert summarize([answer(3, None)]).loyalty is None
    assert summarize([]).mean is None
    assert summarize([answer(1, False)]).loyalty == -100


def test_links_cookies_and_stamps_are_signed() -> None:
    keys = FeedbackKeys(b"k" * 64)
    other = FeedbackKeys(b"o" * 64)
    token = keys.token(LinkTarget("bfu", "ev", "20261124T120000Z"))
    assert keys.target(token) == LinkTarget("bfu", "ev", "20261124T120000Z")
    assert keys.target(keys.token(LinkTarget("bfu", "ev"))) == LinkTarget("bfu", "ev")
    assert other.target(token) is None, "another hub's key"
    assert keys.target(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    device, cookie = keys.new_device()
    assert keys.device_of(cookie) == device and other.device_of(cookie) is None
    assert keys.device_of(device) is None, "an unsigned id"
    first = keys.device_key(device, "bfu", "ev", T0)
    assert first == keys.device_key(
        device, "bfu", "ev", T0.astimezone(dt.timezone(dt.timedelta(hours=2)))
    )
    assert first != keys.device_key(device, "bfu", "ev2", T0)
    assert first != keys.device_key(device, "bfu", "ev", T0 + dt.timedelta(weeks=1))
    assert device not in first
    stamp = keys.form_stamp()
    age = keys.form_age(stamp, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    assert age is not None and 29 <= age <= 32
    assert other.form_age(stamp) is None and keys.form_age("form.x.y") is None
