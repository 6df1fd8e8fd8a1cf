"""Polls answered from the index say what Radicale says (calhub.dav.known, calhub.dav.history).

Randomised histories of new PUTs, moves (an update PUT to another time) and DELETEs go over
real HTTP to a running hub and to a plain Radicale 3.9 side by side, with the same hrefs and
bodies. After every step:

- the hub's Depth-0 ``getctag`` and ``sync-token`` are the bytes Radicale's own code gives
  on the hub's folder: its ``BaseCollection.etag`` over every file read, and the token from
  the history files, each of which must already hold its object's etag (so Radicale's sync
  would have nothing to update and would answer that very token);
- the hub's Depth-1 etags are plain Radicale's, and those of the files;
- a sync-collection from every earlier token reports the same hrefs, etags and 404s on both
  servers, and the token it returns is the one a Depth-0 poll returns.

Then the index is made wrong on purpose: files written into the calendar's folder behind
the hub's back, a file edited in place, the index deleted under the running server, a
history file removed by another program. The answers stay Radicale's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pickle
import random
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from radicale import config as radicale_config
from radicale import storage as radicale_storage

from tests.helpers import PASSWORDS, request

D = "DAV:"
CS = "http://calendarserver.org/ns/"
C = "urn:ietf:params:xml:ns:caldav"
CALENDAR = "bfu/calendar"
START_TIMEOUT = 30.0

POLL = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
    "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"
)
ETAGS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getlastmodified/>'
    "<D:getcontenttype/></D:prop></D:propfind>"
)
SYNC = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)

PLAIN_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
timeout = 10

[auth]
type = none

[rights]
type = owner_write

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = warning
"""


def event_text(uid: str, day: int, hour: int) -> str:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub tests//polls//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20270101T000000Z",
            f"DTSTART:202703{day:02d}T{hour:02d}0000Z",
            f"DTEND:202703{day:02d}T{hour:02d}4500Z",
            f"SUMMARY:Занятие {uid}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


@dataclass
class Peer:
    """One server under test: its base URL, where CalDAV lives on it, who logs in."""

    name: str
    url: str
    prefix: str
    login: str
    password: str

    def send(self, method: str, path: str, body: str | None = None, **headers: str) -> Any:
        return request(
            self.url,
            method,
            f"{self.prefix}/{path}",
            self.login,
            self.password,
            body=body,
            headers={"Content-Type": "application/xml; charset=utf-8", **headers},
        )

    def strip(self, href: str) -> str:
        assert href.startswith(self.prefix + "/"), href
        return href[len(self.prefix) :]


def responses(text: str) -> Iterator[ET.Element]:
    root = ET.fromstring(text)
    assert root.tag == f"{{{D}}}multistatus", text
    yield from root.iter(f"{{{D}}}response")


def poll(peer: Peer) -> tuple[str, str]:
    answer = peer.send("PROPFIND", f"{CALENDAR}/", POLL, Depth="0")
    assert answer.status == 207, answer.text
    (response,) = responses(answer.text)
    ctag = response.findtext(f".//{{{CS}}}getctag")
    token = response.findtext(f".//{{{D}}}sync-token")
    assert ctag and token, answer.text
    return ctag, token


def listing(peer: Peer) -> dict[str, tuple[str, str, str]]:
    """href → (etag, last modified, content type) of every object, from a Depth-1 PROPFIND."""
    answer = peer.send("PROPFIND", f"{CALENDAR}/", ETAGS, Depth="1")
    assert answer.status == 207, answer.text
    found = {}
    for response in responses(answer.text):
        href = peer.strip(response.findtext(f"{{{D}}}href") or "")
        if href.endswith("/"):
            continue  # the collection itself
        found[href] = (
            response.findtext(f".//{{{D}}}getetag") or "",
            response.findtext(f".//{{{D}}}getlastmodified") or "",
            response.findtext(f".//{{{D}}}getcontenttype") or "",
        )
    return found


