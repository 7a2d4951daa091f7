"""Split one BGZF2 file into several, or concatenate several into one, without recompression.

The compressed data frames (and their pzstd frames) are copied verbatim, one range per part;
only the small index frame and the seek table are rebuilt: per-frame index entries are shifted
by the number of frames before them, record counts are summed, seek-table entries are copied.
This is the seed's "turn one BGZF2 into multiple sub-BGZF2 without any decompression and
recompression", and its inverse for shards written in parallel (see :mod:`bioformats_ext.dask`).
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Sequence

import numpy as np

from ..errors import FormatError
from ..io.atomic import AtomicFile
from .frames import EMPTY_CHECKSUM, PZSTD_FRAME_SIZE, build_seek_table
from .index import Bgzf2Index, Reference
from .reader import Bgzf2Reader
from .writer import DEFAULT_LEVEL

COPY_CHUNK = 8 << 20
_COUNTS = ("nrec_mapped", "nrec_unmapped")


def _counts(meta: dict[str, str]) -> tuple[int, int]:
    try:
        return tuple(int(meta.get(k, 0)) for k in _COUNTS)  # type: ignore[return-value]
    except ValueError:
        raise FormatError(f"BGZF2 index record counts are not integers: {meta}") from None


def _with_counts(meta: dict[str, str], mapped: int, unmapped: int) -> dict[str, str]:
    out = dict(meta)
    out["nrec_mapped"] = str(mapped)
    out["nrec_unmapped"] = str(unmapped)
    return out


def _sub_index(index: Bgzf2Index, first: int, last: int, extra: tuple[int, int]) -> Bgzf2Index:
    """The index of data frames ``first..last-1`` renumbered from 0. ``extra``: counts the
    items do not carry (records in frames flagged as holding no placed records)."""
    keep = (index.item_frame >= first) & (index.item_frame < last)
    items = {"frame": index.item_frame[keep] - first, "tid": index.item_tid[keep],
             "start": index.item_start[keep], "end": index.item_end[keep],
             "aligned": index.item_aligned[keep], "unaligned": index.item_unaligned[keep]}
    refs = []
    for tid, ref in enumerate(index.references):
        mask = items["tid"] == tid
        refs.append(Reference(ref.name, ref.length,
                              _with_counts(ref.metadata, int(items["aligned"][mask].sum()),
                                           int(items["unaligned"][mask].sum())), ref.long))
    meta = _with_counts(index.metadata, int(items["aligned"].sum()) + extra[0],
                        int(items["unaligned"].sum()) + extra[1])
    return Bgzf2Index(refs, last - first, aligned=index.aligned, sorted=index.sorted,
                      metadata=meta, frame_flags=index.frame_flags[first:last].copy(),
                      items=items)


def _seek_entries(reader: Bgzf2Reader, first: int, last: int) -> tuple[np.ndarray, ...]:
    """Seek-table columns (compressed, decompressed, checksum) of the pzstd+data frame pairs
    of data frames ``first..last-1``."""
    t = reader.seek_table
    k = reader.frame_stride
    sl = slice(1 + k * first, 1 + k * last)
    checks = (t.checksums[sl] if t.checksums is not None
              else np.full(sl.stop - sl.start, EMPTY_CHECKSUM, np.int64))
    return t.compressed[sl], t.decompressed[sl], checks


def _remap_meta(frame: bytes, remap: np.ndarray, names: list[str], offset: int) -> bytes:
    """A frame-metadata frame with its reference ids renumbered (``remap[old] = new``)."""
    from .index import decode_metadata, encode_metadata
    from .stream import FRAME_META_MAGIC

    meta = decode_metadata(frame[8:], offset + 8)
    out: dict[str, str] = {}
    for key, value in meta.items():
        if key.startswith("ref."):
            old = int(key[4:])
            new = int(remap[old]) if 0 <= old < len(remap) - 1 else old
            out[f"ref.{new}"] = value
            if new >= 0:
                out[f"name.{new}"] = names[new]
        elif not key.startswith("name."):
            out[key] = value
    from .frames import skippable_frame

    return skippable_frame(FRAME_META_MAGIC, encode_metadata(out))


def _write(target: "str | os.PathLike[str] | BinaryIO", header: bytes,
           pieces: Sequence[tuple[Bgzf2Reader, int, int]], index: Bgzf2Index,
           checksums: bool, level: int,
           remaps: "Sequence[np.ndarray | None] | None" = None) -> None:
    """Header frame, the frame pairs of each ``(reader, first, last)`` copied verbatim, the
    rebuilt index frame and seek table. Paths are written atomically."""
    atomic = AtomicFile(target) if isinstance(target, (str, os.PathLike)) else None
    out: BinaryIO = atomic.handle if atomic is not None else target  # type: ignore[assignment]
    try:
        out.write(header)
        comp = [np.array([len(header)], np.int64)]
        decomp = [np.zeros(1, np.int64)]
        check = [np.full(1, EMPTY_CHECKSUM, np.int64)]
        names = [r.name for r in index.references]
        for p, (reader, first, last) in enumerate(pieces):
            if last <= first:
                continue
            t = reader.seek_table
            stride = reader.frame_stride
            remap = remaps[p] if remaps is not None else None
            c, d, k = _seek_entries(reader, first, last)
            if remap is not None and stride == 3:
                # frame metadata names references by id: rewrite those small frames, copy
                # the pzstd and data frames verbatim
                c = c.copy()
                for i in range(first, last):
                    at = 1 + stride * i
                    off = int(t.offsets[at])
                    meta = _remap_meta(reader.source.read(off, int(t.compressed[at])), remap,
                                       names, off)
                    out.write(meta)
                    c[stride * (i - first)] = len(meta)
                    pair = int(t.offsets[at + 1])
                    out.write(reader.source.read(pair, int(t.offsets[at + 3]) - pair))
            else:
                begin = int(t.offsets[1 + stride * first])
                end = int(t.offsets[1 + stride * last])
                pos = begin
                while pos < end:
                    n = min(COPY_CHUNK, end - pos)
                    out.write(reader.source.read(pos, n))
                    pos += n
            comp.append(c)
            decomp.append(d)
            check.append(k)
        frame = index.to_frame(level)
        out.write(frame)
        comp.append(np.array([len(frame)], np.int64))
        decomp.append(np.zeros(1, np.int64))
        check.append(np.full(1, EMPTY_CHECKSUM, np.int64))
        out.write(build_seek_table(np.concatenate(comp), np.concatenate(decomp),
                                   np.concatenate(check) if checksums else None))
        out.flush()
    except BaseException:
        if atomic is not None:
            atomic.discard()
        raise
    if atomic is not None:
        atomic.commit()


def _raw_frame(reader: Bgzf2Reader, i: int) -> bytes:
    t = reader.seek_table
    at = reader.frame_stride * (i + 1)
    return reader.source.read(int(t.offsets[at]), int(t.compressed[at]))


def _header_bytes(reader: Bgzf2Reader) -> bytes:
    return reader.source.read(0, int(reader.seek_table.compressed[0]))


def frame_cuts(reader: Bgzf2Reader, parts: "int | Sequence[int]") -> list[tuple[int, int]]:
    """``(first, last)`` data-frame ranges: ``parts`` shards of about equal compressed size,
    or the given first-frame numbers (e.g. ``[0, 10, 25]``)."""
    n = reader.n_frames
    if isinstance(parts, int):
        if parts < 1:
            raise ValueError("parts must be >= 1")
        sizes = np.asarray(reader._csize, np.int64) + PZSTD_FRAME_SIZE
        cum = np.cumsum(sizes)
        total = int(cum[-1]) if n else 0
        starts = sorted({0, *(int(np.searchsorted(cum, total * k / parts, "right"))
                              for k in range(1, parts))} - {n})
    else:
        starts = sorted(set(int(s) for s in parts) | {0})
        if starts[-1] > n or starts[0] < 0:
            raise ValueError(f"frame numbers must lie in 0..{n}")
        starts = [s for s in starts if s < n] or [0]
    return list(zip(starts, starts[1:] + [n]))


def split(source: Any, parts: "int | Sequence[int]",
          targets: "Sequence[str | os.PathLike[str]] | str", level: int = DEFAULT_LEVEL
          ) -> list[str]:
    """Write ``source`` as several BGZF2 files, frames copied verbatim.

    ``parts``: a number of shards (cut at frame boundaries, about equal compressed size) or
    the first data-frame number of each shard. ``targets``: one path per shard, or a pattern
    with ``{i}`` (``"out.{i}.bam.bgzf2"``). Each shard keeps the header frame (file type),
    references and metadata, so it is a valid BGZF2 file on its own; :func:`concat` of the
    shards gives back the original file.
    """
    with Bgzf2Reader(source) as reader:
        cuts = frame_cuts(reader, parts)
        if isinstance(targets, str):
            paths = [targets.format(i=i) for i in range(len(cuts))]
        else:
            paths = [os.fspath(t) for t in targets]
        if len(paths) != len(cuts):
            raise ValueError(f"{len(cuts)} shards but {len(paths)} targets")
        index = reader.index
        items = np.array([index.item_aligned.sum(), index.item_unaligned.sum()])
        hidden = np.array(_counts(index.metadata)) - items  # counts of flag-2 frames
        flagged = np.flatnonzero(index.frame_flags & 2)
        owner = int(np.searchsorted([c[0] for c in cuts], flagged[-1], "right")) - 1 \
            if len(flagged) else -1
        header = _header_bytes(reader)
        checks = reader.seek_table.checksums is not None
        for i, ((first, last), path) in enumerate(zip(cuts, paths)):
            extra = (int(hidden[0]), int(hidden[1])) if i == owner else (0, 0)
            _write(path, header, [(reader, first, last)], _sub_index(index, first, last, extra),
                   checks, level)
    return paths


def _shared_header_frames(readers: Sequence[Bgzf2Reader]) -> list[int]:
    """How many leading data frames of each part repeat the first part's header frames.

    The header frames of the first part are its leading frames without placed records (a
    VCF/BAM header is written and flushed before any record). A later part's leading frames
    are skipped only when their compressed bytes are identical to those, so nothing but an
    exact copy of the header is ever dropped."""
    first = readers[0]
    k = 0
    flags = first.index.frame_flags
    while k < first.n_frames and flags[k] & 2 and first.index.aligned:
        k += 1
    if k == first.n_frames:
        k = 0  # the whole first part is unplaced data, not a header
    head = [_raw_frame(first, i) for i in range(k)]
    out = [0]
    for rd in readers[1:]:
        same = k <= rd.n_frames and all(_raw_frame(rd, i) == head[i] for i in range(k))
        out.append(k if same else 0)
    return out


def concat(parts: Sequence[Any], target: "str | os.PathLike[str] | BinaryIO",
           level: int = DEFAULT_LEVEL, shared_header: bool = False) -> None:
    """Concatenate BGZF2 files (same references) into one, frames copied verbatim; the index
    frame and seek table are rebuilt (entries shifted, record counts summed). The result is
    marked sorted only when every part is and their ranges follow each other.

    ``shared_header``: the parts were written with the same header (e.g. one VCF/BAM writer
    per shard); the header frames of every part after the first are dropped when they are
    byte-identical to the first part's."""
    readers = [Bgzf2Reader(p) for p in parts]
    try:
        if not readers:
            raise ValueError("nothing to concatenate")
        first = readers[0].index
        # references: the union by name, in order of first appearance (writers that number
        # references as records arrive give each shard its own list); lengths must agree
        ref_ids: dict[str, int] = {}
        merged: list[list] = []   # [name, length, long, mapped, unmapped, metadata]
        remaps = []
        for rd in readers:
            if rd.index.aligned != first.aligned:
                raise FormatError(f"{rd.source.name}: aligned flag differs")
            remap: list[int] = []
            for ref in rd.index.references:
                i = ref_ids.get(ref.name)
                if i is None:
                    i = ref_ids[ref.name] = len(merged)
                    merged.append([ref.name, ref.length, ref.long, 0, 0, dict(ref.metadata)])
                elif ref.length and merged[i][1] and ref.length != merged[i][1]:
                    raise FormatError(f"{rd.source.name}: references differ from "
                                      f"{readers[0].source.name}'s ({ref.name} has length "
                                      f"{ref.length}, not {merged[i][1]}); cannot concatenate")
                merged[i][1] = merged[i][1] or ref.length
                merged[i][2] = merged[i][2] or ref.long
                a, u = _counts(ref.metadata)
                merged[i][3] += a
                merged[i][4] += u
                remap.append(i)
            remaps.append(np.array(remap + [-1], np.int64))  # index -1 maps unplaced to -1
        if len({rd.frame_stride for rd in readers}) > 1:
            raise FormatError("cannot concatenate BGZF2 files with and without per-frame "
                              "metadata frames")
        skip = _shared_header_frames(readers) if shared_header else [0] * len(readers)
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("frame", "tid", "start", "end",
                                                              "aligned", "unaligned")}
        flags = []
        shift = 0
        total = np.zeros(2, np.int64)
        is_sorted = all(rd.index.sorted for rd in readers)
        last_key: tuple[int, int] | None = None
        for rd, drop, rmap in zip(readers, skip, remaps):
            ix = rd.index
            keep = ix.item_frame >= drop
            cols["frame"].append(ix.item_frame[keep] - drop + shift)
            tids: np.ndarray = rmap[ix.item_tid]
            for k, arr in (("tid", tids), ("start", ix.item_start), ("end", ix.item_end),
                           ("aligned", ix.item_aligned), ("unaligned", ix.item_unaligned)):
                cols[k].append(arr[keep])
            flags.append(ix.frame_flags[drop:])
            shift += rd.n_frames - drop
            total += _counts(ix.metadata)
            placed = tids >= 0
            if placed.any():
                keys = list(zip(tids[placed].tolist(), ix.item_start[placed].tolist()))
                lo, hi = min(keys), max(keys)
                if last_key is not None and lo < last_key:
                    is_sorted = False
                last_key = hi
        refs = [Reference(name, length, _with_counts(meta, a, u), long)
                for name, length, long, a, u, meta in merged]
        index = Bgzf2Index(refs, shift, aligned=first.aligned, sorted=is_sorted,
                           metadata=_with_counts(first.metadata, int(total[0]), int(total[1])),
                           frame_flags=np.concatenate(flags) if flags else None,
                           items={k: np.concatenate(v) for k, v in cols.items()})
        checks = all(rd.seek_table.checksums is not None for rd in readers)
        identity = [None if np.array_equal(r[:-1], np.arange(len(r) - 1)) else r for r in remaps]
        _write(target, _header_bytes(readers[0]),
               [(rd, drop, rd.n_frames) for rd, drop in zip(readers, skip)], index, checks, level,
               identity)
    finally:
        for rd in readers:
            rd.close()
