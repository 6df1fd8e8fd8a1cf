"""Fixtures of the web tests: a hub with a week of sample events (clashes included), the
Flask app on a private copy of it (``web_app``, serving from ``web_runtime``), and signing
in through the real sign-in form.

The sample hub is built once per session (``web_hub_template``, through the same storage
plugin as a CalDAV PUT, so the index and clash records are real) and copied for every test
that uses ``web_hub``, so approvals in one test never leak into another.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import sample_events

from calhub.hub import Hub
from calhub.runtime import Runtime


@pytest.fixture(scope="module")
def demo(module_hubs: Any) -> Any:
    """``calhub demo`` on a fresh data directory, exactly as a person starts it (one per
    browser-test module; tests/web/test_web_browser.py adds events of its own)."""
    return module_hubs.serve(module_hubs.tmp_path / "demo", command="demo", timeout=180)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one browser-test module (tests/web/browser_support.py)."""
    from browser_support import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def web_hub_template(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Path:
    from calhub.dav.importer import import_objects
    from calhub.dav.maintenance import open_runtime
    from calhub.hub import configfile

    root = tmp_path_factory.mktemp("web-template") / "data"
    shutil.copytree(hub_template, root)
    document = configfile.read_document(root)
    hub_table: Any = document["hub"]
    # Failed sign-ins are delayed a second by default; the limiter tests fail many.
    hub_table["failed_login_delay"] = 0.0
    configfile.save_document(root, document)
    runtime = open_runtime(Hub(root))
    try:
        for calendar_id, texts in sample_events().items():
            calendar = runtime.settings.calendar(calendar_id)
            assert calendar is not None, calendar_id
            import_objects(runtime, calendar, texts)
    finally:
        runtime.close()
    return root


@pytest.fixture
def web_hub(tmp_path: Path, web_hub_template: Path) -> Hub:
    root = tmp_path / "hub"
    shutil.copytree(web_hub_template, root)
    return Hub(root)


@pytest.fixture
def web_runtime(web_hub: Hub) -> Iterator[Runtime]:
    """The runtime of ``web_hub``: the one ``web_app`` serves from, for the tests to read
    and write the same stores (index, clash records, sessions, sign-in limits)."""
    from calhub.dav.maintenance import open_runtime

    runtime = open_runtime(web_hub)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def web_app(web_runtime: Runtime) -> Any:
    from calhub.web import create_app

    return create_app({"TESTING": True}, runtime=web_runtime)


@pytest.fixture
def web_client(web_app: Any) -> Any:
    return web_app.test_client()
