"""calhub's PEP 517 build backend: setuptools, after two build steps for the web pages.

1. The message catalogs (``calhub/web/translations/*/LC_MESSAGES/messages.po``) are
   compiled to ``.mo`` with Babel.
2. FullCalendar (MIT) is taken from the npm registry with ``npm pack`` at the pinned
   version, checked against the pinned sha512, and its browser bundle and Russian locale
   are copied into ``calhub/web/static/vendor/fullcalendar/`` (git-ignored: no
   third-party code is committed). Without npm, or offline, the build still succeeds and
   the plan falls back to its server-rendered list with a note. The build then writes
   ``static/vendor/fullcalendar.missing`` (first line ``npm-missing``, ``skipped`` or
   ``failed``, then the detail) for ``calhub serve`` to warn with at start, and prints the
   warning on the terminal too: pip shows a build backend's output only with ``-v``.
3. Chart.js (MIT), the reports page's charts, the same way: ``npm pack`` at the pinned
   version and sha512, its UMD bundle copied to ``static/vendor/chartjs/``; without it
   ``static/vendor/chartjs.missing`` says why and the reports show their tables only.

Both steps run for ``pip install .`` (wheel) and ``pip install -e .`` (editable), and can
be run by hand from a checkout: ``python build_backend/backend.py``.
Set ``CALHUB_SKIP_NPM=1`` to build without fetching FullCalendar.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401 - re-exported hooks of the PEP 517 API
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "calhub" / "web"
TRANSLATIONS = WEB / "translations"
VENDOR = WEB / "static" / "vendor" / "fullcalendar"
# Read by calhub.web.assets: why this build has no FullCalendar.
MISSING_NOTE = VENDOR.parent / "fullcalendar.missing"

FULLCALENDAR_VERSION = "6.1.20"
# npm's own integrity values (``npm view <pkg>@<version> dist.integrity``).
PACKAGES = {
    "fullcalendar": (
        "sha512-7lz2P+0YdA86fBTwfr/ducajrM3zUw5o6uoiiYk9xMqcoTf003xBh3mpzW5om9slfAMwGgCBh0KsiYcU1JY1eQ==",
        {"package/index.global.min.js": "index.global.min.js", "package/LICENSE.md": "LICENSE.md"},
    ),
    "@fullcalendar/core": (
        "sha512-1cukXLlePFiJ8YKXn/4tMKsy0etxYLCkXk8nUCFi11nRONF2Ba2CD5b21/ovtOO2tL6afTJfwmc1ed3HG7eB1g==",
        {"package/locales/ru.global.min.js": "locales/ru.global.min.js"},
    ),
}
NPM_TIMEOUT = 180

# Chart.js for the reports page's charts (issue 20): its UMD bundle, one file, no
# dependencies at run time.
CHARTJS_VERSION = "4.6.1"
CHARTJS_VENDOR = WEB / "static" / "vendor" / "chartjs"
CHARTJS_MISSING_NOTE = CHARTJS_VENDOR.parent / "chartjs.missing"
CHARTJS_PACKAGES = {
    "chart.js": (
        "sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==",
        {"package/dist/chart.umd.min.js": "chart.umd.min.js", "package/LICENSE.md": "LICENSE.md"},
    ),
}


def say(message: str) -> None:
    print(f"calhub build: {message}", file=sys.stderr, flush=True)


def warn_terminal(message: str) -> None:
    """``message`` on stderr and, when there is one, straight on the terminal: pip hides
    a build backend's output unless it runs with -v, and this one the user must see."""
    say(message)
    try:
        with open("/dev/tty", "w", encoding="utf-8") as tty:
            tty.write(f"calhub build: {message}\n")
    except OSError:
        # No terminal (CI, cron, a container without one): stderr, in pip's -v log, it is.
        return


# -- message catalogs ------------------------------------------------------------------------


def compile_catalogs() -> None:
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        say("Babel is not installed; the web app compiles its catalogs when it starts")
        return
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != buffer.getvalue():
            mo.write_bytes(buffer.getvalue())
        say(f"compiled {mo.relative_to(ROOT)}")


# -- FullCalendar from npm ------------------------------------------------------------------------


Packages = dict[str, tuple[str, dict[str, str]]]


