"""Lazy R-tree (UCSC "cirTree") over data blocks: which blocks may hold records in a region?

Nothing is read until the first query. A query walks down one level at a time: it keeps only the
children that overlap the region (vectorised over the node's items), then fetches all of those
children with **one** batched read. So a query costs O(depth + blocks hit) reads, never a scan of
the following siblings. Parsed nodes are kept in a small LRU cache, so a repeated query reads
nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Callable, Sequence

import numpy as np

from ..errors import FormatError, TruncatedFileError
from ._lru import LRU
from .format import NODE_HEADER_SIZE, RTREE_HEADER_SIZE, RTREE_LEAF_ITEM_SIZE, RTREE_MAGIC, layouts

Fetch = Callable[[Sequence[tuple[int, int]]], list[bytes]]
MAX_DEPTH = 32
_SPECULATIVE_SLOTS = 256  # bedToBigBed's default blockSize: header + root in one read
_SPECULATIVE_BUDGET = 4 << 20  # above this per level, nodes are sized from their headers


class RTree:
    """The R-tree whose header is at ``offset``. ``fetch(ranges)`` does one batched read."""

    def __init__(self, fetch: Fetch, offset: int, byteorder: str, file_size: int,
                 cache_nodes: int = 256):
        self._fetch = fetch
        self.offset = offset
        self.byteorder = byteorder
        self.file_size = file_size
        self._lay = layouts(byteorder)
        self._nodes: LRU[tuple] = LRU(cache_nodes)
        self._loaded = False
        self.block_size = 0
        self.item_count = 0
        self.items_per_slot = 0
        self.end_file_offset = 0

    # -- structure -------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the header and the root node together (one request in the usual layout)."""
        if self._loaded:
            return
        off = self.offset
        if off + RTREE_HEADER_SIZE > self.file_size:
            raise TruncatedFileError("R-tree header past the end of the file", off)
        want = RTREE_HEADER_SIZE + NODE_HEADER_SIZE + _SPECULATIVE_SLOTS * RTREE_LEAF_ITEM_SIZE
        (data,) = self._fetch([(off, min(want, self.file_size - off))])
        (magic, self.block_size, self.item_count, _sc, _sb, _ec, _eb, self.end_file_offset,
         self.items_per_slot) = self._lay.rtree_header.unpack_from(data, 0)
        if magic != RTREE_MAGIC:
            raise FormatError(f"bad R-tree magic {magic:#x}", off)
        if self.block_size < 1 and self.item_count:
            raise FormatError("R-tree block size 0", off)
        if self.item_count * 12 > self.file_size:
            raise FormatError(f"R-tree claims {self.item_count} items, more than the file holds",
                              off)
        self._loaded = True
        root = off + RTREE_HEADER_SIZE
        if self.item_count == 0:
            empty = np.zeros(0, np.int64)
            self._nodes.put(root, (True, np.zeros(0, self._lay.rtree_leaf), empty, empty, None,
                                   ([], [], None, [], [])))
            return
        node_data = data[RTREE_HEADER_SIZE:]
        if len(node_data) >= NODE_HEADER_SIZE:
            count = self._count(node_data)
            leaf = node_data[0] == 1
            size = count * (RTREE_LEAF_ITEM_SIZE if leaf else 24)
            if NODE_HEADER_SIZE + size <= len(node_data):
                self._nodes.put(root, self._parse(node_data, root))

    def _count(self, data: bytes) -> int:
        return int.from_bytes(data[2:4], "little" if self.byteorder == "<" else "big")

    def _node_len(self, off: int) -> int:
        return min(NODE_HEADER_SIZE + self.block_size * RTREE_LEAF_ITEM_SIZE, self.file_size - off)

    def _parse(self, data: bytes, off: int) -> tuple:
        if len(data) < NODE_HEADER_SIZE:
            raise TruncatedFileError("R-tree node past the end of the file", off)
        flag = data[0]
        if flag > 1:
            raise FormatError(f"bad R-tree node isLeaf byte {flag}", off)
        count = self._count(data)
        if count > self.block_size:
            raise FormatError(f"R-tree node with {count} children > block size {self.block_size}",
                              off)
        dtype = self._lay.rtree_leaf if flag else self._lay.rtree_nonleaf
        if NODE_HEADER_SIZE + count * dtype.itemsize > len(data):
            raise TruncatedFileError("R-tree node runs past the end of the file", off)
        items = np.frombuffer(data, dtype, count, NODE_HEADER_SIZE)
        if count and int(items["offset"].max()) >= self.file_size:
            raise TruncatedFileError("R-tree item points past the end of the file", off)
        if flag and count and int((items["offset"] + items["size"]).max()) > self.file_size:
            raise TruncatedFileError("R-tree leaf block runs past the end of the file", off)
        # (chrom, base) pairs as one sortable int64 each, computed once per node. Children are
        # sorted by start, so with the running maximum of the ends two binary searches bound
        # the overlapping children (when a writer did not sort them, ``reach`` is None and
        # every child is tested).
        start_key = (items["start_chrom"].astype(np.int64) << 32) | items["start_base"]
        end_key = (items["end_chrom"].astype(np.int64) << 32) | items["end_base"]
        reach = None
        if count and bool(np.all(start_key[1:] >= start_key[:-1])):
            reach = np.maximum.accumulate(end_key)
        # Python lists of the same, for region queries: a node has at most a few hundred
        # children, where bisect on lists beats numpy's per-call overhead.
        lists = (start_key.tolist(), end_key.tolist(),
                 None if reach is None else reach.tolist(), items["offset"].tolist(),
                 items["size"].tolist() if flag else None)
        return bool(flag), items, start_key, end_key, reach, lists

    def _get_nodes(self, offsets: list[int]) -> list[tuple]:
        """Nodes at ``offsets``; the ones not cached are fetched in one batched read."""
        cached = [self._nodes.get(o) for o in offsets]
        if None not in cached:
            return cached  # type: ignore[return-value]  # no None in it
        missing = [o for o in dict.fromkeys(offsets) if o not in self._nodes]
        if missing:
            for o in missing:
                if o < 0 or o + NODE_HEADER_SIZE > self.file_size:
                    raise TruncatedFileError("R-tree node offset past the end of the file", o)
            lengths = [self._node_len(o) for o in missing]
            if sum(lengths) > _SPECULATIVE_BUDGET:
                # a corrupt header's huge block size must not make every node a large read:
                # read the node headers first, then exactly the items they announce
                heads = self._fetch([(o, NODE_HEADER_SIZE) for o in missing])
                lengths = [min(NODE_HEADER_SIZE + self._count(h) *
                               (RTREE_LEAF_ITEM_SIZE if h[0] == 1 else 24), length)
                           for h, length in zip(heads, lengths)]
            datas = self._fetch(list(zip(missing, lengths)))
            parsed = {o: self._parse(d, o) for o, d in zip(missing, datas)}
            for o, fresh in parsed.items():
                self._nodes.put(o, fresh)
        else:
            parsed = {}
        out = []
        for o in offsets:
            node = parsed.get(o) or self._nodes.get(o)
            if node is None:  # evicted while filling a level larger than the cache
                (d,) = self._fetch([(o, self._node_len(o))])
                node = self._parse(d, o)
            out.append(node)
        return out

    def _check_growth(self, next_level: int, leaf_items: int) -> None:
        """A valid tree has no more nodes on a level, and no more leaf items in all, than its
        header's item count: together with the cycle check this bounds a walk by the file."""
        if next_level > max(self.item_count, 1) or leaf_items > self.item_count:
            raise FormatError(f"R-tree reaches more nodes or items than its {self.item_count} "
                              "items allow", self.offset)

    # -- queries ---------------------------------------------------------------------------------
    def blocks(self, chrom: int | None = None, start: int = 0, end: int = 0) -> np.ndarray:
        """Leaf items ``(start_chrom, start_base, end_chrom, end_base, offset, size)`` of the blocks
        that may hold records overlapping ``chrom:start-end`` (every block when ``chrom`` is None),
        in file order. Bounds are padded by one base so zero-length records at the edges count."""
        self._load()
        if chrom is None:
            lo = hi = None
        else:
            lo = (chrom << 32) + start - 1
            hi = (chrom << 32) + end + 1
        level = [self.offset + RTREE_HEADER_SIZE]
        found: list[np.ndarray] = []
        n_found = 0
        seen: set[int] = set()
        for _depth in range(MAX_DEPTH):
            if not level:
                break
            nxt: list[int] = []
            for off, (leaf, items, start_key, end_key, reach, _) in zip(level,
                                                                         self._get_nodes(level)):
                if off in seen:
                    raise FormatError("R-tree has a cycle", off)
                seen.add(off)
                if lo is not None and len(items):
                    if reach is not None:
                        first = int(reach.searchsorted(lo))
                        last = int(start_key.searchsorted(hi, "right"))
                        items = items[first:last][end_key[first:last] >= lo]
                    else:
                        items = items[(end_key >= lo) & (start_key <= hi)]
                if leaf:
                    found.append(items)
                    n_found += len(items)
                else:
                    nxt.extend(items["offset"].tolist())
            self._check_growth(len(nxt), n_found)
            level = nxt
        else:
            raise FormatError("R-tree deeper than 32 levels", self.offset)
        if not found:
            return np.zeros(0, self._lay.rtree_leaf)
        out = np.concatenate(found)
        if len(out) > 1:
            out = out[np.argsort(out["offset"], kind="stable")]
        return out

    def ranges(self, chrom: int, start: int, end: int) -> list[tuple[int, int]]:
        """``(offset, size)`` of the blocks that may hold records overlapping
        ``chrom:start-end``, in file order: :meth:`blocks` for one region, on Python lists."""
        self._load()
        lo = (chrom << 32) + start - 1
        hi = (chrom << 32) + end + 1
        level = [self.offset + RTREE_HEADER_SIZE]
        found: list[tuple[int, int]] = []
        seen: set[int] = set()
        for _depth in range(MAX_DEPTH):
            if not level:
                break
            nxt: list[int] = []
            for off, node in zip(level, self._get_nodes(level)):
                if off in seen:
                    raise FormatError("R-tree has a cycle", off)
                seen.add(off)
                leaf = node[0]
                start_keys, end_keys, reach, offsets, sizes = node[5]
                if reach is not None:
                    hits = [i for i in range(bisect_left(reach, lo),
                                             bisect_right(start_keys, hi))
                            if end_keys[i] >= lo]
                else:
                    hits = [i for i, (s, e) in enumerate(zip(start_keys, end_keys))
                            if e >= lo and s <= hi]
                if leaf:
                    found.extend([(offsets[i], sizes[i]) for i in hits])
                else:
                    nxt.extend([offsets[i] for i in hits])
            self._check_growth(len(nxt), len(found))
            level = nxt
        else:
            raise FormatError("R-tree deeper than 32 levels", self.offset)
        if len(found) > 1:
            found.sort()
        return found
