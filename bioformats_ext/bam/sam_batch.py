"""SAM text → BAM records for a whole batch with numpy over the joined bytes (no per-line split).

Why: splitting a million lines in Python (``bytes.split``, ``int()``, list comprehensions) cost
more than compressing the result. Here a batch is joined once and every step is a numpy pass
over arrays of one entry per line, per field, per CIGAR op or per tag:

- separators: bytes below 14 (tab, newline; CR, or anything else there, sends the batch to
  CRLF stripping or to the per-line encoder) located once; field ``k`` of line ``i`` spans from
  separator ``first[i] + k - 1`` to ``first[i] + k``;
- integer columns: the 8 bytes before each field's end read as one uint64 (an overlapping view),
  digits validated and summed with SWAR arithmetic (a second word for 9-16 digits);
- RNAME/RNEXT: equal consecutive names (sorted input) found by comparing padded rows; only the
  first name of each run is looked up in the header;
- CIGAR: op letters and digit runs of all CIGAR fields at once (lookup tables, cumulative sums);
- SEQ and QUAL: one C-level join of each line's ``SEQ<tab>QUAL`` run, padded to an even length;
  a 65,536-entry table packs byte pairs into 4-bit pairs (an odd sequence's pad nibble is the
  tab after it, mapped to 0 as htslib pads), qualities are that copy minus 33;
- tags: ``i`` (htslib's smallest integer type), ``Z`` and ``A`` vectorised; other types through
  :func:`~bioformats_ext.bam.sam_fields.encode_tag`;
- assembly: every output byte's source as a running sum over segments (fixed headers, names,
  CIGARs, packed sequences, qualities, tag parts) and one ``take``, in work buffers kept across
  batches (fresh multi-MB temporaries cost as much in page faults as the work done in them).

Lines this path does not take (fewer than 11 fields, non-digit numbers, unknown references,
malformed CIGAR or tags, > 65535 CIGAR ops) are reported back; the caller encodes them with the
per-line encoder, which applies the same rules and raises the numbered error when they are bad.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .sam_fields import CIGAR_OPS, SEQ_CODES, EncodedBatch, fixed_headers
from .sam_tags import Tags, UniformTags
from .text_columns import _U, _eight_digits, copy_ranges, parse_ints, words_ending

_MAX_CIGAR_OPS = 0xFFFF
_TAB, _NL, _CR, _STAR = 9, 10, 13, 42

_seq = bytearray([15] * 256)  # SAM letter -> 4-bit code (htslib: unknown and '.' are N = 15)
for _code, _letter in enumerate(SEQ_CODES):
    _seq[_letter] = _seq[ord(chr(_letter).lower())] = _code
_seq[_TAB] = 0  # the pad nibble of an odd-length sequence is the tab that follows it
_SEQ_PAIRS = ((np.frombuffer(bytes(_seq), np.uint8)[:, None] << 4)
              | np.frombuffer(bytes(_seq), np.uint8)[None, :]).ravel()  # LE byte pair -> 2 codes
_SEQ_PAIRS = np.ascontiguousarray(_SEQ_PAIRS.reshape(256, 256).T).ravel()

_CIGAR_LUT = np.full(256, -1, np.int8)  # op letter -> code; digits -2; anything else -1
for _code, _letter in enumerate(CIGAR_OPS):
    _CIGAR_LUT[_letter] = _code
_CIGAR_LUT[48:58] = -2
_REF = np.array([c in b"MDN=X" for c in CIGAR_OPS], np.int64)
_QUERY = np.array([c in b"MIS=X" for c in CIGAR_OPS], np.int64)


def _name_ids(joined: bytes, a: np.ndarray, start: np.ndarray, length: np.ndarray,
              lookup: Callable[[bytes], int]) -> np.ndarray:
    """Ids of the names ``a[start:start+length]``, looking up only the first of each run of
    equal consecutive names (KeyError for a name ``lookup`` does not know). Names of up to 16
    bytes (the usual ``chr1``, ``=``, ``NC_000001.11``) are compared as two words each."""
    n = len(start)
    w = int(length.max())
    change = np.ones(n, bool)
    if w <= 16 and int(length.min()) >= 1:
        end = start + length
        tail = np.minimum(length, 8)  # the last <= 8 bytes, then the <= 8 before them
        keep = _U(64) - _U(8) * tail.astype(np.uint64)
        low = words_ending(a, end) >> keep
        change[1:] = (low[1:] != low[:-1]) | (length[1:] != length[:-1])
        if w > 8:
            head = np.maximum(length - 8, 0)
            high = words_ending(a, end - tail) >> (_U(64) - _U(8) * head.astype(np.uint64))
            high[head == 0] = 0  # a shift by 64 is undefined
            change[1:] |= high[1:] != high[:-1]
    else:
        cols = np.arange(w, dtype=np.int64)
        rows = np.where(cols < length[:, None], a[np.minimum(start[:, None] + cols, len(a) - 1)],
                        0)
        change[1:] = (rows[1:] != rows[:-1]).any(axis=1) | (length[1:] != length[:-1])
    heads = np.flatnonzero(change)
    ids = [lookup(joined[s:s + ln]) for s, ln in zip(start[heads].tolist(), length[heads].tolist())]
    return np.repeat(np.array(ids, np.int64), np.diff(np.append(heads, n)))


class Scratch:
    """Work buffers kept from one batch to the next: large temporaries allocated afresh each
    batch cost page faults (kernel time) comparable to the work done in them."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: "type | np.dtype") -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or len(buf) < size:
            buf = self._buffers[name] = np.empty(max(size, 2 * len(buf) if buf is not None else 0),
                                                 dtype)
        return buf[:size]

    def assemble(self, src: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                 slot: str = "out") -> np.ndarray:
        """``src`` bytes of the ranges ``[starts[i], starts[i] + lengths[i])``, concatenated in
        work buffer ``slot`` (valid until the slot is used again)."""
        total = int(lengths.sum())
        out = self.get(slot, total, np.uint8)
        if total:
            copy_ranges(out, src, starts, lengths, np.cumsum(lengths) - lengths)
        return out


