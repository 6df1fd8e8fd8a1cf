"""A bulk write makes one message per person, counted at a real loopback SMTP server: a
200-row ``calhub import`` while the server runs, and a calendar uploaded over CalDAV (its
whole-calendar PUT refused, then event by event, as a sync client does)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clash_support import at, own_week, put_text
from helpers import PASSWORDS, make_event, run_cli, vtimezone
from notify_support import (
    ADDRESSES,
    SmtpServer,
    configure_mail,
    mail_sink,
    open_runtime,
    outbox_json,
    wait_until,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

# How long the sender waits for a write's notices to settle; longer than the gap between
# two of the PUTs below on a slow machine.
BATCH_SECONDS = 2


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with mail_sink(monkeypatch, started=True) as server:
        yield server


def slots(count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """``count`` 45-minute slots, eight a day from 9:00, from a week of this test's own."""
    day = own_week()
    starts = [at(day + dt.timedelta(days=n // 8), 9 + n % 8) for n in range(count)]
    return [(s, s + dt.timedelta(minutes=45)) for s in starts]


def settled(root: Path) -> int:
    """Wait until the sender took every notice; how many messages were sent by then."""
    wait_until(lambda: outbox_json(root)["notices_waiting"] == 0, what="every notice taken")
    time.sleep(BATCH_SECONDS + 1)  # a message of them would be on its way by now
    return int(outbox_json(root)["counts"]["sent"])


def one_message_each(root: Path, smtp: SmtpServer, clashes: int, since: int = 0) -> None:
    """Exactly one message per address after the first ``since``, each about all
    ``clashes`` new clashes."""
    smtp.inbox.wait_for(since + len(ADDRESSES), timeout=60)
    settled(root)
    mails = [m for _, m in smtp.inbox.messages[since:]]
    got = [(str(m["To"]), str(m["Subject"])) for m in mails]
    assert Counter(str(m["To"]) for m in mails) == Counter(ADDRESSES.values()), got
    for mail in mails:
        assert str(mail["Subject"]) == f"[calhub] Новости о накладках: {clashes}", mail["Subject"]
        text = mail.get_body(preferencelist=("plain",))
        assert text is not None and str(text.get_content()).count("/conflicts/") == clashes


def test_a_200_row_import_sends_one_digest_per_recipient(
    fresh_hub: Any, smtp: SmtpServer, tmp_path: Path
) -> None:
    root = fresh_hub.create()
    configure_mail(root, smtp.port, batch_seconds=BATCH_SECONDS)
    fresh_hub.serve(root)
    # 100 BFU lectures for grade 10 and 100 KGTU practices for 10А at the same times.
    rows = ["Дата;Время;Партнёр;Мероприятие;Классы;Место"]
    for start, end in slots(100):
        when = f"{start:%d.%m.%Y};{start:%H:%M}–{end:%H:%M}"
        rows.append(f"{when};БФУ им. И. Канта;Лекция;10;Ауд. 1")
        rows.append(f"{when};КГТУ;Практикум;10А;Ауд. 2")
    sheet = tmp_path / "plan.csv"
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = run_cli(["import", str(sheet), "--data", str(root)])
    assert done.code == 0, done
    one_message_each(root, smtp, 100)
    assert outbox_json(root)["counts"] == {"queued": 0, "sent": 3, "failed": 0}


def test_a_calendar_uploaded_over_caldav_sends_one_digest_per_recipient(
    fresh_hub: Any, smtp: SmtpServer
) -> None:
    from calhub.dav.importer import import_objects

    root = fresh_hub.create()
    configure_mail(root, smtp.port, batch_seconds=BATCH_SECONDS)
    times = slots(30)
    # BFU's lectures are in the hub before it starts (no clash yet).
    runtime = open_runtime(root)
    lectures = [make_event(f"up-bfu-{n}", "Лекция [10]", s, e) for n, (s, e) in enumerate(times)]
    import_objects(runtime, runtime.settings.calendar("bfu"), lectures)
    runtime.close()
    hub = fresh_hub.serve(root)
    # Their soft clashes (a busy week for grade 10) wait for the daily digest.
    before = settled(root)
    assert len(smtp.inbox.messages) == before
    practices = [
        make_event(f"up-kgtu-{n}", "Практикум [10А]", s, e) for n, (s, e) in enumerate(times)
    ]
    # The whole calendar in one PUT is refused (it would delete what is not in it, issue
    # 11): nothing is written, so nobody is told anything.
    bodies = [
        t[t.index("BEGIN:VEVENT") : t.index("END:VEVENT") + len("END:VEVENT")] for t in practices
    ]
    whole = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calhub tests//EN\r\n"
        + vtimezone("Europe/Kaliningrad")
        + "\r\n".join(bodies)
        + "\r\nEND:VCALENDAR\r\n"
    )
    refused = hub.request(
        "PUT",
        "/dav/kgtu/calendar/",
        "kgtu",
        PASSWORDS["kgtu"],
        body=whole,
        headers={"Content-Type": "text/calendar"},
    )
    assert refused.status == 403 and "PUT" in refused.text, refused.text[:300]
    assert outbox_json(root)["notices_waiting"] == 0  # a write's notices are in its commit
    # So a client uploads it event by event, one PUT each, as fast as it can: 30 clashes.
    for n, text in enumerate(practices):
        assert put_text(hub, "kgtu", "/kgtu/calendar/", f"up-kgtu-{n}", text).status == 201
    one_message_each(root, smtp, 30, since=before)
