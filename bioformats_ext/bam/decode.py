"""BAM records → SAM text, formatted as htslib's ``sam_format1`` does.

The SAM text is the lingua franca: ``Bio.Align``'s SAM parser, pysam's ``fromstring`` and people
all read it, so a BAM record rendered here means the same thing everywhere. Long CIGARs stored in
a ``CG`` tag are restored, as htslib does on reading.
"""

from __future__ import annotations

import struct
from typing import Iterator, Sequence

import numpy as np

from ..errors import FormatError, TruncatedFileError
from .encode import CIGAR_OPS, SEQ_CODES

_FIXED = struct.Struct("<iiiBBHHHiiii")
_CIGAR_LETTERS = [chr(c) for c in CIGAR_OPS]
_REF_OPS = np.zeros(16, np.int64)
for _i in (0, 2, 3, 7, 8):  # M D N = X
    _REF_OPS[_i] = 1
# one byte of packed sequence → its two letters
_SEQ_PAIRS = [chr(SEQ_CODES[b >> 4]) + chr(SEQ_CODES[b & 15]) for b in range(256)]
_SEQ_PAIR_BYTES = bytes(x for b in range(256) for x in (SEQ_CODES[b >> 4], SEQ_CODES[b & 15]))
_QUAL_OUT = bytes((i + 33) & 0xFF for i in range(256))
_ARRAY_TYPES = {ord("c"): ("b", 1), ord("C"): ("B", 1), ord("s"): ("h", 2), ord("S"): ("H", 2),
                ord("i"): ("i", 4), ord("I"): ("I", 4), ord("f"): ("f", 4)}
_SCALAR = {ord("c"): struct.Struct("<b"), ord("C"): struct.Struct("<B"),
           ord("s"): struct.Struct("<h"), ord("S"): struct.Struct("<H"),
           ord("i"): struct.Struct("<i"), ord("I"): struct.Struct("<I"),
           ord("f"): struct.Struct("<f"), ord("d"): struct.Struct("<d")}


def _g(value: float) -> str:
    return "%g" % value


def record_span(rec: bytes | memoryview) -> tuple[int, int, int, int]:
    """``(tid, pos, end, flag)`` of a record (without its block_size prefix); end as bam_endpos."""
    try:
        tid, pos, l_name, _mapq, _bin, n_cigar, flag, l_seq = struct.unpack_from("<iiBBHHHi", rec, 0)
        if flag & 4:
            return tid, pos, pos + 1, flag
        cigar = _cigar_array(rec, l_name, n_cigar, l_seq)
    except (struct.error, ValueError, IndexError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"corrupt BAM record: {exc}") from None
    rlen = int((cigar >> 4)[_REF_OPS[cigar & 15] == 1].sum()) if len(cigar) else 0
    return tid, pos, pos + (rlen or 1), flag


