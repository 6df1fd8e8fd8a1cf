"""The engine stays pure: no web, storage or CalDAV imports, nothing else from calhub but
the exception root (``calhub.errors``, which imports nothing)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import calhub.engine

ENGINE = Path(calhub.engine.__file__).resolve().parent
FORBIDDEN = ("radicale", "flask", "sqlite3", "werkzeug", "caldav", "requests")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_forbidden_imports() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {module}"
            if top == "calhub":
                allowed = module.startswith("calhub.engine") or module == "calhub.errors"
                assert allowed, f"{path.name} imports {module}"


def test_import_has_no_side_effects() -> None:
    # Importing the package must not configure logging or load anything heavy.
    code = (
        "import logging, sys; import calhub.engine; "
        "assert not logging.getLogger().handlers; "
        "assert 'radicale' not in sys.modules and 'flask' not in sys.modules; "
        "assert 'sqlite3' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
