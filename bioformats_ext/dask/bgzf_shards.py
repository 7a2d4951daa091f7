"""BGZF shards (VCF.gz) written in parallel, concatenated, with one merged TBI/CSI.

A BGZF file's index is a function of the sequence of record pushes ``(tid, beg, end, end
voffset, mapped)`` (see ``shared/notes``: htslib's push/finish rules). Each shard writer records
its pushes — already translated to real virtual offsets, the same numbers its own index is
built from — and returns them with its reference names. Concatenating the shards' data blocks
(the first shard's header kept, the others' header blocks and every EOF block dropped) moves
shard ``k``'s blocks by a fixed number of bytes, so its pushes move by that many ``<< 16``;
replaying all shifted pushes into one :class:`~bioformats_ext.index.IndexBuilder` gives the
index of the concatenated file — the same bins, chunks, linear index and pseudo-bins that
indexing it from scratch would give — without reading any record again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..bgzf import EOF_BLOCK
from ..errors import FormatError
from ..io.atomic import AtomicFiles
from .sources import RangeTask, run_shards


@dataclass
class ShardPushes:
    """What a shard's index was built from, in real virtual offsets of the shard file."""

    path: str
    names: list[str]
    tids: np.ndarray
    begs: np.ndarray
    ends: np.ndarray
    voffsets: np.ndarray        # where each record ends
    mapped: np.ndarray
    offset0: int                # where the first record starts (after the header blocks)
    final: int                  # the EOF block's virtual offset


class _Recorder:
    """Wraps an IndexBuilder: records every push, then translates them like ``finish`` does."""

    def __init__(self, builder: Any):
        self._b = builder
        self._parts: list[tuple[np.ndarray, ...]] = []
        self.result: ShardPushes | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)

    def push(self, tid, beg, end, voffset, mapped=True) -> None:
        self._parts.append(tuple(np.array([x], np.int64) for x in (tid, beg, end, voffset,
                                                                   int(bool(mapped)))))
        self._b.push(tid, beg, end, voffset, mapped)

    def push_many(self, tids, begs, ends, voffsets, mapped=None, *args, **kwargs) -> None:
        n = len(tids)
        m = np.ones(n, np.int64) if mapped is None else np.asarray(mapped, np.int64)
        self._parts.append(tuple(np.array(x, np.int64) for x in (tids, begs, ends, voffsets))
                           + (m,))
        self._b.push_many(tids, begs, ends, voffsets, mapped, *args, **kwargs)

    def amend_last(self, voffset: int) -> None:
        if self._parts:
            self._parts[-1][3][-1] = voffset
        self._b.amend_last(voffset)

    def finish(self, final: int, block_addresses: Any = None) -> Any:
        cols = ([np.concatenate(c) for c in zip(*self._parts)] if self._parts
                else [np.zeros(0, np.int64)] * 5)

        def real(v: Any) -> Any:
            v = np.asarray(v, np.int64)
            if block_addresses is None:
                return v
            addr = np.asarray(block_addresses, np.int64)
            return (addr[v >> 16] << 16) | (v & 0xFFFF)

        self.result = ShardPushes("", list(getattr(self._b, "names", []) or []), cols[0], cols[1],
                                  cols[2],
                                  real(cols[3]), cols[4].astype(bool),
                                  int(real(self._b.offset0)), int(real(final)))
        return self._b.finish(final, block_addresses)


def _write_recorded(writer: Any, write: Any) -> ShardPushes:
    """Run ``write(writer)`` with the writer's index builder wrapped so its pushes are kept
    (the builder is the co-indexing sink's; the BGZF writer's amend callback is redirected)."""
    out: Any = writer._out
    rec = _Recorder(out._builder)
    out._builder = rec
    if getattr(out.container, "on_amend", None) is not None:
        out.container.on_amend = rec.amend_last
    with writer:
        write(writer)
    assert rec.result is not None
    rec.result.path = os.fspath(out.path)
    return rec.result


