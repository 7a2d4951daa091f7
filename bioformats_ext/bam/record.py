"""Light BAM record objects with pysam's ``AlignedSegment`` vocabulary, decoded lazily from columns.

A record is two slots: its batch (one :class:`~bioformats_ext.bam.columns.BamColumns` plus
Python lists made once per batch) and its row number. Fixed fields come from lists built with
one ``tolist()`` per column; names, CIGARs, sequences and tags are decoded when first asked for,
for the whole batch where that is cheaper than per record. Records are read-only views: to
change one, write ``to_string()`` through a SAM/BAM writer or use pysam.

Semantics follow pysam (htslib): the real CIGAR of a long-CIGAR record (``CG`` tag) is shown and
the ``CG`` tag hidden, as htslib does on reading; ``reference_end`` is None for unmapped reads
and empty CIGARs; ``query_qualities`` is None when absent; ``get_tag(..., with_value_type=True)``
returns htslib's type letter (``"BC"``-style for arrays), ``get_tags`` the bare letter.
"""

from __future__ import annotations

import array
from itertools import repeat
from typing import Any, Iterator

import numpy as np

from .columns import BamColumns, cigar_text
from .decode import record_to_sam

__all__ = ["BamRecord", "RecordBatch"]

_QUAL_CODE = "B"


class RecordBatch:
    """Per-batch caches shared by the :class:`BamRecord` views of one :class:`BamColumns`."""

    __slots__ = ("cols", "header", "ref_id", "pos", "flag", "mapq", "_names", "_cig_bytes",
                 "_cig_cuts", "_cg", "_ends", "_seqs", "_quals", "_cig_cache")

    def __init__(self, cols: BamColumns, header: Any):
        self.cols = cols
        self.header = header
        self.ref_id: list[int] = cols.ref_id.tolist()
        self.pos: list[int] = cols.pos.tolist()
        self.flag: list[int] = cols.flag.tolist()
        self.mapq: list[int] = cols.mapq.tolist()
        self._names: list[str] | None = None
        self._cig_bytes: bytes | None = None
        self._cig_cuts: list[int] = []
        self._cg: dict[int, np.ndarray] | None = None
        self._ends: list[int] | None = None
        self._seqs: list[str | None] | None = None
        self._quals: list[np.ndarray | None] | None = None
        self._cig_cache: dict[bytes, tuple[tuple[int, int], ...]] = {}

    def __len__(self) -> int:
        return len(self.pos)

    def records(self) -> Iterator["BamRecord"]:
        n = len(self.pos)
        return map(BamRecord, repeat(self, n), range(n))  # C-level loop, no generator frame

    def names(self) -> list[str]:
        if self._names is None:
            self._names = self.cols.query_names()
        return self._names

    def cg(self) -> dict[int, np.ndarray]:
        if self._cg is None:
            self._cg = self.cols._cg_overrides()
        return self._cg

    def cigar_tuples(self, i: int) -> tuple[tuple[int, int], ...]:
        if self._cig_bytes is None:
            cols = self.cols
            flat, cuts = cols._gather(cols.cigar_start, 4 * cols.n_cigar)
            self._cig_bytes = flat.tobytes()
            self._cig_cuts = cuts.tolist()
            self.cg()
        cg = self._cg
        if cg and i in cg:
            return tuple((int(c) & 15, int(c) >> 4) for c in cg[i].tolist())
        key = self._cig_bytes[self._cig_cuts[i]:self._cig_cuts[i + 1]]
        hit = self._cig_cache.get(key)
        if hit is None:
            hit = tuple((c & 15, c >> 4) for c in np.frombuffer(key, "<u4").tolist())
            if len(self._cig_cache) < 4096:
                self._cig_cache[key] = hit
        return hit

    def ends(self) -> list[int]:
        if self._ends is None:
            self._ends = self.cols.reference_ends().tolist()
        return self._ends

    def seqs(self) -> list[str | None]:
        if self._seqs is None:
            self._seqs = self.cols.sequences()
        return self._seqs

    def quals(self) -> list[np.ndarray | None]:
        if self._quals is None:
            self._quals = self.cols.qualities()
        return self._quals

    def sam_lines(self) -> list[str]:
        """Every record as SAM text (``samtools view`` lines, no newline)."""
        names = self.header.references
        cols = self.cols
        u8 = cols._u8
        return [record_to_sam(u8[a + 4:b].tobytes(), names)
                for a, b in zip(cols.offset.tolist(), cols.stop.tolist())]