def sync(peer: Peer, token: str) -> tuple[dict[str, str], str]:
    """What changed since ``token``: href → etag, or "404" for a deleted object; the new
    token."""
    answer = peer.send("REPORT", f"{CALENDAR}/", SYNC.format(token=token), Depth="1")
    assert answer.status == 207, (peer.name, token, answer.status, answer.text)
    root = ET.fromstring(answer.text)
    changes = {}
    for response in root.iter(f"{{{D}}}response"):
        href = peer.strip(response.findtext(f"{{{D}}}href") or "")
        status = response.findtext(f"{{{D}}}status") or ""
        if " 404 " in status:
            changes[href] = "404"
        else:
            changes[href] = response.findtext(f".//{{{D}}}getetag") or ""
    new_token = root.findtext(f"{{{D}}}sync-token") or ""
    return changes, new_token


MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"""


def multiget(peer: Peer, names: list[str]) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """Each asked object's (href, status, etag, calendar-data), and each response's bytes
    without the hrefs' prefix (which differs between servers), both sorted: Radicale keeps
    the asked hrefs in a set, so the answer's order is its process's hash order."""
    hrefs = "".join(f"<D:href>{peer.prefix}/{CALENDAR}/{name}</D:href>" for name in names)
    answer = peer.send("REPORT", f"{CALENDAR}/", MULTIGET.format(hrefs=hrefs), Depth="1")
    assert answer.status == 207, (peer.name, answer.status, answer.text)
    found = []
    for response in responses(answer.text):
        found.append(
            (
                peer.strip(response.findtext(f"{{{D}}}href") or ""),
                response.findtext(f".//{{{D}}}status") or "",
                response.findtext(f".//{{{D}}}getetag") or "",
                response.findtext(f".//{{{C}}}calendar-data") or "",
            )
        )
    parts = answer.text.split("<response>")[1:]
    assert len(parts) == len(found), answer.text
    raw = sorted(part.replace(f"{peer.prefix}/", "/").split("</response>")[0] for part in parts)
    return sorted(found), raw


# -- Radicale's own answer, computed on the hub's folder without changing it --------------


def plain_storage(storage_dir: Path) -> Any:
    configuration = radicale_config.load()
    configuration.update(
        {"storage": {"filesystem_folder": str(storage_dir)}}, "test", privileged=True
    )
    return radicale_storage.load(configuration)


def _history_entry(folder: str, href: str) -> tuple[str, str]:
    with open(os.path.join(folder, href), "rb") as file:
        etag, history_etag = pickle.load(file)
    return str(etag), str(history_etag)


def radicale_answers(storage: Any) -> tuple[str, str, dict[str, str]]:
    """(getctag, sync-token, href → etag) as Radicale's multifilesystem storage computes them
    from the files, every object read. The token is the one Radicale's sync() answers when
    the history files are up to date, which is asserted on the way (an out-of-date entry
    means the hub answered from a history that was not the folder's)."""
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(f"/{CALENDAR}/")))
        ctag = radicale_storage.BaseCollection.etag.fget(collection)
        items = list(collection.get_all())
        folder = collection._storage._get_collection_cache_subfolder(
            collection._filesystem_path, ".Radicale.cache", "history"
        )
        digest = sha256()
        for item in items:
            etag, history_etag = _history_entry(folder, item.href)
            assert etag == item.etag, f"history of {item.href} is out of date"
            digest.update(f"{item.href}/{history_etag}".encode())
        for href in collection._get_deleted_history_hrefs():
            etag, history_etag = _history_entry(folder, href)
            assert etag == "", f"history of deleted {href} still names {etag}"
            digest.update(f"{href}/{history_etag}".encode())
    token = f"http://radicale.org/ns/sync/{digest.hexdigest()}"
    return ctag, token, {f"/{CALENDAR}/{item.href}": item.etag for item in items}


def radicale_texts_of(storage: Any) -> dict[str, tuple[str, str]]:
    """href → (etag, text) of every object as Radicale's storage reads it from the files."""
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(f"/{CALENDAR}/")))
        return {
            f"/{CALENDAR}/{item.href}": (item.etag, item.serialize())
            for item in collection.get_all()
        }


def radicale_texts(storage: Any) -> dict[str, tuple[str, str]]:
    """The same, with the line ends an XML parser gives the text of an answer."""
    return {
        href: (etag, text.replace("\r\n", "\n"))
        for href, (etag, text) in radicale_texts_of(storage).items()
    }


