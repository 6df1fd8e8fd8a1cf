"""bench/phones_bench.py at a tiny size, so the benchmark keeps working (docs/benchmarks.md,
"Issue 21: phones at 10,000 events"). Speed is not asserted: what is checked is that every
server was sent every kind of request, answered all of them, and that the phones' syncs
found the other phones' writes. Xandikos is optional: its part runs only where its command
is installed (``$XANDIKOS``), as on a benchmark machine, never in calhub's venv."""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import phones_bench


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """The benchmarks' main() turns SIGTERM and SIGINT into SystemExit; put pytest's back."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[dict, str]:
    # bench.servers.build_hub sets the production bcrypt cost in the environment; the
    # monkeypatch puts the test suite's back afterwards.
    monkeypatch.setenv("CALHUB_BCRYPT_ROUNDS", os.environ.get("CALHUB_BCRYPT_ROUNDS", "4"))
    out = tmp_path / "phones.json"
    markdown = tmp_path / "phones.md"
    argv = ["--sizes", "12,20", "--clients", "1,3", "--seconds", "1.5", "--rounds", "2"]
    argv += ["--write-share", "0.4", "--workdir", str(tmp_path / "work")]
    argv += ["--json", str(out), "--markdown", str(markdown), *extra]
    assert phones_bench.main(argv) == 0
    return json.loads(out.read_text()), markdown.read_text()


def _check(results: dict, servers: tuple[str, ...]) -> None:
    assert [row["size"] for row in results["sizes"]] == [12, 20]
    for row in results["sizes"]:
        assert sorted(row["runs"]) == sorted(f"{n}:{s}" for n in (1, 3) for s in servers)
        for key, run in row["runs"].items():
            seconds = run["seconds"]
            assert run["errors"] == [], key
            assert run["elapsed"] >= 3.0, key  # two rounds of at least 1.5 s
            assert len(run["loads"]) == 2, key
            assert seconds["poll"], key
            assert seconds["put_new"], key
        # Three phones writing 40% of their steps: the others' polls see new tokens, and
        # their syncs name the new objects, which they fetch.
        for server in servers:
            three = row["runs"][f"3:{server}"]["seconds"]
            assert three["sync"] and three["multiget"], server


def test_phones_bench_hub_and_radicale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results, markdown = _run(tmp_path, monkeypatch, "--no-xandikos")
    _check(results, ("calhub", "radicale"))
    assert "Xandikos rows left out" in markdown
    assert "| 20 | 3 | calhub |" in markdown
    assert "| 20 | 3 | radicale |" in markdown


def test_changed_hrefs_skips_deleted() -> None:
    body = (
        b'<?xml version="1.0"?><multistatus xmlns="DAV:">'
        b"<response><href>/a/b/one.ics</href><propstat><prop><getetag>&quot;1&quot;"
        b"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>"
        b"<response><href>/a/b/gone.ics</href><status>HTTP/1.1 404 Not Found</status>"
        b"</response><ns0:response><ns0:href>/a/b/two.ics</ns0:href><ns0:propstat>"
        b"<ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat></ns0:response>"
        b"<sync-token>t</sync-token></multistatus>"
    )
    assert phones_bench.changed_hrefs(body) == ["/a/b/one.ics", "/a/b/two.ics"]


XANDIKOS = os.environ.get("XANDIKOS") or shutil.which("xandikos")


@pytest.mark.skipif(not XANDIKOS, reason="Xandikos not installed (set XANDIKOS)")
def test_phones_bench_with_xandikos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results, markdown = _run(tmp_path, monkeypatch, "--xandikos", str(XANDIKOS))
    # Xandikos answers 423 Locked to a PUT while another PUT holds its git index (its lock
    # does not wait); the table counts those as errors. Any other error fails the test.
    for row in results["sizes"]:
        for key in [k for k in row["runs"] if k.endswith(":xandikos")]:
            run = row["runs"][key]
            assert all("-> 423" in e for e in run["errors"]), run["errors"]
            run["errors"] = []
    _check(results, ("calhub", "radicale", "xandikos"))
    assert "Xandikos rows left out" not in markdown


def test_bench_run_phones_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bench.run` (what `make bench` runs) prints the phones rows, and says when
    Xandikos is absent."""
    from bench import run

    monkeypatch.setenv("CALHUB_BCRYPT_ROUNDS", os.environ.get("CALHUB_BCRYPT_ROUNDS", "4"))
    monkeypatch.setenv("XANDIKOS", "")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no xandikos command found
    tiny = {"sizes": (10,), "clients": (2,), "seconds": 1.0, "rounds": 1}
    monkeypatch.setitem(run.QUICK, "phones", tiny)
    markdown = tmp_path / "out.md"
    argv = ["--quick", "--skip", "http,engine,cli,feeds", "--workdir", str(tmp_path / "w")]
    assert run.main([*argv, "--markdown", str(markdown)]) == 0
    text = markdown.read_text()
    assert "### Concurrent phones" in text
    assert "| 10 | 2 | calhub |" in text and "| 10 | 2 | radicale |" in text
    assert "Xandikos rows left out" in text
