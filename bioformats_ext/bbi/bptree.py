"""B+ tree lookups: the chromosome tree (name -> id, size) and extraIndex trees (name -> blocks).

Both trees share one layout (UCSC ``bPlusTree.h``): a 32-byte header, then nodes of ``blockSize``
slots. We read a tree level by level, asking for all nodes of a level in one batched read, and
parse each node's items with one numpy ``frombuffer``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import FormatError, TruncatedFileError
from .format import BPT_HEADER_SIZE, BPT_MAGIC, NODE_HEADER_SIZE, layouts

Fetch = Callable[[Sequence[tuple[int, int]]], list[bytes]]
MAX_DEPTH = 32
_SPECULATIVE_BUDGET = 4 << 20  # above this per level, nodes are sized from their headers


class BPlusTree:
    """A B+ tree at ``offset``; ``fetch(ranges)`` returns the bytes of each (offset, length)."""

    def __init__(self, fetch: Fetch, offset: int, byteorder: str, file_size: int):
        self._fetch = fetch
        self.offset = offset
        self.byteorder = byteorder
        self.file_size = file_size
        lay = layouts(byteorder)
        if offset + BPT_HEADER_SIZE > file_size:
            raise TruncatedFileError("B+ tree header past the end of the file", offset)
        (data,) = fetch([(offset, BPT_HEADER_SIZE)])
        magic, self.block_size, self.key_size, self.val_size, self.item_count = \
            lay.bpt_header.unpack_from(data, 0)
        if magic != BPT_MAGIC:
            raise FormatError(f"bad B+ tree magic {magic:#x}", offset)
        if self.block_size < 1 and self.item_count:
            raise FormatError("B+ tree block size 0", offset)
        # bedToBigBed writes key size 0 for an empty tree.
        if not (1 if self.item_count else 0) <= self.key_size <= 65536 \
                or self.val_size not in (8, 16):
            raise FormatError(f"bad B+ tree key/value sizes {self.key_size}/{self.val_size}",
                              offset)
        if self.item_count * (self.key_size + self.val_size) > file_size:
            raise FormatError(f"B+ tree claims {self.item_count} items, more than the file holds",
                              offset)
        self.leaf_dtype = lay.bpt_leaf_dtype(self.key_size, self.val_size)
        self.nonleaf_dtype = lay.bpt_nonleaf_dtype(self.key_size)

    def _node_ranges(self, offsets: Sequence[int]) -> list[tuple[int, int]]:
        slots = min(self.block_size, max(self.item_count, 1))
        size = NODE_HEADER_SIZE + slots * (self.key_size + self.val_size)
        ranges = []
        for off in offsets:
            if off + NODE_HEADER_SIZE > self.file_size or off < BPT_HEADER_SIZE:
                raise TruncatedFileError("B+ tree node offset past the end of the file", off)
            ranges.append((off, min(size, self.file_size - off)))
        return ranges

    def _count(self, head: bytes) -> int:
        return int.from_bytes(head[2:4], "little" if self.byteorder == "<" else "big")

    def _parse_node(self, data: bytes, off: int) -> tuple[bool, np.ndarray]:
        is_leaf = data[0]
        if is_leaf > 1:
            raise FormatError(f"bad B+ tree node flag {is_leaf}", off)
        count = int.from_bytes(data[2:4], "little" if self.byteorder == "<" else "big")
        if count > self.block_size:
            raise FormatError(f"B+ tree node with {count} items > block size {self.block_size}",
                              off)
        dtype = self.leaf_dtype if is_leaf else self.nonleaf_dtype
        need = NODE_HEADER_SIZE + count * dtype.itemsize
        if need > len(data):
            raise TruncatedFileError("B+ tree node runs past the end of the file", off)
        return bool(is_leaf), np.frombuffer(data, dtype, count, NODE_HEADER_SIZE)

    def _walk(self, choose: Callable[[np.ndarray], np.ndarray] | None) -> list[np.ndarray]:
        """Leaf item arrays reached by following, at each non-leaf node, the children ``choose``
        selects (all children when ``choose`` is None), in key order."""
        if not self.item_count:  # bedToBigBed writes no node at all for an empty tree
            return []
        level = [self.offset + BPT_HEADER_SIZE]
        leaves: list[np.ndarray] = []
        n_leaf = 0
        seen: set[int] = set()
        for _depth in range(MAX_DEPTH):
            if not level:
                return leaves
            for off in level:
                if off in seen:
                    raise FormatError("B+ tree has a cycle", off)
                seen.add(off)
            ranges = self._node_ranges(level)
            if sum(n for _, n in ranges) > _SPECULATIVE_BUDGET:
                # size the nodes from their headers, not from a (maybe corrupt) block size
                heads = self._fetch([(off, NODE_HEADER_SIZE) for off, _ in ranges])
                ranges = [(off, min(n, NODE_HEADER_SIZE + self._count(h) *
                                    (self.key_size + (self.val_size if h[0] == 1 else 8))))
                          for (off, n), h in zip(ranges, heads)]
            datas = self._fetch(ranges)
            nxt: list[int] = []
            for off, data in zip(level, datas):
                is_leaf, items = self._parse_node(data, off)
                if is_leaf:
                    leaves.append(items.copy())  # not a view pinning the node's buffer
                    n_leaf += len(items)
                else:
                    children = items["offset"] if choose is None else items["offset"][choose(items)]
                    nxt.extend(int(c) for c in children)
            # a valid tree never has more nodes on a level, or leaf items, than its item count
            if len(nxt) > self.item_count or n_leaf > self.item_count:
                raise FormatError(f"B+ tree reaches more nodes or items than its "
                                  f"{self.item_count} items allow", self.offset)
            level = nxt
        raise FormatError("B+ tree deeper than 32 levels", self.offset)

    def items(self) -> np.ndarray:
        """Every leaf item, in key order (the chromosome list)."""
        leaves = self._walk(None)
        if not leaves:
            return np.zeros(0, self.leaf_dtype)
        return np.concatenate(leaves)

    def find(self, key: bytes) -> np.ndarray:
        """Leaf items whose key equals ``key`` (all of them: extraIndex keys repeat)."""
        if len(key) > self.key_size:
            return np.zeros(0, self.leaf_dtype)
        padded = np.bytes_(key)

        def choose(items: np.ndarray) -> np.ndarray:
            keys = items["key"]
            lower = keys <= padded
            upper = np.ones(len(keys), bool)
            upper[:-1] = padded <= keys[1:]
            return lower & upper

        leaves = self._walk(choose)
        if not leaves:
            return np.zeros(0, self.leaf_dtype)
        items = np.concatenate(leaves)
        return items[items["key"] == padded]


def read_chromosomes(fetch: Fetch, offset: int, byteorder: str,
                     file_size: int) -> tuple[list[str], list[int]]:
    """Chromosome names and sizes, indexed by chromosome id."""
    tree = BPlusTree(fetch, offset, byteorder, file_size)
    if tree.val_size != 8:
        raise FormatError(f"chromosome tree value size {tree.val_size}, expected 8", offset)
    items = tree.items()
    n = len(items)
    if n != tree.item_count:
        raise FormatError(f"chromosome tree has {n} leaves, header says {tree.item_count}", offset)
    ids = items["id"].astype(np.int64)
    if n and (ids.max() >= n or len(np.unique(ids)) != n):
        raise FormatError("chromosome ids are not 0..n-1", offset)
    names: list[str] = [""] * n
    sizes: list[int] = [0] * n
    try:
        decoded = [k.decode() for k in items["key"].tolist()]
    except UnicodeDecodeError:
        raise FormatError("chromosome name is not UTF-8", offset) from None
    for name, i, size in zip(decoded, ids.tolist(), items["size"].tolist()):
        names[i] = name
        sizes[i] = size
    return names, sizes
