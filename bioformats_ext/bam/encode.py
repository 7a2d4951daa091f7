"""SAM text and record objects → BAM records, in batches, as htslib's ``sam_parse1`` +
``bam_write1`` encode them.

:meth:`SamEncoder.encode` hands each batch to the vectorised encoder
(:mod:`~bioformats_ext.bam.sam_batch`: numpy over the joined batch, no per-line split). Lines it
leaves — rare shapes such as > 65535 CIGAR operations (stored with a ``CG`` tag) and bad lines —
go through the per-line encoder here (``bytes.split``, ``int()``, cached CIGAR and tag
encodings), which also names the first bad line in its error. Both give records byte-identical
to what htslib writes for the same SAM text (same integer tag types, same bin, CG tag).
:func:`encode_mixed` adds record objects: ours are copied as stored, others re-encoded from
their SAM text.
"""

from __future__ import annotations

import struct
from operator import attrgetter
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import RecordError
from .header import BamHeader
from .sam_batch import Scratch, encode_lines
from .sam_fields import (_QUAL_TABLE, _SEQ_TABLE, CIGAR_OPS, FIXED, SEQ_CODES, EncodedBatch,
                         encode_tag, fixed_headers, parse_cigar, reg2bin, reg2bin_array)

__all__ = ["CIGAR_OPS", "FIXED", "SEQ_CODES", "EncodedBatch", "SamEncoder", "encode_mixed",
           "encode_tag", "parse_cigar", "reg2bin", "reg2bin_array", "to_sam_bytes"]

_TAG_CACHE_LIMIT = 1 << 16
_MAX_CIGAR_OPS = 0xFFFF


