"""``calhub feedback link|list`` and ``calhub survey send|list`` on a hub with events around
now: signed links the hub reads back, QR codes written as PNG and SVG,
clear errors for what the user can fix, JSON output, the survey's links and e-mails."""

from __future__ import annotations

import json
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from feedback_support import build_feedback_hub

from calhub.feedback.links import feedback_keys
from calhub.hub import Hub
from calhub.runtime import Runtime
from calhub.store.feedback import NewAnswer

URL = "https://calendar.school.example"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Path:
    return build_feedback_hub(hub_template, tmp_path_factory.mktemp("cli-feedback") / "data")


@pytest.fixture
def root(tmp_path: Path, template: Path) -> Path:
    import shutil

    shutil.copytree(template, tmp_path / "data")
    return tmp_path / "data"


def test_feedback_link_prints_a_signed_link_and_writes_its_qr(
    runner: Any, root: Path, tmp_path: Path
) -> None:
    png, svg = tmp_path / "poster.png", tmp_path / "poster.svg"
    code, out, err = runner(
        "feedback", "link", "fb-ended", "--url", URL, "--qr", str(png), "--data", str(root)
    )
    assert code == 0, err
    assert "Лекция по физике [10-11]" in out and "открыта до / The form is open until" in out
    url = next(line.strip() for line in out.splitlines() if line.strip().startswith(URL))
    token = url.rsplit("/f/", 1)[1]
    target = feedback_keys(Hub(root)).target(token)
    assert target is not None and (target.calendar, target.uid) == ("bfu", "fb-ended")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = runner(
        "feedback",
        "link",
        "fb-ended",
        "--url",
        URL,
        "--qr",
        str(svg),
        "--json",
        "--data",
        str(root),
    )
    assert code == 0, err
    shown = json.loads(out)
    assert shown["url"] == url and shown["open"] is True
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()


def test_feedback_link_says_when_the_form_opens_or_closed(runner: Any, root: Path) -> None:
    code, out, _err = runner("feedback", "link", "fb-coming", "--url", URL, "--data", str(root))
    assert code == 0 and "откроется в начале события" in out
    code, out, _err = runner("feedback", "link", "fb-old", "--url", URL, "--data", str(root))
    assert code == 0 and "закрыт" in out


def test_feedback_link_of_one_occurrence(runner: Any, root: Path) -> None:
    runtime = Runtime(Hub(root))
    first = min(o.start for o in runtime.index.occurrences_of("bfu", "fb-series"))
    runtime.close()
    day = first.astimezone(zoneinfo.ZoneInfo("Europe/Kaliningrad")).date().isoformat()
    code, out, err = runner(
        "feedback",
        "link",
        "fb-series",
        "--occurrence",
        day,
        "--url",
        URL,
        "--json",
        "--data",
        str(root),
    )
    assert code == 0, err
    shown = json.loads(out)
    assert shown["refusal"] == "closed" or shown["open"]  # the first of six, 15 days ago
    target = feedback_keys(Hub(root)).target(shown["url"].rsplit("/f/", 1)[1])
    assert target is not None and target.recurrence_id


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["no-such-uid"], "There is no event"),
        (["fb-cancelled"], "There is no event"),
        (["fb-ended", "--calendar", "nope"], "There is no calendar"),
        (["fb-series", "--occurrence", "24.11.2026"], "is not a date"),
        (["fb-series", "--occurrence", "2001-01-01"], "has no occurrence"),
        (["fb-ended", "--qr", "/nonexistent-dir/x.png"], "was not written"),
        (["fb-ended", "--qr", "poster.gif"], ".png or .svg"),
    ],
)
def test_feedback_link_errors_say_what_to_do(
    runner: Any, root: Path, argv: list[str], words: str
) -> None:
    code, _out, err = runner("feedback", "link", *argv, "--url", URL, "--data", str(root))
    assert code == 2
    assert words in err and err.count("calhub:") >= 2, err


