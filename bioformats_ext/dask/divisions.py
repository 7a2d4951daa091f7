"""Known Dask divisions for whole-file BGZF reads (BAM, VCF.gz, BCF) on a ``locus`` index.

``locus = reference id * 2**32 + 0-based start`` (reference ids in the index's order; records
without a reference, a BAM's unplaced tail, get ``len(references) * 2**32``): one int64 that
sorts like (reference, start), the order of a sorted file, so partitions in file order have
increasing loci. Dask needs every partition's loci in ``[divisions[i], divisions[i+1])``. The
index gives cut points that are record starts, but only window-accurate positions, and a run
of records sharing a start may straddle a cut. So for each cut we read the first records there
(one BGZF block, rarely two), move the cut forward past those sharing the first one's locus
(they join the previous partition) and take the locus of the record now at the cut as the
division. A partition made only of such a run joins the previous one. This costs one small
read per partition, which is why divisions are opt-in.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import FormatError, SortOrderError
from .partition import Partition, coalesce

SHIFT = 32
_MAX_RUN = 1_000_000  # records sharing one locus at a cut before we give up
_MAX_RECORD = 1 << 28  # a larger record size is corrupt (do not buffer the rest of the file)


def locus(tid: int, pos0: int) -> int:
    """The ``locus`` index value of a record on reference ``tid`` starting at ``pos0``."""
    return (tid << SHIFT) + pos0


def locus_of(references: Sequence[str], contig: str, pos0: int) -> int:
    """``locus`` of ``contig``:``pos0`` (0-based) — for ``ddf.loc[locus_of(...):...]``.
    ``references``: the file's reference order (a BAM's header, a VCF.gz's index names, a
    BCF's header contigs; ``plan``'s partitions list them in ``contigs``)."""
    return locus(list(references).index(contig), pos0)


def loci(tid: np.ndarray, pos0: np.ndarray, n_refs: int) -> np.ndarray:
    """Vectorised :func:`locus`; ``tid < 0`` (no reference) → ``n_refs * 2**32``."""
    tid = np.asarray(tid, np.int64)
    return np.where(tid < 0, np.int64(n_refs) << SHIFT, (tid << SHIFT) + np.asarray(pos0, np.int64))


def _records(reader: Any, fmt: str, names: Sequence[str], start: int, stop: int
             ) -> Iterator[tuple[int, int]]:
    """``(voffset, locus)`` of the records from ``start`` (a record start) up to ``stop``."""
    reader.seek(start)
    n_refs = len(names)
    while True:
        v = reader.tell()
        if v >= stop:
            return
        if fmt == "vcf":
            line = reader.readline()
            if not line:
                return
            if line.startswith(b"#"):
                continue
            fields = line.split(b"\t", 2)
            if len(fields) < 3:
                raise FormatError(f"{reader.source.name}: VCF line without POS at voffset {v}")
            chrom = fields[0].decode("utf-8", "replace")
            try:
                tid = list(names).index(chrom)
                pos0 = int(fields[1]) - 1
            except ValueError:
                raise FormatError(f"{reader.source.name}: record at voffset {v} has contig "
                                  f"{chrom!r} / POS {fields[1]!r} the index does not know"
                                  ) from None
        else:
            head = reader.read(4 if fmt == "bam" else 8)
            if not head:
                return
            if len(head) < (4 if fmt == "bam" else 8):
                raise FormatError(f"{reader.source.name}: truncated record at voffset {v}")
            size = sum(struct.unpack(f"<{len(head) // 4}I", head))
            if size > _MAX_RECORD:
                raise FormatError(f"{reader.source.name}: record of {size} bytes at voffset {v}")
            body = reader.read(size)
            if len(body) < max(size, 8):
                raise FormatError(f"{reader.source.name}: truncated record at voffset {v}")
            tid, pos0 = struct.unpack_from("<ii", body)
        yield v, (n_refs << SHIFT) if tid < 0 else locus(tid, pos0)


def with_divisions(parts: Sequence[Partition], src: Any, fmt: str, names: Sequence[str]
                   ) -> tuple[list[Partition], tuple[int, ...]]:
    """``parts`` (a whole-file plan, file order) with cuts moved off runs of equal loci, and
    their divisions. Raises SortOrderError when the file is not in (reference, start) order."""
    from ..bgzf import BgzfReader

    reader = BgzfReader(src)
    mapped = [p for p in parts if p.kind != "unmapped tail"]
    tail = [p for p in parts if p.kind == "unmapped tail"]
    n_refs = len(names)
    out: list[Partition] = []
    divisions: list[int] = []
    for p in mapped:
        if not p.units:
            continue
        start, first_stop = p.units[0]
        recs = _records(reader, fmt, names, start, first_stop)
        first = next(recs, None)
        if first is None:  # nothing starts in the first interval: keep it whole
            if out:
                out[-1] = _join(out[-1], p, src.size)
            continue
        if not out:
            out.append(p)
            divisions.append(first[1])
            continue
        cut, key = first
        moved = None
        for k, (v, key2) in enumerate(recs):
            if key2 != key:
                moved = (v, key2)
                break
            if k > _MAX_RUN:
                raise FormatError(f"{src.name}: over {_MAX_RUN} records share locus {key}")
        if moved is None:  # the whole first interval is one run: the partition joins the last
            out[-1] = _join(out[-1], p, src.size)
            continue
        new_cut, new_key = moved
        if new_key < divisions[-1] or key < divisions[-1]:
            raise SortOrderError(f"{src.name} is not sorted by (reference, start) in the "
                                 "index's reference order: no divisions")
        if new_cut != cut:
            out[-1] = _extend(out[-1], (cut, new_cut), src.size)
            p = replace(p, units=((new_cut, first_stop),) + tuple(p.units[1:]))
        out.append(p)
        divisions.append(new_key)
    for p in tail:
        out.append(p)
        divisions.append(n_refs << SHIFT)
    if not out:
        return [], ()
    # an upper bound (Dask's last division is inclusive): every placed record is below it
    top = n_refs << SHIFT if tail else (n_refs << SHIFT) - 1
    if len(divisions) > 1 and any(b <= a for a, b in zip(divisions, divisions[1:])):
        raise SortOrderError(f"{src.name} is not sorted by (reference, start): no divisions")
    out = [replace(p, index=i) for i, p in enumerate(out)]
    return out, tuple(divisions) + (max(top, divisions[-1]),)


def _extend(p: Partition, interval: tuple[int, int], size: int) -> Partition:
    units = list(p.units)
    if units and units[-1][1] == interval[0]:
        units[-1] = (units[-1][0], interval[1])
    else:
        units.append(interval)
    return _respan(replace(p, units=tuple(units)), size)


def _join(a: Partition, b: Partition, size: int) -> Partition:
    out = a
    for u in b.units:
        out = _extend(out, u, size)
    return replace(out, end_contig=b.end_contig, end=b.end,
                   estimated_bytes=a.estimated_bytes + b.estimated_bytes,
                   contigs=tuple(dict.fromkeys(a.contigs + b.contigs)))


def _respan(p: Partition, size: int) -> Partition:
    from .plan import _span

    spans = [_span(u, v, size) for u, v in p.units]
    return replace(p, byte_ranges=coalesce(spans, 1 << 20))
