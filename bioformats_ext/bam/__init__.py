"""BAM: SAM text ⇄ BAM records, a writer that co-produces its BAI/CSI, and an indexed reader.

``BamWriter`` encodes SAM lines in batches (byte-identical to htslib) and feeds the shared
``IndexBuilder`` as it writes; ``BamReader`` streams records or fetches a region through the
index (or the BGZF2 embedded index).
"""

from .header import BamHeader
from .index import index_bam
from .reader import BamReader
from .writer import BamWriter

__all__ = ["BamWriter", "BamReader", "BamHeader", "index_bam"]
