"""Bulk builders for the two BBI index structures: the cirTree (R-tree) and the B+ tree.

Both are built from sorted arrays in one go, the way UCSC ``cirTree.c`` / ``bPlusTree.c`` do, so
that a file we write has the same node layout (and the same bytes) as bedToBigBed's:

* R-tree: leaf entries group ``items_per_slot`` consecutive items; parents group ``block_size``
  children; there are always at least two levels (a root node above the leaf entries); leaf
  nodes are padded with 24-byte (not 32-byte) empty slots, as UCSC does.
* B+ tree: keys zero-padded to the longest key; non-leaf levels first, then full leaf blocks.
"""

from __future__ import annotations

import numpy as np

from .format import (BPT_MAGIC, NODE_HEADER_SIZE, RTREE_LEAF_ITEM_SIZE, RTREE_MAGIC,
                     RTREE_NONLEAF_ITEM_SIZE, layouts)

_LAY = layouts("<")


def _group_ranges(start_chrom, start_base, end_chrom, end_base, first: np.ndarray):
    """Bounding range of each group of consecutive entries (groups begin at indices ``first``).

    Entries are sorted by start, so a group's start is its first entry's; its end is the
    largest (chrom, end) pair, compared chromosome first.
    """
    key = (end_chrom.astype(np.uint64) << np.uint64(32)) | end_base.astype(np.uint64)
    top = np.maximum.reduceat(key, first)
    return (start_chrom[first], start_base[first],
            (top >> np.uint64(32)).astype(np.uint32), (top & np.uint64(0xFFFFFFFF)).astype(np.uint32))


def rtree_bytes(chrom_ids, starts, ends, offsets, end_file_offset: int, index_offset: int,
                block_size: int = 256, items_per_slot: int = 512) -> bytes:
    """The complete R-tree (header + nodes) for items sorted by (chrom, start).

    ``offsets`` are each item's file offset (items sharing a block share an offset);
    ``end_file_offset`` is where the indexed data ends; ``index_offset`` is where the tree will be
    written (child pointers are absolute file offsets).
    """
    chrom_ids = np.asarray(chrom_ids, dtype=np.uint32)
    starts = np.asarray(starts, dtype=np.uint32)
    ends = np.asarray(ends, dtype=np.uint32)
    offsets = np.asarray(offsets, dtype=np.uint64)
    n = len(chrom_ids)
    if n == 0:
        header = _LAY.rtree_header.pack(RTREE_MAGIC, block_size, 0, 0, 0, 0, 0,
                                        end_file_offset, items_per_slot)
        # An empty leaf root, so that readers descending from the root find nothing.
        empty_root = _LAY.node_header.pack(True, 0) + bytes(RTREE_NONLEAF_ITEM_SIZE * block_size)
        return header + empty_root

    # Leaf entries: items_per_slot items each.
    first = np.arange(0, n, items_per_slot)
    leaf = _group_ranges(chrom_ids, starts, chrom_ids, ends, first)
    leaf_start_off = offsets[first]
    leaf_end_off = np.append(offsets[first[1:]], np.uint64(end_file_offset))
    levels = [leaf]  # levels[0] = leaf entries, levels[-1] = root level
    while len(levels[-1][0]) > 1 or len(levels) < 2:
        cur = levels[-1]
        firsts = np.arange(0, len(cur[0]), block_size)
        levels.append(_group_ranges(cur[0], cur[1], cur[2], cur[3], firsts))
    root = levels[-1]
    header = _LAY.rtree_header.pack(RTREE_MAGIC, block_size, n, int(root[0][0]), int(root[1][0]),
                                    int(root[2][0]), int(root[3][0]), end_file_offset,
                                    items_per_slot)
    inode = NODE_HEADER_SIZE + RTREE_NONLEAF_ITEM_SIZE * block_size
    lnode = NODE_HEADER_SIZE + RTREE_LEAF_ITEM_SIZE * block_size
    # Nodes are written top level first; node level k (from the root) holds the entries of
    # levels[-1 - k - 1]. Level offsets: every level above the leaves is index nodes.
    node_levels = levels[1:][::-1]  # nodes, root first; last = leaf nodes
    pos = index_offset + len(header)
    level_offsets = []
    for lv in node_levels:
        level_offsets.append(pos)
        pos += len(lv[0]) * inode
    out = [header]
    for depth, lv in enumerate(node_levels):
        children = levels[len(levels) - 2 - depth]
        count = len(children[0])
        is_leaf = depth == len(node_levels) - 1
        for node in range(len(lv[0])):
            lo = node * block_size
            hi = min(lo + block_size, count)
            k = hi - lo
            if is_leaf:
                items = np.empty(k, dtype=_LAY.rtree_leaf)
                items["offset"] = leaf_start_off[lo:hi]
                items["size"] = leaf_end_off[lo:hi] - leaf_start_off[lo:hi]
            else:
                items = np.empty(k, dtype=_LAY.rtree_nonleaf)
                child_size = lnode if depth == len(node_levels) - 2 else inode
                items["offset"] = level_offsets[depth + 1] + child_size * np.arange(lo, hi, dtype=np.uint64)
            items["start_chrom"] = children[0][lo:hi]
            items["start_base"] = children[1][lo:hi]
            items["end_chrom"] = children[2][lo:hi]
            items["end_base"] = children[3][lo:hi]
            out.append(_LAY.node_header.pack(is_leaf, k))
            out.append(items.tobytes())
            # UCSC pads leaf nodes with index-sized (24-byte) empty slots too.
            out.append(bytes((block_size - k) * RTREE_NONLEAF_ITEM_SIZE))
    return b"".join(out)