# -- the two servers ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def plain_radicale(root: Path, props: dict[str, str]) -> Iterator[Peer]:
    """Plain Radicale on loopback with one calendar ``/bfu/calendar/`` holding ``props``;
    stopped (then killed) at the end, and never left running past the test."""
    storage_dir = root / "storage"
    storage = plain_storage(storage_dir)
    with storage.acquire_lock("w"):
        storage.create_collection("/bfu/")
        storage.create_collection(f"/{CALENDAR}/", props=props)
    port = _free_port()
    conf = root / "radicale.conf"
    conf.write_text(PLAIN_CONFIG.format(port=port, storage=storage_dir), encoding="utf-8")
    log = (root / "radicale.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, (root / "radicale.log").read_text()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("OPTIONS", "/")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                assert time.monotonic() < deadline, "plain Radicale did not start"
                time.sleep(0.1)
        yield Peer("radicale", f"http://127.0.0.1:{port}/", "", "bfu", "any")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Pair:
    hub: Peer
    plain: Peer
    hub_storage: Any  # plain Radicale's storage class on the hub's folder
    folder: Path  # the hub's calendar folder
    data_dir: Path


@pytest.fixture
def pair(fresh_hub: Any, tmp_path: Path) -> Iterator[Pair]:
    data_dir = fresh_hub.create()
    server = fresh_hub.serve(data_dir)
    folder = data_dir / "storage" / "collection-root" / CALENDAR
    props = json.loads((folder / ".Radicale.props").read_text(encoding="utf-8"))
    with plain_radicale(tmp_path / "plain", props) as plain:
        hub = Peer("calhub", server.url, "/dav", "bfu", PASSWORDS["bfu"])
        yield Pair(hub, plain, plain_storage(data_dir / "storage"), folder, data_dir)


def put(peer: Peer, href: str, text: str, etag: str | None) -> str:
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    headers.update({"If-Match": etag} if etag else {"If-None-Match": "*"})
    answer = peer.send("PUT", f"{CALENDAR}/{href}", text, **headers)
    assert answer.status in (201, 204), (peer.name, href, answer.status, answer.text)
    return str(answer.header("etag"))


def check_hub(pair: Pair) -> tuple[str, str]:
    """The hub's Depth-0 and Depth-1 answers against Radicale's own on the same folder."""
    ctag, token = poll(pair.hub)
    hub_items = listing(pair.hub)
    expected_ctag, expected_token, etags = radicale_answers(pair.hub_storage)
    assert ctag == expected_ctag
    assert token == expected_token
    assert {href: row[0] for href, row in hub_items.items()} == etags
    # Radicale's own formats of what a Depth-1 PROPFIND says of each object.
    for href, (_, modified, content_type) in hub_items.items():
        stat = os.stat(pair.folder / href.rsplit("/", 1)[1])
        assert modified == time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(stat.st_mtime))
        assert content_type == "text/calendar;charset=utf-8;component=VEVENT"
    # A multiget of every object: the texts and etags Radicale's own reads give.
    names = sorted(href.rsplit("/", 1)[1] for href in hub_items)
    got = {href: (etag, data) for href, _, etag, data in multiget(pair.hub, names)[0]}
    assert got == radicale_texts(pair.hub_storage)
    return ctag, token


