"""BAI / TBI / CSI: the single-pass :class:`IndexBuilder`, index readers and second-pass indexers."""

from .binning import bin_limit, reg2bin, reg2bins
from .builder import IndexBuilder, RefIndex
from .tabix_conf import PRESETS, TabixConfig

__all__ = ["IndexBuilder", "RefIndex", "TabixConfig", "PRESETS", "reg2bin", "reg2bins", "bin_limit",
           "read_index", "find_index", "IndexFile", "index_bam", "index_tabix"]


def __getattr__(name):  # readers / indexers are imported lazily (they pull in more modules)
    if name in ("read_index", "find_index", "IndexFile"):
        from . import reader

        return getattr(reader, name)
    if name in ("index_bam", "index_tabix"):
        from . import indexers

        return getattr(indexers, name)
    raise AttributeError(name)