def _cigar_array(rec, l_name: int, n_cigar: int, l_seq: int) -> np.ndarray:
    start = 32 + l_name
    cigar = np.frombuffer(rec, "<u4", n_cigar, start)
    if n_cigar == 2 and cigar[0] == (l_seq << 4 | 4) and (cigar[1] & 15) == 3:
        real = _find_cg(rec, start + 4 * n_cigar + (l_seq + 1) // 2 + l_seq)
        if real is not None:
            return real
    return cigar


def _find_cg(rec, offset: int) -> np.ndarray | None:
    """The ``CG:B,I`` array in the aux data, if present."""
    for tag, kind, value, _start, _stop in _iter_aux(rec, offset):
        if tag == b"CG" and kind == "B" and value[0] == "I":
            return np.asarray(value[1], np.uint32)
    return None


def _iter_aux(rec, offset: int):
    """Yield ``(tag, kind, value, start, stop)`` for each aux field from ``offset``."""
    n = len(rec)
    mv = memoryview(rec)
    while offset < n:
        if offset + 3 > n:
            raise FormatError("BAM aux data truncated")
        tag = bytes(mv[offset:offset + 2])
        kind = rec[offset + 2]
        start = offset
        offset += 3
        if kind == 65:  # A
            value = chr(rec[offset])
            offset += 1
        elif kind in _SCALAR:
            s = _SCALAR[kind]
            value = s.unpack_from(rec, offset)[0]
            offset += s.size
        elif kind in (90, 72):  # Z H
            stop = bytes(mv[offset:]).find(b"\0")
            if stop < 0:
                raise FormatError("BAM string tag without NUL terminator")
            value = bytes(mv[offset:offset + stop]).decode(errors="replace")
            offset += stop + 1
        elif kind == 66:  # B
            sub = rec[offset]
            if sub not in _ARRAY_TYPES:
                raise FormatError(f"bad B array type {sub!r}")
            (count,) = struct.unpack_from("<I", rec, offset + 1)
            code, size = _ARRAY_TYPES[sub]
            if offset + 5 + count * size > n:
                raise FormatError("BAM B array runs past the record")
            value = (chr(sub), struct.unpack_from(f"<{count}{code}", rec, offset + 5))  # type: ignore[assignment]
            offset += 5 + count * size
        else:
            raise FormatError(f"unknown BAM aux type {kind!r}")
        yield tag, chr(kind), value, start, offset


def format_aux(rec, offset: int, skip_cg: bool) -> list[str]:
    out = []
    for tag, kind, value, _start, _stop in _iter_aux(rec, offset):
        if skip_cg and tag == b"CG":
            continue
        t = tag.decode()
        if kind == "A":
            out.append(f"{t}:A:{value}")
        elif kind in "cCsSiI":
            out.append(f"{t}:i:{value}")
        elif kind == "f":
            out.append(f"{t}:f:{_g(value)}")
        elif kind == "d":
            out.append(f"{t}:d:{_g(value)}")
        elif kind in "ZH":
            out.append(f"{t}:{kind}:{value}")
        else:
            sub, items = value
            conv = _g if sub == "f" else str
            out.append(f"{t}:B:{sub}" + "".join("," + conv(x) for x in items))
    return out


def record_to_sam(rec: bytes | memoryview, names: Sequence[str]) -> str:
    """One BAM record (without its 4-byte block_size) as a SAM line (no newline)."""
    try:
        (tid, pos, l_name, mapq, _bin, n_cigar, flag, l_seq, ntid, npos,
         tlen) = struct.unpack_from("<iiBBHHHiiii", rec, 0)
        off = 32
        qname = bytes(rec[off:off + l_name - 1]).decode(errors="replace")
        off += l_name
        cigar = np.frombuffer(rec, "<u4", n_cigar, off)
        off += 4 * n_cigar
        seq_bytes = bytes(rec[off:off + (l_seq + 1) // 2])
        off += (l_seq + 1) // 2
        qual = bytes(rec[off:off + l_seq])
        off += l_seq
        if len(qual) != l_seq:
            raise TruncatedFileError("BAM record shorter than its fields")
        restored = False
        if n_cigar == 2 and cigar[0] == (l_seq << 4 | 4) and (cigar[1] & 15) == 3:
            real = _find_cg(rec, off)
            if real is not None:
                cigar, restored = real, True
        if not -1 <= tid < len(names) or not -1 <= ntid < len(names):
            raise FormatError(f"BAM record refers to reference {tid} / {ntid}; "
                              f"the header has {len(names)}")
        rname = names[tid] if tid >= 0 else "*"
        if ntid < 0:
            rnext = "*"
        elif ntid == tid:
            rnext = "="
        else:
            rnext = names[ntid]
        cigar_text = "".join(f"{c >> 4}{_CIGAR_LETTERS[c & 15]}" for c in cigar.tolist()) or "*"
        if l_seq:
            seq = _unpack_seq(seq_bytes, l_seq)
            qtext = "*" if qual[0] == 0xFF else qual.translate(_QUAL_OUT).decode("latin-1")
        else:
            seq = qtext = "*"
        fields = [qname, str(flag), rname, str(pos + 1), str(mapq), cigar_text, rnext, str(npos + 1),
                  str(tlen), seq, qtext]
        if off < len(rec):
            fields += format_aux(rec, off, restored)
        return "\t".join(fields)
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"corrupt BAM record: {exc}") from None


def _unpack_seq(packed: bytes, l_seq: int) -> str:
    codes = np.frombuffer(packed, np.uint8)
    pairs = np.frombuffer(_SEQ_PAIR_BYTES, np.uint8).reshape(256, 2)[codes]
    return pairs.tobytes()[:l_seq].decode("ascii")


def split_records(data: bytes | memoryview, offset: int = 0) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each complete record body in a buffer of concatenated records."""
    n = len(data)
    while offset + 4 <= n:
        (size,) = struct.unpack_from("<i", data, offset)
        if size < 32:
            raise FormatError(f"BAM record with block_size {size}", offset)
        if offset + 4 + size > n:
            break
        yield offset + 4, offset + 4 + size
        offset += 4 + size
