"""Tabix text: bgzipped tab-separated text (BED, GFF, SAM, VCF presets) with TBI/CSI.

:class:`TabixWriter` co-produces the index (through :mod:`bioformats_ext.coindex`),
:class:`TabixReader` fetches regions through it, :func:`index_tabix` indexes an existing file.
"""

from .indexer import index_tabix
from .reader import TabixReader
from .writer import TabixWriter

__all__ = ["TabixWriter", "TabixReader", "index_tabix"]