class SamEncoder:
    """Encodes SAM text lines against one header; keeps work buffers (batch encoder) and CIGAR /
    tag caches (per-line encoder) across batches.

    :meth:`encode` takes the vectorised path; the per-line path (:meth:`_encode`) handles the
    lines it leaves, and :meth:`encode_one` locates and reports a bad line.
    """

    def __init__(self, header: BamHeader):
        self.header = header
        self._tids = {name.encode(): tid for tid, name in enumerate(header.names)}
        self._tids[b"*"] = -1
        self._cigars: dict[bytes, tuple[bytes, int, int, int]] = {b"*": (b"", 0, 0, -1)}
        self._tags: dict[bytes, bytes] = {}
        self._scratch = Scratch()

    def _cigar(self, text: bytes) -> tuple[bytes, int, int, int]:
        hit = self._cigars.get(text)
        if hit is None:
            hit = parse_cigar(text)
            if len(self._cigars) > _TAG_CACHE_LIMIT:
                self._cigars.clear()
                self._cigars[b"*"] = (b"", 0, 0, -1)
            self._cigars[text] = hit
        return hit

    def _tag_block(self, text: bytes) -> bytes:
        """All tags of a record (the tab-joined tail of the line), cached as a whole."""
        hit = self._tags.get(text)
        if hit is None:
            hit = b"".join([encode_tag(t) for t in text.split(b"\t")]) if text else b""
            if len(self._tags) > _TAG_CACHE_LIMIT:
                self._tags.clear()
            self._tags[text] = hit
        return hit

    def encode(self, lines: Sequence[bytes], first_record: int = 0) -> EncodedBatch:
        """Encode SAM lines (bytes, no header lines). ``first_record`` is how many records came
        before them: errors name records from ``first_record + 1`` (1-based).

        The vectorised :func:`~bioformats_ext.bam.sam_batch.encode_lines` does the work; lines
        it leaves (rare shapes such as > 65535 CIGAR ops, or bad lines) go through
        :meth:`_encode`, line by line when they are few, raising the numbered error if bad.
        """
        if not lines:
            return self._checked(lines, first_record)
        result = encode_lines(self._tids, lines, self._scratch)
        if isinstance(result, EncodedBatch):
            return result
        if result is None or int(result.sum()) * 8 > len(result):
            return self._checked(lines, first_record)
        parts: list[EncodedBatch] = []
        flags = result.tolist()
        i, n = 0, len(lines)
        while i < n:
            j = i
            while j < n and flags[j] == flags[i]:
                j += 1
            if flags[i]:
                parts.extend(self._checked(lines[k:k + 1], first_record + k) for k in range(i, j))
            else:
                run = encode_lines(self._tids, lines[i:j], self._scratch)
                parts.append(run if isinstance(run, EncodedBatch)
                             else self._checked(lines[i:j], first_record + i))
            i = j
        return concat_batches(parts)

    def _checked(self, lines: Sequence[bytes], first_record: int) -> EncodedBatch:
        """The per-line encoder, with the numbered error for the first bad line."""
        try:
            return self._encode(lines)
        except (ValueError, KeyError, IndexError, TypeError, struct.error, OverflowError) as exc:
            for i, line in enumerate(lines):  # records are numbered from 1 in errors
                self.encode_one(line, first_record + i + 1)
            raise RecordError(f"SAM records {first_record + 1}..{first_record + len(lines)}: "
                              f"{exc}", first_record + 1) from None

    def _encode(self, lines: Sequence[bytes]) -> EncodedBatch:
        n = len(lines)
        rows = [ln.rstrip(b"\r\n").split(b"\t", 11) for ln in lines]
        if any(len(r) < 11 for r in rows):
            raise ValueError("a line has fewer than 11 columns")
        tids = self._tids
        tid = np.fromiter(map(tids.__getitem__, [r[2] for r in rows]), np.int64, n)
        rnext = [r[6] for r in rows]
        ntid = np.fromiter(map(tids.__getitem__, [b"*" if x == b"=" else x for x in rnext]),
                           np.int64, n)
        same = np.fromiter(map(b"=".__eq__, rnext), bool, n)
        ntid[same] = tid[same]
        flag = np.fromiter(map(int, [r[1] for r in rows]), np.int64, n)
        pos = np.fromiter(map(int, [r[3] for r in rows]), np.int64, n) - 1
        mapq = np.fromiter(map(int, [r[4] for r in rows]), np.int64, n)
        npos = np.fromiter(map(int, [r[7] for r in rows]), np.int64, n) - 1
        tlen = np.fromiter(map(int, [r[8] for r in rows]), np.int64, n)
        cig = list(map(self._cigar, [r[5] for r in rows]))
        packed = [c[0] for c in cig]
        ncig = np.fromiter([c[1] for c in cig], np.int64, n)
        rlen = np.fromiter([c[2] for c in cig], np.int64, n)
        qlen = np.fromiter([c[3] for c in cig], np.int64, n)
        flag[qlen < 0] |= 4  # htslib: a mapped read without CIGAR is treated as unmapped
        seqs = [b"" if r[9] == b"*" else r[9] for r in rows]
        lseq = np.fromiter(map(len, seqs), np.int64, n)
        qual_table = _QUAL_TABLE
        quals = [b"\xff" * len(s) if r[10] == b"*" else r[10].translate(qual_table)
                 for r, s in zip(rows, seqs)]
        lqual = np.fromiter(map(len, quals), np.int64, n)
        tag_block = self._tag_block
        tags = [tag_block(r[11]) if len(r) > 11 else b"" for r in rows]
        names = [r[0] for r in rows]
        lname = np.fromiter(map(len, names), np.int64, n) + 1
        if ((qlen >= 0) & (lseq > 0) & (lseq != qlen)).any() or (lqual != lseq).any():
            raise ValueError("sequence, quality and CIGAR lengths disagree")
        if ((lname < 2) | (lname > 255)).any():
            raise ValueError("QNAME must be 1 to 254 characters")
        if ((pos < -1) | (pos >= 1 << 31) | (mapq < 0) | (mapq > 255) | (flag < 0)
                | (flag > 0xFFFF) | (npos < -1) | (npos >= 1 << 31)
                | (tlen < -(1 << 31)) | (tlen >= 1 << 31)).any():
            raise ValueError("POS, MAPQ, FLAG, PNEXT or TLEN out of range")
        big = np.flatnonzero(ncig > _MAX_CIGAR_OPS)
        for i in big.tolist():  # >65535 ops: real CIGAR in a CG tag, placeholder kSmN
            tags[i] += b"CGBI" + struct.pack("<I", int(ncig[i])) + packed[i]
            packed[i] = struct.pack("<II", int(lseq[i]) << 4 | 4, int(rlen[i]) << 4 | 3)
            ncig[i] = 2
        ltag = np.fromiter(map(len, tags), np.int64, n)
        half = (lseq + 1) >> 1
        fixed, block_size, end, unmapped = fixed_headers(tid, pos, mapq, flag, ncig, rlen, lname,
                                                         lseq, ltag, ntid, npos, tlen)
        heads = fixed.tobytes()
        seq_packed = pack_sequences(seqs, lseq)
        hcuts = range(0, 36 * n + 1, 36)
        scuts = np.concatenate(([0], np.cumsum(half))).tolist()
        pieces: list[bytes] = [b""] * (7 * n)
        pieces[0::7] = [heads[a:a + 36] for a in hcuts[:-1]]
        pieces[1::7] = names
        pieces[2::7] = [b"\0"] * n
        pieces[3::7] = packed
        pieces[4::7] = [seq_packed[a:b] for a, b in zip(scuts, scuts[1:])]
        pieces[5::7] = quals
        pieces[6::7] = tags
        return EncodedBatch(b"".join(pieces), block_size + 4, tid, np.maximum(pos, 0),
                            np.maximum(end, 1), ~unmapped)

    def encode_one(self, line: bytes, number: int = 0) -> bytes:
        """Encode one line with full checks, raising :class:`RecordError` naming it ``number``
        (1-based)."""
        try:
            return self._encode([line]).data
        except (ValueError, KeyError, IndexError, TypeError, struct.error, OverflowError) as exc:
            text = line[:80].decode(errors="replace").rstrip()
            why = str(exc)
            if isinstance(exc, KeyError):
                what = exc.args[0].decode(errors="replace") if exc.args else "?"
                why = f"reference {what!r} is not in the header"
            raise RecordError(f"SAM record {number}: {why}: {text!r}", number) from None


