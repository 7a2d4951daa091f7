"""SAM text → BAM records for a whole batch with numpy over the joined bytes (no per-line split).

Why: splitting a million lines in Python (``bytes.split``, ``int()``, list comprehensions) cost
more than compressing the result. Here a batch is joined once and every step is a numpy pass
over arrays of one entry per line, per field, per CIGAR op or per tag:

- separators: bytes below 11 (tab, newline; anything else there is invalid SAM) located once;
  field ``k`` of line ``i`` spans from separator ``first[i] + k - 1`` to ``first[i] + k``;
- integer columns: digits gathered right-aligned into an ``(n, width)`` array, one dot product;
- RNAME/RNEXT: equal consecutive names (sorted input) found by comparing padded rows; only the
  first name of each run is looked up in the header;
- CIGAR: op letters and digit runs of all CIGAR fields at once (lookup tables, cumulative sums);
- SEQ: a 256-entry table and a pairwise pack (an odd length takes the tab after it as the pad,
  mapped to 0 like htslib's padding); QUAL: one subtraction over the whole buffer;
- tags: ``i`` (htslib's smallest integer type), ``Z`` and ``A`` vectorised; other types through
  :func:`~bioformats_ext.bam.sam_fields.encode_tag`;
- assembly: every output byte's source in one index array (segments of the fixed headers, names,
  CIGARs, packed sequences, qualities, tags) and one gather.

Lines this path does not take (fewer than 11 fields, non-digit numbers, unknown references,
malformed CIGAR or tags, > 65535 CIGAR ops) are reported back; the caller encodes them with the
per-line encoder, which applies the same rules and raises the numbered error when they are bad.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .sam_fields import CIGAR_OPS, FIXED, SEQ_CODES, EncodedBatch, encode_tag, reg2bin_array

_MAX_CIGAR_OPS = 0xFFFF
_TAB, _NL, _STAR, _COLON, _MINUS, _EQ = 9, 10, 42, 58, 45, 61

_seq = bytearray([15] * 256)  # SAM letter -> 4-bit code (htslib: unknown and '.' are N = 15)
for _code, _letter in enumerate(SEQ_CODES):
    _seq[_letter] = _seq[ord(chr(_letter).lower())] = _code
_seq[_TAB] = 0  # the pad nibble of an odd-length sequence is the tab that follows it
_SEQ_TABLE = bytes(_seq)
_QUAL_TABLE = bytes((i - 33) & 0xFF for i in range(256))

_CIGAR_LUT = np.full(256, -1, np.int8)  # op letter -> code; digits -2; anything else -1
for _code, _letter in enumerate(CIGAR_OPS):
    _CIGAR_LUT[_letter] = _code
_CIGAR_LUT[48:58] = -2
_REF = np.array([c in b"MDN=X" for c in CIGAR_OPS], np.int64)
_QUERY = np.array([c in b"MIS=X" for c in CIGAR_OPS], np.int64)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges ``[starts[i], starts[i] + lengths[i])``."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offs = np.cumsum(lengths) - lengths
    idx = np.arange(total, dtype=np.int64)
    idx += np.repeat(starts - offs, lengths)
    return idx


def parse_ints(a: np.ndarray, start: np.ndarray, length: np.ndarray,
               max_digits: int = 18) -> tuple[np.ndarray, np.ndarray]:
    """``(values, ok)`` of the decimal fields ``a[start:start+length]`` (optional leading '-');
    ``ok`` is false where a field is empty, too long or not ``-?[0-9]+``."""
    n = len(start)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    neg = (a[start] == _MINUS) & (length > 0)
    dl = length - neg
    ok = (dl >= 1) & (dl <= max_digits)
    w = min(int(dl.max()), max_digits)
    if w <= 0:
        return np.zeros(n, np.int64), ok
    cols = np.arange(w, dtype=np.int64)
    idx = (start + length)[:, None] - w + cols   # right-aligned: the last digit in column w-1
    d = a[np.maximum(idx, 0)] - np.uint8(48)     # uint8: a non-digit wraps to > 9
    d[cols < (w - np.minimum(dl, w))[:, None]] = 0
    ok &= (d <= 9).all(axis=1)
    if w <= 15:  # exact in float64; a BLAS dot product
        values = (d.astype(np.float64) @ 10.0 ** np.arange(w - 1, -1, -1)).astype(np.int64)
    else:
        values = d.astype(np.int64) @ 10 ** np.arange(w - 1, -1, -1, dtype=np.int64)
    return np.where(neg, -values, values), ok


def _name_ids(joined: bytes, a: np.ndarray, start: np.ndarray, length: np.ndarray,
              lookup: Callable[[bytes], int]) -> np.ndarray:
    """Ids of the names ``a[start:start+length]``, looking up only the first of each run of
    equal consecutive names (KeyError for a name ``lookup`` does not know)."""
    n = len(start)
    w = int(length.max())
    cols = np.arange(w, dtype=np.int64)
    rows = np.where(cols < length[:, None], a[np.minimum(start[:, None] + cols, len(a) - 1)], 0)
    change = np.ones(n, bool)
    change[1:] = (rows[1:] != rows[:-1]).any(axis=1) | (length[1:] != length[:-1])
    heads = np.flatnonzero(change)
    ids = [lookup(joined[s:s + ln]) for s, ln in zip(start[heads].tolist(), length[heads].tolist())]
    return np.repeat(np.array(ids, np.int64), np.diff(np.append(heads, n)))


class _Cigars:
    """All CIGAR fields of a batch: packed ops, op counts, reference / query lengths, validity."""

    def __init__(self, a: np.ndarray, start: np.ndarray, length: np.ndarray):
        n = len(start)
        star = (length == 1) & (a[start] == _STAR)
        span = np.where(star, 0, length)
        ok = ~((span == 0) & ~star)           # an empty CIGAR field is invalid
        idx = ranges(start, span)
        code = _CIGAR_LUT[a[idx]]
        line = np.repeat(np.arange(n), span)
        ok &= np.bincount(line, code == -1, minlength=n) == 0
        p = np.flatnonzero(code >= 0)         # op letters, in line order
        op_line = line[p]
        ncig = np.bincount(op_line, minlength=n)
        first = np.cumsum(ncig) - ncig
        offs = np.cumsum(span) - span         # each field's first index in ``idx`` space
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
        contrib = np.where(digit, (a[idx].astype(np.int64) - 48) * 10 ** np.clip(expo, 0, 9), 0)
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


def encode_lines(tids: dict[bytes, int], lines: Sequence[bytes]) -> "EncodedBatch | np.ndarray | None":
    """Encode SAM lines (bytes, no header lines) as ``SamEncoder.encode`` does; ``tids`` maps
    reference names (and ``*``) to ids.

    Returns the batch, or a boolean array marking the lines this path leaves to the per-line
    encoder, or None when the whole batch should go there (e.g. a reference not in the header).
    """
    n = len(lines)
    joined = b"\n".join(lines) + b"\n"
    if b"\r" in joined or joined.count(b"\n") != n:
        lines = [ln.rstrip(b"\r\n") for ln in lines]
        joined = b"\n".join(lines) + b"\n"
        if joined.count(b"\n") != n:
            return None
    a = np.frombuffer(joined, np.uint8)
    sep = np.flatnonzero(a < 11)
    is_nl = a[sep] == _NL
    if not (is_nl | (a[sep] == _TAB)).all():
        return None  # NUL or control bytes: the per-line encoder names the line
    last = np.flatnonzero(is_nl)              # index in ``sep`` of each line's newline
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
    cig = _Cigars(a, *field(5))
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
    tags = _Tags(joined, a, sep, first, nfields, n)
    if tags.bad is None:
        return None
    bad |= tags.bad
    if bad.any():
        return bad
    flag = flag | np.where(qlen < 0, 4, 0)  # htslib: a mapped read without CIGAR is unmapped
    unmapped = (flag & 4) != 0
    end = pos + np.where(unmapped | (cig.rlen == 0), 1, cig.rlen)
    half = (lseq + 1) >> 1
    ncig = cig.ncig
    block_size = 32 + lname + 4 * ncig + half + lseq + tags.out_len
    fixed = np.empty(n, FIXED)
    fixed["block_size"] = block_size
    fixed["refID"] = tid
    fixed["pos"] = pos
    fixed["l_read_name"] = lname
    fixed["mapq"] = mapq
    fixed["bin"] = reg2bin_array(pos, end)
    fixed["n_cigar_op"] = ncig
    fixed["flag"] = flag
    fixed["l_seq"] = lseq
    fixed["next_refID"] = ntid
    fixed["next_pos"] = npos
    fixed["tlen"] = tlen
    # sequences and qualities: long runs, cheapest as one C-level join of slices each; an
    # odd-length sequence takes the tab after it as its (zero) pad nibble
    seq_end = (ss + lseq + (lseq & 1)).tolist()
    seq_text = b"".join([joined[x:y] for x, y in zip(ss.tolist(), seq_end)])
    codes = np.frombuffer(seq_text.translate(_SEQ_TABLE), np.uint8)
    seq4 = (codes[0::2] << 4) | codes[1::2]
    qlive = np.where(qual_star, 0, ql)
    qual_end = (ql_s + qlive).tolist()
    qual = np.frombuffer(b"".join([joined[x:y] for x, y in zip(ql_s.tolist(), qual_end)])
                         .translate(_QUAL_TABLE), np.uint8)
    # one source buffer: headers, CIGARs, sequences, qualities, input, tag parts, 0, 0xff...
    parts = [fixed.view(np.uint8), cig.packed.view(np.uint8), seq4, qual, a,
             tags.ext.reshape(-1), tags.blob, np.zeros(1, np.uint8),
             np.full(int(lseq.max(initial=0)), 0xFF, np.uint8)]
    at = np.cumsum([0] + [len(p) for p in parts])
    src = np.empty(int(at[-1]), np.uint8)
    for k, p in enumerate(parts):
        src[at[k]:at[k + 1]] = p
    HDR, CIG, SEQ, QUAL, TXT, EXT, BLOB, ZERO, FF = at[:9].tolist()
    nseg = 6 + 3 * tags.count
    base = np.cumsum(nseg) - nseg
    S = np.empty(int(nseg.sum()), np.int64)
    L = np.empty(len(S), np.int64)
    S[base] = HDR + 36 * np.arange(n)
    L[base] = 36
    S[base + 1] = TXT + qs
    L[base + 1] = qn_len
    S[base + 2] = ZERO
    L[base + 2] = 1
    S[base + 3] = CIG + 4 * cig.first
    L[base + 3] = 4 * ncig
    S[base + 4] = SEQ + (np.cumsum(half) - half)
    L[base + 4] = half
    S[base + 5] = np.where(qual_star, FF, QUAL + (np.cumsum(qlive) - qlive))
    L[base + 5] = lseq
    if len(tags.line):
        t0 = base[tags.line] + 6 + 3 * tags.rank
        S[t0] = EXT + 8 * np.arange(len(tags.line))
        L[t0] = tags.ext_len
        S[t0 + 1] = np.where(tags.from_blob, BLOB, TXT) + tags.body
        L[t0 + 1] = tags.body_len
        S[t0 + 2] = ZERO
        L[t0 + 2] = tags.nul
    data = src[ranges(S, L)].tobytes()
    return EncodedBatch(data, block_size + 4, tid, np.maximum(pos, 0), np.maximum(end, 1),
                        ~unmapped)


class _Tags:
    """The optional fields (11th column on) of every line of a batch, as output segments.

    Each tag becomes three segments: ``ext_len`` bytes of its row in ``ext`` (tag, type and, for
    ``i``, the little-endian value), ``body_len`` bytes at ``body`` in the input text (``Z``,
    ``A``) or in ``blob`` (other types, encoded by :func:`encode_tag`), and ``nul`` (1 for ``Z``).
    ``bad`` marks lines left to the per-line encoder (None: leave the whole batch to it).
    """

    def __init__(self, joined: bytes, a: np.ndarray, sep: np.ndarray, first: np.ndarray,
                 nfields: np.ndarray, n: int):
        count = np.maximum(nfields - 11, 0)
        self.bad: np.ndarray | None = np.zeros(n, bool)
        # a 12th field that is empty (a trailing tab) means no tags, as for the per-line encoder
        has = count > 0
        if has.any():
            lone = has & (count == 1)
            e = sep[np.minimum(first + 11, len(sep) - 1)]
            empty = lone & (e - sep[np.minimum(first + 10, len(sep) - 1)] - 1 == 0)
            count = np.where(empty, 0, count)
        self.count = count
        total = int(count.sum())
        self.line = np.repeat(np.arange(n), count)
        tag_first = np.cumsum(count) - count
        self.rank = np.arange(total) - tag_first[self.line]
        j = first[self.line] + 11 + self.rank      # the separator ending each tag field
        ts = sep[j - 1] + 1
        tl = sep[j] - ts
        self.ext = np.zeros((total, 8), np.uint8)
        self.ext_len = np.zeros(total, np.int64)
        self.body = np.zeros(total, np.int64)
        self.body_len = np.zeros(total, np.int64)
        self.nul = np.zeros(total, np.int64)
        self.from_blob = np.zeros(total, bool)
        self.blob = np.zeros(0, np.uint8)
        self.out_len = np.zeros(n, np.int64)
        if total == 0:
            return
        shape_ok = tl >= 5
        tsc = np.minimum(ts, len(a) - 5)
        shape_ok &= (a[tsc + 2] == _COLON) & (a[tsc + 4] == _COLON)
        kind = np.where(shape_ok, a[tsc + 3], 0)
        ext = self.ext
        ext[:, 0] = a[tsc]
        ext[:, 1] = a[tsc + 1]
        ext[:, 2] = kind
        self.ext_len[:] = 3
        zt = kind == ord("Z")
        self.body[zt] = ts[zt] + 5
        self.body_len[zt] = tl[zt] - 5
        self.nul[zt] = 1
        at = kind == ord("A")
        self.body[at] = ts[at] + 5
        self.body_len[at] = 1
        bad_tag = ~shape_ok | (at & (tl != 6))
        it = np.flatnonzero(kind == ord("i"))
        if len(it):
            v, ok = parse_ints(a, ts[it] + 5, tl[it] - 5)
            neg = v < 0
            width = np.select([neg & (v >= -0x80), neg & (v >= -0x8000), neg & (v >= -(1 << 31)),
                               ~neg & (v <= 0xFF), ~neg & (v <= 0xFFFF), ~neg & (v <= 0xFFFFFFFF)],
                              [1, 2, 4, 1, 2, 4], 0)
            bad_tag[it] |= ~ok | (width == 0)
            ext[it, 2] = np.select([neg & (width == 1), neg & (width == 2), neg & (width == 4),
                                    width == 1, width == 2], list(b"csiCS"), ord("I"))
            ext[it, 3:7] = v.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :4]
            self.ext_len[it] = 3 + width
        other = np.flatnonzero(shape_ok & ~zt & ~at & (kind != ord("i")))
        if len(other):  # f, H, B (and unknown types): the per-tag encoder, checked there
            pieces = []
            try:
                for s, ln in zip(ts[other].tolist(), tl[other].tolist()):
                    pieces.append(encode_tag(joined[s:s + ln]))
            except (ValueError, OverflowError):
                self.bad = None
                return
            plen = np.fromiter(map(len, pieces), np.int64, len(pieces))
            self.blob = np.frombuffer(b"".join(pieces), np.uint8)
            self.ext_len[other] = 0
            self.from_blob[other] = True
            self.body[other] = np.cumsum(plen) - plen
            self.body_len[other] = plen
        if bad_tag.any():
            self.bad |= np.bincount(self.line, bad_tag, minlength=n) > 0
        self.out_len = np.bincount(self.line, self.ext_len + self.body_len + self.nul,
                                   minlength=n).astype(np.int64)
