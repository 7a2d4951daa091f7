"""BAM: records, columns, a pysam-style reader, a co-indexing writer.

``open(source)`` reads a BAM with pysam's vocabulary (``fetch``, ``count``, ``mapped``, ...)
yielding light :class:`BamRecord` objects decoded lazily from numpy columns
(:func:`decode_columns`). ``BamWriter`` encodes SAM lines or records in batches
(byte-identical to htslib) and feeds the shared ``IndexBuilder`` as it writes; ``co_index``
does the same for a pysam writer. ``BamReader`` is the older SAM-text reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# public name -> defining submodule; imported on first use (cheap CLI start-up)
_EXPORTS = {
    "BamWriter": ".writer",
    "BamReader": ".reader",
    "BamHeader": ".header",
    "open": ".alignment_file",
    "BamFile": ".alignment_file",
    "BamRecord": ".record",
    "BamColumns": ".columns",
    "decode_columns": ".columns",
    "AlignmentHeader": ".alignment_file",
    "IndexStats": ".alignment_file",
    "co_index": ".pysam_coindex",
    "index_bam": ".index",
}

if TYPE_CHECKING:  # the real imports, for type checkers
    from .writer import BamWriter
    from .reader import BamReader
    from .header import BamHeader
    from .alignment_file import open, BamFile, AlignmentHeader, IndexStats
    from .record import BamRecord
    from .columns import BamColumns, decode_columns
    from .pysam_coindex import co_index
    from .index import index_bam

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["BamWriter", "BamReader", "BamHeader", "open", "BamFile", "BamRecord", "BamColumns",
           "decode_columns", "AlignmentHeader", "IndexStats", "co_index", "index_bam"]
