"""A hub with one of everything it keeps, and a snapshot of what it keeps, for the tests of
upgrades and restores (tests/test_data_format.py, tests/test_cli_restore.py).

``populate`` gives a stopped hub with events in three calendars, an approved clash, a move
request's notices in the outbox, a feed token, an e-mail address on an account, a
changed setting, a feedback answer with its comment, a partner's survey, the feedback
links' key and the audit log of all of it. ``kept`` reads back what must survive: every
stored event's text, the accounts and the config as files, and every row of hub.sqlite
(its SQL dump).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from clash_support import approve, at, conflicts, involving, own_week, put_event
from helpers import cli_ok

from calhub.hub import configfile
from calhub.store.feedback import FeedbackStore, NewAnswer
from calhub.store.outbox import NewMessage, Outbox

FEED_NAME = "10А, родители"
OUTBOX_SUBJECT = "Накладка согласована"
FEEDBACK_COMMENT = "Очень понравилось, спасибо"


def populate(fresh_hub: Any) -> Path:
    """A hub with an event in each partner calendar and the school's, an approved clash, a
    feed, an address, a setting; served, then stopped (its databases closed)."""
    root = fresh_hub.create()
    document = configfile.read_document(root)
    hub_table: Any = document["hub"]
    hub_table["horizon_past_days"] = 400
    configfile.save_document(root, document)
    cli_ok(
        ["account", "edit", "coordinator", "--email", "zavuch@school.example", "--data", str(root)]
    )
    hub = fresh_hub.serve(root)
    day = own_week()
    put_event(hub, "bfu", "/bfu/calendar/", "st-a", "Лекция [10]", at(day, 15), at(day, 16))
    put_event(hub, "kgtu", "/kgtu/calendar/", "st-b", "Практикум [10А]", at(day, 15), at(day, 16))
    put_event(hub, "coordinator", "/school/calendar/", "st-c", "Линейка", at(day, 9), at(day, 10))
    [record] = [r for r in involving(conflicts(hub), "st-a", "st-b") if r["rule"] == "audience"]
    approve(hub, record["id"], "Согласовано с обоими партнёрами")
    cli_ok(["feed", "create", "--scope", "all", "--name", FEED_NAME, "--data", str(root)])
    # A message waiting in the outbox, as the sender thread queues one when mail is set up.
    outbox = Outbox(root / "hub.sqlite")
    [notice] = [n for n in outbox.pending() if n.kind == "approved"]
    message = NewMessage(
        "email",
        "coordinator",
        "zavuch@school.example",
        OUTBOX_SUBJECT,
        "текст",
        "",
        "st-1",
        (notice.id,),
    )
    outbox.queue([message])
    outbox.close()
    # Feedback on the lecture, a partner's term survey, and the links' key (made by the link).
    cli_ok(["feedback", "link", "st-a", "--url", "https://hub.example", "--data", str(root)])
    cli_ok(["survey", "send", "--term", "2026-27-1", "--url", "https://hub.example",
            "--data", str(root)])  # fmt: skip
    feedback = FeedbackStore(root / "hub.sqlite")
    moment = dt.datetime.combine(day, dt.time(13), dt.UTC)
    feedback.add(NewAnswer("bfu", "st-a", "", moment, "d" * 64, 5, True, FEEDBACK_COMMENT))
    feedback.close()
    fresh_hub.servers.remove(hub)
    code = hub.stop()
    assert code == 0, hub.stderr()
    return root


def _events(root: Path) -> dict[str, str]:
    storage = root / "storage"
    return {
        str(path.relative_to(storage)): path.read_text(encoding="utf-8")
        for path in sorted(storage.rglob("*.ics"))
        if ".Radicale.cache" not in path.parts
    }


def _rows(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return list(db.iterdump())


def kept(root: Path) -> dict[str, Any]:
    """What a hub keeps (not its caches), comparable between two directories."""
    state = {
        "events": _events(root),
        "accounts": (root / "accounts.json").read_text(encoding="utf-8"),
        "config": (root / "calhub.toml").read_text(encoding="utf-8"),
        "hub.sqlite": _rows(root / "hub.sqlite"),
        "feedback key": (root / "feedback-secret.key").read_text(encoding="ascii"),
    }
    rows = "\n".join(state["hub.sqlite"])
    # The snapshot is only worth comparing if it holds one of each kind.
    assert len(state["events"]) >= 3, state["events"].keys()
    for table in (
        "clashes",
        "approvals",
        "notices",
        "outbox",
        "feed_tokens",
        "feedback_answers",
        "surveys",
        "audit_log",
    ):
        assert f'INSERT INTO "{table}"' in rows, f"no row in {table}"
    assert (
        FEED_NAME in rows
        and OUTBOX_SUBJECT in rows
        and "Согласовано с обоими партнёрами" in rows
        and FEEDBACK_COMMENT in rows
    )
    assert (
        "zavuch@school.example" in state["accounts"]
        and "horizon_past_days = 400" in state["config"]
    )
    return state


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file below ``root`` (hidden ones too): size, mtime, SHA-256."""
    return {
        str(path.relative_to(root)): (
            path.stat().st_size,
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
