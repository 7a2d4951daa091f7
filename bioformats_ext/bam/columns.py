"""Columnar decoding of BAM records: numpy over a whole decompressed run, text only on demand.

Why columns: a million reads decoded record by record costs a million Python objects before
anyone looks at a field. Here the fixed 36-byte part of every record is gathered with one fancy
index and viewed as a structured array; names, CIGARs, sequences, qualities and tags stay where
they are in the buffer, addressed by offset arrays, and are decoded in bulk only when asked.
This is the one decoder behind the record objects, ``Bio.Align.parse(x, "bam")``, region
queries and the data-frame helpers.

API (stable)::

    cols = decode_columns(buffer)            # buffer: bytes/bytearray/memoryview of records
    len(cols)                                 # number of records
    cols.ref_id, cols.pos, cols.mapq, cols.bin, cols.flag, cols.n_cigar, cols.l_seq,
    cols.l_read_name, cols.next_ref_id, cols.next_pos, cols.tlen     # numpy int arrays
    cols.offset, cols.stop                    # record i is buffer[offset[i]:stop[i]] (incl. block_size)
    cols.name_start, cols.cigar_start, cols.seq_start, cols.qual_start, cols.aux_start
    cols.query_names() -> list[str]
    cols.cigar_arrays() -> list[np.ndarray]   # u32 ``len << 4 | op`` (CG tag restored)
    cols.cigar_strings() -> list[str]         # "*" when there is no CIGAR
    cols.reference_ends() -> np.ndarray       # pysam's reference_end; -1 where pysam says None
    cols.end_positions() -> np.ndarray        # htslib bam_endpos (pos + 1 when unmapped / no ops)
    cols.sequences() -> list[str | None]      # None where l_seq == 0
    cols.qualities() -> list[np.ndarray | None]  # phred u8; None when absent (0xFF) or l_seq 0
    cols.tag_values(tag) -> list[object]      # value per record, None where the tag is absent
    cols.take(indices_or_mask) -> BamColumns  # a subset (same buffer)

``decode_columns(buffer, partial=True)`` accepts a trailing incomplete record (a streaming
chunk) and reports where it starts in ``cols.consumed``. Structural damage raises
:class:`~bioformats_ext.errors.FormatError` naming the record (1-based, counted from
``first_record``, which is 0-based).
"""

from __future__ import annotations

import array
import struct
from typing import Any, Sequence

import numpy as np

from ..errors import FormatError, TruncatedFileError
from .scan import MAX_RECORD_SIZE, record_starts, walk_records

__all__ = ["BamColumns", "decode_columns", "FIXED_DTYPE", "parse_aux", "CIGAR_LETTERS",
           "SEQ_LETTERS"]

