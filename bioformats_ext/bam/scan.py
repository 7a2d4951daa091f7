"""Vectorised scanning of BAM record bytes: boundaries, refID, pos, end, flag — no per-field Python.

The BAM indexer (and the BAM reader) need, per record, where it starts/ends and its reference
span. The chain of ``block_size`` fields is sequential: :func:`record_starts` walks it with one
``unpack_from`` per record, :func:`walk_records` walks many stretches of it at once with numpy,
speculating that BGZF block starts are record starts (exact either way). Every field after that is
gathered with numpy over the whole batch, and the alignment end comes from summing the
reference-consuming CIGAR operations (M, D, N, =, X) per record.

Records with more than 65535 CIGAR operations store a two-operation placeholder ``<l_seq>S<ref_len>N``
and the real CIGAR in the ``CG`` tag; the placeholder's N length *is* the reference length, so the
end computed from it equals the end from the real CIGAR (htslib's ``bam_endpos`` after its
``CG`` substitution). Unmapped reads and reads without reference-consuming operations end at
``pos + 1``, as in htslib.
"""

from __future__ import annotations

import struct
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from typing import Any

import numpy as np

#: bytes, bytearray, memoryview or a uint8 numpy array (what the buffers here may be)
ByteData = Any

from ..errors import FormatError, TruncatedFileError

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U32 = struct.Struct("<I")
#: Larger block_size values are treated as corruption (bounds memory use on bad input).
MAX_RECORD_SIZE = 1 << 28
#: CIGAR operations that consume the reference (M D N = X), as a bit set over op codes
_REF_CONSUMING_BITS = np.uint32((1 << 0) | (1 << 2) | (1 << 3) | (1 << 7) | (1 << 8))


def _ref_length(ops: np.ndarray) -> np.ndarray:
    """Reference length of each CIGAR operation (u32 ``len << 4 | op``): len for M D N = X, else 0."""
    return ((ops >> 4) * ((_REF_CONSUMING_BITS >> (ops & 0xF)) & 1)).astype(np.int64)


@dataclass
class BamHeader:
    text: str
    names: list[str]
    lengths: list[int]
    end: int  # offset in the uncompressed stream where the first record starts


def parse_header(data: "ByteData") -> BamHeader:
    """Parse the BAM header at the start of the uncompressed stream.

    Raises :class:`TruncatedFileError` if ``data`` does not yet hold the whole header (callers
    streaming blocks may catch it and retry with more data).
    """
    with memoryview(data) as mv:
        return _parse_header(mv)


def _parse_header(mv: memoryview) -> BamHeader:
    if len(mv) < 12:
        if len(mv) >= 4 and bytes(mv[:4]) != b"BAM\1":
            raise FormatError("not a BAM file (bad magic)", 0)
        raise TruncatedFileError("truncated BAM header", 0)
    if bytes(mv[:4]) != b"BAM\1":
        raise FormatError("not a BAM file (bad magic)", 0)
    (l_text,) = _I32.unpack_from(mv, 4)
    if l_text < 0:
        raise FormatError(f"BAM header: negative l_text {l_text}", 4)
    p = 8 + l_text
    if len(mv) < p + 4:
        raise TruncatedFileError("truncated BAM header text", 8)
    text = bytes(mv[8:p]).split(b"\0", 1)[0].decode("utf-8", "replace")
    (n_ref,) = _I32.unpack_from(mv, p)
    if n_ref < 0:
        raise FormatError(f"BAM header: negative n_ref {n_ref}", p)
    p += 4
    names, lengths = [], []
    for _ in range(n_ref):
        if len(mv) < p + 4:
            raise TruncatedFileError("truncated BAM reference list", p)
        (l_name,) = _I32.unpack_from(mv, p)
        if l_name < 1:
            raise FormatError(f"BAM header: bad reference name length {l_name}", p)
        if len(mv) < p + 4 + l_name + 4:
            raise TruncatedFileError("truncated BAM reference list", p)
        names.append(bytes(mv[p + 4:p + 4 + l_name - 1]).decode("utf-8", "replace"))
        (l_ref,) = _U32.unpack_from(mv, p + 4 + l_name)  # uint32 (SAMv1): 3 Gbp references
        lengths.append(l_ref)
        p += 8 + l_name
    return BamHeader(text, names, lengths, p)


def record_starts(buf: "ByteData", pos: int, limit: int | None = None
                  ) -> tuple[np.ndarray, int]:
    """Start offsets of the complete records in ``buf[pos:limit]`` and where the next one starts.

    The ``block_size`` chain is inherently sequential; this loop is the only per-record Python,
    kept to one unpack and one append (sizes are read unsigned so the walk always advances; they
    are validated afterwards, vectorised, by :func:`scan_fields`).
    """
    limit = len(buf) if limit is None else limit
    starts: list[int] = []
    append = starts.append
    with _u32_at(buf, limit) as at:
        try:
            while True:
                append(pos)
                pos += at[pos & 3][pos >> 2] + 4
        except (IndexError, struct.error):
            pass
    failed = starts.pop()          # the position where no 4-byte size was left
    if failed > limit:             # the last record runs past the data: not complete yet
        failed = starts.pop()
        (size,) = _U32.unpack_from(buf, failed)
        if size > MAX_RECORD_SIZE:  # do not buffer the rest of the file for a corrupt size
            raise FormatError(f"BAM record with block_size {size}", failed)
    return np.array(starts, dtype=np.int64), failed