@pytest.mark.parametrize("seed", [21, 2026])
def test_random_histories_answer_as_plain_radicale(pair: Pair, seed: int) -> None:
    rng = random.Random(seed)
    live: dict[str, dict[str, str]] = {}  # href → server → etag
    hub_tokens: list[str] = []
    plain_tokens: list[str] = []
    gone: list[str] = []
    for step in range(36):
        choice = rng.random()
        if not live or choice < 0.45:
            # a new object, now and then at an href deleted before (Radicale keeps its history)
            href = gone.pop() if gone and rng.random() < 0.3 else f"e{seed}-{step}.ics"
            text = event_text(href[:-4], rng.randint(1, 28), rng.randint(8, 18))
            live[href] = {p.name: put(p, href, text, None) for p in (pair.hub, pair.plain)}
        elif choice < 0.8:
            href = rng.choice(sorted(live))
            text = event_text(href[:-4], rng.randint(1, 28), rng.randint(8, 18))
            live[href] = {
                p.name: put(p, href, text, live[href][p.name]) for p in (pair.hub, pair.plain)
            }
        else:
            href = rng.choice(sorted(live))
            for peer in (pair.hub, pair.plain):
                answer = peer.send("DELETE", f"{CALENDAR}/{href}")
                assert answer.status in (200, 204), answer.text
            del live[href]
            gone.append(href)
        _, token = check_hub(pair)
        hub_tokens.append(token)
        plain_tokens.append(poll(pair.plain)[1])
        assert set(listing(pair.plain)) == set(listing(pair.hub))
        # A multiget of some live objects, a deleted one and one never stored, in a
        # random order: the same answer, byte for byte, from both.
        names = rng.sample(sorted(live), min(len(live), 5)) + gone[-1:] + ["never.ics"]
        rng.shuffle(names)
        assert multiget(pair.hub, names)[1] == multiget(pair.plain, names)[1]
        if step % 6 == 5 or step == 35:
            for hub_token, plain_token in zip(hub_tokens, plain_tokens, strict=True):
                hub_changes, hub_new = sync(pair.hub, hub_token)
                plain_changes, plain_new = sync(pair.plain, plain_token)
                assert hub_changes == plain_changes
                assert hub_new == hub_tokens[-1] and plain_new == plain_tokens[-1]
    # The initial sync (no token) lists every object on both, and the deleted ones Radicale
    # still keeps in its history as 404.
    hub_all, _ = sync(pair.hub, "")
    plain_all, _ = sync(pair.plain, "")
    assert hub_all == plain_all
    present = {href: etag for href, etag in hub_all.items() if etag != "404"}
    assert present == {f"/{CALENDAR}/{h}": e["calhub"] for h, e in live.items()}
    assert {h: e["calhub"] for h, e in live.items()} == {h: e["radicale"] for h, e in live.items()}


