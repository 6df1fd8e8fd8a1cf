"""The outbox in-process: notices in the records' transactions, one digest per recipient for
a 200-row bulk write, idempotent takes, leases, accounts and the [notify] settings."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from notify_support import ADDRESSES, FAR, Sent, bulk_clashes, configure_mail, open_runtime

# aiosmtpd warns about AUTH without TLS (a loopback test server) and about its own internals.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def test_a_200_row_bulk_write_makes_one_digest_per_recipient(fresh_hub: Any) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, 1, languages={"kgtu": "en"})
    runtime = open_runtime(root)
    bulk_clashes(runtime, 100, "bulk")
    pending = runtime.outbox.pending()
    hard = [n for n in pending if n.severity == "hard"]
    assert len(hard) == 100 and {n.kind for n in hard} == {"detected"}
    # Soft clashes (overload of grade 10 that week) wait for the daily digest.
    assert {n.severity for n in pending} == {"hard", "soft"}
    sent = Sent()
    notifier = Notifier(runtime, "https://calendar.school.example/", sender=sent)
    assert notifier.run_once(FAR) == 3
    by_address = {m.address: m for m in sent.messages}
    assert sorted(by_address) == sorted(ADDRESSES.values())
    assert by_address[ADDRESSES["coordinator"]].subject == "[calhub] Новости о накладках: 100"
    assert by_address[ADDRESSES["kgtu"]].subject == "[calhub] Clash news: 100"
    assert (
        by_address[ADDRESSES["bfu"]].text.count("https://calendar.school.example/conflicts/") == 100
    )
    # Nothing more to send, and nothing twice.
    assert notifier.run_once(FAR) == 0 and len(sent.messages) == 3
    assert runtime.outbox.count_pending() == 0
    # The daily digest after digest_time: one per recipient, with the soft clashes.
    soft = len(pending) - len(hard)
    morning = FAR + dt.timedelta(hours=2)  # 08:00 in Kaliningrad
    assert notifier.run_once(morning) == 3
    daily = {m.address: m for m in sent.messages[3:]}
    assert daily[ADDRESSES["coordinator"]].subject == f"[calhub] Сводка за день: {soft}"
    assert notifier.run_once(morning + dt.timedelta(hours=1)) == 0


def test_notices_are_written_in_the_records_transaction_or_not_at_all(fresh_hub: Any) -> None:
    from calhub.store.outbox import add_notice

    runtime = open_runtime(fresh_hub.create())
    with pytest.raises(RuntimeError), runtime.records.transaction() as db:
        add_notice(db, "approved", "x", "coordinator", "2027-01-01T00:00:00Z")
        raise RuntimeError("the write failed")
    assert runtime.outbox.pending() == []
    bulk_clashes(runtime, 1, "tx")
    [notice] = runtime.outbox.pending()
    record = runtime.records.get(notice.clash_id)
    assert record is not None and notice.severity == record.severity == "hard"
    runtime.records.approve(notice.clash_id, "coordinator", "Разные корпуса")
    runtime.records.reopen(notice.clash_id, "coordinator", "Нет")
    kinds = [(n.kind, n.actor, n.payload.get("comment")) for n in runtime.outbox.pending()]
    assert kinds[1:] == [
        ("approved", "coordinator", "Разные корпуса"),
        ("reopened", "coordinator", "Нет"),
    ]


def test_a_take_is_all_or_nothing_and_a_lease_is_one_process_s(fresh_hub: Any) -> None:
    from calhub.notify.worker import Notifier
    from calhub.store.outbox import NewMessage

    root = fresh_hub.create()
    configure_mail(root, 1)
    first, second = open_runtime(root), open_runtime(root)
    bulk_clashes(first, 1, "lease")
    notices = first.outbox.pending()
    message = NewMessage("email", "bfu", "a@b.example", "s", "t", "", "key-1", (notices[0].id,))
    assert first.outbox.take(notices, [message]) is True
    # Another process that read the same notices is refused and writes nothing.
    assert second.outbox.take(notices, [message]) is False
    assert first.outbox.counts()["queued"] == 1
    lease = dt.timedelta(minutes=5)
    claimed = first.outbox.claim("host:1:a", lease)
    assert claimed is not None and claimed.idem_key == "key-1"
    assert second.outbox.claim("host:2:b", lease) is None
    # Its holder died (kill -9): a sender on the same host takes the lease back at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    notifier = Notifier(second, "http://x.example/", sender=Sent())
    host = notifier.owner.split(":")[0]
    first.outbox.release("host:1:a")
    assert first.outbox.claim(f"{host}:{dead.pid}:z", lease) is not None
    notifier.release_dead_leases()
    again = second.outbox.claim(notifier.owner, lease)
    assert again is not None and again.id == claimed.id


def test_an_old_accounts_file_loads_and_addresses_are_checked(
    tmp_path: Path, runner: Any, fresh_hub: Any
) -> None:
    from calhub.errors import UserError
    from calhub.hub.accounts import AccountStore

    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            {"version": 1, "accounts": {"bfu": {"role": "partner", "name": "БФУ", "hash": "x"}}}
        ),
        encoding="utf-8",
    )
    store = AccountStore(path)
    account = store.get("bfu")
    assert account is not None
    assert (account.email, account.language, account.notify) == ("", "ru", "immediate")
    with pytest.raises(UserError, match="is not an e-mail address"):
        store.edit("bfu", email="Иван <ivan@school.example>")
    edited = store.edit("bfu", email=" ivan@school.example ", notify="digest")
    assert (edited.email, edited.notify) == ("ivan@school.example", "digest")
    assert json.loads(path.read_text())["accounts"]["bfu"]["email"] == "ivan@school.example"
    root = fresh_hub.create()
    bad = runner("account", "edit", "bfu", "--email", "not-an-address", "--data", str(root))
    assert bad.code == 2 and "is not an e-mail address" in bad.err
    missing = runner("account", "edit", "nobody", "--email", "a@b.example", "--data", str(root))
    assert missing.code == 2 and "no account 'nobody'" in missing.err
    added = runner(
        "partner",
        "add",
        "ikbfu",
        "--name",
        "ИКБФУ",
        "--email",
        "x@y.example",
        "--data",
        str(root),
    )
    assert added.code == 0, added
    listed = runner("account", "list", "--json", "--data", str(root))
    rows = {row["login"]: row for row in json.loads(listed.out)}
    assert rows["ikbfu"]["email"] == "x@y.example"
    refused = runner(
        "partner", "add", "kant", "--name", "Кант", "--email", "x y@z", "--data", str(root)
    )
    assert refused.code == 2 and "is not an e-mail address" in refused.err


def test_init_takes_the_coordinator_s_address(tmp_path: Path, runner: Any) -> None:
    root = tmp_path / "hub"
    done = runner(
        "init", "--school", "Гимназия", "--email", "zavuch@school.example", "--data", str(root)
    )
    assert done.code == 0, done
    listed = json.loads(runner("account", "list", "--json", "--data", str(root)).out)
    assert listed[0]["login"] == "coordinator" and listed[0]["email"] == "zavuch@school.example"
    bad = runner("init", "--school", "Г", "--email", "@", "--data", str(tmp_path / "other"))
    assert bad.code == 2 and "is not an e-mail address" in bad.err
    assert not (tmp_path / "other" / "calhub.toml").exists()


@pytest.mark.parametrize(
    ("table", "where", "says"),
    [
        (
            {"smtp": {"host": "h", "password": "x"}},
            "notify.smtp.password",
            "must not be in the file",
        ),
        ({"smtp": {"host": "mail.example"}}, "notify.sender", "is required"),
        (
            {"sender": "a@b.c", "smtp": {"host": "h", "security": "ssl"}},
            "notify.smtp.security",
            "not one of",
        ),
        ({"sender": "a@b.c", "smtp": {"port": 0}}, "notify.smtp.port", "from 1 to 65535"),
        (
            {"smtp": {"password_env": "A", "password_cmd": "pass show smtp"}},
            "notify.smtp.password_cmd",
            "not both",
        ),
        ({"soft": "never"}, "notify.soft", "not one of"),
        ({"webhook": {"url": "https://bridge.example/h"}}, "notify.webhook.secret_env", "required"),
        ({"webhook": {"url": "ftp://x", "secret_env": "K"}}, "notify.webhook.url", "not an http"),
        (
            {"webhook": {"url": "https://b.example/h", "secret": "k3y"}},
            "notify.webhook.secret",
            "must not be in the file",
        ),
        (
            {"webhook": {"url": "https://b.example/h", "secret_env": "K", "secret_cmd": "pass"}},
            "notify.webhook.secret_cmd",
            "not both",
        ),
    ],
)
def test_bad_notify_settings_name_the_file_and_key(
    table: dict[str, Any], where: str, says: str
) -> None:
    from calhub.errors import ConfigError
    from calhub.hub.settings import parse_settings

    with pytest.raises(ConfigError) as caught:
        parse_settings(Path("/srv/calhub/calhub.toml"), {"notify": table})
    text = str(caught.value)
    assert "/srv/calhub/calhub.toml" in text and f"[{where}]" in text and says in text


def test_the_html_part_escapes_and_the_text_part_reads(fresh_hub: Any) -> None:
    from calhub.hub.accounts import Account
    from calhub.notify.compose import Composer, Item
    from calhub.store.outbox import Notice

    runtime = open_runtime(fresh_hub.create())
    bulk_clashes(runtime, 1, "esc")
    [notice] = runtime.outbox.pending()
    record = runtime.records.get(notice.clash_id)
    asked = Notice(
        2,
        "move-asked",
        notice.clash_id,
        "coordinator",
        notice.at,
        "hard",
        {
            "summary": "<b>Лекция</b>",
            "calendar": "bfu",
            "comment": "a & b",
            "slots": [["2027-03-01T13:00:00Z", "2027-03-01T14:00:00Z"]],
        },
        notice.batch,
    )
    account = Account("bfu", "partner", "БФУ", "", email="a@b.example", language="ru")
    composed = Composer(runtime.settings, "https://hub.example").notice(
        Item(asked, record), account
    )
    assert composed.subject.startswith("[calhub] Просьба перенести «<b>Лекция</b>»")
    assert "&lt;b&gt;Лекция&lt;/b&gt;" in composed.html and "<b>Лекция" not in composed.html
    assert "a &amp; b" in composed.html
    # 13:00 UTC is 15:00 in Kaliningrad (UTC+2).
    assert "01.03.2027 15:00–16:00" in composed.text
    assert composed.headers["List-Unsubscribe"] == "<https://hub.example/account/notifications>"


def test_every_notify_key_is_in_docs_configuration() -> None:
    from calhub.hub.notify_settings import NOTIFY_SCHEMA, SMTP_SCHEMA, WEBHOOK_SCHEMA

    text = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    keys = [*NOTIFY_SCHEMA, *(f"smtp.{k}" for k in SMTP_SCHEMA)]
    keys += [f"webhook.{k}" for k in WEBHOOK_SCHEMA]
    missing = [key for key in keys if f"| `{key}` |" not in text]
    assert not missing, f"docs/configuration.md [notify] lacks {missing}"


def test_a_move_request_reaches_the_partner_asked_and_its_answer_the_coordinator(
    fresh_hub: Any,
) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, 1, languages={"bfu": "en"}, notify={"kgtu": "digest"})
    runtime = open_runtime(root)
    bulk_clashes(runtime, 1, "ask")
    hard = [n for n in runtime.outbox.pending() if n.severity == "hard"]
    clash_id = hard[0].clash_id
    sent = Sent()
    notifier = Notifier(runtime, "https://hub.example/", sender=sent)
    notifier.run_once(FAR)
    # kgtu asked for the daily digest: the clash waits for it; bfu and the coordinator heard.
    assert sorted(m.recipient for m in sent.messages) == ["bfu", "coordinator"]
    sent.messages.clear()
    slot = (dt.datetime(2027, 3, 1, 14, tzinfo=dt.UTC), dt.datetime(2027, 3, 1, 15, tzinfo=dt.UTC))
    request = runtime.move_requests.ask(
        clash_id,
        calendar="bfu",
        uid="ask-bfu-0",
        recurrence_id="",
        summary="Лекция [10]",
        by="coordinator",
        comment="Зал занят",
        slots=[slot],
    )
    notifier.run_once(FAR)
    [asked] = sent.messages
    assert asked.recipient == "bfu"
    assert asked.subject.startswith('[calhub] Please move "Лекция [10]": ')
    assert "Free times to move it to:" in asked.text and "2027-03-01 16:00–17:00" in asked.text
    assert "Comment: Зал занят" in asked.text and "By: coordinator" in asked.text
    runtime.move_requests.answer(request.id, by="bfu", accepted=True, chosen=slot)
    notifier.run_once(FAR)
    answered = sent.messages[1]
    assert answered.recipient == "coordinator"
    assert answered.subject.startswith("[calhub] Перенос «Лекция [10]» принят: ")
    assert "Выбранное время: 01.03.2027 16:00–17:00" in answered.text


def test_notify_test_and_outbox_retry_from_the_command_line(
    fresh_hub: Any, runner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify_support import PASSWORD_ENV, SMTP_PASSWORD, SmtpServer

    root = fresh_hub.create()
    off = runner("notify", "test", "a@b.example", "--data", str(root))
    assert off.code == 2 and "no [notify.smtp] host" in off.err
    smtp = SmtpServer()
    configure_mail(root, smtp.port)
    down = runner("notify", "test", "a@b.example", "--data", str(root))
    assert down.code == 2 and "was not sent" in down.err
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password")
    smtp.start()
    try:
        refused = runner("notify", "test", "a@b.example", "--data", str(root))
        assert refused.code == 2 and "refused the login" in refused.err
        assert "wrong-password" not in refused.err
        monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
        done = runner(
            "notify", "test", "ops@school.example", "--language", "en", "--data", str(root)
        )
        assert done.code == 0, done
        [mail] = smtp.inbox.wait_for(1)
        assert mail["To"] == "ops@school.example" and mail["Subject"] == "[calhub] calhub mail test"
    finally:
        smtp.stop()
    missing = runner("outbox", "retry", "999", "--data", str(root))
    assert missing.code == 2 and "no message 999" in missing.err
    runtime = open_runtime(root)
    bulk_clashes(runtime, 1, "retry")
    from calhub.notify.worker import Notifier

    def failing(settings: Any, message: Any, accepted: Any) -> None:
        from calhub.notify.smtp import SendFailed

        raise SendFailed("the SMTP server answered 451 later")

    Notifier(runtime, "https://hub.example/", sender=failing).run_once(FAR)
    # One attempt failed and waits for its retry; the rest wait behind it (the channel is down).
    queued = runtime.outbox.messages()
    tried = [m for m in queued if m.attempts]
    assert len(queued) == 3 and len(tried) == 1 and tried[0].next_at > tried[0].created_at
    again = runner("outbox", "retry", str(tried[0].id), "--data", str(root))
    assert again.code == 0 and "is due now" in again.out
    assert runtime.outbox.get(tried[0].id).next_at <= dt.datetime.now(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    listing = runner("outbox", "--data", str(root))
    assert "451 later" in listing.out and "E-mail: through 127.0.0.1" in listing.out


def test_old_notices_and_messages_are_pruned_but_digest_items_kept(fresh_hub: Any) -> None:
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, 1)
    runtime = open_runtime(root)
    bulk_clashes(runtime, 8, "prune")
    notifier = Notifier(runtime, "https://hub.example/", sender=Sent())
    notifier.run_once(FAR)
    outbox = runtime.outbox
    assert outbox.counts()["sent"] == 3 and outbox.digest_recipients()
    later = FAR + dt.timedelta(days=100)
    assert outbox.prune(later, later) > 0
    assert outbox.counts()["sent"] == 0
    # The soft clashes still waiting for the daily digest are not forgotten.
    assert outbox.digest_of("coordinator")


def test_a_bulk_write_holds_its_notices_back_until_it_ends(fresh_hub: Any) -> None:
    """The API a source sync uses (Outbox.bulk_write): one digest per recipient however
    long the sync takes and however many transactions it writes."""
    import zoneinfo

    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, 1)
    runtime = open_runtime(root)
    sent = Sent()
    notifier = Notifier(runtime, "https://hub.example/", sender=sent)
    # Minutes on: past every batch wait, inside the hold; today's daily digest already gone.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    local = later.astimezone(zoneinfo.ZoneInfo("Europe/Kaliningrad"))
    runtime.outbox.set_meta("digest_day", local.date().isoformat())
    with runtime.outbox.bulk_write("sync feed-7"):
        bulk_clashes(runtime, 2, "hold-a")
        assert runtime.outbox.holds() == ["sync feed-7"]
        assert notifier.run_once(later) == 0 and runtime.outbox.count_pending() > 0
        bulk_clashes(runtime, 2, "hold-b")  # a second write, minutes after the first
        # A hold outlives no crash: past HOLD_LIMIT it no longer counts.
        assert runtime.outbox.holds(later + dt.timedelta(hours=1)) == []
    assert runtime.outbox.holds() == []
    assert notifier.run_once(later) == 3
    assert [m.subject for m in sent.messages] == ["[calhub] Новости о накладках: 4"] * 3


@pytest.mark.parametrize("soft", ["immediate", "off"])
def test_soft_clashes_at_once_or_never_and_a_digest_account_hears_next_morning(
    fresh_hub: Any, soft: str
) -> None:
    """[notify] soft (the default, digest, is in the 200-row test); kgtu asked for a daily
    digest: it hears nothing at once and everything in the morning."""
    from calhub.notify.worker import Notifier

    root = fresh_hub.create()
    configure_mail(root, 1, soft=soft, notify={"kgtu": "digest"})
    runtime = open_runtime(root)
    bulk_clashes(runtime, 8, f"soft-{soft}")
    pending = runtime.outbox.pending()
    hard = sum(1 for n in pending if n.severity == "hard")
    soft_count = len(pending) - hard
    assert hard == 8 and soft_count > 0
    told = hard + soft_count if soft == "immediate" else hard
    sent = Sent()
    notifier = Notifier(runtime, "https://hub.example/", sender=sent)
    assert notifier.run_once(FAR) == 2
    assert sorted(m.recipient for m in sent.messages) == ["bfu", "coordinator"]
    counts = {m.recipient: int(m.subject.rsplit(": ", 1)[1]) for m in sent.messages}
    # The coordinator hears of every clash; bfu of the hard ones and of the soft ones of its
    # own events (a busy week for grade 10) unless soft clashes are off.
    assert counts["coordinator"] == told
    assert hard < counts["bfu"] <= told if soft == "immediate" else counts["bfu"] == hard
    assert runtime.outbox.digest_recipients() == ["kgtu"]
    morning = FAR + dt.timedelta(hours=2)  # 08:00 in Kaliningrad, past digest_time
    assert notifier.run_once(morning) == 1
    daily = sent.messages[-1]
    assert daily.recipient == "kgtu" and daily.subject.startswith("[calhub] Сводка за день: ")
    assert daily.text.count("https://hub.example/conflicts/") >= hard
    if soft == "off":
        assert daily.subject == f"[calhub] Сводка за день: {hard}"
    assert runtime.outbox.digest_recipients() == []