def write_vcf_shard(path: str, header: str, lines: Sequence[str], index: str = "tbi",
                    level: int | None = None) -> ShardPushes:
    """Write ``lines`` as a bgzipped VCF shard with its own index; return its pushes."""
    from ..vcf import VcfWriter

    return _write_recorded(VcfWriter(path, header, index=index, level=level),
                           lambda w: w.write_many(lines))


def write_bam_shard(path: str, header: Any, records: Any, index: str = "bai",
                    level: int | None = None) -> ShardPushes:
    """Write a BAM shard with its own BAI/CSI; return its pushes. ``records``: SAM lines, or a
    ``BamColumns`` batch (copied as stored, no re-encoding)."""
    from ..bam.writer import BamWriter

    return _write_recorded(BamWriter(path, header, index=index, level=level),
                           lambda w: w.write_columns(records) if hasattr(records, "ref_id")
                           else w.write_many(records))


def concat_bgzf(shards: Sequence[ShardPushes], target: "str | os.PathLike[str]",
                index: str = "tbi", preset: str | None = "vcf", max_ref_len: int | None = None,
                index_path: "str | None" = None, n_refs: int | None = None) -> str:
    """Concatenate BGZF shards (same header) into ``target`` and write its merged index.

    Shard 0 is copied up to its EOF block; every later shard from its first record's block
    (its header blocks are dropped) up to its EOF block; one EOF block ends the file. Returns
    the index path (``target + ".tbi"`` / ``".csi"`` / ``".bai"`` unless given). BAM: pass
    ``preset=None`` and ``n_refs`` (reference ids are the header's, the same in every shard).
    """
    from ..index import IndexBuilder

    target = os.fspath(target)
    index_path = index_path or f"{target}.{index}"
    off0 = shards[0].offset0
    if index == "bai":
        builder = IndexBuilder.bai(n_refs or 0, offset0=off0, strict=True)
    elif index == "tbi":
        builder = IndexBuilder.tbi(preset or "vcf", offset0=off0)
    elif preset is None:
        builder = IndexBuilder.csi(max_ref_len=max_ref_len, offset0=off0, n_refs=n_refs,
                                   strict=True)
    else:
        builder = IndexBuilder.csi(max_ref_len=max_ref_len, offset0=off0, tabix=preset)
    files = AtomicFiles()
    try:
        out = files.open(target)
        pos = 0
        for k, shard in enumerate(shards):
            begin = 0 if k == 0 else shard.offset0 >> 16
            if shard.offset0 & 0xFFFF:
                raise FormatError(f"{shard.path}: records do not start on a block boundary")
            end = shard.final >> 16
            with open(shard.path, "rb") as f:
                f.seek(begin)
                remaining = end - begin
                while remaining:
                    chunk = f.read(min(remaining, 8 << 20))
                    if not chunk:
                        raise FormatError(f"{shard.path}: shorter than its index says")
                    out.write(chunk)
                    remaining -= len(chunk)
                tail = f.read()
            if tail != EOF_BLOCK:
                raise FormatError(f"{shard.path}: does not end with exactly one BGZF EOF block")
            shift = (pos - begin) << 16
            if len(shard.tids):
                if preset is None:  # BAM: header tids, -1 for unplaced
                    tids = shard.tids
                else:
                    tids = builder.tids_for([shard.names[t] for t in shard.tids.tolist()])
                builder.push_many(tids, shard.begs, shard.ends, shard.voffsets + shift,
                                  shard.mapped)
            pos += end - begin
        out.write(EOF_BLOCK)
        builder.finish(pos << 16)
        stream: Any = files.open(index_path)
        if index == "bai":
            builder.write_bai(stream, n_refs)
        elif index == "tbi":
            builder.write_tbi(stream, builder.names)
        elif preset is None:
            builder.write_csi(stream)
        else:
            builder.write_csi(stream, builder.names)
        files.commit()
    except BaseException:
        files.abort()
        raise
    return index_path


