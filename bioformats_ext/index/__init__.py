"""BAI / TBI / CSI: the single-pass :class:`IndexBuilder`, serialisers and index readers.

The second-pass indexers live with their formats: ``bioformats_ext.bam.index_bam`` and
``bioformats_ext.tabix.index_tabix``.
"""

from .binning import bin_limit, reg2bin, reg2bins
from .builder import IndexBuilder, RefIndex
from .tabix_conf import PRESETS, TabixConfig

__all__ = ["IndexBuilder", "RefIndex", "TabixConfig", "PRESETS", "reg2bin", "reg2bins", "bin_limit",
           "read_index", "IndexFile"]


def __getattr__(name):  # readers / indexers are imported lazily (they pull in more modules)
    if name in ("read_index", "IndexFile"):
        from . import reader

        return getattr(reader, name)
    raise AttributeError(name)
