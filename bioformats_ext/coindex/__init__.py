"""Co-indexed output and index discovery shared by the BAM, VCF and tabix (later BCF) layers.

:class:`IndexedOutput` (container writer + :class:`~bioformats_ext.index.IndexBuilder` + atomic
files), :class:`BatchedRecordWriter` (batching, close / abort), :func:`load_index_near` (one
index-candidate list) and :func:`region_blobs` (one region query through BAI/TBI/CSI or BGZF2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# public name -> defining submodule; imported on first use (cheap CLI start-up)
_EXPORTS = {
    "IndexedOutput": ".output",
    "BatchedRecordWriter": ".batched",
    "load_index": ".discovery",
    "load_index_near": ".discovery",
    "index_candidates": ".discovery",
    "default_index_path": ".discovery",
    "region_blobs": ".query",
}

if TYPE_CHECKING:  # the real imports, for type checkers
    from .batched import BatchedRecordWriter
    from .discovery import default_index_path, index_candidates, load_index, load_index_near
    from .output import IndexedOutput
    from .query import region_blobs

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["IndexedOutput", "BatchedRecordWriter", "load_index", "load_index_near",
           "index_candidates",
           "default_index_path", "region_blobs"]