def _u32_view(buf: "ByteData", limit: int | None = None) -> np.ndarray:
    """Little-endian u32 starting at every byte offset below ``limit - 3`` (an unaligned view, no
    copy): one fancy index then gathers a 4-byte field for a whole batch of records."""
    limit = len(buf) if limit is None else limit
    return np.ndarray((max(limit - 3, 0),), dtype="<u4", buffer=buf, strides=(1,))


#: Fewer speculative segments than this: the lockstep walk costs more than it saves.
_MIN_SEGMENTS = 24
_MAX_SEGMENT = 1 << 18
#: Fewer chains than this left: one numpy step costs more than walking them in Python.
_SCALAR_TAIL = 32


def walk_records(buf: "ByteData", pos: int,
                 hints: "np.ndarray | list[int] | tuple[()]",
                 limit: int | None = None) -> tuple[np.ndarray, int]:
    """:func:`record_starts` that walks many stretches of the chain at once, with numpy.

    ``hints`` are offsets that probably start a record: BGZF block starts (htslib, and so
    samtools, flushes a block rather than split a record that fits in the next one). The chain
    is walked in lockstep from ``pos`` and from every hint, each up to the next hint, one
    vectorised gather per step. Then the true chain is followed across the stretches: a stretch
    is taken whole when the chain lands exactly on its hint (from a true start the speculative
    walk *is* the true walk); otherwise (a record spans the block boundary, or another writer
    splits records) that stretch is walked record by record. The result is always exactly
    :func:`record_starts`' result; only the speed depends on how good the hints are.
    """
    limit = len(buf) if limit is None else limit
    hints = np.asarray(hints, dtype=np.int64)
    hints = hints[(hints > pos) & (hints < limit - 3)]
    bounds = np.concatenate(([pos], hints, [limit]))
    if (len(hints) + 1 < _MIN_SEGMENTS or pos >= limit - 3
            or (np.diff(bounds) > _MAX_SEGMENT).any()):
        return record_starts(buf, pos, limit)
    lo_b, hi_b = bounds[:-1], bounds[1:]
    k_all = len(lo_b)
    u32 = _u32_view(buf, limit)
    exit_at = np.zeros(k_all, dtype=np.int64)   # where each stretch's chain leaves it
    sane = np.ones(k_all, dtype=bool)           # no impossible block_size (< 32) met
    seg = np.arange(k_all)
    p = lo_b.copy()
    # a chain also stops in the last 3 bytes (no size to read there; no complete record either)
    hi = np.minimum(hi_b, limit - 3)
    got_p: list[np.ndarray] = []
    got_k: list[np.ndarray] = []
    step = 0
    while len(seg) >= _SCALAR_TAIL:
        got_p.append(p)
        got_k.append(seg)
        size = u32[p]
        nxt = p + size
        nxt += 4
        cont = nxt < hi
        step += 1
        if not step & 7:   # now and then: stop chains that met an impossible size (garbage)
            cont &= size >= 32
        if np.count_nonzero(cont) == len(cont):
            p = nxt
            continue
        done = ~cont
        ended = seg[done]
        exit_at[ended] = nxt[done]
        sane[ended] = size[done] >= 32
        seg, p, hi = seg[cont], nxt[cont], hi[cont]
    # the few longest stretches (many small records) are cheaper record by record
    for k, at in zip(seg.tolist(), p.tolist()):
        part, exit_at[k] = _walk_until(buf, at, int(hi_b[k]), limit)
        got_p.append(part)
        got_k.append(np.full(len(part), k))
    # follow the true chain across the stretches
    accepted = np.zeros(k_all, dtype=bool)
    slow: list[np.ndarray] = []
    cur = pos
    lo_l, hi_l, ex_l, ok_l = lo_b.tolist(), hi_b.tolist(), exit_at.tolist(), sane.tolist()
    for k in range(k_all):
        if cur >= hi_l[k]:
            continue                           # one record covers this whole stretch
        if cur == lo_l[k] and ok_l[k]:
            accepted[k] = True
            cur = ex_l[k]
        else:
            part, cur = _walk_until(buf, cur, hi_l[k], limit)
            slow.append(part)
    fast = np.concatenate(got_p)[accepted[np.concatenate(got_k)]]
    starts = np.sort(np.concatenate([fast] + slow)) if slow else np.sort(fast)
    if len(starts):
        last = int(starts[-1])
        if last + 4 > limit or last + 4 + int(u32[last]) > limit:  # last record not complete
            starts = starts[:-1]
            if last + 4 <= limit and int(u32[last]) > MAX_RECORD_SIZE:
                raise FormatError(f"BAM record with block_size {int(u32[last])}", last)
            cur = last
    return starts, cur


