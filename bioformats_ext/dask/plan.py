"""``plan``: partitions of a bigBed/bigWig, BAM, VCF.gz or BGZF2 file from its index alone."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from ..errors import FormatError, MissingIndexError
from ..regions import Region, resolve_region
from .partition import Partition, Unit, group_units, parse_bytes, renumber

MAX_BLOCK = 65536          # a BGZF block (compressed) is at most this long
EOF_BLOCK_SIZE = 28


def _target(total: int, target_bytes: "int | str", n: int | None) -> int:
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return max(1, -(-total // n))
    return parse_bytes(target_bytes)


def _regions(regions: Any, references: dict[str, int]) -> list[Region]:
    """``regions``: region strings and/or ``(contig, start, stop)`` tuples (0-based)."""
    if isinstance(regions, str) or (isinstance(regions, tuple) and regions
                                    and isinstance(regions[0], str) and len(regions) == 3
                                    and not isinstance(regions[1], str)):
        regions = [regions]
    out = []
    for r in regions:
        if isinstance(r, str):
            out.append(resolve_region(region=r, references=references))
        else:
            contig, start, stop = r
            out.append(resolve_region(contig, start, stop, references=references))
    return out


# -- bigBed / bigWig: R-tree leaves ---------------------------------------------------------------


def plan_bbi(reader: Any, target_bytes: "int | str" = "128MiB", n: int | None = None,
             regions: Any = None) -> list[Partition]:
    """Partitions of a bigBed/bigWig: runs of data blocks (R-tree leaves) in file order."""
    names = list(reader.chrom_names)
    if regions is None:
        leaves = reader.rtree.blocks(None)
        units = _leaf_units(leaves)
        return group_units(units, _target(int(leaves["size"].sum()) if len(leaves) else 0,
                                          target_bytes, n), names, gap=0)
    parts: list[Partition] = []
    resolved = _regions(regions, reader.chroms)
    per_region = [(r, reader.rtree.blocks(reader.chrom_ids[r.contig], r.start,
                                          r.stop if r.stop is not None else 1 << 31))
                  for r in resolved]
    total = sum(int(leaves["size"].sum()) for _, leaves in per_region if len(leaves))
    target = _target(total, target_bytes, n)
    for r, leaves in per_region:
        stop = r.stop if r.stop is not None else reader.chroms[r.contig]
        parts += group_units(_leaf_units(leaves), target, names,
                             region=(r.contig, r.start, stop), gap=0)
    return renumber(parts)


def _leaf_units(leaves: np.ndarray) -> list[Unit]:
    cols = [leaves[k].tolist() for k in ("offset", "size", "start_chrom", "start_base",
                                           "end_chrom", "end_base")]
    return [Unit((off, size), (off, off + size), size, sc, sb, ec, eb)
            for off, size, sc, sb, ec, eb in zip(*cols)]


# -- BGZF: BAI / CSI / TBI ------------------------------------------------------------------------


def _ref_arrays(ref: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bin ids, chunk counts per bin, chunks (n x 2 voffsets) and linear index of a reference:
    the arrays of an index read from disk, or built from a builder's dicts."""
    if getattr(ref, "_ids", None) is not None:
        lin = ref._lin if ref._lin is not None else np.zeros(0, np.uint64)
        return ref._ids, ref._counts, ref._chunks, lin
    items = list(ref.bins.items())
    ids = np.array([b for b, _ in items], np.int64)
    counts = np.array([len(c) for _, c in items], np.int64)
    chunks = np.array([x for _, c in items for pair in c for x in pair], np.uint64).reshape(-1, 2)
    return ids, counts, chunks, np.array(ref.linear or (), np.uint64)


def _bin_bots(bins: np.ndarray, depth: int) -> np.ndarray:
    """First linear-index window of each bin (vectorised :func:`..index.binning.bin_bot`)."""
    from ..index.binning import bin_first

    firsts = np.array([bin_first(level) for level in range(depth + 1)], np.int64)
    level = np.searchsorted(firsts, bins, side="right") - 1
    return (bins - firsts[level]) << (3 * (depth - level))