class BamRecord:
    """One BAM record with pysam ``AlignedSegment`` attribute names (read-only)."""

    __slots__ = ("_b", "_i")

    def __init__(self, batch: RecordBatch, i: int):
        self._b = batch
        self._i = i

    # -- fixed fields -----------------------------------------------------------------------
    @property
    def header(self) -> Any:
        return self._b.header

    @property
    def query_name(self) -> str:
        return self._b.names()[self._i]

    @property
    def flag(self) -> int:
        return self._b.flag[self._i]

    @property
    def reference_id(self) -> int:
        return self._b.ref_id[self._i]

    @property
    def reference_name(self) -> str | None:
        tid = self._b.ref_id[self._i]
        return self._b.header.references[tid] if tid >= 0 else None

    @property
    def reference_start(self) -> int:
        return self._b.pos[self._i]

    @property
    def reference_end(self) -> int | None:
        end = self._b.ends()[self._i]
        return None if end < 0 else end

    @property
    def reference_length(self) -> int | None:
        end = self.reference_end
        return None if end is None else end - self.reference_start

    @property
    def mapping_quality(self) -> int:
        return self._b.mapq[self._i]

    @property
    def next_reference_id(self) -> int:
        return int(self._b.cols.next_ref_id[self._i])

    @property
    def next_reference_name(self) -> str | None:
        tid = self.next_reference_id
        return self._b.header.references[tid] if tid >= 0 else None

    @property
    def next_reference_start(self) -> int:
        return int(self._b.cols.next_pos[self._i])

    @property
    def template_length(self) -> int:
        return int(self._b.cols.tlen[self._i])

    @property
    def bin(self) -> int:
        return int(self._b.cols.bin[self._i])

    @property
    def query_length(self) -> int:
        return int(self._b.cols.l_seq[self._i])

    # -- flags ------------------------------------------------------------------------------
    is_paired = property(lambda self: bool(self.flag & 1))
    is_proper_pair = property(lambda self: bool(self.flag & 2))
    is_unmapped = property(lambda self: bool(self.flag & 4))
    is_mapped = property(lambda self: not self.flag & 4)
    mate_is_unmapped = property(lambda self: bool(self.flag & 8))
    mate_is_mapped = property(lambda self: not self.flag & 8)
    is_reverse = property(lambda self: bool(self.flag & 16))
    is_forward = property(lambda self: not self.flag & 16)
    mate_is_reverse = property(lambda self: bool(self.flag & 32))
    mate_is_forward = property(lambda self: not self.flag & 32)
    is_read1 = property(lambda self: bool(self.flag & 64))
    is_read2 = property(lambda self: bool(self.flag & 128))
    is_secondary = property(lambda self: bool(self.flag & 256))
    is_qcfail = property(lambda self: bool(self.flag & 512))
    is_duplicate = property(lambda self: bool(self.flag & 1024))
    is_supplementary = property(lambda self: bool(self.flag & 2048))

    # -- CIGAR ------------------------------------------------------------------------------
    @property
    def cigartuples(self) -> list[tuple[int, int]] | None:
        ops = self._b.cigar_tuples(self._i)
        return list(ops) if ops else None

    @property
    def cigar(self) -> list[tuple[int, int]]:
        return list(self._b.cigar_tuples(self._i))

    @property
    def cigarstring(self) -> str | None:
        ops = self._b.cigar_tuples(self._i)
        if not ops:
            return None
        return cigar_text(np.array([n << 4 | op for op, n in ops], np.uint32))

    def get_cigar_stats(self) -> tuple[array.array, array.array]:
        bases, blocks = array.array("i", [0] * 11), array.array("i", [0] * 11)
        for op, n in self._b.cigar_tuples(self._i):
            bases[op] += n
            blocks[op] += 1
        return bases, blocks

    def get_blocks(self) -> list[tuple[int, int]]:
        """Aligned (M = X) reference blocks, as pysam."""
        out = []
        pos = self.reference_start
        for op, n in self._b.cigar_tuples(self._i):
            if op in (0, 7, 8):
                out.append((pos, pos + n))
                pos += n
            elif op in (2, 3):
                pos += n
        return out

    def get_aligned_pairs(self, matches_only: bool = False) -> list[tuple[int | None, int | None]]:
        """``(query position, reference position)`` pairs, None on the gapped side (pysam)."""
        out: list[tuple[int | None, int | None]] = []
        q, r = 0, self.reference_start
        for op, n in self._b.cigar_tuples(self._i):
            if op in (0, 7, 8):
                out.extend(zip(range(q, q + n), range(r, r + n)))
                q += n
                r += n
            elif op in (1, 4):
                if not matches_only:
                    out.extend((k, None) for k in range(q, q + n))
                q += n
            elif op in (2, 3):
                if not matches_only:
                    out.extend((None, k) for k in range(r, r + n))
                r += n
            elif op == 6:  # padding: pysam reports (and counts) query positions here
                if not matches_only:
                    out.extend((k, None) for k in range(q, q + n))
                q += n
        return out

    def get_reference_positions(self, full_length: bool = False) -> list[int | None]:
        """Reference positions of the aligned query bases (None for clipped/inserted ones when
        ``full_length``), as pysam."""
        out: list[int | None] = []
        r = self.reference_start
        for op, n in self._b.cigar_tuples(self._i):
            if op in (0, 7, 8):
                out.extend(range(r, r + n))
                r += n
            elif op in (1, 4):
                if full_length:
                    out.extend([None] * n)
            elif op in (2, 3):
                r += n
        return out

    @property
    def positions(self) -> list[int | None]:
        return self.get_reference_positions()

    def infer_query_length(self, always: bool = False) -> int | None:
        ops = self._b.cigar_tuples(self._i)
        if not ops:
            return None
        return sum(n for op, n in ops if op in (0, 1, 4, 7, 8) or (always and op == 5))

    def infer_read_length(self) -> int | None:
        return self.infer_query_length(always=True)

    @property
    def query_alignment_start(self) -> int:
        start = 0
        for op, n in self._b.cigar_tuples(self._i):
            if op == 4:
                start += n
            elif op != 5:
                break
        return start

    @property
    def query_alignment_end(self) -> int:
        ops = self._b.cigar_tuples(self._i)
        end = self.query_length or (self.infer_query_length() or 0)
        for op, n in reversed(ops):
            if op == 4:
                end -= n
            elif op != 5:
                break
        return end

    @property
    def query_alignment_length(self) -> int:
        return self.query_alignment_end - self.query_alignment_start

    # -- sequence and qualities -------------------------------------------------------------
    @property
    def query_sequence(self) -> str | None:
        return self._b.seqs()[self._i]

    @property
    def query_qualities(self) -> array.array | None:
        q = self._b.quals()[self._i]
        if q is None:
            return None
        return array.array(_QUAL_CODE, q.tobytes())

    @property
    def query_alignment_sequence(self) -> str | None:
        seq = self.query_sequence
        return None if seq is None else seq[self.query_alignment_start:self.query_alignment_end]

    @property
    def query_alignment_qualities(self) -> array.array | None:
        q = self.query_qualities
        return None if q is None else q[self.query_alignment_start:self.query_alignment_end]

    # -- tags -------------------------------------------------------------------------------
    def _aux(self) -> list[tuple[str, str, Any]]:
        fields = self._b.cols.aux(self._i)
        if self._i in self._b.cg():
            fields = [f for f in fields if f[0] != "CG"]
        return fields

    def has_tag(self, tag: str) -> bool:
        return any(t == tag for t, _k, _v in self._aux())

    def get_tag(self, tag: str, with_value_type: bool = False) -> Any:
        """Value of ``tag`` (KeyError when absent, as pysam); with its htslib type letter."""
        for t, kind, value in self._aux():
            if t == tag:
                if kind == "B":
                    sub, items = value
                    return (items, "B" + sub) if with_value_type else items
                return (value, kind) if with_value_type else value
        raise KeyError(f"tag '{tag}' not present")

    def get_tags(self, with_value_type: bool = False) -> list[tuple]:
        out: list[tuple] = []
        for t, kind, value in self._aux():
            if kind == "B":
                value = value[1]
            out.append((t, value, kind) if with_value_type else (t, value))
        return out

    # -- whole record -----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The record as stored, with its block_size prefix (what BamWriter writes)."""
        return self._b.cols.record_bytes(self._i)

    def to_string(self) -> str:
        """The SAM line, byte-identical to ``samtools view`` (pysam's ``to_string()``)."""
        cols = self._b.cols
        a, b = int(cols.offset[self._i]), int(cols.stop[self._i])
        return record_to_sam(cols._u8[a + 4:b].tobytes(), self._b.header.references)

    tostring = to_string

    def index_span(self) -> tuple[int, int, int, int]:
        """``(tid, pos, bam_endpos, flag)``: what an index builder pushes for this record."""
        end = self._b.ends()[self._i]
        pos = self._b.pos[self._i]
        return self.reference_id, pos, (pos + 1 if end < 0 else end), self.flag

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BamRecord):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"<BamRecord {self.query_name} {self.reference_name}:{self.reference_start}>"
