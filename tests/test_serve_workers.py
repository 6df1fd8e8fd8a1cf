"""``calhub serve --workers N`` at its edges: a bad count, a port in use and a worker that
cannot start are errors for a person, and leave nothing running. (Two workers under load
and a kill -9: tests/reliability/test_reliability_workers.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_cli_serve import assert_cli_error, run_calhub


@pytest.mark.parametrize("workers", ["0", "33", "two"])
def test_serve_refuses_a_bad_worker_count(tmp_path: Path, runner: Any, workers: str) -> None:
    code, _, err = runner("serve", "--data", str(tmp_path), "--workers", workers)
    assert code == 2
    assert "--workers" in err


def test_a_worker_that_cannot_start_stops_them_all(fresh_hub: Any, tmp_path: Path) -> None:
    root = fresh_hub.create()
    (root / "hub.sqlite").write_bytes(b"SQLite format 3\0" + b"\x13" * 8192)
    result = run_calhub("serve", "--data", str(root), "--port", "0", "--workers", "2", cwd=tmp_path)
    assert_cli_error(result, "hub.sqlite", "stopped while starting")


def test_a_port_in_use_is_named(hub_server: Any, tmp_path: Path) -> None:
    result = run_calhub(
        "serve",
        "--data",
        str(hub_server.data_dir),
        "--port",
        str(hub_server.port),
        "--workers",
        "2",
        cwd=tmp_path,
    )
    assert_cli_error(result, str(hub_server.port), "--port")
