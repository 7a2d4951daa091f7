"""Vectorised scanning of BAM record bytes: boundaries, refID, pos, end, flag — no per-field Python.

The BAM indexer (and the BAM reader) need, per record, where it starts/ends and its reference
span. Only the chain of ``block_size`` fields is walked in Python (one ``unpack_from`` per
record); every field after that is gathered with numpy over the whole batch, and the alignment end
comes from summing the reference-consuming CIGAR operations (M, D, N, =, X) per record.

Records with more than 65535 CIGAR operations store a two-operation placeholder ``<l_seq>S<ref_len>N``
and the real CIGAR in the ``CG`` tag; the placeholder's N length *is* the reference length, so the
end computed from it equals the end from the real CIGAR (htslib's ``bam_endpos`` after its
``CG`` substitution). Unmapped reads and reads without reference-consuming operations end at
``pos + 1``, as in htslib.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError, TruncatedFileError

_I32 = struct.Struct("<i")
#: CIGAR operations that consume the reference: M D N = X
#: Larger block_size values are treated as corruption (bounds memory use on bad input).
MAX_RECORD_SIZE = 1 << 28
_REF_CONSUMING = np.zeros(16, dtype=np.int64)
_REF_CONSUMING[[0, 2, 3, 7, 8]] = 1


@dataclass
class BamHeader:
    text: str
    names: list[str]
    lengths: list[int]
    end: int  # offset in the uncompressed stream where the first record starts


def parse_header(data: "bytes | bytearray | memoryview") -> BamHeader:
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
        (l_ref,) = _I32.unpack_from(mv, p + 4 + l_name)
        lengths.append(l_ref)
        p += 8 + l_name
    return BamHeader(text, names, lengths, p)


def record_starts(buf: "bytes | bytearray | memoryview", pos: int, limit: int | None = None
                  ) -> tuple[np.ndarray, int]:
    """Start offsets of the complete records in ``buf[pos:limit]`` and where the next one starts.

    The ``block_size`` chain is inherently sequential; this loop is the only per-record Python,
    kept to one unpack and one append (sizes are read unsigned so the walk always advances; they
    are validated afterwards, vectorised, by :func:`scan_fields`).
    """
    limit = len(buf) if limit is None else limit
    starts: list[int] = []
    append = starts.append
    unpack = _U32.unpack_from
    with memoryview(buf) as whole, whole[:limit] as mv:
        try:
            while True:
                append(pos)
                pos += unpack(mv, pos)[0] + 4
        except struct.error:
            pass
    failed = starts.pop()          # the position where no 4-byte size was left
    if failed > limit:             # the last record runs past the data: not complete yet
        failed = starts.pop()
        (size,) = _U32.unpack_from(buf, failed)
        if size > MAX_RECORD_SIZE:  # do not buffer the rest of the file for a corrupt size
            raise FormatError(f"BAM record with block_size {size}", failed)
    return np.array(starts, dtype=np.int64), failed


_U32 = struct.Struct("<I")
_CORE = np.dtype([("block_size", "<i4"), ("ref_id", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"),
                  ("mapq", "u1"), ("bin", "<u2"), ("n_cigar", "<u2"), ("flag", "<u2"),
                  ("l_seq", "<i4"), ("next_ref_id", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4")])


def _windows(u8: np.ndarray, width: int) -> np.ndarray:
    """Overlapping ``width``-byte rows starting at every offset (a view, no copy)."""
    n = max(len(u8) - width + 1, 0)
    return np.lib.stride_tricks.as_strided(u8, shape=(n, width), strides=(1, 1), writeable=False)


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


def scan_fields(buf: "bytes | bytearray | memoryview", starts: np.ndarray, n_refs: int | None = None,
                first_record: int = 0) -> RecordFields:
    """Gather refID, pos, flag and the CIGAR-derived end for records starting at ``starts``."""
    u8 = np.frombuffer(buf, dtype=np.uint8)
    n = len(starts)
    if n and int(starts[-1]) + 36 > len(u8):
        raise TruncatedFileError("BAM record shorter than its fixed fields", int(starts[-1]))
    core = np.ascontiguousarray(_windows(u8, 36)[starts]).view(_CORE).ravel()
    block_size = core["block_size"].astype(np.int64)
    ref_id = core["ref_id"].astype(np.int64)
    pos = core["pos"].astype(np.int64)
    l_read_name = core["l_read_name"].astype(np.int64)
    n_cigar = core["n_cigar"].astype(np.int64)
    flag = core["flag"].astype(np.int64)
    stop = starts + 4 + block_size
    # structural checks, reported with the record number
    bad = ((block_size < 32) | (32 + l_read_name + 4 * n_cigar > block_size) | (l_read_name < 1)
           | (ref_id < -1))
    if n_refs is not None:
        bad |= ref_id >= n_refs
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"BAM record {first_record + i}: inconsistent fields (refID {ref_id[i]}, "
                          f"l_read_name {l_read_name[i]}, n_cigar_op {n_cigar[i]}, block_size "
                          f"{block_size[i]})", int(starts[i]))
    # CIGAR: flatten all operations of the batch, then sum reference-consuming lengths per record
    cig0 = starts + 36 + l_read_name
    total = int(n_cigar.sum())
    rlen = np.zeros(n, dtype=np.int64)
    if total:
        rec = np.repeat(np.arange(n), n_cigar)
        first = np.cumsum(n_cigar) - n_cigar
        within = np.arange(total, dtype=np.int64) - np.repeat(first, n_cigar)
        where = np.repeat(cig0, n_cigar) + 4 * within
        ops = np.ascontiguousarray(_windows(u8, 4)[where]).view("<u4").ravel()
        contrib = (ops >> 4).astype(np.int64) * _REF_CONSUMING[ops & 0xF]
        rlen = np.bincount(rec, weights=contrib, minlength=n).astype(np.int64)
    unmapped = (flag & 4) != 0
    rlen[unmapped] = 0
    rlen[rlen == 0] = 1
    end = pos + rlen
    return RecordFields(starts, stop, ref_id, pos, end, flag, n_cigar, l_read_name)
