"""Tabix text: bgzipped tab-separated text (BED, GFF, SAM, VCF presets) with TBI/CSI.

:class:`TabixWriter` co-produces the index (through :mod:`bioformats_ext.coindex`),
:class:`TabixReader` fetches regions through it, :func:`index_tabix` indexes an existing file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# public name -> defining submodule; imported on first use (cheap CLI start-up)
_EXPORTS = {
    "TabixWriter": ".writer",
    "TabixReader": ".reader",
    "index_tabix": ".indexer",
}

if TYPE_CHECKING:  # the real imports, for type checkers
    from .writer import TabixWriter
    from .reader import TabixReader
    from .indexer import index_tabix

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["TabixWriter", "TabixReader", "index_tabix"]
