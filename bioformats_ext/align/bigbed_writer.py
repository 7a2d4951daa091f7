"""Bio.Align writer for bigBed on top of the streaming :mod:`bioformats_ext.bbi.write` core.

Same keywords as Biopython's ``Bio.Align.bigbed.AlignmentWriter`` (``bedN``, ``declaration``,
``targets``, ``compress``, ``extraIndex``) and the same BED text for each alignment, but one
pass over any iterable (list, generator, ``Alignments``, an iterator), bounded memory, any
binary target (path, file object, ``io.BytesIO``, pipe), valid output for zero alignments, and
the file bedToBigBed would make from the same BED lines. A path target is written under a
temporary name and renamed only on success.
"""

from __future__ import annotations

import os
from itertools import islice
from typing import Iterable, Iterator

import numpy as np
from Bio.Align import Alignment, interfaces

from ..bbi.autosql import AutoSqlTable, bed_declaration
from .._gc import gc_paused
from ..bbi.write import BigBedWriter, _Numbers

__all__ = ["AlignmentWriter"]


class AlignmentWriter(interfaces.AlignmentWriter):
    """Alignment file writer for the bigBed file format."""

    fmt = "bigBed"
    mode = "b"

    def __init__(self, target, bedN: int = 12, declaration: AutoSqlTable | None = None,
                 targets=None, compress: bool = True, extraIndex=()):
        """Create the writer (``target``: path or binary file object).

        ``bedN``: number of standard BED columns (3-12); ``declaration``: autoSql table (needed
        for extra columns, which come from ``alignment.annotations``); ``targets``: SeqRecords
        with the chromosome sizes (default ``alignments.targets``); ``compress``: zlib blocks;
        ``extraIndex``: names of string columns to index.
        """
        if bedN < 3 or bedN > 12:
            raise ValueError("bedN must be between 3 and 12")
        if target is not None and not isinstance(target, (str, os.PathLike)):
            try:
                target.write(b"")
            except TypeError:
                from Bio import StreamModeError

                raise StreamModeError("File must be opened in binary mode.") from None
        # Paths are opened by BigBedWriter (temporary name + rename), not by the base class.
        self._stream = None
        self._target = target
        self.bedN = bedN
        self.declaration = declaration
        self.targets = targets
        self.compress = compress
        self.extraIndexNames = list(extraIndex)
        self.itemsPerSlot = 512
        self.blockSize = 256

    def write(self, alignments: Iterable[Alignment]) -> int:
        """Write all alignments; return how many were written."""
        return self.write_file(self._target, alignments)

    def write_file(self, stream, alignments: Iterable[Alignment]) -> int:
        """Write the alignments to ``stream`` (a path or binary file); return the count."""
        targets = self.targets
        if targets is None:
            targets = getattr(alignments, "targets", None)
        if targets is None:
            raise ValueError("targets (SeqRecords with chromosome lengths) are required when "
                             "the alignments have no .targets attribute")
        sizes = {record.id: len(record) for record in targets}
        declaration = self.declaration
        if declaration is None:
            try:
                declaration = alignments.declaration[:self.bedN]  # type: ignore[attr-defined]
            except (AttributeError, TypeError):
                declaration = bed_declaration(self.bedN)
        self.declaration = declaration
        writer = BigBedWriter(stream, sizes, autosql=declaration, bed_type=self.bedN,
                              extra_index=self.extraIndexNames, compress=self.compress,
                              block_size=self.blockSize, items_per_slot=self.itemsPerSlot)
        try:
            count = 0
            for chroms, starts, ends, rests in _paused(_bed_batches(alignments, self.bedN,
                                                                   declaration)):
                numbers = _Numbers(range(count, count + len(chroms)))
                numbers.is_lines = False
                writer.write_batch(chroms, starts, ends, rests, numbers)
                count += len(chroms)
        except BaseException:
            writer.abort()
            raise
        return writer.close()


def _bed_rows(alignments: Iterable[Alignment], bedN: int,
              declaration: AutoSqlTable) -> Iterator[tuple[str, int, int, bytes]]:
    """``(chrom, start, end, rest)`` for each alignment, with the BED text Biopython writes."""
    extra = [field.name for field in list(declaration)[bedN:]]
    for index, alignment in enumerate(alignments):
        coordinates = np.asarray(alignment.coordinates)
        t = coordinates[0].tolist()
        chrom = alignment.sequences[0].id
        start = t[0]
        end = t[-1]
        if bedN == 3 and not extra:
            yield chrom, start, end, b""
            continue
        row = []
        if bedN > 3:
            name = alignment.sequences[1].id if len(alignment.sequences) > 1 else None
            if not name:
                name = "."
            row.append(name)
        if bedN > 4:
            try:
                score = alignment.score
            except AttributeError:
                row.append(".")
            else:
                # Biopython's BED parser gives float scores; BED (and bedToBigBed) need an
                # integer, so an integral float is written as one ("463", not "463.0").
                if isinstance(score, float) and score.is_integer():
                    score = int(score)
                row.append(str(score))
        q = coordinates[1].tolist() if bedN > 5 else None
        if bedN > 5:
            row.append("+" if q[0] <= q[-1] else "-")
        if bedN > 6:
            thick_start = getattr(alignment, "thickStart", start)
            row.append(str(thick_start))
        if bedN > 7:
            row.append(str(getattr(alignment, "thickEnd", end)))
        if bedN > 8:
            row.append(getattr(alignment, "itemRgb", "."))
        if bedN > 9:
            sizes = []
            starts = []
            t0 = t[0]
            q0 = q[0]
            for t1, q1 in zip(t[1:], q[1:]):
                dt = t1 - t0
                dq = q1 - q0
                if dt and dq:
                    sizes.append(dt if dt > dq else dq)
                    starts.append(t0 - start)
                t0 = t1
                q0 = q1
            row.append(str(len(sizes)))
            if bedN > 10:
                row.append(",".join(map(str, sizes)) + ",")
            if bedN > 11:
                row.append(",".join(map(str, starts)) + ",")
        for field_name in extra:
            value = alignment.annotations[field_name]
            if isinstance(value, str):
                row.append(value)
            elif isinstance(value, (int, float)):
                row.append(str(value))
            else:
                row.append(",".join(map(str, value)))
        yield chrom, start, end, "\t".join(row).encode()


