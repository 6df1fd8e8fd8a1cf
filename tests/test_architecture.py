"""The map in docs/architecture.md holds: every import of every calhub module is one the
table there allows, SQL stays in the store, and no module keeps request state in a
thread-local.

The rules are read from the doc itself, so the doc and this test cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "calhub"
DOC = ROOT / "docs" / "architecture.md"

# SQL text, as the store writes it (keywords in capitals): a statement and what follows it.
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX)|PRAGMA\s+\w+)\b",
    re.DOTALL,
)


@dataclass(frozen=True)
class Rule:
    package: str
    allowed: frozenset[str]
    owned: frozenset[str]


def names(cell: str) -> frozenset[str]:
    return frozenset(re.findall(r"`([\w.]+)`", cell))


def read_rules(text: str) -> dict[str, Rule]:
    start = text.index("<!-- import-rules")
    end = text.index("<!-- /import-rules -->")
    rules = {}
    for line in text[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        (package,) = names(cells[0])
        rules[package] = Rule(package, names(cells[2]), names(cells[3]))
    return rules


RULES = read_rules(DOC.read_text(encoding="utf-8"))


def package_of(module: str) -> str:
    """``calhub.dav.plugins.rights`` → ``calhub.dav``; ``calhub`` → ``calhub``."""
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in the file, wherever it is (a function
    body or ``if TYPE_CHECKING:`` included: a type is a dependency too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "calhub":
                # "from calhub import web" names a package, not the root.
                found.extend(
                    (node.lineno, f"calhub.{alias.name}")
                    for alias in node.names
                    if (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").exists()
                )
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))
OWNED = {library: rule.package for rule in RULES.values() for library in rule.owned}


def test_the_doc_names_every_package() -> None:
    packages = {package_of(module_name(path)) for path in MODULES}
    # The root's own modules (errors, __init__, __main__) are the root's.
    packages = {p for p in packages if p.count(".") == 1} - {"calhub.__main__"}
    assert packages - set(RULES) == set(), "add these packages to docs/architecture.md"
    assert set(RULES) - packages == set(), "the doc names packages that do not exist"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_map(path: Path) -> None:
    module = module_name(path)
    package = package_of(module)
    rule = RULES.get(package)
    wrong = []
    for line, imported in imports(path):
        top = imported.split(".")[0]
        if top == "calhub":
            target = package_of(imported)
            if target == package or rule is None:
                continue  # within a package; the root's own modules (__main__) are free
            if imported == "calhub":
                target = "calhub"
            if target not in rule.allowed and target != "calhub.errors":
                wrong.append(f"line {line}: {imported} ({package} may not import {target})")
        elif top in OWNED and OWNED[top] != package:
            wrong.append(f"line {line}: {imported} (only {OWNED[top]} imports {top})")
    assert wrong == [], f"{module} breaks docs/architecture.md:\n" + "\n".join(wrong)


def string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def docstrings(tree: ast.AST) -> set[int]:
    """Lines of docstrings (they may talk about SQL without being SQL)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                lines.add(body[0].value.lineno)
    return lines


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if package_of(module_name(p)) != "calhub.store"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_sql_outside_the_store(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    found = [
        f"line {line}: {text[:60]!r}"
        for line, text in string_constants(tree)
        if line not in skip and SQL.search(text)
    ]
    assert found == [], f"SQL outside calhub.store in {path.name}: {found}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_request_state_in_thread_locals(path: Path) -> None:
    """Request-scoped state lives in context variables (docs/architecture.md); the store's
    per-thread SQLite connections are the one use of threading.local, a connection pool."""
    if module_name(path) == "calhub.store.sqlitedb":
        return
    text = path.read_text(encoding="utf-8")
    assert "threading.local(" not in text, f"{path.name} keeps state in a thread-local"


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    # The checks above must be able to fail: a forbidden import, an owned library used
    # elsewhere and SQL text are all found in a made-up module.
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\nfrom calhub.web import create_app\n"
        "QUERY = 'SELECT id FROM clashes WHERE resolved=0'\n",
        encoding="utf-8",
    )
    found = [module for _, module in imports(bad)]
    assert found == ["sqlite3", "calhub.web"]
    assert OWNED["sqlite3"] == "calhub.store"
    assert "calhub.web" not in RULES["calhub.store"].allowed
    assert "calhub.dav" not in RULES["calhub.hub"].allowed
    assert "calhub.dav" not in RULES["calhub.runtime"].allowed
    assert any(SQL.search(text) for _, text in string_constants(ast.parse(bad.read_text())))
    assert not SQL.search("Select the calendar from the list, then update its settings.")
