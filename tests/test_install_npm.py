"""Installing without npm: the build says so where the user sees it, and so does the hub.

FullCalendar (the plan's month and week grid) comes from npm at build time. Without npm the
build goes on, leaves ``static/vendor/fullcalendar.missing`` saying why and prints a warning
on the terminal (pip hides a build backend's output unless -v); ``calhub serve`` warns at
start, and the plan shows its list with a note where the grid would be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import creds
from test_install_running import copy_packages

CHECKOUT = Path(__file__).resolve().parents[1]
NO_GRID_RU = "не нашлась программа npm"
NO_GRID_EN = "npm was not found"


def run_backend(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``backend.vendor_fullcalendar()`` in a copy of the backend under ``root``, with
    ``PATH`` holding no npm (python is called by its full path)."""
    (root / "empty-bin").mkdir(exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k != "CALHUB_SKIP_NPM"}
    environment.update(PATH=str(root / "empty-bin"), **env)
    return subprocess.run(
        [sys.executable, "-c", "import backend; print(backend.vendor_fullcalendar())"],
        cwd=root / "build_backend",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,  # no controlling terminal: the /dev/tty copy stays quiet
    )


@pytest.fixture
def backend_copy(tmp_path: Path) -> Path:
    (tmp_path / "build_backend").mkdir()
    shutil.copy(CHECKOUT / "build_backend" / "backend.py", tmp_path / "build_backend")
    (tmp_path / "calhub" / "web" / "static").mkdir(parents=True)
    return tmp_path


def test_without_npm_the_build_warns_and_leaves_the_reason(backend_copy: Path) -> None:
    result = run_backend(backend_copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "WARNING" in result.stderr and "npm was not found on PATH" in result.stderr
    assert "ВНИМАНИЕ" in result.stderr and "apt-get install npm" in result.stderr
    note = backend_copy / "calhub" / "web" / "static" / "vendor" / "fullcalendar.missing"
    assert note.read_text(encoding="utf-8").splitlines()[0] == "npm-missing"


def test_skipping_npm_is_a_reason_too(backend_copy: Path) -> None:
    result = run_backend(backend_copy, CALHUB_SKIP_NPM="1")
    assert result.returncode == 0, result.stderr
    note = backend_copy / "calhub" / "web" / "static" / "vendor" / "fullcalendar.missing"
    assert note.read_text(encoding="utf-8").splitlines()[0] == "skipped"
    assert "CALHUB_SKIP_NPM" in result.stderr and "WARNING" in result.stderr


def test_a_build_with_fullcalendar_drops_an_old_reason(backend_copy: Path) -> None:
    sys.path.insert(0, str(CHECKOUT / "build_backend"))
    try:
        import backend
    finally:
        sys.path.pop(0)
    vendor = backend_copy / "calhub" / "web" / "static" / "vendor"
    for _, members in backend.PACKAGES.values():
        for target in members.values():
            (vendor / "fullcalendar" / target).parent.mkdir(parents=True, exist_ok=True)
            (vendor / "fullcalendar" / target).write_text("stub", encoding="utf-8")
    (vendor / "fullcalendar" / "VERSION").write_text(backend.FULLCALENDAR_VERSION + "\n")
    (vendor / "fullcalendar.missing").write_text("npm-missing\nold\n", encoding="utf-8")
    result = run_backend(backend_copy)
    assert result.stdout.strip() == "True", result.stderr
    assert not (vendor / "fullcalendar.missing").exists()
    assert "WARNING" not in result.stderr


@pytest.mark.slow
def test_serve_warns_at_start_and_the_plan_says_why(
    fresh_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    copy_packages(site)
    vendor = site / "calhub" / "web" / "static" / "vendor"
    shutil.rmtree(vendor / "fullcalendar", ignore_errors=True)
    shutil.rmtree(vendor / "chartjs", ignore_errors=True)
    vendor.mkdir(parents=True, exist_ok=True)
    (vendor / "fullcalendar.missing").write_text(
        "npm-missing\nnpm was not found on PATH\n", encoding="utf-8"
    )
    (vendor / "chartjs.missing").write_text(
        "npm-missing\nnpm was not found on PATH\n", encoding="utf-8"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    hub = fresh_hub.serve(fresh_hub.create())

    warnings = [line for line in hub.stderr().splitlines() if " WARNING " in line]
    assert any(NO_GRID_RU in line and NO_GRID_EN in line for line in warnings), hub.stderr()
    assert any("apt-get install npm" in line for line in warnings)

    plan = hub.request("GET", "/plan?view=month", *creds("coordinator"))
    assert plan.status == 200
    assert 'id="grid-missing"' in plan.text and "npm" in plan.text
    assert "сетка" in plan.text.lower() or "сетки" in plan.text.lower()
    assert "vendor/fullcalendar" not in plan.text
    english = hub.request(
        "GET", "/plan?view=week", *creds("coordinator"), headers={"Accept-Language": "en"}
    )
    assert "The month and week grid is not installed on this server" in english.text
    assert hub.request("GET", "/static/vendor/fullcalendar.missing").status == 404
    # The reports' charts: the same warning at start, and the tables with a note.
    assert any("Chart.js" in line and "apt-get install npm" in line for line in warnings)
    reports = hub.request("GET", "/reports", *creds("coordinator"))
    assert reports.status == 200
    assert 'id="charts-missing"' in reports.text and 'id="report-partners"' in reports.text
    assert "vendor/chartjs" not in reports.text
    assert hub.request("GET", "/static/vendor/chartjs.missing").status == 404


def test_serve_with_fullcalendar_does_not_warn(hub_server) -> None:
    from calhub.web import assets

    if not assets.fullcalendar_available():
        pytest.skip("FullCalendar was not fetched at build time (no npm)")
    assert NO_GRID_EN not in hub_server.stderr()


def test_without_npm_the_reports_charts_leave_their_reason(backend_copy: Path) -> None:
    (backend_copy / "empty-bin").mkdir(exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k != "CALHUB_SKIP_NPM"}
    environment["PATH"] = str(backend_copy / "empty-bin")
    result = subprocess.run(
        [sys.executable, "-c", "import backend; print(backend.vendor_chartjs())"],
        cwd=backend_copy / "build_backend",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "Chart.js" in result.stderr and "npm was not found on PATH" in result.stderr
    assert "графиков отчётов" in result.stderr
    note = backend_copy / "calhub" / "web" / "static" / "vendor" / "chartjs.missing"
    assert note.read_text(encoding="utf-8").splitlines()[0] == "npm-missing"