def concat_batches(parts: Sequence[EncodedBatch]) -> EncodedBatch:
    """One batch of the records of ``parts``, in order."""
    if len(parts) == 1:
        return parts[0]
    return EncodedBatch(b"".join(p.data for p in parts),
                        np.concatenate([np.asarray(p.sizes, np.int64) for p in parts]),
                        *(np.concatenate([np.asarray(getattr(p, k)) for p in parts])
                          for k in ("tid", "beg", "end", "mapped")))


def pack_sequences(seqs: list[bytes], lengths: np.ndarray) -> bytes:
    """4-bit pack every sequence (each padded to an even length), concatenated."""
    joined = b"".join(s + b"=" if len(s) & 1 else s for s in seqs)
    if not joined:
        return b""
    codes = np.frombuffer(joined.translate(_SEQ_TABLE), np.uint8)
    return ((codes[0::2] << 4) | codes[1::2]).tobytes()


def to_sam_bytes(record: object) -> bytes:
    """A SAM line as bytes from str, bytes or an object with ``to_string()`` (pysam)."""
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode()
    if isinstance(record, (bytearray, memoryview)):
        return bytes(record)
    to_string = getattr(record, "to_string", None)
    if to_string is not None:
        return to_string().encode()
    raise TypeError(f"cannot write {type(record).__name__} as a BAM record")