@dataclass(frozen=True)
class VcfBgzfShardTask(RangeTask):
    """Recompress one partition of a VCF.gz into a BGZF shard; return its pushes."""

    header: str
    shard_dir: str
    index: str
    level: int | None

    def __call__(self, part: Any) -> ShardPushes:
        lines = self.bgzf_bytes(part).decode().splitlines(keepends=True)
        path = os.path.join(self.shard_dir, f"part{part.index:06d}.vcf.gz")
        return write_vcf_shard(path, self.header, lines, self.index, self.level)


def vcf_to_bgzf(source: Any, target: "str | os.PathLike[str]", index: str = "tbi",
                target_bytes: "int | str" = "64MiB", n: int | None = None,
                storage_options: dict | None = None, tmpdir: str | None = None,
                level: int | None = None) -> int:
    """Rewrite a VCF.gz with Dask: each worker writes a BGZF shard, the client concatenates
    them and writes one TBI/CSI from the shards' shifted pushes. Returns the shard count."""
    from ..vcf import parse_contigs
    from .write import plan_vcf

    loc, size, header, parts = plan_vcf(source, target_bytes, n, storage_options)
    target = os.fspath(target)
    lengths = [length for _, length in parse_contigs(header) if length]
    return run_shards(
        target, tmpdir, parts,
        lambda d: VcfBgzfShardTask(loc, size, storage_options, header, d, index, level),
        lambda d: write_vcf_shard(os.path.join(d, "empty.vcf.gz"), header, [], index, level),
        lambda shards: concat_bgzf(shards, target, index, "vcf",
                                   max(lengths) if lengths else None))


@dataclass(frozen=True)
class BamBgzfShardTask(RangeTask):
    """Rewrite one partition of a BAM as a BAM shard (records copied as stored)."""

    header: Any                 # BamHeader (picklable)
    shard_dir: str
    index: str
    level: int | None

    def __call__(self, part: Any) -> ShardPushes:
        from ..bam.columns import decode_columns

        cols = decode_columns(self.bgzf_bytes(part), n_refs=len(self.header.names))
        path = os.path.join(self.shard_dir, f"part{part.index:06d}.bam")
        return write_bam_shard(path, self.header, cols, self.index, self.level)


def bam_to_bgzf(source: Any, target: "str | os.PathLike[str]", index: str = "bai",
                target_bytes: "int | str" = "64MiB", n: int | None = None,
                storage_options: dict | None = None, tmpdir: str | None = None,
                level: int | None = None) -> int:
    """Rewrite a BAM with Dask: workers write BAM shards of its partitions (unplaced tail
    included), the client concatenates them and writes one BAI/CSI from the shards' shifted
    pushes (equal to ``samtools index`` of the result). Returns the shard count."""
    from ..bam.reader import BamReader
    from ..io.source import open_source
    from .plan import bgzf_context, plan_bgzf
    from .read import _location

    opts = {"storage_options": storage_options} if storage_options else {}
    with open_source(source, **opts) as src:
        ctx = bgzf_context(source, src, "bam", None, storage_options)
        header = BamReader(src).header
        parts = plan_bgzf(ctx["index"], ctx["names"], ctx["lengths"], src.size, ctx["eof"],
                          target_bytes, n, first_record=ctx["first_record"], unmapped_tail=True)
        size = src.size
    target = os.fspath(target)
    loc = _location(source)
    return run_shards(
        target, tmpdir, parts,
        lambda d: BamBgzfShardTask(loc, size, storage_options, header, d, index, level),
        lambda d: write_bam_shard(os.path.join(d, "empty.bam"), header, [], index, level),
        lambda shards: concat_bgzf(shards, target, index, None,
                                   max(header.lengths, default=0) or None,
                                   n_refs=len(header.names)))
