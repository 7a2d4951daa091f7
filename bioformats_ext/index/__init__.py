"""BAI / TBI / CSI: the single-pass :class:`IndexBuilder`, serialisers and index readers.

The second-pass indexers live with their formats: ``bioformats_ext.bam.index_bam`` and
``bioformats_ext.tabix.index_tabix``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# public name -> defining submodule; imported on first use (numpy only when really needed)
_EXPORTS = {
    "IndexBuilder": ".builder",
    "RefIndex": ".builder",
    "TabixConfig": ".tabix_conf",
    "PRESETS": ".tabix_conf",
    "reg2bin": ".binning",
    "reg2bins": ".binning",
    "bin_limit": ".binning",
    "read_index": ".reader",
    "IndexFile": ".reader",
}

if TYPE_CHECKING:  # the real imports, for type checkers
    from .binning import bin_limit, reg2bin, reg2bins
    from .builder import IndexBuilder, RefIndex
    from .reader import IndexFile, read_index
    from .tabix_conf import PRESETS, TabixConfig

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["IndexBuilder", "RefIndex", "TabixConfig", "PRESETS", "reg2bin", "reg2bins", "bin_limit",
           "read_index", "IndexFile"]