def encode_mixed(encoder: SamEncoder, items: Sequence[object], first_record: int = 0) -> EncodedBatch:
    """Encode a batch of SAM lines mixed with record objects that carry their BAM bytes
    (``to_bytes()``, ``index_span()`` and a ``header`` with ``references``): those are copied as
    stored when their references are the encoder's, else re-encoded from ``to_string()``.
    Consecutive records read from one decoded batch (``BamRecord`` views sharing their
    ``RecordBatch``) are copied with one numpy gather, not one by one."""
    names = tuple(encoder.header.names)
    parts: list[EncodedBatch] = []
    run: list[bytes] = []
    same_refs: dict[int, bool] = {}

    def flush(at: int) -> None:
        if run:
            parts.append(encoder.encode(run, first_record + at - len(run)))
            run.clear()

    def stored(header: object) -> bool:
        known = same_refs.get(id(header))
        if known is None:
            known = same_refs[id(header)] = \
                tuple(getattr(header, "references", ()) or ()) == names
        return known

    k, n = 0, len(items)
    stored_batches = _stored_runs(items, stored)
    if stored_batches is not None:  # all records views of decoded batches (write_many of ours)
        return concat_batches([_copy_stored(batch.cols, rows) for batch, rows in stored_batches])
    while k < n:
        item = items[k]
        shared = getattr(item, "_b", None)
        if shared is not None and hasattr(shared, "cols") and stored(item.header):  # type: ignore[attr-defined]
            flush(k)
            j = k
            while j < n and getattr(items[j], "_b", None) is shared:
                j += 1
            rows = np.fromiter(map(_ROW_OF, items[k:j]), np.int64, j - k)
            parts.append(_copy_stored(shared.cols, rows))
            k = j
            continue
        if hasattr(item, "to_bytes") and stored(getattr(item, "header", None)):
            flush(k)
            raw = item.to_bytes()  # type: ignore[attr-defined]
            tid, pos, end, flag = item.index_span()  # type: ignore[attr-defined]
            parts.append(EncodedBatch(raw, np.array([len(raw)], np.int64), np.array([tid]),
                                      np.array([max(pos, 0)]), np.array([max(end, 1)]),
                                      np.array([not flag & 4])))
        else:
            run.append(to_sam_bytes(item))
        k += 1
    flush(n)
    return concat_batches(parts)


_BATCH_OF = attrgetter("_b")  # a BamRecord's RecordBatch and row in it
_ROW_OF = attrgetter("_i")


def _stored_runs(items: Sequence[object], stored: "Callable[[object], bool]"
                 ) -> "list[tuple[Any, np.ndarray]] | None":
    """``[(RecordBatch, rows), ...]`` when every item is a view of a decoded batch whose header
    has the writer's references (else None): consecutive views of one batch form one run. A
    few C-level passes over the items (no per-record Python): ``list.count`` finds the usual
    case of one batch by identity."""
    n = len(items)
    if not n:
        return None
    try:
        batches = list(map(_BATCH_OF, items))
        rows = np.fromiter(map(_ROW_OF, items), np.int64, n)
    except (AttributeError, TypeError):
        return None
    first = batches[0]
    if batches.count(first) == n:
        heads = [first]
        cuts = [0, n]
    else:
        ids = np.fromiter(map(id, batches), np.int64, n)
        cuts = [0] + (np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist() + [n]
        heads = [batches[lo] for lo in cuts[:-1]]
    if not all(hasattr(b, "cols") and stored(b.header) for b in dict.fromkeys(heads)):
        return None
    return [(heads[k], rows[lo:hi]) for k, (lo, hi) in enumerate(zip(cuts, cuts[1:]))]


def _copy_stored(cols: "Any", rows: np.ndarray) -> EncodedBatch:
    """Records ``rows`` of a decoded batch (``BamColumns``) as stored, with their index keys
    (a run of consecutive rows is sliced, not gathered)."""
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    if hi - lo == len(rows) and bool((rows[1:] - rows[:-1] == 1).all()):
        pick: "slice | np.ndarray" = slice(lo, hi)
        end = cols.end_positions(np.arange(lo, hi))
    else:
        pick = rows
        end = cols.end_positions(rows)
    offset = cols.offset[pick]
    stop = cols.stop[pick]
    sizes = stop - offset
    if bool((offset[1:] == stop[:-1]).all()):  # one run of stored bytes
        data = cols._u8[int(offset[0]):int(stop[-1])].tobytes()
    else:
        data = cols._gather(offset, sizes)[0].tobytes()
    return EncodedBatch(data, sizes.astype(np.int64), cols.ref_id[pick].astype(np.int64),
                        np.maximum(cols.pos[pick].astype(np.int64), 0),
                        np.maximum(end.astype(np.int64), 1), (cols.flag[pick] & 4) == 0)