def test_changes_behind_the_hubs_back_fall_back_to_a_right_answer(pair: Pair) -> None:
    hub = pair.hub
    etags = {}
    for n in range(6):
        etags[f"b{n}.ics"] = put(hub, f"b{n}.ics", event_text(f"b{n}", n + 1, 9), None)
    answer = hub.send("DELETE", f"{CALENDAR}/b5.ics")
    assert answer.status in (200, 204)
    _, first = check_hub(pair)

    # A file written into the folder directly (another program, a hand, a restore).
    (pair.folder / "by-hand.ics").write_text(event_text("by-hand", 3, 11), newline="")
    _, second = check_hub(pair)
    changes, _ = sync(hub, first)
    assert set(changes) == {f"/{CALENDAR}/by-hand.ics"}

    # A file edited in place: another size and time, the same inode.
    path = pair.folder / "b1.ics"
    with path.open("r+", newline="") as file:
        file.write(event_text("b1", 20, 16))
        file.truncate()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    _, third = check_hub(pair)
    changes, _ = sync(hub, second)
    assert set(changes) == {f"/{CALENDAR}/b1.ics"}
    assert changes[f"/{CALENDAR}/b1.ics"] != etags["b1.ics"]

    # An edit in place that puts the size and the mtime back (as `cp -p` over the file
    # does): only the kernel's word (the watch) and the ctime tell it from no change.
    path = pair.folder / "b3.ics"
    stat = path.stat()
    text = path.read_text()
    edited = text.replace("T090000", "T080000")
    assert edited != text and len(edited) == len(text)
    with path.open("r+", newline="") as file:
        file.write(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    _, after_cp = check_hub(pair)
    assert after_cp != third
    changes, _ = sync(hub, third)
    assert set(changes) == {f"/{CALENDAR}/b3.ics"}
    third = after_cp

    # The index deleted under the running server: every answer from the files again, and
    # the next write through the hub puts the calendar back into the index.
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{pair.data_dir / 'index.sqlite'}{suffix}")
    check_hub(pair)
    put(hub, "after.ics", event_text("after", 5, 10), None)
    _, fourth = check_hub(pair)
    changes, _ = sync(hub, third)
    assert set(changes) == {f"/{CALENDAR}/after.ics"}
    answer = hub.send("DELETE", f"{CALENDAR}/b2.ics")
    assert answer.status in (200, 204)
    check_hub(pair)
    changes, _ = sync(hub, fourth)
    assert changes == {f"/{CALENDAR}/b2.ics": "404"}

    # The index damaged under the running server (random bytes over the file): the polls
    # are still answered, from the files, and right.
    index_file = pair.data_dir / "index.sqlite"
    with index_file.open("r+b") as file:
        file.seek(4096)
        file.write(os.urandom(8192))
    check_hub(pair)
    put(hub, "after-damage.ics", event_text("after-damage", 6, 10), None)
    check_hub(pair)

    # A history file removed by another program (as Radicale's cleaning of old deletions
    # does): the sync-token Radicale computes changes, and so does the hub's.
    history = pair.folder / ".Radicale.cache" / "history"
    (history / "b5.ics").unlink()
    _, fifth = check_hub(pair)
    assert fifth != fourth


def hub_with_events(
    module_hubs: Any, prefix: str, count: int, settings: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """A new hub whose partner calendar bfu holds ``count`` events written through the
    hub's own storage, and that storage, opened in this process."""
    from calhub.dav.importer import import_objects
    from calhub.dav.maintenance import open_runtime
    from calhub.dav.storage import open_storage
    from calhub.hub import Hub

    hub = Hub(module_hubs.create(settings))
    runtime = open_runtime(hub)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    texts = [event_text(f"{prefix}{n}", n % 28 + 1, 8 + n % 9) for n in range(count)]
    assert import_objects(runtime, bfu, texts) == count
    return hub, open_storage(runtime)


def test_a_poll_of_an_unchanged_calendar_reads_no_object_and_no_history_file(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the new paths: with the index in step, the ctag, the sync-token, an
    empty sync and the etags of every object come without Radicale reading an object or a
    history file (its readers of both refuse here)."""
    from radicale.storage import multifilesystem
    from radicale.storage.multifilesystem.history import CollectionPartHistory

    hub, storage = hub_with_events(module_hubs, "q", 40)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
        ctag = collection.etag
        token, _ = collection.sync()
    expected_ctag, expected_token, etags = radicale_answers(plain_storage(hub.paths.storage))
    assert (ctag, token) == (expected_ctag, expected_token)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a poll read an object or a history file")

    monkeypatch.setattr(multifilesystem.Collection, "_get", refuse)
    monkeypatch.setattr(CollectionPartHistory, "_update_history_etag", refuse)
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
        assert collection.etag == ctag
        assert collection.sync()[0] == token
        assert collection.sync(token) == (token, [])
        listed = {f"/{CALENDAR}/{item.href}": item.etag for item in collection.get_all()}
        # A multiget of every object: texts without Radicale's reader, each file holding
        # what was indexed (unknown hrefs take Radicale's path: the random histories above).
        names = sorted(href.rsplit("/", 1)[1] for href in listed)
        got = dict(collection.get_multi(names))
    assert listed == etags
    texts = {f"/{CALENDAR}/{href}": (item.etag, item.serialize()) for href, item in got.items()}
    monkeypatch.undo()
    assert texts == radicale_texts_of(plain_storage(hub.paths.storage))


@pytest.mark.skipif(sys.platform != "linux", reason="the watch is inotify's")
def test_a_second_poll_of_an_unchanged_calendar_looks_at_no_file(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flat in the calendar's size: once a scan has proved the index holds the folder, a
    poll is answered while the kernel reports no change to the folder or its history,
    without a stat of each file; any change, by anyone, and the next poll scans again."""
    hub, storage = hub_with_events(module_hubs, "w", 30)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    scans = count_scans(monkeypatch)

    def answers() -> tuple[str, str, list[str]]:
        with storage.acquire_lock("r"):
            collection = next(iter(storage.discover(bfu.path)))
            token, hrefs = collection.sync()
            return collection.etag, token, list(hrefs)

    answers()
    answers()  # the first sync wrote history files: this one is proved on a quiet folder
    scans.clear()
    ctag, token, hrefs = answers()
    assert answers() == (ctag, token, hrefs)
    assert scans == []
    expected_ctag, expected_token, etags = radicale_answers(plain_storage(hub.paths.storage))
    assert (ctag, token) == (expected_ctag, expected_token)
    assert sorted(f"/{CALENDAR}/{href}" for href in hrefs) == sorted(etags)
    with storage.acquire_lock("r"):
        folder = Path(next(iter(storage.discover(bfu.path)))._filesystem_path)
    # The token's file is touched on each use, as Radicale does (its age counts from it).
    token_file = folder / ".Radicale.cache" / "sync-token" / token.rpartition("/")[2]
    os.utime(token_file, ns=(0, 0))
    answers()
    assert token_file.stat().st_mtime_ns > 0

    # An object rewritten in place behind the hub's back: the next poll scans, and answers
    # as Radicale does.
    victim = folder / hrefs[0]
    victim.write_text(event_text("w0", 27, 18), newline="")
    new_ctag, new_token, _ = answers()
    assert scans
    expected_ctag, expected_token, _ = radicale_answers(plain_storage(hub.paths.storage))
    assert (new_ctag, new_token) == (expected_ctag, expected_token) != (ctag, token)


def count_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders calhub.dav.known.scan is asked to prove, from now on."""
    from calhub.dav import known

    scans: list[str] = []
    real_scan = known.scan

    def counted(folder: str, *args: Any) -> Any:
        scans.append(folder)
        return real_scan(folder, *args)

    monkeypatch.setattr(known, "scan", counted)
    return scans


def test_without_the_watch_every_poll_checks_every_file(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[hub] watch_storage = false`` (a storage folder another machine writes too): no
    listing is kept, each poll scans, and the answers are Radicale's."""
    hub, storage = hub_with_events(module_hubs, "n", 10, {"watch_storage": False})
    assert hub.settings.watch_storage is False
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    scans = count_scans(monkeypatch)
    for _ in range(3):
        with storage.acquire_lock("r"):
            collection = next(iter(storage.discover(bfu.path)))
            ctag, token = collection.etag, collection.sync()[0]
    assert len(scans) == 3
    expected_ctag, expected_token, _ = radicale_answers(plain_storage(hub.paths.storage))
    assert (ctag, token) == (expected_ctag, expected_token)


def test_another_threads_write_does_not_send_a_poll_back_to_the_files(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Radicale 3.9 builds a PROPFIND's answer after it released its storage lock, while
    another thread may hold the write lock: a collection that has not written itself still
    answers from what it listed (Radicale's lock state is the whole process's)."""
    import threading

    from radicale.storage import multifilesystem

    hub, storage = hub_with_events(module_hubs, "t", 12)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
        names = list(collection._list())
    expected_ctag, _, etags = radicale_answers(plain_storage(hub.paths.storage))
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with storage.acquire_lock("w"):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(30)
        assert storage._lock.locked == "w"

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("read an object's file")

        monkeypatch.setattr(multifilesystem.Collection, "_get", refuse)
        assert collection.etag == expected_ctag
        found = {f"/{CALENDAR}/{name}": collection._get(name).etag for name in names}
        assert found == etags
    finally:
        release.set()
        thread.join(30)


def test_a_write_reads_the_index_row_of_its_own_object_only(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write looks up its one object's row (the check of who may overwrite it), not
    every row of the calendar; the rows this process keeps go on past its own writes
    (``RowCache.carry``), so the listing and a multiget after them read no row at all, and
    answer as Radicale does. Rows kept from before another process's write are read again."""
    from radicale import item as radicale_item

    from calhub.store.index import OccurrenceIndex

    hub, storage = hub_with_events(module_hubs, "u", 25)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None
    asked: list[list[str] | None] = []
    real = OccurrenceIndex.known_files

    def counted(self: Any, calendar: str, hrefs: Any = None) -> Any:
        asked.append(None if hrefs is None else list(hrefs))
        return real(self, calendar, hrefs)

    with storage.acquire_lock("r"):
        names = sorted(next(iter(storage.discover(bfu.path)))._list())
    monkeypatch.setattr(OccurrenceIndex, "known_files", counted)
    for day in (3, 4):
        with storage.acquire_lock("w"):
            collection = next(iter(storage.discover(bfu.path)))
            text = event_text("u1", day, 10)
            item = radicale_item.Item(collection_path=collection.path, text=text)
            item.prepare()
            collection.upload(names[1], item)
    assert all(hrefs == [names[1]] for hrefs in asked), asked
    asked.clear()
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
        got = {href: item.serialize() for href, item in collection.get_multi(names[:3])}
        listed = {f"/{CALENDAR}/{item.href}": item.etag for item in collection.get_all()}
        ctag, token = collection.etag, collection.sync()[0]
    assert asked == []
    expected = radicale_texts_of(plain_storage(hub.paths.storage))
    assert {f"/{CALENDAR}/{href}": text for href, text in got.items()} == {
        href: pair[1] for href, pair in expected.items() if href.rsplit("/", 1)[1] in names[:3]
    }
    assert (ctag, token, listed) == radicale_answers(plain_storage(hub.paths.storage))
    # Another process writes to the index: the rows kept here are not taken as current.
    from calhub.store.index import OccurrenceIndex as Index

    other = Index(hub.paths.index_db)
    with other.transaction():
        pass
    with storage.acquire_lock("r"):
        collection = next(iter(storage.discover(bfu.path)))
        assert dict(collection.get_multi(names[:3])).keys() == set(names[:3])
    assert asked == [names[:3]]


def test_phones_syncing_from_the_same_token_get_one_answer(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a write every phone syncs from the token it had: once the history is in step,
    the answer for that token is kept with the listing (Radicale compares the same two
    states, so its answer is the same), the new token's file is touched as Radicale does,
    and a token whose file was cleaned away is refused as Radicale refuses it."""
    from radicale import item as radicale_item
    from radicale.storage import multifilesystem

    hub, storage = hub_with_events(module_hubs, "y", 20)
    bfu = hub.settings.calendar("bfu")
    assert bfu is not None

    def sync(token: str) -> tuple[str, list[str]]:
        with storage.acquire_lock("r"):
            collection = next(iter(storage.discover(bfu.path)))
            new, changes = collection.sync(token)
            return new, list(changes)

    first, _ = sync("")
    with storage.acquire_lock("w"):
        collection = next(iter(storage.discover(bfu.path)))
        names = sorted(collection._list())
        item = radicale_item.Item(collection_path=collection.path, text=event_text("y3", 9, 9))
        item.prepare()
        collection.upload(names[3], item)
    computed: list[str] = []
    real = multifilesystem.Collection.sync

    def counted(self: Any, old_token: str = "") -> Any:
        computed.append(old_token)
        return real(self, old_token)

    monkeypatch.setattr(multifilesystem.Collection, "sync", counted)
    answers = [sync(first) for _ in range(4)]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][1] == [names[3]] and answers[0][0] != first
    assert len(computed) <= 2, computed  # the history written once, then kept
    monkeypatch.undo()
    with storage.acquire_lock("r"):
        plain = next(iter(plain_storage(hub.paths.storage).discover(bfu.path)))
        token, changes = plain.sync(first)
    assert (token, list(changes)) == answers[0]
    folder = Path(hub.paths.storage) / "collection-root" / bfu.path.strip("/")
    tokens = folder / ".Radicale.cache" / "sync-token"
    new_file = tokens / answers[0][0].rpartition("/")[2]
    os.utime(new_file, ns=(0, 0))
    assert sync(first) == answers[0]
    assert new_file.stat().st_mtime_ns > 0
    (tokens / first.rpartition("/")[2]).unlink()
    with pytest.raises(ValueError):
        sync(first)


def test_a_copied_data_folder_is_answered_from_the_index_after_the_start_up_check(
    module_hubs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A data folder restored or copied has the same objects in files with new inodes and
    times: polls take Radicale's path (the index's stats are not the files'), until the
    start-up check (``verify_index`` with repair) finds the index equal to storage and takes
    each file's stat again; from then on polls are answered from the index."""
    import shutil

    from radicale.storage import multifilesystem

    from calhub.dav.maintenance import open_runtime, verify_index
    from calhub.dav.storage import open_storage
    from calhub.hub import Hub

    hub, _ = hub_with_events(module_hubs, "c", 20)
    copied = Hub(shutil.copytree(hub.paths.root, tmp_path / "restored"))
    runtime = open_runtime(copied)
    storage = open_storage(runtime)
    bfu = copied.settings.calendar("bfu")
    assert bfu is not None
    reads: list[str] = []
    real_get = multifilesystem.Collection._get

    def counted(self: Any, href: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(href)
        return real_get(self, href, *args, **kwargs)

    monkeypatch.setattr(multifilesystem.Collection, "_get", counted)

    def answers() -> tuple[str, str]:
        with storage.acquire_lock("r"):
            collection = next(iter(storage.discover(bfu.path)))
            return collection.etag, collection.sync()[0]

    expected_ctag, expected_token, _ = radicale_answers(plain_storage(copied.paths.storage))
    reads.clear()
    assert answers() == (expected_ctag, expected_token)
    assert len(reads) >= 20, "the copy's files are not the ones indexed: Radicale's path"
    assert verify_index(runtime, repair=True) == []
    reads.clear()
    assert answers() == (expected_ctag, expected_token)
    assert answers() == (expected_ctag, expected_token)
    assert reads == []
    runtime.close()
