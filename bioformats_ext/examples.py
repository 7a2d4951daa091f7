"""The example files bundled with the package, for the docs, the demo and quick experiments.

``examples.path("genes.bb")`` is a real path on disk (usable by every reader, by pysam and by
the command line); ``examples.names()`` lists what is there. See ``data/PROVENANCE.md`` for where
each file comes from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["path", "names", "directory"]


def directory() -> Path:
    """The folder holding the bundled files."""
    return Path(str(resources.files("bioformats_ext") / "data"))


def names() -> list[str]:
    """Names of the bundled example files (``genes.bb``, ``example.vcf``, ...)."""
    return sorted(p.name for p in directory().iterdir()
                  if p.is_file() and not p.name.startswith((".", "_")) and not p.name.endswith(".md"))


def path(name: str) -> Path:
    """Path of the bundled example ``name``; a KeyError lists the names when it is absent."""
    found = directory() / name
    if "/" in name or "\\" in name or not found.is_file() or name not in names():
        raise KeyError(f"no bundled example {name!r}; available: {', '.join(names())}")
    return found