def _ref_cuts(index: Any, tid: int) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """``(off_beg, off_end, starts, positions)`` of a reference: record-start voffsets inside
    it (sorted, unique) and an approximate position for each, from its pseudo-bin, bin chunk
    starts (the bin's first base) and linear index (the window's first base).

    A start named by several bins gets the lowest of their positions; a linear-index window
    only adds starts no bin names, at its first window. One numpy pass per reference: a whole
    genome's index plans without building Python objects per bin."""
    ids, counts, chunks, lin = _ref_arrays(index.refs[tid])
    if not len(ids):
        return None
    of_chunk = np.repeat(ids.astype(np.int64), counts)
    meta = of_chunk == index.pseudo_bin
    real = ~meta
    if not real.any():
        return None
    begs = chunks[real, 0].astype(np.int64)
    if meta.any():
        off_beg, off_end = (int(x) for x in chunks[np.flatnonzero(meta)[0]])
    else:
        off_beg, off_end = int(begs.min()), int(chunks[real, 1].max())
    shift = index.min_shift
    pos = _bin_bots(of_chunk[real], index.depth) << shift
    inside = (begs >= off_beg) & (begs < off_end)
    offs = np.concatenate([[off_beg], begs[inside]])
    pos = np.concatenate([[0], pos[inside]])
    order = np.lexsort((pos, offs))
    offs, pos = offs[order], pos[order]
    first = np.ones(len(offs), bool)
    first[1:] = offs[1:] != offs[:-1]
    offs, pos = offs[first], pos[first]
    lin = lin.astype(np.int64)
    if len(lin):
        uniq, at = np.unique(lin, return_index=True)  # each offset at its first window
        new = (uniq >= off_beg) & (uniq < off_end) & ~np.isin(uniq, offs)
        offs = np.concatenate([offs, uniq[new]])
        pos = np.concatenate([pos, at[new].astype(np.int64) << shift])
        order = np.argsort(offs, kind="stable")
        offs, pos = offs[order], pos[order]
    return off_beg, off_end, offs, pos


def _span(u: int, v: int, size: int) -> tuple[int, int]:
    return (u >> 16, min(size, (v >> 16) + (MAX_BLOCK if v & 0xFFFF else 0)))


