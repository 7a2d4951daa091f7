"""Shared bigWig test helpers: fixtures written by the reference libraries, and comparisons
of our reader with pyBigWig / pybigtools (the independent implementations)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent.parent / "data" / "bigwig"
REAL_FILES = sorted(DATA.glob("*.bw"))
STATS = ("mean", "min", "max", "std", "coverage", "sum")


def pybigwig_sections(path: Path) -> dict[str, int]:
    """A bigWig written by pyBigWig (libBigWig) with all three section types."""
    import pyBigWig

    sizes = {"chr1": 120_000, "chr2": 60_000, "chrM": 500}
    rng = np.random.default_rng(11)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()), maxZooms=6)
    # chr1: bedGraph, then variableStep, then fixedStep
    starts = np.sort(rng.choice(40_000, 600, replace=False)) * 1
    starts = starts[::2] * 1
    ends = starts + rng.integers(1, 40, len(starts))
    ends = np.minimum(ends, np.append(starts[1:], 40_000))
    bw.addEntries(["chr1"] * len(starts), starts.tolist(), ends=ends.tolist(),
                  values=rng.normal(size=len(starts)).astype(float).tolist())
    vstarts = (40_000 + np.sort(rng.choice(4_000, 500, replace=False)) * 10).tolist()
    bw.addEntries("chr1", vstarts, values=rng.gamma(2.0, size=500).tolist(), span=7)
    bw.addEntries("chr1", 90_000, values=rng.normal(5, 2, size=1500).tolist(), span=15, step=20)
    bw.addEntries("chr2", 100, values=rng.normal(size=3000).tolist(), span=10, step=10)
    bw.addEntries("chrM", [10, 20, 30], values=[1.0, -2.0, 3.5], span=5)
    bw.close()
    return sizes


def pybigtools_file(path: Path) -> dict[str, int]:
    """A bigWig written by pybigtools (bigtools, Rust)."""
    import pybigtools

    sizes = {"chr1": 200_000, "chr3": 90_000}
    rng = np.random.default_rng(5)
    items = []
    for chrom, size in sizes.items():
        pos = 0
        while True:
            pos += int(rng.integers(0, 60))
            width = int(rng.integers(1, 80))
            if pos + width > size:
                break
            items.append((chrom, pos, pos + width, float(np.float32(rng.normal(3, 2)))))
            pos += width
    pybigtools.open(str(path), "w").write(sizes, iter(items))
    return sizes


def same(p, q, rel: float = 1e-9) -> bool:
    """Equal, both None or both NaN, or within ``rel`` (of max(1, |p|)): the default 1e-9 allows
    float64 sums of the same float32 values taken in a different order, nothing more."""
    if p is None or q is None:
        return p is None and q is None
    if math.isnan(p) or math.isnan(q):
        return math.isnan(p) and math.isnan(q)
    return abs(p - q) <= rel * max(1.0, abs(p))


def windows(chroms: dict[str, int], n: int, seed: int, max_width: int = 100_000):
    rng = np.random.default_rng(seed)
    names = sorted(chroms)
    out = []
    while len(out) < n:
        c = names[int(rng.integers(len(names)))]
        size = chroms[c]
        a = int(rng.integers(0, size))
        b = int(min(size, a + rng.integers(1, max(2, min(size, max_width)))))
        if b > a:
            out.append((c, a, b))
    return out


def to_big_endian(data: bytes) -> bytes:
    """Re-encode an uncompressed little-endian bigWig big-endian, walking every structure independently of
    the package: header, zoom headers, total summary, chromosome B+ tree, sections, R-trees and
    zoom records."""
    out = bytearray(data)

    def swap(pos: int, fmt: str) -> None:
        vals = struct.unpack_from("<" + fmt, data, pos)
        struct.pack_into(">" + fmt, out, pos, *vals)

    swap(0, "IHHQQQHHQQIQ")
    (_, _, nzoom, chrom_tree, full_data, full_index, _, _, _, total, unc, _) = \
        struct.unpack_from("<IHHQQQHHQQIQ", data, 0)
    zooms = [struct.unpack_from("<I4xQQ", data, 64 + 24 * i) for i in range(nzoom)]
    for i in range(nzoom):
        swap(64 + 24 * i, "I4xQQ")
    if total:
        swap(total, "Qdddd")
    # chromosome B+ tree
    swap(chrom_tree, "IIIIQ")
    _, _, key_size, _, _ = struct.unpack_from("<IIIIQ", data, chrom_tree)
    todo = [chrom_tree + 32]
    while todo:
        node = todo.pop()
        is_leaf, count = struct.unpack_from("<BxH", data, node)
        swap(node, "BxH")
        pos = node + 4
        for _ in range(count):
            pos += key_size
            if is_leaf:
                swap(pos, "II")
                pos += 8
            else:
                todo.append(struct.unpack_from("<Q", data, pos)[0])
                swap(pos, "Q")
                pos += 8
    blocks = {}

    def rtree(offset: int, kind: str) -> None:
        swap(offset, "IIQIIIIQI")
        todo = [offset + 48]
        while todo:
            node = todo.pop()
            is_leaf, count = struct.unpack_from("<BxH", data, node)
            swap(node, "BxH")
            for i in range(count):
                if is_leaf:
                    pos = node + 4 + 32 * i
                    off, size = struct.unpack_from("<QQ", data, pos + 16)
                    blocks[off] = (size, kind)
                    swap(pos, "IIIIQQ")
                else:
                    pos = node + 4 + 24 * i
                    todo.append(struct.unpack_from("<Q", data, pos + 16)[0])
                    swap(pos, "IIIIQ")

    rtree(full_index, "data")
    for _, zdata, zindex in zooms:
        swap(zdata, "I")
        rtree(zindex, "zoom")
    swap(full_data, "Q")
    assert not unc, "only uncompressed files are re-encoded (blocks keep their sizes)"
    for off in sorted(blocks):
        size, kind = blocks[off]
        if kind == "data":
            head = struct.unpack_from("<IIIIIBxH", data, off)
            swap(off, "IIIIIBxH")
            item = {1: "IIf", 2: "If", 3: "f"}[head[5]]
            width = struct.calcsize("<" + item)
            for i in range(head[6]):
                swap(off + 24 + width * i, item)
        else:
            for p in range(off, off + size, 32):
                swap(p, "IIIIffff")
    struct.pack_into(">I", out, len(out) - 4, 0x888FFC26)
    return bytes(out)
