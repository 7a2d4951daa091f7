"""BAM: records, columns, a pysam-style reader, a co-indexing writer.

``open(source)`` reads a BAM with pysam's vocabulary (``fetch``, ``count``, ``mapped``, ...)
yielding light :class:`BamRecord` objects decoded lazily from numpy columns
(:func:`decode_columns`). ``BamWriter`` encodes SAM lines or records in batches
(byte-identical to htslib) and feeds the shared ``IndexBuilder`` as it writes; ``co_index``
does the same for a pysam writer. ``BamReader`` is the older SAM-text reader.
"""

from .alignment_file import AlignmentHeader, BamFile, IndexStats, open
from .pysam_coindex import co_index
from .columns import BamColumns, decode_columns
from .header import BamHeader
from .index import index_bam
from .reader import BamReader
from .record import BamRecord
from .writer import BamWriter

__all__ = ["BamWriter", "BamReader", "BamHeader", "open", "BamFile", "BamRecord", "BamColumns",
           "decode_columns", "AlignmentHeader", "IndexStats", "co_index", "index_bam"]
