"""SAM text → BAM records, in batches, the way htslib's ``sam_parse1`` + ``bam_write1`` encode them.

Why batches: the per-record Python work is the cost that matters when writing a million reads.
:func:`SamEncoder.encode` does one light pass per line (``bytes.split``, a few ``int()``, cached
CIGAR and tag encodings) and leaves the rest to numpy over the whole batch: the 36-byte fixed
headers, the bins and the 4-bit sequence packing. Records come out byte-identical to what
htslib writes for the same SAM text (same integer tag types, same bin, CG tag for long CIGARs).
"""

from __future__ import annotations

import re
import struct
from typing import Sequence

import numpy as np

from ..errors import RecordError
from .header import BamHeader

# fixed part of a BAM record: block_size refID pos l_read_name mapq bin n_cigar_op flag l_seq
# next_refID next_pos tlen (36 bytes)
FIXED = np.dtype([("block_size", "<i4"), ("refID", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"),
                  ("mapq", "u1"), ("bin", "<u2"), ("n_cigar_op", "<u2"), ("flag", "<u2"),
                  ("l_seq", "<i4"), ("next_refID", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4")])
if FIXED.itemsize != 36:  # the BAM fixed-length record header, checked once at import
    raise ImportError(f"BAM record header dtype is {FIXED.itemsize} bytes, not 36")

CIGAR_OPS = b"MIDNSHP=X"
_CONSUMES_REF = frozenset(b"MDN=X")
_CONSUMES_QUERY = frozenset(b"MIS=X")
_CIGAR_RE = re.compile(rb"(\d+)([MIDNSHP=X])")
_MAX_CIGAR_OPS = 0xFFFF

SEQ_CODES = b"=ACMGRSVTWYHKDBN"
# SAM letter → 4-bit code; htslib maps anything unknown (and lower case via toupper) to N=15
_seq_table = bytearray([15] * 256)
for _code, _letter in enumerate(SEQ_CODES):
    _seq_table[_letter] = _code
    _seq_table[ord(chr(_letter).lower())] = _code
_SEQ_TABLE = bytes(_seq_table)
_QUAL_TABLE = bytes((i - 33) & 0xFF for i in range(256))

_INT_TYPES = {b"c": "b", b"C": "B", b"s": "h", b"S": "H", b"i": "i", b"I": "I", b"f": "f"}
_F32 = struct.Struct("<f")
_TAG_CACHE_LIMIT = 1 << 16


def reg2bin(beg: int, end: int) -> int:
    """BAI bin (min_shift 14, depth 5) of ``[beg, end)``, as htslib's ``hts_reg2bin``."""
    end -= 1
    if beg >> 14 == end >> 14:
        return 4681 + (beg >> 14)
    if beg >> 17 == end >> 17:
        return 585 + (beg >> 17)
    if beg >> 20 == end >> 20:
        return 73 + (beg >> 20)
    if beg >> 23 == end >> 23:
        return 9 + (beg >> 23)
    if beg >> 26 == end >> 26:
        return 1 + (beg >> 26)
    return 0


def reg2bin_array(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Vectorised :func:`reg2bin` over int64 arrays."""
    last = end - 1
    out = np.zeros(len(beg), np.int64)
    done = np.zeros(len(beg), bool)
    for shift, offset in ((14, 4681), (17, 585), (20, 73), (23, 9), (26, 1)):
        b = beg >> shift
        hit = ~done & (b == (last >> shift))
        out[hit] = offset + b[hit]
        done |= hit
    return out


def parse_cigar(text: bytes) -> tuple[bytes, int, int, int]:
    """``(packed ops, n_ops, reference length, query length)`` of a SAM CIGAR string."""
    ops = _CIGAR_RE.findall(text)
    if not ops or sum(len(n) + 1 for n, _ in ops) != len(text):
        raise ValueError(f"invalid CIGAR {text[:40]!r}")
    lengths = [int(n) for n, _ in ops]
    if max(lengths) >= 1 << 28:
        raise ValueError("CIGAR operation length exceeds 2^28")
    codes = [CIGAR_OPS.index(op) for _, op in ops]
    packed = np.array(lengths, np.uint32) << 4 | np.array(codes, np.uint32)
    rlen = sum(n for n, (_, op) in zip(lengths, ops) if op[0] in _CONSUMES_REF)
    qlen = sum(n for n, (_, op) in zip(lengths, ops) if op[0] in _CONSUMES_QUERY)
    return packed.astype("<u4").tobytes(), len(ops), rlen, qlen


def encode_tag(field: bytes) -> bytes:
    """One SAM ``TG:T:value`` field → BAM aux bytes, with htslib's choice of integer type."""
    if len(field) < 5 or field[2:3] != b":" or field[4:5] != b":":
        raise ValueError(f"malformed tag {field[:40]!r}")
    tag, kind, value = field[:2], field[3:4], field[5:]
    if kind == b"i":
        x = int(value)
        if x < 0:
            if x >= -0x80:
                return tag + b"c" + struct.pack("<b", x)
            if x >= -0x8000:
                return tag + b"s" + struct.pack("<h", x)
            if x >= -0x80000000:
                return tag + b"i" + struct.pack("<i", x)
        else:
            if x <= 0xFF:
                return tag + b"C" + struct.pack("<B", x)
            if x <= 0xFFFF:
                return tag + b"S" + struct.pack("<H", x)
            if x <= 0xFFFFFFFF:
                return tag + b"I" + struct.pack("<I", x)
        raise ValueError(f"integer tag value {x} out of range")
    if kind == b"Z" or kind == b"H":
        if b"\0" in value:
            raise ValueError("NUL inside a string tag")
        if kind == b"H" and (len(value) % 2 or not re.fullmatch(rb"[0-9A-Fa-f]*", value)):
            raise ValueError(f"bad hex tag {field[:40]!r}")
        return tag + kind + value + b"\0"
    if kind == b"A":
        if len(value) != 1:
            raise ValueError(f"A tag needs one character: {field[:40]!r}")
        return tag + b"A" + value
    if kind == b"f":
        return tag + b"f" + _F32.pack(float(value))
    if kind == b"B":
        sub = value[:1]
        code = _INT_TYPES.get(sub)
        if code is None:
            raise ValueError(f"bad B array type {sub!r}")
        items = value[2:].split(b",") if len(value) > 2 else []
        if len(value) > 1 and value[1:2] != b",":
            raise ValueError(f"malformed B array {field[:40]!r}")
        conv = float if code == "f" else int
        try:
            body = struct.pack(f"<{len(items)}{code}", *map(conv, items))
        except struct.error:
            raise ValueError(f"B array value out of range for type {sub.decode()}") from None
        return tag + b"B" + sub + struct.pack("<I", len(items)) + body
    raise ValueError(f"unknown tag type {kind!r}")


class EncodedBatch:
    """Encoded records as one buffer plus per-record sizes and index keys.

    ``data`` is the concatenation of every record (each with its 4-byte ``block_size``);
    ``sizes`` the byte length of each; ``tid``/``beg``/``end``/``mapped`` what the index needs.
    """

    __slots__ = ("data", "sizes", "tid", "beg", "end", "mapped")

    def __init__(self, data: bytes, sizes: np.ndarray, tid: np.ndarray, beg: np.ndarray,
                 end: np.ndarray, mapped: np.ndarray):
        self.data = data
        self.sizes = sizes
        self.tid = tid
        self.beg = beg
        self.end = end
        self.mapped = mapped

    @property
    def records(self) -> list[bytes]:
        """The records as separate bytes objects (for tests and per-record callers)."""
        cuts = np.concatenate(([0], np.cumsum(self.sizes))).tolist()
        data = self.data
        return [data[a:b] for a, b in zip(cuts, cuts[1:])]

    def __len__(self) -> int:
        return len(self.sizes)


class SamEncoder:
    """Encodes SAM text lines against one header; keeps CIGAR / tag caches across batches.

    :meth:`encode` works column by column over the whole batch (list comprehensions, ``map``,
    numpy), not record by record; a line it cannot encode is then located and reported by
    :meth:`encode_one`, which applies the same rules to one line.
    """

    def __init__(self, header: BamHeader):
        self.header = header
        self._tids = {name.encode(): tid for tid, name in enumerate(header.names)}
        self._tids[b"*"] = -1
        self._cigars: dict[bytes, tuple[bytes, int, int, int]] = {b"*": (b"", 0, 0, -1)}
        self._tags: dict[bytes, bytes] = {}

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
        """Encode SAM lines (bytes, no header lines). ``first_record`` numbers error messages."""
        try:
            return self._encode(lines)
        except (ValueError, KeyError, IndexError, TypeError, struct.error, OverflowError) as exc:
            for i, line in enumerate(lines):
                self.encode_one(line, first_record + i)
            raise RecordError(f"SAM records {first_record}..{first_record + len(lines) - 1}: "
                              f"{exc}", first_record) from None

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
        unmapped = (flag & 4) != 0
        end = pos + np.where(unmapped | (rlen == 0), 1, rlen)
        ltag = np.fromiter(map(len, tags), np.int64, n)
        half = (lseq + 1) >> 1
        block_size = 32 + lname + 4 * ncig + half + lseq + ltag
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
        """Encode one line with full checks, raising :class:`RecordError` naming it."""
        try:
            return self._encode([line]).data
        except (ValueError, KeyError, IndexError, TypeError, struct.error, OverflowError) as exc:
            text = line[:80].decode(errors="replace").rstrip()
            why = str(exc)
            if isinstance(exc, KeyError):
                what = exc.args[0].decode(errors="replace") if exc.args else "?"
                why = f"reference {what!r} is not in the header"
            raise RecordError(f"SAM record {number}: {why}: {text!r}", number) from None


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
    stored when their references are the encoder's, else re-encoded from ``to_string()``."""
    names = tuple(encoder.header.names)
    datas: list[bytes] = []
    sizes: list[np.ndarray] = []
    keys: list[tuple[np.ndarray, ...]] = []
    run: list[bytes] = []

    def flush(at: int) -> None:
        if run:
            batch = encoder.encode(run, first_record + at - len(run))
            datas.append(batch.data)
            sizes.append(np.asarray(batch.sizes, np.int64))
            keys.append((batch.tid, batch.beg, batch.end, batch.mapped))
            run.clear()

    for k, item in enumerate(items):
        header = getattr(item, "header", None)
        if hasattr(item, "to_bytes") and tuple(getattr(header, "references", ())) == names:
            flush(k)
            raw = item.to_bytes()  # type: ignore[attr-defined]
            tid, pos, end, flag = item.index_span()  # type: ignore[attr-defined]
            datas.append(raw)
            sizes.append(np.array([len(raw)], np.int64))
            keys.append((np.array([tid]), np.array([max(pos, 0)]), np.array([max(end, 1)]),
                         np.array([not flag & 4])))
        else:
            run.append(to_sam_bytes(item))
    flush(len(items))
    return EncodedBatch(b"".join(datas), np.concatenate(sizes),
                        *(np.concatenate([key[j] for key in keys]) for j in range(4)))