def _vendored(vendor: Path, packages: Packages, version: str) -> bool:
    wanted = [vendor / target for _, members in packages.values() for target in members.values()]
    stamp = vendor / "VERSION"
    return (
        all(path.is_file() for path in wanted)
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == version
    )


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _npm_pack(npm: str, spec: str, destination: Path) -> Path:
    result = subprocess.run(  # noqa: S603 - fixed arguments, npm found on PATH
        [npm, "pack", spec, "--pack-destination", str(destination), "--silent"],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
        check=False,
        cwd=destination,
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm pack {spec} failed: {result.stderr.strip()[-500:]}")
    name = result.stdout.strip().splitlines()[-1]
    return destination / name


def _without_fullcalendar(code: str, detail: str) -> bool:
    """Build on without FullCalendar: leave the note for the app and warn the user."""
    MISSING_NOTE.parent.mkdir(parents=True, exist_ok=True)
    MISSING_NOTE.write_text(f"{code}\n{detail}\n", encoding="utf-8")
    warn_terminal(
        f"ВНИМАНИЕ: calhub устанавливается без сетки месяца и недели (FullCalendar): {detail}. "
        "План будет показан списком. Установите npm (apt-get install npm) и переустановите "
        "calhub, чтобы появилась сетка."
    )
    warn_terminal(
        f"WARNING: calhub is installed without the month and week grid (FullCalendar): "
        f"{detail}. The plan will show a list. Install npm (apt-get install npm) and "
        "reinstall calhub to get the grid."
    )
    return False


def _without_chartjs(code: str, detail: str) -> bool:
    """Build on without Chart.js: the reports page shows its tables without charts."""
    CHARTJS_MISSING_NOTE.parent.mkdir(parents=True, exist_ok=True)
    CHARTJS_MISSING_NOTE.write_text(f"{code}\n{detail}\n", encoding="utf-8")
    warn_terminal(
        f"ВНИМАНИЕ: calhub устанавливается без графиков отчётов (Chart.js): {detail}. "
        "Отчёты будут показаны таблицами. Установите npm (apt-get install npm) и "
        "переустановите calhub, чтобы появились графики."
    )
    warn_terminal(
        f"WARNING: calhub is installed without the reports' charts (Chart.js): {detail}. "
        "The reports will show tables only. Install npm (apt-get install npm) and reinstall "
        "calhub to get the charts."
    )
    return False


def _fetch(npm: str, packages: Packages, version: str, vendor: Path) -> None:
    """``npm pack`` each package, check its sha512, copy its members into ``vendor``."""
    with tempfile.TemporaryDirectory(prefix="calhub-npm-") as temp:
        staging = Path(temp) / "vendor"
        for package, (integrity, members) in packages.items():
            tarball = _npm_pack(npm, f"{package}@{version}", Path(temp))
            if _integrity(tarball) != integrity:
                raise RuntimeError(f"{tarball.name} does not match its pinned sha512")
            with tarfile.open(tarball, "r:gz") as archive:
                for member, target in members.items():
                    source = archive.extractfile(member)
                    if source is None:
                        raise RuntimeError(f"{member} missing in {tarball.name}")
                    path = staging / target
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(source.read())
        (staging / "VERSION").write_text(version + "\n", encoding="utf-8")
        if vendor.exists():
            shutil.rmtree(vendor)
        vendor.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, vendor)


def _vendor(
    name: str,
    packages: Packages,
    version: str,
    vendor: Path,
    note: Path,
    without: Any,
) -> bool:
    if _vendored(vendor, packages, version):
        note.unlink(missing_ok=True)
        say(f"{name} {version} already in {vendor.relative_to(ROOT)}")
        return True
    if os.environ.get("CALHUB_SKIP_NPM"):
        return bool(without("skipped", "CALHUB_SKIP_NPM is set"))
    npm = shutil.which("npm")
    if npm is None:
        return bool(without("npm-missing", "npm was not found on PATH"))
    try:
        _fetch(npm, packages, version, vendor)
    except (OSError, RuntimeError, subprocess.SubprocessError, tarfile.TarError) as exc:
        return bool(without("failed", f"npm could not fetch it ({exc})"))
    note.unlink(missing_ok=True)
    say(f"{name} {version} copied to {vendor.relative_to(ROOT)}")
    return True


def vendor_fullcalendar() -> bool:
    """Fetch FullCalendar into the package; False (and a warning) when it cannot."""
    return _vendor(
        "FullCalendar", PACKAGES, FULLCALENDAR_VERSION, VENDOR, MISSING_NOTE, _without_fullcalendar
    )


def vendor_chartjs() -> bool:
    """Fetch Chart.js into the package; False (and a warning) when it cannot."""
    return _vendor(
        "Chart.js",
        CHARTJS_PACKAGES,
        CHARTJS_VERSION,
        CHARTJS_VENDOR,
        CHARTJS_MISSING_NOTE,
        _without_chartjs,
    )


def prepare_web_assets() -> None:
    compile_catalogs()
    vendor_fullcalendar()
    vendor_chartjs()


# -- PEP 517 hooks ------------------------------------------------------------------------------


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    prepare_web_assets()
    return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    prepare_web_assets()
    return str(_setuptools.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    # An sdist carries the .po sources and this backend (MANIFEST.in); a wheel built from
    # it compiles the catalogs and fetches FullCalendar itself when they are missing.
    compile_catalogs()
    return str(_setuptools.build_sdist(sdist_directory, config_settings))


if __name__ == "__main__":
    prepare_web_assets()
