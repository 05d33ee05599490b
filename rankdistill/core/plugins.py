"""Registries whose entries live in the modules of a package (losses, teacher kinds, index kinds):
`import_submodules` imports every module of the package once, when a registry is first read, so
a new entry is one new module and importing the package stays light (the CLI's --help loads no
model library)."""

from __future__ import annotations

import importlib
import pkgutil

_imported: set[str] = set()


def import_submodules(package: str) -> None:
    """Import every module of `package` (once per process)."""
    if package in _imported:
        return
    _imported.add(package)
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        importlib.import_module(f"{package}.{info.name}")
