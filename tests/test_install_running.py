"""A running hub never reads its package files again, so ``pip install .`` over it is safe.

A non-editable reinstall first removes the installed package and then writes the new one;
a server that read templates, static files, catalogs or lazily imported modules from disk
answered 500s (and static 404s) in between. Here the hub runs from a copy of the package on
PYTHONPATH, the copy is deleted once the hub listens (the worst moment of a reinstall, held
for good), and every kind of page must still answer as it did.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers import creds, simple_event

from calhub.cli import preload

PACKAGES = ("calhub",)  # the Radicale plugins are calhub.dav.plugins, inside it
MARKER = "<!-- served from the copy of the package -->"
# setuptools' editable install adds an import finder that maps calhub's modules to the
# checkout; inside the server it would hide a lazy import of a deleted module, so the copy
# comes with a sitecustomize (imported at start-up from PYTHONPATH) that drops it.
SITECUSTOMIZE = """\
import sys

sys.meta_path[:] = [
    finder for finder in sys.meta_path if not type(finder).__module__.startswith("__editable__")
]
"""


def copy_packages(target: Path) -> None:
    for name in PACKAGES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        shutil.copytree(
            Path(module.__file__).parent,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    base = target / "calhub" / "web" / "templates" / "base.html"
    html = base.read_text(encoding="utf-8")
    assert "</body>" in html
    base.write_text(html.replace("</body>", MARKER + "</body>"), encoding="utf-8")
    (target / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")


@pytest.mark.slow
def test_pages_still_answer_after_the_package_files_are_gone(
    fresh_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    copy_packages(site)
    web = site / "calhub" / "web"
    css = (web / "static" / "calhub.css").read_bytes()
    bundle = web / "static" / "vendor" / "fullcalendar" / "index.global.min.js"
    with_grid = bundle.is_file()
    monkeypatch.setenv("PYTHONPATH", str(site))
    hub = fresh_hub.serve(fresh_hub.create())

    for name in PACKAGES:
        shutil.rmtree(site / name)
    assert not (site / "calhub").exists()

    login = hub.request("GET", "/login")
    assert login.status == 200, login.text[-2000:]
    assert MARKER in login.text, "the hub runs the copy (and its templates)"
    assert "Войти" in login.text, "the Russian catalog is in memory"
    english = hub.request("GET", "/login", headers={"Accept-Language": "en"})
    assert english.status == 200 and "Sign in" in english.text and "Войти" not in english.text

    missing = hub.request("GET", "/no-such-page")
    assert missing.status == 404
    assert "Такой страницы нет" in missing.text and MARKER in missing.text

    style = hub.request("GET", "/static/calhub.css")
    assert style.status == 200
    assert style.header("Content-Type").startswith("text/css")
    assert style.text.encode() == css
    etag = style.header("ETag")
    assert etag
    again = hub.request("GET", "/static/calhub.css", headers={"If-None-Match": etag})
    assert again.status == 304
    for path in ("/static/plan.js", "/static/calhub.js", "/static/favicon.svg"):
        assert hub.request("GET", path).status == 200, path
    assert hub.request("GET", "/static/no-such-file.js").status == 404

    health = hub.request("GET", "/healthz")
    assert health.status == 200
    assert json.loads(health.text)["status"] == "ok"

    for path in ("/", "/plan", "/plan?view=week", "/plan?view=agenda", "/conflicts"):
        page = hub.request("GET", path, *creds("coordinator"))
        assert page.status == 200, (path, page.text[-2000:])
        assert MARKER in page.text, path
    plan = hub.request("GET", "/plan", *creds("coordinator"))
    if with_grid:
        assert "/static/vendor/fullcalendar/index.global.min.js" in plan.text
        assert hub.request("GET", "/static/vendor/fullcalendar/index.global.min.js").status == 200
    else:
        assert 'id="grid-missing"' in plan.text
    for path in ("/partners/bfu", "/partners/bfu/calhub.mobileconfig", "/api/conflicts"):
        assert hub.request("GET", path, *creds("bfu")).status == 200, path
    assert hub.request("GET", "/api/events", *creds("bfu")).status == 200
    # The XLSX writer is held (calhub.cli.preload): it runs from the code read at start.
    sheet = hub.request("GET", "/export?format=xlsx", *creds("coordinator"))
    assert sheet.status == 200, sheet.text[-2000:]
    assert sheet.header("Content-Type").startswith("application/vnd.openxmlformats")
    assert hub.request("GET", "/export?format=csv", *creds("coordinator")).status == 200
    # A form without its CSRF token: the error page, not a crash.
    assert hub.request("POST", "/lang", body="lang=en").status == 400

    uid = f"gone-{uuid.uuid4().hex[:8]}"
    href = f"/dav/bfu/calendar/{uid}.ics"
    calendar_type = {"Content-Type": "text/calendar"}
    put = hub.request("PUT", href, *creds("bfu"), body=simple_event(uid), headers=calendar_type)
    assert put.status == 201, put.text
    listing = hub.request("PROPFIND", "/dav/bfu/calendar/", *creds("bfu"), headers={"Depth": "1"})
    assert listing.status == 207 and uid in listing.text
    assert hub.request("GET", href, *creds("kgtu")).status == 200
    assert hub.request("DELETE", href, *creds("bfu")).status in (200, 204)
    assert hub.request("GET", "/.well-known/caldav").status == 301

    assert "Traceback" not in hub.stderr(), hub.stderr()[-4000:]
    assert not [line for line in hub.access_lines() if '" 500 ' in line]


def test_serve_imports_every_module_before_it_listens(tmp_path: Path) -> None:
    """No module is left to a lazy import a reinstall could break or swap for a new one:
    each is imported, or (a file format's writer) its code is held in memory."""
    probe = (
        "import pkgutil, sys\n"
        "import calhub\n"
        "from calhub.cli import preload, serve\n"
        "serve.import_everything()\n"
        "held = preload.held_modules().held()\n"
        "names = [m.name for p in (calhub,)\n"
        "         for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]\n"
        "print(len(names), len(held), [n for n in names if n not in sys.modules"
        " and n not in held and not n.endswith('.__main__')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, held, missing = result.stdout.split(" ", 2)
    assert int(count) > 50 and missing.strip() == "[]", result.stdout
    assert int(held) == len(preload.HELD), result.stdout


def test_a_held_module_runs_from_memory_after_its_file_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / f"heldpkg_{uuid.uuid4().hex[:8]}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "writer.py").write_text("import sys\nVALUE = 'from the first file'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"{package.name}.writer"
    finder = preload.HeldModules()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    importlib.import_module(package.name)
    finder.hold(name)
    assert name not in sys.modules, "held, not run"
    (package / "writer.py").write_text("VALUE = 'from a new version'\n")
    importlib.invalidate_caches()
    (package / "writer.py").unlink()
    try:
        module = importlib.import_module(name)
        assert module.VALUE == "from the first file"
        assert module.__file__ == str(package / "writer.py")
    finally:
        sys.modules.pop(name, None)
        sys.modules.pop(package.name, None)
    with pytest.raises(ImportError, match="cannot hold"):
        finder.hold(f"{package.name}.nothing_here")
