"""R-tree leaf items kept per chromosome, so that a region costs two bisects, no tree walk.

For local files (path or bytes) the first region query on a chromosome reads all of that
chromosome's leaf items in one walk and keeps them as sorted Python lists; later regions bisect
them. Remote files keep the per-region walk: reading every leaf of a chromosome up front would
break the request budget of a cold region (R-tree depth + 1). Used by the bigWig reader for the
data R-tree and by the zoom-record reader for the zoom R-trees.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from ..io.base import BytesSource, ByteSource, LocalFileSource
from .rtree import RTree

Leaves = tuple[list[int], list[int], list[int], list[int], list[int]]


def is_local(source: ByteSource) -> bool:
    return isinstance(source, (LocalFileSource, BytesSource))


class LeafLists:
    """The leaf items of ``tree`` for each chromosome queried so far."""

    def __init__(self, tree: RTree, chrom_sizes: list[int]):
        self.tree = tree
        self.chrom_sizes = chrom_sizes
        self._leaves: dict[int, Leaves | None] = {}

    def ranges(self, cid: int, start: int, end: int) -> list[tuple[int, int]]:
        """:meth:`RTree.ranges` (same blocks, in file order)."""
        if cid not in self._leaves:
            self._leaves[cid] = self._load(cid)
        leaves = self._leaves[cid]
        if leaves is None:  # children not sorted by start: walk per region
            return self.tree.ranges(cid, start, end)
        skeys, reach, ekeys, offsets, sizes = leaves
        lo = (cid << 32) + start - 1
        hi = (cid << 32) + end + 1
        return [(offsets[i], sizes[i]) for i in range(bisect_left(reach, lo),
                                                      bisect_right(skeys, hi))
                if ekeys[i] >= lo]

    def _load(self, cid: int) -> Leaves | None:
        items = self.tree.blocks(cid, 0, self.chrom_sizes[cid])
        skey = (items["start_chrom"].astype(np.int64) << 32) | items["start_base"]
        ekey = (items["end_chrom"].astype(np.int64) << 32) | items["end_base"]
        if len(skey) > 1 and bool((skey[1:] < skey[:-1]).any()):
            return None
        return (skey.tolist(), np.maximum.accumulate(ekey).tolist() if len(ekey) else [],
                ekey.tolist(), items["offset"].tolist(), items["size"].tolist())