class _Cigars:
    """All CIGAR fields of a batch: packed ops, op counts, reference / query lengths, validity."""

    def __init__(self, a: np.ndarray, start: np.ndarray, length: np.ndarray, scratch: Scratch):
        n = len(start)
        star = (length == 1) & (a[start] == _STAR)
        if self._single_ops(a, start, length, star):
            return
        span = np.where(star, 0, length)
        ok = ~((span == 0) & ~star)           # an empty CIGAR field is invalid
        text = scratch.assemble(a, start, span, "cigar")  # every CIGAR byte, field after field
        code = _CIGAR_LUT[text]
        line = np.repeat(np.arange(n), span)
        ok &= np.bincount(line, code == -1, minlength=n) == 0
        p = np.flatnonzero(code >= 0)         # op letters, in line order
        op_line = line[p]
        ncig = np.bincount(op_line, minlength=n)
        first = np.cumsum(ncig) - ncig
        offs = np.cumsum(span) - span         # each field's first index in ``text``
        prev = np.empty(len(p), np.int64)     # index before the op's digits
        prev[1:] = p[:-1]
        heads = first[ncig > 0]
        prev[heads] = offs[ncig > 0] - 1
        ndig = p - prev - 1
        bad_op = (ndig < 1) | (ndig > 9)
        # a field must end with an op letter
        ends = offs + span - 1
        has = span > 0
        ok[has] &= code[ends[has]] >= 0
        # op lengths: digit d at index j contributes d * 10**(distance to its op - 1)
        digit = code == -2
        nxt = np.searchsorted(p, np.arange(len(code)))  # the op each byte belongs to
        expo = np.where(digit, p[np.minimum(nxt, len(p) - 1)] - np.arange(len(code)) - 1, 0) \
            if len(p) else np.zeros(len(code), np.int64)
        contrib = np.where(digit, (text.astype(np.int64) - 48) * 10 ** np.clip(expo, 0, 9), 0)
        csum = np.concatenate(([0], np.cumsum(contrib)))
        lens = csum[p] - csum[prev + 1]
        bad_op |= lens >= 1 << 28
        if bad_op.any():
            ok &= np.bincount(op_line, bad_op, minlength=n) == 0
        ops = code[p].astype(np.int64)
        self.packed = ((lens << 4) | ops).astype("<u4")
        self.ncig = ncig
        self.first = first
        self.rlen = np.bincount(op_line, lens * _REF[ops], minlength=n).astype(np.int64)
        qlen = np.bincount(op_line, lens * _QUERY[ops], minlength=n).astype(np.int64)
        self.qlen = np.where(star, -1, qlen)
        self.ok = ok & (ncig <= _MAX_CIGAR_OPS)


    def _single_ops(self, a: np.ndarray, start: np.ndarray, length: np.ndarray,
                    star: np.ndarray) -> bool:
        """The common batch (every CIGAR ``*`` or one operation of up to 7 digits, "100M"):
        each field read as one uint64, its digits summed with SWAR. False if any is not so."""
        live = np.flatnonzero(~star)
        ln = length[live]
        if not len(live) or int(ln.min()) < 2 or int(ln.max()) > 8:
            return False
        words = words_ending(a, start[live] + ln)
        code = _CIGAR_LUT[(words >> _U(56)).astype(np.uint8)]
        lens, ok = _eight_digits(words << _U(8), ln - 1)
        if not (ok.all() and (code >= 0).all()):
            return False
        n = len(start)
        ops = code.astype(np.int64)
        self.packed = ((lens << 4) | ops).astype("<u4")
        self.ncig = (~star).astype(np.int64)
        self.first = np.cumsum(self.ncig) - self.ncig
        self.rlen = np.zeros(n, np.int64)
        self.rlen[live] = lens * _REF[ops]
        self.qlen = np.full(n, -1, np.int64)
        self.qlen[live] = lens * _QUERY[ops]
        self.ok = np.ones(n, bool)
        return True


