"""Install our Bio.Align format modules into Biopython, found through entry points.

Biopython looks a format up in ``Bio.Align._modules`` before its own table, so putting a module
there makes ``Bio.Align.parse/read/write(..., fmt)`` use it. To keep ``import bioformats_ext``
cheap we (1) put *lazy* modules there, which import the real module on first attribute access,
and (2) if ``Bio.Align`` is not imported yet, wait for it with a post-import hook instead of
importing it ourselves.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import threading
import types

ENTRY_POINT_GROUP = "bioformats_ext.align_formats"

_lock = threading.RLock()
_formats: dict[str, str] | None = None


class _LazyFormatModule(types.ModuleType):
    """Stands in ``Bio.Align._modules`` for a format module until Biopython touches it."""

    def __init__(self, fmt: str, target: str):
        super().__init__(f"bioformats_ext.lazy.{fmt}")
        self.__dict__["_target"] = target
        self.__dict__["_module"] = None

    def _load(self) -> types.ModuleType:
        module = self.__dict__["_module"]
        if module is None:
            module = importlib.import_module(self.__dict__["_target"])
            self.__dict__["_module"] = module
        return module

    def __getattr__(self, name: str):
        return getattr(self._load(), name)

    def __repr__(self) -> str:
        return f"<lazy format module {self.__dict__['_target']!r}>"


def discover() -> dict[str, str]:
    """Format name (lower case) -> module path, from every installed distribution's entry points."""
    from importlib.metadata import entry_points  # ~15 ms; only when Bio.Align wants formats

    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name.lower()] = ep.value.split(":")[0].strip()
    return found


def registered_formats(refresh: bool = False) -> dict[str, str]:
    """The formats bioformats_ext installs into ``Bio.Align`` (name -> module path)."""
    global _formats
    with _lock:
        if _formats is None or refresh:
            _formats = discover()
        return dict(_formats)


def install_into(align_module: types.ModuleType) -> None:
    """Put our (lazy) modules into ``Bio.Align._modules``. Idempotent."""
    modules = align_module._modules
    for fmt, target in registered_formats().items():
        current = modules.get(fmt)
        if isinstance(current, _LazyFormatModule) and current.__dict__["_target"] == target:
            continue
        if getattr(current, "__name__", None) == target:
            continue
        modules[fmt] = _LazyFormatModule(fmt, target)


class _BioAlignHook(importlib.abc.MetaPathFinder):
    """Runs :func:`install_into` right after ``Bio.Align`` is first imported."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "Bio.Align":
            return None
        # Find the real spec with the other finders, then wrap its loader.
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                original_exec = spec.loader.exec_module

                def exec_module(module, _exec=original_exec):
                    _exec(module)
                    install_into(module)

                spec.loader.exec_module = exec_module  # type: ignore[method-assign]
                return spec
        return None


_hook = _BioAlignHook()


def install() -> None:
    """Register now if Bio.Align is loaded, otherwise as soon as it is. Safe to call repeatedly."""
    with _lock:
        align = sys.modules.get("Bio.Align")
        if align is not None and hasattr(align, "_modules"):
            install_into(align)
        elif _hook not in sys.meta_path:
            sys.meta_path.insert(0, _hook)
