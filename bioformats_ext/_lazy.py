"""Lazy package exports (PEP 562), so ``import bioformats_ext.x`` stays cheap.

A package ``__init__`` lists its public names with the submodule defining each; a name is
imported on first attribute access. CLI start-up (``bioformats-ext --help``, ``index``) then
loads only the modules a command really uses, not numpy-heavy readers it never touches.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(namespace: dict[str, Any],
                 exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose ``exports`` map name -> relative module."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