def bptree_bytes(keys: np.ndarray, values: np.ndarray, block_size: int, file_offset: int,
                 key_size: int | None = None) -> bytes:
    """A B+ tree over sorted ``keys`` (numpy ``S<keySize>`` array) with fixed-size ``values``,
    to be written at ``file_offset`` (child pointers are absolute file offsets).

    ``values`` is an array of the same length whose ``itemsize`` is the value size (8 for the
    chromosome tree: id, size; 16 for extra indices: offset, size).
    """
    n = len(keys)
    if key_size is None:
        key_size = keys.dtype.itemsize
    val_size = values.dtype.itemsize
    header = _LAY.bpt_header.pack(BPT_MAGIC, block_size, key_size, val_size, n)
    if n == 0:
        return header
    levels = 1
    count = n
    while count > block_size:
        count = (count + block_size - 1) // block_size
        levels += 1
    leaf_item = np.dtype([("key", f"S{key_size}"), ("val", f"V{val_size}")])
    nonleaf_item = np.dtype([("key", f"S{key_size}"), ("offset", "<u8")])
    index_block = NODE_HEADER_SIZE + block_size * nonleaf_item.itemsize
    leaf_block = NODE_HEADER_SIZE + block_size * leaf_item.itemsize
    out = [header]
    level_start = file_offset + len(header)
    for level in range(levels - 1, 0, -1):
        slot = block_size ** level
        per_node = slot * block_size
        node_count = (n + per_node - 1) // per_node
        next_child = level_start + node_count * index_block
        child_size = leaf_block if level == 1 else index_block
        for i in range(0, n, per_node):
            idx = np.arange(i, min(i + per_node, n), slot)
            k = len(idx)
            items = np.empty(k, dtype=nonleaf_item)
            items["key"] = keys[idx]
            items["offset"] = next_child + child_size * np.arange(k, dtype=np.uint64)
            next_child += child_size * k
            out.append(_LAY.node_header.pack(False, k))
            out.append(items.tobytes())
            out.append(bytes((block_size - k) * nonleaf_item.itemsize))
        level_start += node_count * index_block
    vals = np.ascontiguousarray(values).view(f"V{val_size}")
    for i in range(0, n, block_size):
        k = min(block_size, n - i)
        items = np.empty(k, dtype=leaf_item)
        items["key"] = keys[i:i + k]
        items["val"] = vals[i:i + k]
        out.append(_LAY.node_header.pack(True, k))
        out.append(items.tobytes())
        out.append(bytes((block_size - k) * leaf_item.itemsize))
    return b"".join(out)