def _estimate(u: int, v: int) -> int:
    """Compressed bytes of the records in ``[u, v)``: whole blocks between them, plus the
    in-block offsets at an assumed 4:1 ratio (so an interval inside one block is not 0 and the
    interval ending at a block start does not get that whole block)."""
    return max(1, (v >> 16) - (u >> 16) + ((v & 0xFFFF) - (u & 0xFFFF)) // 4)


def _interval_units(tid: int, edges: list[int], pos: list[int], end_pos: int,
                    size: int) -> list[Unit]:
    out = []
    for i in range(len(edges) - 1):
        u, v = edges[i], edges[i + 1]
        if v <= u:
            continue
        nxt = pos[i + 1] if i + 1 < len(pos) else end_pos
        out.append(Unit((u, v), _span(u, v, size), _estimate(u, v), tid, pos[i],
                        tid, max(pos[i], nxt)))
    return out


def _merge_intervals(parts: list[Partition]) -> list[Partition]:
    """Adjacent voffset intervals of a partition joined, so each BGZF block is inflated once."""
    from dataclasses import replace

    out = []
    for p in parts:
        merged: list[list[int]] = []
        for u, v in p.units:
            if merged and merged[-1][1] == u:
                merged[-1][1] = v
            else:
                merged.append([u, v])
        out.append(replace(p, units=tuple((u, v) for u, v in merged)))
    return out


def plan_bgzf(index: Any, names: Sequence[str], lengths: Sequence[int], file_size: int,
              eof_voffset: int, target_bytes: "int | str" = "128MiB", n: int | None = None,
              regions: Any = None, first_record: int | None = None,
              unmapped_tail: bool = False, references: dict[str, int] | None = None
              ) -> list[Partition]:
    """Partitions of a BGZF file (BAM, VCF.gz, BCF) from its BAI/CSI/TBI.

    ``names``/``lengths``: references in the index's tid order. ``unmapped_tail``: add the
    records after the last placed one (unplaced reads, counted in ``n_no_coor``) as a last
    partition of kind ``"unmapped tail"``; they are not indexed, so it is not cut further.
    ``references``: every name a region may use (a VCF header's contigs; default ``names``).
    """
    refs: dict[str, Any] = dict(references or {})
    refs.update({name: length or refs.get(name) for name, length in zip(names, lengths)})
    if regions is not None:
        parts: list[Partition] = []
        resolved = _regions(regions, refs)
        per_region = []
        for r in resolved:
            if r.contig not in names:  # a declared reference without records
                continue
            tid = list(names).index(r.contig)
            stop = r.stop if r.stop is not None else (lengths[tid] or 1 << 40)
            info = _ref_cuts(index, tid) if tid < len(index.refs) else None
            chunks = index.query(tid, r.start, stop) if info else []
            units: list[Unit] = []
            starts, at = (info[2], info[3]) if info else (np.zeros(0, np.int64),) * 2
            for u, v in chunks:
                lo, hi = np.searchsorted(starts, [u, v], side="right")
                inner = starts[lo:hi - (hi > lo and starts[hi - 1] == v)].tolist()
                known = dict(zip(starts.tolist()[lo - 1 if lo else 0:hi],
                                 at.tolist()[lo - 1 if lo else 0:hi]))
                edges = [u, *inner, v]
                pos = [known.get(e, r.start) for e in edges]
                units += _interval_units(tid, edges, pos, stop, file_size)
            per_region.append((r, stop, units))
        target = _target(sum(u.nbytes for _, _, us in per_region for u in us), target_bytes, n)
        for r, stop, units in per_region:
            parts += group_units(units, target, names, region=(r.contig, r.start, stop))
        return _merge_intervals(renumber(parts))
    units = []
    last_end = None
    for tid in range(min(len(index.refs), len(names))):
        info = _ref_cuts(index, tid)
        if info is None:
            continue
        off_beg, off_end, starts, at = info
        edges = starts.tolist()
        pos = np.maximum.accumulate(at).tolist()  # never backwards within a reference
        units += _interval_units(tid, edges + [off_end], pos, lengths[tid] or pos[-1], file_size)
        last_end = off_end if last_end is None else max(last_end, off_end)
    units.sort(key=lambda u: u.key[0])  # type: ignore[index]
    for a, b in zip(units, units[1:]):
        if b.key[0] < a.key[1]:  # type: ignore[index]
            raise FormatError("index chunks of two references overlap; cannot partition")
    tail_bytes = 0
    tail_start = last_end if last_end is not None else first_record
    if unmapped_tail and tail_start is not None and tail_start < eof_voffset:
        tail_bytes = _estimate(tail_start, eof_voffset)
    total = sum(u.nbytes for u in units) + tail_bytes
    parts = _merge_intervals(group_units(units, _target(total, target_bytes, n), names))
    if tail_bytes and tail_start is not None:
        parts.append(Partition(len(parts), "unmapped tail", None, 0, None, 0,
                               ((tail_start >> 16, _span(tail_start, eof_voffset, file_size)[1]
                                 - (tail_start >> 16)),),
                               tail_bytes, ((tail_start, eof_voffset),)))
    return parts


def eof_voffset(source: Any) -> int:
    """Virtual offset of the end of the data: the start of the BGZF EOF block when present."""
    from ..bgzf import EOF_BLOCK

    size = source.size
    if size >= EOF_BLOCK_SIZE and source.read(size - EOF_BLOCK_SIZE, EOF_BLOCK_SIZE) == EOF_BLOCK:
        return (size - EOF_BLOCK_SIZE) << 16
    return size << 16


# -- the entry point ------------------------------------------------------------------------------


def plan(source: Any, target_bytes: "int | str" = "128MiB", n: int | None = None,
         regions: Any = None, index: Any = None, storage_options: dict | None = None
         ) -> list[Partition]:
    """Partitions of ``source`` (path, URL or ByteSource) planned from its index alone.

    bigBed/bigWig: R-tree leaves; BAM/VCF.gz: BAI/CSI/TBI (``index`` or the file next to it);
    BGZF2: its embedded frame index. ``target_bytes`` (compressed bytes per partition, e.g.
    ``"128MiB"``) or ``n`` (that many partitions, about). ``regions``: region strings or
    ``(contig, start, stop)`` tuples; records are then those overlapping each region, as
    ``fetch`` returns them.
    """
    from ..io.source import open_source
    from ..sniff import sniff

    opts = {"storage_options": storage_options} if storage_options else {}
    src = open_source(source, **opts)
    try:
        kind = sniff(src)
        if kind.format in ("bigbed", "bigwig") and kind.container == "none":
            from ..bbi.reader import BigBedReader
            from ..bbi.wig import BigWigReader

            cls = BigWigReader if kind.format == "bigwig" else BigBedReader
            with cls(src) as reader:
                return plan_bbi(reader, target_bytes, n, regions)
        if kind.container == "bgzf2":
            return plan_bgzf2(src, target_bytes, n, regions)
        if kind.container == "bgzf" and kind.format in ("bam", "vcf", "bcf"):
            ctx = bgzf_context(source, src, kind.format, index, storage_options)
            return plan_bgzf(ctx["index"], ctx["names"], ctx["lengths"], src.size, ctx["eof"],
                             target_bytes, n, regions, ctx.get("first_record"),
                             unmapped_tail=kind.format == "bam",
                             references=ctx.get("references"))
        raise FormatError(f"{src.name}: cannot partition {kind}")
    finally:
        if src is not source:
            src.close()


def data_voffset(src: Any, data_start: int) -> int:
    """Virtual offset of uncompressed position ``data_start`` (a BAM's first record)."""
    from ..bgzf import BgzfReader

    seen = 0
    for address, data in BgzfReader(src).iter_blocks():
        if seen + len(data) > data_start:
            return (address << 16) | (data_start - seen)
        seen += len(data)
    return src.size << 16


def bgzf_context(location: Any, src: Any, fmt: str, index: Any = None,
                 storage_options: dict | None = None) -> dict:
    """Index, reference names/lengths and data extent of a BGZF file (what planning needs)."""
    from ..index import read_index

    opts = {"storage_options": storage_options} if storage_options else {}
    if index is not None:
        from ..io.source import open_source

        idx = read_index(open_source(index, **opts) if isinstance(index, (str, os.PathLike))
                         else index)
    else:
        from ..io.source import open_first

        loc = os.fspath(location) if isinstance(location, (str, os.PathLike)) else None
        if loc is None:
            raise MissingIndexError("give index= when the source is not a path or URL")
        cands = ([loc + ".bai", loc[:-4] + ".bai", loc + ".csi"] if fmt == "bam"
                 else [loc + ".csi"] if fmt == "bcf" else [loc + ".tbi", loc + ".csi"])
        found = open_first(cands, **opts)
        if found is None:
            raise MissingIndexError(f"no index next to {loc}")
        with found:
            idx = read_index(found)
    out: dict[str, Any] = {"index": idx, "eof": eof_voffset(src)}
    if fmt == "bam":
        from ..bam.reader import BamReader

        reader = BamReader(src)
        header = reader.header
        out["names"] = list(header.names)
        out["lengths"] = list(header.lengths)
        out["first_record"] = data_voffset(src, reader._data_start)
    elif fmt == "bcf":  # reference ids are the header's contig dictionary
        from ..vcf.reader import VariantFile

        vheader = VariantFile(src).header
        order = sorted(vheader.contigs, key=vheader.contig_index)
        out["names"] = order
        out["lengths"] = [vheader.contigs[c] or 0 for c in order]
        out["references"] = dict(vheader.contigs)
    else:
        from ..vcf import VcfReader, parse_contigs

        names = list(idx.names)
        contigs = dict(parse_contigs(VcfReader(src).header))
        out["names"] = names
        out["lengths"] = [contigs.get(nm) or 0 for nm in names]
        out["references"] = {nm: length or None for nm, length in contigs.items()}
    return out


# -- BGZF2: the embedded frame index --------------------------------------------------------------


def plan_bgzf2(source: Any, target_bytes: "int | str" = "128MiB", n: int | None = None,
               regions: Any = None) -> list[Partition]:
    """Partitions of a BGZF2 file: runs of data frames (records never straddle frames).

    Units are ``(frame, offset, compressed size)``; frames holding only unplaced records
    (flagged in the index) become ``"unmapped tail"`` partitions.
    """
    from ..bgzf2 import Bgzf2Reader
    from ..bgzf2.frames import PZSTD_FRAME_SIZE

    reader = Bgzf2Reader(source)
    index = reader.index
    names = [r.name for r in index.references]
    coff = reader._coff.tolist()
    csize = reader._csize.tolist()
    first_tid: dict[int, int] = {}
    first_pos: dict[int, int] = {}
    last_tid: dict[int, int] = {}
    last_end: dict[int, int] = {}
    for f, t, s, e in zip(index.item_frame.tolist(), index.item_tid.tolist(),
                          index.item_start.tolist(), index.item_end.tolist()):
        if t < 0:
            continue
        if f not in first_tid or (t, s) < (first_tid[f], first_pos[f]):
            first_tid[f], first_pos[f] = t, s
        if f not in last_tid or (t, e) > (last_tid[f], last_end[f]):
            last_tid[f], last_end[f] = t, e

    def unit(f: int) -> Unit:
        off = coff[f] - PZSTD_FRAME_SIZE
        return Unit((f, coff[f], csize[f]), (off, coff[f] + csize[f]), csize[f] + PZSTD_FRAME_SIZE,
                    first_tid.get(f, -1), first_pos.get(f, 0), last_tid.get(f, -1),
                    last_end.get(f, 0))

    flagged = (index.frame_flags & 2).astype(bool).tolist()
    if regions is None:
        mapped = [unit(f) for f in range(reader.n_frames) if not flagged[f] or not index.aligned]
        tail = [unit(f) for f in range(reader.n_frames) if flagged[f] and index.aligned]
        total = sum(u.nbytes for u in mapped + tail)
        target = _target(total, target_bytes, n)
        parts = group_units(mapped, target, names, gap=0)
        parts += group_units(tail, target, names, kind="unmapped tail", gap=0)
        return renumber(parts)
    refs = {r.name: r.length for r in index.references}
    per_region = []
    for r in _regions(regions, refs):
        stop = r.stop if r.stop is not None else refs[r.contig]
        per_region.append((r, stop, [unit(f) for f in reader.frames_for(r.contig, r.start, stop)]))
    target = _target(sum(u.nbytes for _, _, us in per_region for u in us), target_bytes, n)
    out: list[Partition] = []
    for r, stop, units in per_region:
        out += group_units(units, target, names, region=(r.contig, r.start, stop), gap=0)
    return renumber(out)
