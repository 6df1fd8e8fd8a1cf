"""What ``calhub serve`` loads before it listens: every calhub module, some only as code.

``pip install .`` over a running hub removes and rewrites the package's files, so a module
imported lazily, on the first request that needs it, could then fail (a 500) or load a
module of the new version into the old process. With :func:`import_everything`, and the
templates, static files and catalogs that the web app reads into memory when it is made, a
running hub never reads its package files again.

Importing a file format's writer would load its library with it: fpdf2 (with Pillow and
fontTools) and openpyxl cost a server about 31 MB from the start (issue 21: the peak at
1,000 events went from 88 to 121 MB with the export), for an export a week. Those modules
(:data:`HELD`) are read and compiled at start but run on their first import, from the code
kept in memory (:class:`HeldModules`), so they keep the guarantee above while their
libraries load on first use. The libraries are not calhub's files: reinstalling calhub
leaves them in place (unless the reinstall upgrades them too).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import pkgutil
import sys
from collections.abc import Iterable, Sequence
from types import CodeType, ModuleType

logger = logging.getLogger(__name__)

# Modules that import a heavy library at their top; calhub.exchange.exporting and
# calhub.exchange.report_files import them on first use (tests/test_import_weight.py holds
# that nothing else loads those libraries at start).
HELD = (
    "calhub.exchange.export_pdf",
    "calhub.exchange.export_xlsx",
    "calhub.exchange.report_pdf",
    "calhub.exchange.report_xlsx",
)


class HeldModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """An import finder serving modules from code read earlier, not from their files."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str | None, CodeType]] = {}

    def hold(self, name: str) -> None:
        """Read and compile ``name`` now (its parent package is imported); run it later."""
        if name in self._code or name in sys.modules:
            return
        spec = importlib.util.find_spec(name)
        loader = None if spec is None else spec.loader
        if spec is None or not isinstance(loader, importlib.abc.InspectLoader):
            raise ImportError(f"cannot hold {name}: no source or bytecode loader", name=name)
        code = loader.get_code(name)
        if code is None:
            raise ImportError(f"cannot hold {name}: no code", name=name)
        self._code[name] = (spec.origin, code)

    def held(self) -> list[str]:
        return sorted(self._code)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        found = self._code.get(fullname)
        if found is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, origin=found[0])
        if spec is not None:
            # __file__ as the file's own, which importlib.resources and tracebacks use.
            spec.has_location = found[0] is not None
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        logger.debug("running %s from the code read at start", module.__name__)
        exec(self._code[module.__name__][1], module.__dict__)  # noqa: S102 - calhub's own code


def held_modules() -> HeldModules:
    """The process's finder of held modules, put first on ``sys.meta_path`` once."""
    for finder in sys.meta_path:
        if isinstance(finder, HeldModules):
            return finder
    finder = HeldModules()
    sys.meta_path.insert(0, finder)
    return finder


def import_everything(held: Iterable[str] = HELD) -> None:
    """Import every module of calhub (and so its Radicale plugins) before serving; the
    modules in ``held`` are read and compiled, and run on their first import."""
    import calhub

    keep = set(held)
    finder = held_modules()
    for package in (calhub,):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name.endswith(".__main__"):
                continue
            if module.name in keep:
                finder.hold(module.name)
            else:
                importlib.import_module(module.name)