def test_feedback_list(runner: Any, root: Path) -> None:
    runtime = Runtime(Hub(root))
    (occurrence,) = runtime.index.occurrences_of("bfu", "fb-ended")
    for n, (rating, recommend, comment) in enumerate(
        [(5, True, "Здорово"), (4, True, ""), (2, False, "Душно")]
    ):
        runtime.feedback.add(
            NewAnswer(
                "bfu", "fb-ended", "", occurrence.start, f"dev{n}", rating, recommend, comment
            )
        )
    runtime.close()
    code, out, err = runner("feedback", "list", "--data", str(root))
    assert code == 0, err
    assert "Лекция по физике" in out and "Здорово" in out and "Душно" in out
    assert "средняя оценка / average: 3.67" in out and "loyalty score: 33" in out
    code, out, _err = runner(
        "feedback", "list", "--status", "pending", "--json", "--data", str(root)
    )
    rows = json.loads(out)
    assert sorted(r["comment"] for r in rows) == ["Душно", "Здорово"]
    assert all(r["title"] == "Лекция по физике [10-11]" for r in rows)
    code, out, _err = runner(
        "feedback", "list", "--from", "2001-01-01", "--to", "2001-01-31", "--data", str(root)
    )
    assert code == 0 and "No answers" in out
    code, _out, err = runner("feedback", "list", "--from", "вчера", "--data", str(root))
    assert code == 2 and "is not a date" in err


def test_survey_send_and_list(runner: Any, root: Path) -> None:
    code, out, err = runner(
        "account", "edit", "kgtu", "--email", "office@kgtu.example", "--data", str(root)
    )
    assert code == 0, err
    code, out, err = runner(
        "survey", "send", "--term", "2026-27-1", "--url", URL, "--data", str(root)
    )
    assert code == 0, err
    assert "bfu" in out and "kgtu" in out and "office@kgtu.example" in out
    assert "calhub outbox" in out, "no SMTP: the coordinator is told the mail waits"
    code, out, err = runner(
        "survey",
        "send",
        "--term",
        "2026-27-1",
        "--partner",
        "bfu",
        "--url",
        URL,
        "--json",
        "--data",
        str(root),
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["partner"] == "bfu" and row["url"].startswith(URL + "/survey/")
    code, _out, err = runner("survey", "send", "--term", "осень 2026", "--data", str(root))
    assert code == 2 and "is not a term name" in err
    code, _out, err = runner(
        "survey", "send", "--term", "x1", "--partner", "mgu", "--data", str(root)
    )
    assert code == 2 and "no active partner" in err
    code, out, _err = runner("survey", "list", "--json", "--data", str(root))
    assert sorted(s["partner"] for s in json.loads(out)) == ["bfu", "kgtu"]
    code, out, _err = runner("survey", "list", "--data", str(root))
    assert "ждём ответа / not answered yet" in out
    code, out, _err = runner("outbox", "--json", "--data", str(root))
    assert code == 0


# The loopback SMTP server asks for AUTH without TLS, as the hub's plain-port tests do.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_the_survey_emails_reach_the_partners(
    runner: Any, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the outbox and the sender of calhub serve, to a real loopback SMTP server."""
    import datetime as dt

    from notify_support import ADDRESSES, configure_mail, mail_sink

    from calhub.notify.worker import Notifier

    with mail_sink(monkeypatch, started=True) as smtp:
        configure_mail(root, smtp.port, languages={"kgtu": "en"})
        code, out, err = runner(
            "survey", "send", "--term", "2026-27-1", "--url", URL, "--json", "--data", str(root)
        )
        assert code == 0, err
        links = {row["partner"]: row["url"] for row in json.loads(out)}
        runtime = Runtime(Hub(root))
        try:
            notifier = Notifier(runtime, URL)
            now = dt.datetime.now(dt.UTC)
            for second in range(10):
                notifier.run_once(now + dt.timedelta(seconds=second))
                if len(smtp.inbox.messages) >= 2:
                    break
            mails = smtp.inbox.wait_for(2)
        finally:
            runtime.close()
    assert len(mails) == 2
    bfu = smtp.inbox.to(ADDRESSES["bfu"])[0]
    kgtu = smtp.inbox.to(ADDRESSES["kgtu"])[0]
    assert "триместре 2026-27-1" in str(bfu["Subject"])
    assert links["bfu"] in bfu.get_content()
    assert "this term (2026-27-1)" in str(kgtu["Subject"]), "in the partner's language"
    assert links["kgtu"] in kgtu.get_content()
