"""BAM record layout and the SAM field encoders shared by the per-line and batch encoders.

The fixed 36-byte record header, CIGAR/sequence alphabets, htslib's bin of a span, and the
SAM → BAM conversions of a CIGAR string and of one optional field (with htslib's choice of
integer type), plus :class:`EncodedBatch`, the encoders' output.
"""

from __future__ import annotations

import re
import struct

import numpy as np

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


def fixed_headers(tid: np.ndarray, pos: np.ndarray, mapq: np.ndarray, flag: np.ndarray,
                  ncig: np.ndarray, rlen: np.ndarray, lname: np.ndarray, lseq: np.ndarray,
                  ltag: np.ndarray, ntid: np.ndarray, npos: np.ndarray,
                  tlen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(fixed, block_size, end, unmapped)`` of a batch: the 36-byte record headers (``FIXED``
    records; ``lname`` counts the NUL, ``ltag`` the aux bytes) and htslib's ``bam_endpos``."""
    unmapped = (flag & 4) != 0
    end = pos + np.where(unmapped | (rlen == 0), 1, rlen)
    block_size = 32 + lname + 4 * ncig + ((lseq + 1) >> 1) + lseq + ltag
    fixed = np.empty(len(tid), FIXED)
    for name, values in (("block_size", block_size), ("refID", tid), ("pos", pos),
                         ("l_read_name", lname), ("mapq", mapq), ("bin", reg2bin_array(pos, end)),
                         ("n_cigar_op", ncig), ("flag", flag), ("l_seq", lseq),
                         ("next_refID", ntid), ("next_pos", npos), ("tlen", tlen)):
        fixed[name] = values
    return fixed, block_size, end, unmapped