def _walk_until(buf, pos: int, stop: int, limit: int) -> tuple[np.ndarray, int]:
    """Record starts from ``pos`` until the chain reaches ``stop`` (or runs out of ``limit``)."""
    starts: list[int] = []
    append = starts.append
    with _u32_at(buf, limit) as at:
        try:
            while pos < stop:
                append(pos)
                pos += at[pos & 3][pos >> 2] + 4
        except (IndexError, struct.error):
            pos = starts.pop()
    return np.array(starts, dtype=np.int64), pos


class _StructPhase:
    """One byte phase of :func:`_u32_at` over ``struct`` (big-endian hosts)."""

    def __init__(self, mv: memoryview, phase: int):
        self._mv, self._phase = mv, phase

    def __getitem__(self, j: int) -> int:
        return _U32.unpack_from(self._mv, 4 * j + self._phase)[0]


@contextmanager
def _u32_at(buf, limit: int):
    """``at[p & 3][p >> 2]`` is the little-endian u32 at byte ``p`` of ``buf[:limit]`` (IndexError
    or struct.error past the end): four native u32 views, one per byte phase, so the Python walk
    reads each size with plain indexing (faster than ``unpack_from``). Views are released after."""
    with memoryview(buf) as whole, whole[:limit] as mv:
        if sys.byteorder != "little":
            yield [_StructPhase(mv, k) for k in range(4)]
            return
        parts = [mv[k:k + max(limit - k, 0) // 4 * 4] for k in range(4)]
        casts = [part.cast("I") for part in parts]
        try:
            yield casts
        finally:
            for view in casts + parts:
                view.release()


@dataclass
class RecordFields:
    """Per-record arrays for one batch (offsets are into the scanned buffer)."""

    start: np.ndarray      # offset of block_size
    stop: np.ndarray       # offset just past the record
    ref_id: np.ndarray
    pos: np.ndarray
    end: np.ndarray        # 0-based exclusive alignment end (pos + 1 when unmapped / no ref ops)
    flag: np.ndarray
    n_cigar: np.ndarray
    l_read_name: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def scan_fields(buf: "ByteData", starts: np.ndarray, n_refs: int | None = None,
                first_record: int = 0) -> RecordFields:
    """Gather refID, pos, flag and the CIGAR-derived end for records starting at ``starts``."""
    n = len(starts)
    starts = np.asarray(starts, dtype=np.int64)
    if n and int(starts[-1]) + 36 > len(buf):
        raise TruncatedFileError("BAM record shorter than its fixed fields", int(starts[-1]))
    # the first 20 bytes of every record as five u32 in one fancy index (rows of an overlapping,
    # unaligned view): block_size, refID, pos, bin|mapq|l_read_name, flag|n_cigar_op
    rows = np.ndarray((max(len(buf) - 19, 0), 5), dtype="<u4", buffer=buf, strides=(1, 4))
    core = rows[starts]
    del rows
    signed = core[:, :3].view("<i4")
    block_size = signed[:, 0].astype(np.int64)
    ref_id = signed[:, 1].astype(np.int64)
    pos = signed[:, 2].astype(np.int64)
    l_read_name = (core[:, 3] & 0xFF).astype(np.int64)
    n_cigar = (core[:, 4] & 0xFFFF).astype(np.int64)
    flag = (core[:, 4] >> 16).astype(np.int64)
    u32 = _u32_view(buf)
    stop = starts + 4 + block_size
    # structural checks, reported with the record number
    bad = ((block_size < 32) | (32 + l_read_name + 4 * n_cigar > block_size) | (l_read_name < 1)
           | (ref_id < -1) | (stop > len(buf)))
    if n_refs is not None:
        bad |= ref_id >= n_refs
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"BAM record {first_record + i}: inconsistent fields (refID {ref_id[i]}, "
                          f"l_read_name {l_read_name[i]}, n_cigar_op {n_cigar[i]}, block_size "
                          f"{block_size[i]})", int(starts[i]))
    # reference length from the CIGAR: one gather for single-operation records (most short
    # reads), a flattened gather + bincount over all operations for the others
    cig0 = starts + 36 + l_read_name
    mapped = (flag & 4) == 0
    rlen = np.zeros(n, dtype=np.int64)
    one = np.flatnonzero(mapped & (n_cigar == 1))
    if len(one):
        rlen[one] = _ref_length(u32[cig0[one]])
    many = np.flatnonzero(mapped & (n_cigar > 1))
    if len(many):
        nc = n_cigar[many]
        total = int(nc.sum())
        rec = np.repeat(np.arange(len(many)), nc)
        first = np.cumsum(nc) - nc
        within = np.arange(total, dtype=np.int64) - np.repeat(first, nc)
        ops = u32[np.repeat(cig0[many], nc) + 4 * within]
        contrib = _ref_length(ops)
        rlen[many] = np.bincount(rec, weights=contrib, minlength=len(many)).astype(np.int64)
    rlen[rlen == 0] = 1
    end = pos + rlen
    return RecordFields(starts, stop, ref_id, pos, end, flag, n_cigar, l_read_name)