def encode_lines(tids: dict[bytes, int], lines: Sequence[bytes],
                 scratch: "Scratch | None" = None) -> "EncodedBatch | np.ndarray | None":
    """Encode SAM lines (bytes, no header lines) as ``SamEncoder.encode`` does; ``tids`` maps
    reference names (and ``*``) to ids.

    Returns the batch, or a boolean array marking the lines this path leaves to the per-line
    encoder, or None when the whole batch should go there (e.g. a reference not in the header).
    """
    n = len(lines)
    scratch = scratch or Scratch()
    joined = b"\n".join([*lines, b""])       # one copy, newline-terminated
    a = np.frombuffer(joined, np.uint8)
    sep = np.flatnonzero(a < 14)              # tab, newline, CR (and invalid control bytes)
    kind = a[sep]
    is_nl = kind == _NL
    last = np.flatnonzero(is_nl)              # index in ``sep`` of each line's newline
    if len(last) != n or not (is_nl | (kind == _TAB)).all():
        if len(last) == n and not (kind == _CR).any():
            return None  # NUL or control bytes: the per-line encoder names the line
        stripped = [ln.rstrip(b"\r\n") for ln in lines]  # CRLF or newline-terminated lines
        if stripped == list(lines):
            return None
        return encode_lines(tids, stripped, scratch)
    first = np.empty(n, np.int64)             # index in ``sep`` of each line's first separator
    first[0] = 0
    first[1:] = last[:-1] + 1
    nfields = last - first + 1
    line_start = np.empty(n, np.int64)
    line_start[0] = 0
    line_start[1:] = sep[last[:-1]] + 1
    bad = nfields < 11
    if bad.any():
        return bad

    def field(k: int) -> tuple[np.ndarray, np.ndarray]:
        start = line_start if k == 0 else sep[first + k - 1] + 1
        return start, sep[first + k] - start

    cols = [field(k) for k in (1, 3, 4, 7, 8)]   # FLAG POS MAPQ PNEXT TLEN, parsed together
    values, ok = parse_ints(a, np.concatenate([c[0] for c in cols]),
                            np.concatenate([c[1] for c in cols]))
    bad |= ~ok.reshape(5, n).all(axis=0)
    flag, pos, mapq, npos, tlen = values.reshape(5, n)
    pos = pos - 1
    npos = npos - 1
    qs, qn_len = field(0)
    lname = qn_len + 1
    try:
        tid = _name_ids(joined, a, *field(2), tids.__getitem__)
        ntid = _name_ids(joined, a, *field(6), lambda name: -2 if name == b"=" else tids[name])
    except KeyError:
        return None
    same = ntid == -2
    ntid[same] = tid[same]
    cig = _Cigars(a, *field(5), scratch)
    bad |= ~cig.ok
    qlen = cig.qlen
    ss, sl = field(9)
    seq_star = (sl == 1) & (a[ss] == _STAR)
    lseq = np.where(seq_star, 0, sl)
    ql_s, ql = field(10)
    qual_star = (ql == 1) & (a[ql_s] == _STAR)
    lqual = np.where(qual_star, lseq, ql)
    bad |= ((qlen >= 0) & (lseq > 0) & (lseq != qlen)) | (lqual != lseq)
    bad |= (lname < 2) | (lname > 255)
    bad |= ((pos < -1) | (pos >= 1 << 31) | (mapq < 0) | (mapq > 255) | (flag < 0)
            | (flag > 0xFFFF) | (npos < -1) | (npos >= 1 << 31)
            | (tlen < -(1 << 31)) | (tlen >= 1 << 31))
    tags: "Tags | UniformTags | None" = UniformTags.build(a, sep, first, nfields, n)
    if tags is None:
        tags = Tags(joined, a, sep, first, nfields, n)
    if tags.bad is None:
        return None
    bad |= tags.bad
    if bad.any():
        return bad
    flag = flag | np.where(qlen < 0, 4, 0)  # htslib: a mapped read without CIGAR is unmapped
    half = (lseq + 1) >> 1
    ncig = cig.ncig
    fixed, block_size, end, unmapped = fixed_headers(tid, pos, mapq, flag, ncig, cig.rlen, lname,
                                                     lseq, tags.out_len, ntid, npos, tlen)
    # SEQ of each line copied as one range, padded to an even length with the byte after it (the
    # tab, whose code is the zero pad nibble htslib writes): packing byte pairs of the copy packs
    # every sequence
    s_arr = scratch.assemble(a, ss, half << 1, "seq")
    pairs = s_arr.view("<u2")
    pair_idx = scratch.get("pair_idx", len(pairs), np.intp)  # the take's index, without a
    np.copyto(pair_idx, pairs, casting="safe")                # fresh 8-byte-per-pair array
    seq4 = np.take(_SEQ_PAIRS, pair_idx, out=scratch.get("seq4", len(pairs), np.uint8))
    qual_len = np.where(qual_star, 0, lseq)    # QUAL minus 33 ('*': 0xFF, below)
    q_arr = scratch.assemble(a, ql_s, qual_len, "qual")
    np.subtract(q_arr, np.uint8(33), out=q_arr)
    # the output, field by field: each field's ranges copied from its source to their place in
    # every record (header, name + NUL, CIGAR, SEQ, QUAL, then the tags)
    size = block_size + 4
    rec = np.cumsum(size) - size
    out = scratch.get("out", int(size.sum()), np.uint8)
    at_name = rec + 36
    at_cigar = at_name + lname
    at_seq = at_cigar + 4 * ncig
    at_qual = at_seq + half
    copy_ranges(out, fixed.view(np.uint8), 36 * np.arange(n), np.full(n, 36), rec)
    copy_ranges(out, a, qs, lname - 1, at_name)
    out[at_cigar - 1] = 0                      # the name's NUL
    copy_ranges(out, cig.packed.view(np.uint8), 4 * cig.first, 4 * ncig, at_cigar)
    copy_ranges(out, seq4, np.cumsum(half) - half, half, at_seq)
    copy_ranges(out, q_arr, np.cumsum(qual_len) - qual_len, qual_len, at_qual)
    no_qual = np.flatnonzero(qual_star & (lseq > 0))
    if len(no_qual):
        ff = np.full(int(lseq[no_qual].max()), 0xFF, np.uint8)
        copy_ranges(out, ff, np.zeros(len(no_qual), np.int64), lseq[no_qual], at_qual[no_qual])
    if isinstance(tags, UniformTags):
        tags.emit(out, at_qual + lseq)
    elif len(tags.line):
        tag_len = tags.ext_len + tags.body_len + tags.nul
        tag_at = np.cumsum(tag_len) - tag_len          # offset among all tags of the batch
        first_tag = np.cumsum(tags.count) - tags.count
        at = (at_qual + lseq)[tags.line] + tag_at - tag_at[first_tag[tags.line]]
        copy_ranges(out, tags.ext.reshape(-1), 8 * np.arange(len(tags.line)), tags.ext_len, at)
        at = at + tags.ext_len
        for source, which in ((a, ~tags.from_blob), (tags.blob, tags.from_blob)):
            k = np.flatnonzero(which)
            if len(k):
                copy_ranges(out, source, tags.body[k], tags.body_len[k], at[k])
        out[(at + tags.body_len)[tags.nul == 1]] = 0   # Z values end in NUL
    data = out.tobytes()
    return EncodedBatch(data, block_size + 4, tid, np.maximum(pos, 0), np.maximum(end, 1),
                        ~unmapped)