_BATCH = 4096


def _bed_batches(alignments: Iterable[Alignment], bedN: int, declaration: AutoSqlTable):
    """Batches ``(chroms, starts, ends, rests)`` of BED text, computed with numpy per batch.

    Gives the same text as :func:`_bed_rows` (which handles alignments of more than two
    sequences); block sizes / starts of a whole batch come from one concatenated coordinate
    array instead of a Python loop per alignment.
    """
    extra = [field.name for field in list(declaration)[bedN:]]
    # A generator, because Biopython's iterators rewind whenever iter() is called on them.
    it = (alignment for alignment in alignments)
    while True:
        batch = list(islice(it, _BATCH))
        if not batch:
            return
        coords = [a.coordinates for a in batch]
        shapes = _shapes(coords)
        if shapes is None:  # coordinates given as nested lists
            coords = [np.asarray(c) for c in coords]
            shapes = _shapes(coords)
        if bedN <= 5 or extra or shapes is None or shapes.ndim != 2 or shapes.shape[1] != 2 \
                or (shapes[:, 0] != 2).any() or (shapes[:, 1] < 2).any():
            rows = list(_bed_rows(batch, bedN, declaration))
            chroms, starts, ends, rests = (list(col) for col in zip(*rows))
            yield chroms, starts, ends, rests
            continue
        yield _fast_batch(batch, coords, shapes[:, 1], bedN)


def _shapes(coords) -> np.ndarray | None:
    try:
        return np.array([c.shape for c in coords], dtype=np.int64)
    except (AttributeError, ValueError):  # lists, or arrays of different dimensions
        return None


def _fast_batch(batch, coords, lens: np.ndarray, bedN: int):
    n = len(batch)
    big = np.concatenate(coords, axis=1).astype(np.int64, copy=False)
    t = big[0]
    q = big[1]
    first = np.cumsum(lens) - lens
    last = first + lens - 1
    starts = t[first]
    ends = t[last]
    chroms = [a.sequences[0].id for a in batch]
    names = [a.sequences[1].id or "." for a in batch]
    raw_scores = [getattr(a, "score", None) for a in batch]
    try:
        values = np.array(raw_scores, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is not None and np.array_equal(values, np.floor(values)) \
            and np.abs(values).max(initial=0) < 2**53:
        scores = list(map(str, values.astype(np.int64).tolist()))
    else:
        scores = [_score_text(x) for x in raw_scores]
    columns = [names, scores, np.where(q[first] <= q[last], "+", "-").tolist()]
    if bedN > 6:
        columns.append([str(getattr(a, "thickStart", s)) for a, s in zip(batch, starts.tolist())])
    if bedN > 7:
        columns.append([str(getattr(a, "thickEnd", e)) for a, e in zip(batch, ends.tolist())])
    if bedN > 8:
        columns.append([getattr(a, "itemRgb", ".") for a in batch])
    if bedN > 9:
        dt = np.diff(t)
        dq = np.diff(q)
        aligned = (dt != 0) & (dq != 0)
        aligned[last[:-1]] = False  # steps between two alignments
        record = np.repeat(np.arange(n), lens)[:-1][aligned]
        counts = np.bincount(record, minlength=n)
        columns.append(list(map(str, counts.tolist())))
        bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
        if bedN > 10:
            tokens = list(map(str, np.maximum(dt, dq)[aligned].tolist()))
            columns.append([",".join(tokens[a:b]) + "," for a, b in zip(bounds, bounds[1:])])
        if bedN > 11:
            rel = (t[:-1] - np.repeat(starts, lens)[:-1])[aligned]
            tokens = list(map(str, rel.tolist()))
            columns.append([",".join(tokens[a:b]) + "," for a, b in zip(bounds, bounds[1:])])
    rests = ["\t".join(row).encode() for row in zip(*columns)]
    return chroms, starts, ends, rests


def _score_text(score) -> str:
    if score is None:
        return "."
    if isinstance(score, float) and score.is_integer():
        return str(int(score))
    return str(score)


def _paused(batches):
    """Run each batch's conversion with the garbage collector paused (see ``gc_paused``)."""
    it = iter(batches)
    while True:
        with gc_paused():
            batch = next(it, None)
        if batch is None:
            return
        yield batch