FIXED_DTYPE = np.dtype([("block_size", "<i4"), ("ref_id", "<i4"), ("pos", "<i4"),
                        ("l_read_name", "u1"), ("mapq", "u1"), ("bin", "<u2"),
                        ("n_cigar", "<u2"), ("flag", "<u2"), ("l_seq", "<i4"),
                        ("next_ref_id", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4")])
CIGAR_LETTERS = "MIDNSHP=X"
SEQ_LETTERS = "=ACMGRSVTWYHKDBN"
#: one packed byte -> its two letters (the 16-entry nibble table, squared)
_PAIRS = np.frombuffer(bytes(ord(SEQ_LETTERS[b >> 4]) if k == 0 else ord(SEQ_LETTERS[b & 15])
                             for b in range(256) for k in (0, 1)), np.uint8).reshape(256, 2)
_REF_BITS = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 7) | (1 << 8)   # M D N = X

_ARRAY_CODES = {"c": "b", "C": "B", "s": "h", "S": "H", "i": "i", "I": "I", "f": "f"}
_SCALARS = {"c": struct.Struct("<b"), "C": struct.Struct("<B"), "s": struct.Struct("<h"),
            "S": struct.Struct("<H"), "i": struct.Struct("<i"), "I": struct.Struct("<I"),
            "f": struct.Struct("<f"), "d": struct.Struct("<d")}
_U32 = struct.Struct("<I")


def parse_aux(data: "bytes | memoryview", where: str = "BAM record") -> list[tuple[str, str, Any]]:
    """``[(tag, type, value), ...]`` of BAM aux bytes, with htslib's value types.

    Integers keep their stored type letter (``c C s S i I``), ``A`` is a one-letter str, ``Z``
    and ``H`` are str, ``f``/``d`` float and ``B`` an :class:`array.array` whose typecode
    matches the element type. Anything malformed raises :class:`FormatError`.
    """
    out: list[tuple[str, str, Any]] = []
    n = len(data)
    pos = 0
    mv = memoryview(data)
    while pos < n:
        if pos + 3 > n:
            raise FormatError(f"{where}: aux data truncated")
        try:
            tag = bytes(mv[pos:pos + 2]).decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(f"{where}: aux tag is not ASCII") from None
        kind = chr(mv[pos + 2])
        pos += 3
        value: Any
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            if pos + scalar.size > n:
                raise FormatError(f"{where}: aux {tag}:{kind} truncated")
            value = scalar.unpack_from(mv, pos)[0]
            pos += scalar.size
        elif kind == "A":
            if pos >= n:
                raise FormatError(f"{where}: aux {tag}:A truncated")
            value = chr(mv[pos])
            pos += 1
        elif kind in "ZH":
            stop = bytes(mv[pos:]).find(b"\0")
            if stop < 0:
                raise FormatError(f"{where}: aux {tag}:{kind} has no NUL terminator")
            value = bytes(mv[pos:pos + stop]).decode("utf-8", "replace")
            pos += stop + 1
        elif kind == "B":
            if pos + 5 > n:
                raise FormatError(f"{where}: aux {tag}:B truncated")
            sub = chr(mv[pos])
            code = _ARRAY_CODES.get(sub)
            if code is None:
                raise FormatError(f"{where}: aux {tag}:B has element type {sub!r}")
            (count,) = _U32.unpack_from(mv, pos + 1)
            values = array.array(code)
            size = values.itemsize * count
            pos += 5
            if pos + size > n:
                raise FormatError(f"{where}: aux {tag}:B,{sub} array of {count} runs past the record")
            values.frombytes(mv[pos:pos + size])
            if struct.pack("=I", 1) != _U32.pack(1):  # big-endian host
                values.byteswap()
            value = (sub, values)
            pos += size
        else:
            raise FormatError(f"{where}: aux {tag} has unknown type {kind!r}")
        out.append((tag, kind, value))
    return out


class BamColumns:
    """Per-record numpy columns of a buffer of BAM records (see the module docstring)."""

    __slots__ = ("buffer", "offset", "stop", "ref_id", "pos", "mapq", "bin", "flag", "n_cigar",
                 "l_seq", "l_read_name", "next_ref_id", "next_pos", "tlen", "consumed",
                 "first_record", "_u8", "_cg")

    def __init__(self, buffer: Any, u8: np.ndarray, offset: np.ndarray, fixed: np.ndarray,
                 consumed: int, first_record: int = 0):
        self.buffer = buffer
        self._u8 = u8
        self.offset = offset
        self.ref_id = fixed["ref_id"].astype(np.int64)
        self.pos = fixed["pos"].astype(np.int64)
        self.mapq = fixed["mapq"].astype(np.int64)
        self.bin = fixed["bin"].astype(np.int64)
        self.flag = fixed["flag"].astype(np.int64)
        self.n_cigar = fixed["n_cigar"].astype(np.int64)
        self.l_seq = fixed["l_seq"].astype(np.int64)
        self.l_read_name = fixed["l_read_name"].astype(np.int64)
        self.next_ref_id = fixed["next_ref_id"].astype(np.int64)
        self.next_pos = fixed["next_pos"].astype(np.int64)
        self.tlen = fixed["tlen"].astype(np.int64)
        self.stop = offset + 4 + fixed["block_size"].astype(np.int64)
        self.consumed = consumed
        self.first_record = first_record
        self._cg: dict[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.offset)

    def __repr__(self) -> str:
        return f"BamColumns({len(self)} records)"

    # -- offsets of the variable-length parts --------------------------------------------------
    @property
    def name_start(self) -> np.ndarray:
        return self.offset + 36

    @property
    def cigar_start(self) -> np.ndarray:
        return self.offset + 36 + self.l_read_name

    @property
    def seq_start(self) -> np.ndarray:
        return self.cigar_start + 4 * self.n_cigar

    @property
    def qual_start(self) -> np.ndarray:
        return self.seq_start + (self.l_seq + 1) // 2

    @property
    def aux_start(self) -> np.ndarray:
        return self.qual_start + self.l_seq

    def record_bytes(self, i: int) -> bytes:
        """Record ``i`` with its block_size prefix (what a BAM writer writes)."""
        return bytes(self._u8[int(self.offset[i]):int(self.stop[i])])

    # -- subsets -------------------------------------------------------------------------------
    def take(self, which: "np.ndarray | Sequence[int] | slice") -> "BamColumns":
        """The records selected by an index array, boolean mask or slice (same buffer)."""
        new = object.__new__(BamColumns)
        if isinstance(which, np.ndarray) and which.dtype == bool:
            which = idx = np.flatnonzero(which)  # integer takes are cheaper than 13 masks
        else:
            idx = np.arange(len(self))[which]
        for name in ("ref_id", "pos", "mapq", "bin", "flag", "n_cigar", "l_seq", "l_read_name",
                     "next_ref_id", "next_pos", "tlen", "offset", "stop"):
            setattr(new, name, getattr(self, name)[which])
        new.buffer, new._u8, new.consumed = self.buffer, self._u8, self.consumed
        new.first_record = self.first_record + (int(idx[0]) if len(idx) else 0)
        new._cg = None if self._cg is None else {}
        if self._cg:
            back = {int(old): k for k, old in enumerate(idx.tolist())}
            new._cg = {back[i]: v for i, v in self._cg.items() if i in back}
        return new

    # -- gathering helpers ---------------------------------------------------------------------
    def _gather(self, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Concatenate ``buffer[starts[i]:starts[i]+lengths[i]]`` for all i; also the cut points."""
        cuts = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=cuts[1:])
        total = int(cuts[-1])
        if total == 0:
            return np.zeros(0, np.uint8), cuts
        width = int(lengths[0])
        if width * len(lengths) == total and (lengths == width).all():
            # equal lengths (fixed-length reads): row copies, no per-byte index array
            return self._rows(starts, width).reshape(-1), cuts
        idx = np.arange(total, dtype=np.int64) + np.repeat(starts - cuts[:-1], lengths)
        return self._u8[idx], cuts

    def _rows(self, starts: np.ndarray, width: int) -> np.ndarray:
        """``buffer[starts[i]:starts[i]+width]`` for all i as an ``n x width`` array (a gather
        of rows of a strided view; every row must lie inside the buffer)."""
        if width == 0:
            return np.zeros((len(starts), 0), np.uint8)
        return _byte_rows(self._u8, width)[starts].view(np.uint8).reshape(len(starts), width)

    def query_names(self) -> list[str]:
        """Every record's QNAME (one gather, one decode, one split)."""
        flat, _cuts = self._gather(self.name_start, self.l_read_name)
        text = flat.tobytes().decode("utf-8", "replace")
        names = text.split("\0")
        if len(names) == 2 * len(self) + 1 or len(names) != len(self) + 1:
            # a name with an embedded NUL or a missing terminator: fall back to exact slicing
            out = []
            for a, n in zip(self.name_start.tolist(), self.l_read_name.tolist()):
                raw = self._u8[a:a + n].tobytes()
                out.append(raw.split(b"\0", 1)[0].decode("utf-8", "replace"))
            return out
        names.pop()
        return names

    def _cg_overrides(self) -> dict[int, np.ndarray]:
        """Records whose CIGAR lives in a ``CG`` tag (placeholder ``<l_seq>S<rlen>N``)."""
        if self._cg is None:
            self._cg = {}
            cand = np.flatnonzero(self.n_cigar == 2)
            if len(cand):
                c0 = self.cigar_start[cand]
                first = _u32_at(self._u8, c0)
                second = _u32_at(self._u8, c0 + 4)
                hit = cand[(first == ((self.l_seq[cand] << 4) | 4)) & ((second & 15) == 3)]
                for i in hit.tolist():
                    real = self._find_cg(i)
                    if real is not None:
                        self._cg[i] = real
        return self._cg

    def _find_cg(self, i: int) -> np.ndarray | None:
        for tag, kind, value in self.aux(i):
            if tag == "CG" and kind == "B" and value[0] == "I":
                return np.array(value[1], dtype=np.uint32)
        return None

    def has_cg(self, i: int) -> bool:
        return i in self._cg_overrides()

    def cigar_arrays(self) -> list[np.ndarray]:
        """Every record's CIGAR as u32 ``length << 4 | op`` (the real one for CG records)."""
        flat, cuts = self._gather(self.cigar_start, 4 * self.n_cigar)
        ops = flat.view("<u4").astype(np.uint32) if len(flat) else np.zeros(0, np.uint32)
        c = (cuts // 4).tolist()
        out = [ops[a:b] for a, b in zip(c, c[1:])]
        for i, real in self._cg_overrides().items():
            out[i] = real
        return out

    def cigar_strings(self) -> list[str]:
        """Every record's CIGAR text (``"*"`` when empty); repeated CIGARs decode once."""
        cache: dict[bytes, str] = {b"": "*"}
        u8 = self._u8
        out = []
        for a, n in zip(self.cigar_start.tolist(), self.n_cigar.tolist()):
            raw = u8[a:a + 4 * n].tobytes()
            text = cache.get(raw)
            if text is None:
                text = cigar_text(np.frombuffer(raw, "<u4"))
                if len(cache) < 65536:
                    cache[raw] = text
            out.append(text)
        for i, real in self._cg_overrides().items():
            out[i] = cigar_text(real)
        return out

    def _ref_lengths(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Reference span of each CIGAR (M D N = X), 0 for empty / unmapped (of the records
        ``rows`` only, when given)."""
        if rows is None:
            rows = np.arange(len(self))
            flag, n_cigar = self.flag, self.n_cigar
        else:
            flag, n_cigar = self.flag[rows], self.n_cigar[rows]
        rlen = np.zeros(len(rows), np.int64)
        sel = np.flatnonzero(((flag & 4) == 0) & (n_cigar > 0))
        if len(sel):
            nc = n_cigar[sel]
            flat, cuts = self._gather(self.cigar_start[rows[sel]], 4 * nc)
            ops = flat.view("<u4").astype(np.int64)
            lens = (ops >> 4) * ((_REF_BITS >> (ops & 15)) & 1)
            if len(ops) == len(sel):  # one operation each: no per-record sums
                rlen[sel] = lens
            else:
                owner = np.repeat(np.arange(len(sel)), nc)
                rlen[sel] = np.bincount(owner, weights=lens, minlength=len(sel)).astype(np.int64)
        return rlen

    def reference_ends(self) -> np.ndarray:
        """pysam's ``reference_end``: -1 (pysam: None) for unmapped reads and empty CIGARs."""
        rlen = self._ref_lengths()
        end = self.pos + np.maximum(rlen, 1)
        end[((self.flag & 4) != 0) | (self.n_cigar == 0)] = -1
        return end

    def end_positions(self, rows: np.ndarray | None = None) -> np.ndarray:
        """htslib's ``bam_endpos``: what indexes and overlap tests use (of the records ``rows``
        only, when given)."""
        if rows is None:
            return self.pos + np.maximum(self._ref_lengths(), 1)
        return self.pos[rows] + np.maximum(self._ref_lengths(rows), 1)

    def sequences(self) -> list[str | None]:
        """Every SEQ as a str (None where absent): one gather, one nibble-pair table lookup."""
        half = (self.l_seq + 1) // 2
        flat, cuts = self._gather(self.seq_start, half)
        text = _PAIRS[flat].tobytes().decode("ascii") if len(flat) else ""
        starts = (2 * cuts[:-1]).tolist()
        return [text[a:a + n] if n else None for a, n in zip(starts, self.l_seq.tolist())]

    def qualities(self) -> list[np.ndarray | None]:
        """Every QUAL as phred u8 values (None when absent: 0xFF first byte, or no sequence)."""
        flat, cuts = self._gather(self.qual_start, self.l_seq)
        c = cuts.tolist()
        out: list[np.ndarray | None] = []
        for a, b in zip(c, c[1:]):
            out.append(None if a == b or flat[a] == 0xFF else flat[a:b])
        return out

    def quality_strings(self) -> list[str]:
        """QUAL as SAM text (``"*"`` when absent)."""
        flat, cuts = self._gather(self.qual_start, self.l_seq)
        text = (flat + 33).astype(np.uint8).tobytes().decode("latin-1") if len(flat) else ""
        c = cuts.tolist()
        return ["*" if a == b or flat[a] == 0xFF else text[a:b] for a, b in zip(c, c[1:])]

    def aux_bytes(self, i: int) -> bytes:
        return self._u8[int(self.aux_start[i]):int(self.stop[i])].tobytes()

    def aux(self, i: int) -> list[tuple[str, str, Any]]:
        """Parsed aux fields of record ``i`` (see :func:`parse_aux`)."""
        return parse_aux(self.aux_bytes(i), f"BAM record {self.first_record + i + 1}")

    def tag_values(self, tag: str) -> list[Any]:
        """The value of ``tag`` for every record (None where absent); B arrays as array.array."""
        key = tag.encode("ascii")
        out: list[Any] = []
        u8 = self._u8
        for i, (a, b) in enumerate(zip(self.aux_start.tolist(), self.stop.tolist())):
            raw = u8[a:b].tobytes()
            value = None
            if key in raw:  # cheap pre-filter; parse only records that may hold it
                for t, kind, v in parse_aux(raw, f"BAM record {self.first_record + i + 1}"):
                    if t == tag:
                        value = v[1] if kind == "B" else v
                        break
            out.append(value)
        return out


def cigar_text(ops: np.ndarray) -> str:
    if not len(ops):
        return "*"
    return "".join(f"{c >> 4}{CIGAR_LETTERS[c & 15] if (c & 15) < 9 else '?'}"
                   for c in ops.tolist())


def _byte_rows(u8: np.ndarray, width: int) -> np.ndarray:
    """Read-only view whose item ``i`` is ``u8[i:i+width]`` as one ``width``-byte void (items
    overlap): one fancy index of it gathers a fixed-size field of many records, 2-5x faster
    than gathering rows of an ``n x width`` byte view. (``np.ndarray`` directly: ``as_strided``
    costs several microseconds per call, which small region queries feel.)"""
    rows = np.ndarray((max(len(u8) - width + 1, 0),), np.dtype((np.void, width)), buffer=u8,
                      strides=(1,))
    rows.flags.writeable = False
    return rows


def _u32_at(u8: np.ndarray, at: np.ndarray) -> np.ndarray:
    idx = at[:, None] + np.arange(4)
    b = u8[idx].astype(np.uint32)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


def decode_columns(buffer: Any, offset: int = 0, *, partial: bool = False,
                   n_refs: int | None = None, first_record: int = 0,
                   hints: "np.ndarray | None" = None) -> BamColumns:
    """Decode every record in ``buffer[offset:]`` into :class:`BamColumns`.

    ``partial``: the buffer may end inside a record (streaming); ``cols.consumed`` is where that
    record starts. Otherwise a trailing fragment raises :class:`TruncatedFileError`.
    ``hints``: offsets likely to start records (BGZF block starts) to speed up the boundary walk.
    ``n_refs``: validate refIDs against the header. ``first_record`` numbers error messages.
    """
    u8 = np.frombuffer(buffer, np.uint8)
    limit = len(u8)
    if hints is not None and len(hints):
        starts, consumed = _block_starts(u8, offset, np.asarray(hints, np.int64), limit)
    else:
        starts, consumed = record_starts(u8, offset, limit)  # type: ignore[arg-type]
    if consumed < limit and not partial:
        raise TruncatedFileError(f"BAM record {first_record + len(starts) + 1}: data ends inside the "
                                 f"record ({limit - consumed} bytes left)")
    starts = np.asarray(starts, np.int64)
    if len(starts) and int(starts[-1]) + 36 > limit:
        raise TruncatedFileError(f"BAM record {first_record + len(starts)}: shorter than "
                                 "its fixed fields")
    if len(starts):
        fixed = _byte_rows(u8, 36)[starts].view(FIXED_DTYPE)
    else:
        fixed = np.zeros(0, FIXED_DTYPE)
    cols = BamColumns(buffer, u8, starts, fixed, consumed, first_record)
    _validate(cols, fixed, n_refs)
    return cols


#: Fewer blocks than this whose records all have one size: walk the whole batch instead
_UNIFORM_SHARE = 0.5


def _block_starts(u8: np.ndarray, offset: int, hints: np.ndarray, limit: int
                  ) -> tuple[np.ndarray, int]:
    """:func:`~bioformats_ext.bam.scan.walk_records`' result (record starts and where the next
    record starts), cheaper when blocks hold records of one size (fixed-length reads, names and
    tags): such a block, entered at its start, is cut arithmetically and checked with one
    gather, with no walk. ``hints`` are the block starts. Other blocks are walked one by one;
    when a record spans a block boundary, or few blocks are uniform, the rest is left to
    ``walk_records`` (exact in every case)."""
    inner = hints[(hints > offset) & (hints < limit)]
    lo = np.concatenate(([offset], inner))
    hi = np.concatenate((inner, [limit]))
    sizes = np.zeros(len(lo), np.int64)
    readable = hi - lo >= 4
    sizes[readable] = np.ndarray((max(limit - 3, 0),), "<u4", buffer=u8, strides=(1,))[
        lo[readable]].astype(np.int64) + 4
    uniform = (sizes >= 36) & (sizes <= MAX_RECORD_SIZE)
    uniform[uniform] = (hi[uniform] - lo[uniform]) % sizes[uniform] == 0
    if np.count_nonzero(uniform) < _UNIFORM_SHARE * len(lo):
        return walk_records(u8, offset, hints, limit)
    counts = np.where(uniform, (hi - lo) // np.maximum(sizes, 1), 0)
    first = np.zeros(len(lo) + 1, np.int64)
    np.cumsum(counts, out=first[1:])
    # record k of the batch (block j) starts at lo[j] + size[j] * (k - first[j])
    size = int(sizes[0])
    if uniform.all() and (sizes == size).all():  # one progression for the whole batch
        at = offset + size * np.arange(int(first[-1]))
        each: Any = size
    else:
        each = np.repeat(sizes, counts)
        at = np.repeat(lo - sizes * first[:-1], counts)
        at += each * np.arange(int(first[-1]))
    # every predicted record must have the block's size (then each one is a true start)
    bad = np.ndarray((max(limit - 3, 0),), "<u4", buffer=u8, strides=(1,))[at] + 4 != each
    if bad.any():
        uniform[np.unique(np.repeat(np.arange(len(lo)), counts)[bad])] = False
    parts: list[np.ndarray] = []
    cur = offset
    lo_l, hi_l, first_l = lo.tolist(), hi.tolist(), first.tolist()
    for j, ok in enumerate(uniform.tolist()):
        if cur != lo_l[j]:  # a record spans the block boundary: walk the rest exactly
            rest, cur = walk_records(u8, cur, inner[inner > cur], limit)
            parts.append(rest)
            break
        if ok:
            parts.append(at[first_l[j]:first_l[j + 1]])
            cur = hi_l[j]
        else:
            part, cur = record_starts(u8, cur, hi_l[j])
            parts.append(part)
    starts = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return starts, cur


def _validate(cols: BamColumns, fixed: np.ndarray, n_refs: int | None) -> None:
    """Every record's declared parts must fit its block_size (vectorised)."""
    if not len(cols):
        return
    block = fixed["block_size"].astype(np.int64)
    need = 32 + cols.l_read_name + 4 * cols.n_cigar + (cols.l_seq + 1) // 2 + cols.l_seq
    bad = ((block < 32) | (block > MAX_RECORD_SIZE) | (cols.l_read_name < 1) | (cols.l_seq < 0)
           | (need > block) | (cols.ref_id < -1) | (cols.next_ref_id < -1) | (cols.pos < -1))
    if n_refs is not None:
        bad |= (cols.ref_id >= n_refs) | (cols.next_ref_id >= n_refs)
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(
            f"BAM record {cols.first_record + i + 1}: inconsistent fields (block_size {block[i]}, "
            f"refID {cols.ref_id[i]}, next refID {cols.next_ref_id[i]}, pos {cols.pos[i]}, "
            f"l_read_name {cols.l_read_name[i]}, n_cigar_op {cols.n_cigar[i]}, l_seq "
            f"{cols.l_seq[i]})" + ("" if n_refs is None else f" with {n_refs} references"))
    # every name ends in NUL
    cigar_start = cols.cigar_start
    term = cols._u8[cigar_start - 1]
    if (term != 0).any():
        i = int(np.argmax(term != 0))
        raise FormatError(f"BAM record {cols.first_record + i + 1}: read name is not NUL-terminated")
    n_cigar = cols.n_cigar
    ops = n_cigar > 0
    if ops.any():
        k = int(n_cigar[0])
        if (n_cigar == k).all():  # same number of operations everywhere: u32 gathers
            words = np.ndarray((max(len(cols._u8) - 3, 0),), "<u4", buffer=cols._u8, strides=(1,))
            codes = words[cigar_start if k == 1 else
                          (cigar_start[:, None] + 4 * np.arange(k)).reshape(-1)] & 15
        else:
            flat, _ = cols._gather(cigar_start[ops], 4 * n_cigar[ops])
            codes = flat.view("<u4") & 15
        if (codes > 8).any():
            k = int(np.argmax(codes > 8))
            owner = np.repeat(np.flatnonzero(ops), cols.n_cigar[ops])[k]
            raise FormatError(f"BAM record {cols.first_record + int(owner) + 1}: unknown CIGAR "
                              f"operation {int(codes[k])}")
