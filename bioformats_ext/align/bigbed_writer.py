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
from operator import attrgetter, itemgetter
from typing import Any, Iterable, Iterator

import numpy as np
from Bio.Align import Alignment, interfaces

from ..bbi.autosql import AutoSqlTable, bed_declaration
from .._gc import gc_paused
from ..bbi.write import BigBedWriter, EncodedRecords

__all__ = ["AlignmentWriter"]


class AlignmentWriter(interfaces.AlignmentWriter):
    """Alignment file writer for the bigBed file format."""

    fmt = "bigBed"
    mode = "b"

    def __init__(self, target, bedN: int | None = None, declaration: AutoSqlTable | None = None,
                 targets=None, compress: bool = True, extraIndex=None,
                 zero_length_bases: int = 0, threads: int | None = None):
        """Create the writer (``target``: path or binary file object).

        ``bedN``: number of standard BED columns (3-12); ``declaration``: autoSql table (needed
        for extra columns, which come from ``alignment.annotations``); ``targets``: SeqRecords
        with the chromosome sizes (default ``alignments.targets``); ``compress``: zlib blocks;
        ``extraIndex``: names of string columns to index; ``threads``: as for
        :class:`~bioformats_ext.bbi.write.BigBedWriter` - blocks are compressed on a thread pool
        while this thread encodes the next batch (default up to 4, one per core; 1 compresses
        inline).

        Left unset, ``bedN``, ``declaration`` and ``extraIndex`` come from the alignments when
        they carry them (a bigBed iterator does), so writing what was read makes a copy with
        the same columns, autoSql and extra indexes; otherwise bedN is 12, the declaration
        standard BED and there is no extra index (Biopython's defaults).
        """
        if bedN is not None and (bedN < 3 or bedN > 12):
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
        self.extraIndexNames = None if extraIndex is None else list(extraIndex)
        # 0: zero-length items cover nothing in zoom levels / total summary (bedToBigBed);
        # 1: they cover one base (Biopython's writer)
        self.zero_length_bases = zero_length_bases
        self.threads = threads
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
        source_bed_n = getattr(alignments, "bedN", None)
        if self.bedN is None:
            self.bedN = source_bed_n if isinstance(source_bed_n, int) and 3 <= source_bed_n <= 12 else 12
        declaration = self.declaration
        if declaration is None:
            declaration = _inherited_declaration(alignments, self.bedN, source_bed_n)
        self.declaration = declaration
        if self.extraIndexNames is None:
            names = set(declaration.names) if hasattr(declaration, "names") else set()
            inherited = getattr(alignments, "extraIndexNames", None) or []
            self.extraIndexNames = [n for n in inherited if n in names]
        writer = BigBedWriter(stream, sizes, autosql=declaration, bed_type=self.bedN,
                              extra_index=self.extraIndexNames, compress=self.compress,
                              block_size=self.blockSize, items_per_slot=self.itemsPerSlot,
                              zero_length_bases=self.zero_length_bases, threads=self.threads)
        try:
            for chroms, starts, ends, rests, values in _paused(
                    _bed_batches(alignments, self.bedN, declaration)):
                writer.write_batch(chroms, starts, ends, rests, values=values)
        except BaseException:
            writer.abort()
            raise
        return writer.close()


def _inherited_declaration(alignments, bed_n: int, source_bed_n) -> AutoSqlTable:
    """The declaration of a copy: the source's, keeping its extra (bedPlus) fields.

    With fewer standard columns than the source (``bedN=6`` from a bed12), the standard part is
    cut to ``bed_n`` and the source's extra fields follow it, as the annotations carry them.
    """
    source = getattr(alignments, "declaration", None)
    if source is None:
        return bed_declaration(bed_n)
    try:
        fields = list(source)
        if isinstance(source_bed_n, int) and bed_n < source_bed_n <= len(fields):
            fields = fields[:bed_n] + fields[source_bed_n:]
        elif not isinstance(source_bed_n, int) or bed_n > source_bed_n:
            return source[:bed_n]  # Biopython's rule when the source has no bedN
        return _table_like(source, fields)
    except (AttributeError, TypeError):
        return bed_declaration(bed_n)


def _table_like(source, fields) -> AutoSqlTable:
    if len(fields) == len(list(source)):
        return source
    return AutoSqlTable(getattr(source, "name", "bed"), getattr(source, "comment", ""), fields)


def _bed_rows(alignments: Iterable[Alignment], bedN: int,
              declaration: AutoSqlTable) -> Iterator[tuple[str, int, int, bytes]]:
    """``(chrom, start, end, rest)`` for each alignment, with the BED text Biopython writes."""
    extra = [field.name for field in list(declaration)[bedN:]]
    # autoSql number arrays are written "1,2,3," (UCSC's list output, what a bigBed holds);
    # the reader drops that comma, so the writer puts it back and a copy stays byte-identical
    comma = {field.name for field in list(declaration)[bedN:]
             if getattr(field, "array_size", None) is not None
             and getattr(field, "base_type", "") not in ("char", "string", "lstring")}
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
            # Biopython's BED parser gives float scores; BED (and bedToBigBed) need an
            # integer, so an integral float is written as one ("463", not "463.0").
            row.append(_score_text(getattr(alignment, "score", None)))
        q: Any = coordinates[1].tolist() if bedN > 5 else None
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
                row.append(",".join(map(str, value)) + ("," if field_name in comma and value else ""))
        yield chrom, start, end, "\t".join(row).encode()


_BATCH = 4096


def _bed_batches(alignments: Iterable[Alignment], bedN: int, declaration: AutoSqlTable):
    """Batches ``(chroms, starts, ends, rests, values)`` of BED text, computed with numpy.

    Gives the same text as :func:`_bed_rows` (which handles alignments of more than two
    sequences); block sizes / starts of a whole batch come from one concatenated coordinate
    array instead of a Python loop per alignment.
    """
    extra = [field.name for field in list(declaration)[bedN:]]
    # A generator, because Biopython's iterators rewind whenever iter() is called on them.
    if type(alignments) in (list, tuple):  # not subclasses such as Alignments
        it = iter(alignments)
    else:
        it = (alignment for alignment in alignments)
    while True:
        batch = list(islice(it, _BATCH))
        if not batch:
            return
        fast = None
        if bedN > 5 and not extra:
            stacked = _stack(list(map(_get_coordinates, batch)))
            if stacked is not None:
                fast = _fast_batch(batch, *stacked, bedN)
        if fast is None:
            rows = list(_bed_rows(batch, bedN, declaration))
            chroms, starts, ends, rests = (list(col) for col in zip(*rows))
            yield chroms, starts, ends, rests, None
            continue
        yield fast


def _stack(coords: list) -> tuple[np.ndarray, np.ndarray] | None:
    """The coordinates of a batch side by side (``2 x total``, int64) and each alignment's
    column count; None unless every alignment is pairwise with at least two columns."""
    try:
        sizes = np.fromiter(map(_get_size, coords), np.int64, len(coords))
    except AttributeError:  # coordinates given as nested lists
        coords = [np.asarray(c) for c in coords]
        sizes = np.fromiter(map(_get_size, coords), np.int64, len(coords))
    try:
        big = np.concatenate(coords, axis=1)
    except (ValueError, TypeError):  # different numbers of rows, or 1-D
        return None
    if big.ndim != 2 or big.shape[0] != 2:
        return None
    lens = sizes // 2
    if (lens < 2).any():
        return None
    return big.astype(np.int64, copy=False), lens


_get_coordinates = attrgetter("coordinates")
_get_size = attrgetter("size")


def _fast_batch(batch, big: np.ndarray, lens: np.ndarray, bedN: int):
    """One batch of pairwise alignments (bedN 6-12, no extra fields) as BED text, vectorised.

    Attributes are gathered with one ``map`` per attribute; all numbers (score, thick, block
    lists) are formatted by :func:`_format_rows` straight into one byte buffer. Returns
    ``(chroms, starts, ends, rests, values)`` - ``values`` are the numeric columns the core
    writer validates instead of re-parsing the text - or None when a value needs the general
    path (:func:`_bed_rows`'s text and the writer's full text validation), e.g. a non-integral
    score, a non-integer thickStart, a tab or newline inside a name.
    """
    n = len(batch)
    t = big[0]
    q = big[1]
    first = np.cumsum(lens) - lens
    last = first + lens - 1
    starts = t[first]
    ends = t[last]
    sequences = list(map(_get_sequences, batch))
    chroms = list(map(_get_id, map(_first, sequences)))
    names = list(map(_get_id, map(_second, sequences)))
    if not all(names):
        names = [name or "." for name in names]
    try:
        raw_scores = list(map(_get_score, batch))
    except AttributeError:
        raw_scores = [getattr(a, "score", None) for a in batch]
    try:
        values = np.array(raw_scores, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if not (np.array_equal(values, np.floor(values))
            and np.abs(values).max(initial=0) < 2**53):
        return None
    scores = values.astype(np.int64)
    fields: list = []
    name_field = _text_field(names)
    if name_field is None:
        return None
    fields.append(name_field)
    fields.append(("i", scores))
    strand = np.where(q[first] <= q[last], 43, 45).astype(np.uint8)  # '+' / '-'
    fields.append(("c", strand))
    out = {"fields": bedN - 3, "name_lengths": name_field[2], "score": scores,
           "strand": strand}
    if bedN > 6:
        thick_start = _int_attribute(batch, "thickStart", starts)
        if thick_start is None:
            return None
        fields.append(("i", thick_start))
        out["thickStart"] = thick_start
    if bedN > 7:
        thick_end = _int_attribute(batch, "thickEnd", ends)
        if thick_end is None:
            return None
        fields.append(("i", thick_end))
        out["thickEnd"] = thick_end
    if bedN > 8:
        try:
            colors = list(map(_get_item_rgb, batch))
        except AttributeError:
            colors = [getattr(a, "itemRgb", ".") for a in batch]
        color_field = _text_field(colors)
        if color_field is None:
            return None
        fields.append(color_field)
        out["itemRgb"] = colors
    if bedN > 9:
        dt = np.diff(t)
        dq = np.diff(q)
        aligned = (dt != 0) & (dq != 0)
        aligned[last[:-1]] = False  # steps between two alignments
        record = np.repeat(np.arange(n), lens)[:-1][aligned]
        counts = np.bincount(record, minlength=n).astype(np.int64)
        fields.append(("i", counts))
        out["blockCount"] = counts
        if bedN > 10:
            sizes = np.maximum(dt, dq)[aligned]
            fields.append(("l", sizes, counts))
            out["blockSizes"] = sizes
        if bedN > 11:
            rel = (t[:-1] - np.repeat(starts, lens)[:-1])[aligned]
            fields.append(("l", rel, counts))
            out["chromStarts"] = rel
    rests = _format_rows(n, fields)
    return chroms, starts, ends, rests, out


_get_sequences = attrgetter("sequences")
_get_item_rgb = attrgetter("itemRgb")
_get_score = attrgetter("score")
_get_id = attrgetter("id")
_first = itemgetter(0)
_second = itemgetter(1)


def _int_attribute(batch, name: str, default: np.ndarray) -> np.ndarray | None:
    """``getattr(a, name, default[i])`` of each alignment as int64, or None if any is not an
    integer (those take the general path, whose text the writer then rejects or accepts)."""
    try:
        raw = list(map(attrgetter(name), batch))
    except AttributeError:
        marker = object()
        raw = [getattr(a, name, marker) for a in batch]
        missing = [i for i, v in enumerate(raw) if v is marker]
        fill = default[missing].tolist()
        for i, v in zip(missing, fill):
            raw[i] = v
    try:
        arr = np.array(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.dtype.kind not in "iu" or arr.shape != (len(batch),):
        return None
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        return None
    return arr.astype(np.int64, copy=False)


def _text_field(values: list):
    """A text column as ``("s", bytes as uint8, byte lengths)``; None if a value is not a str
    or holds a tab, newline or NUL (the general path handles - and reports - those)."""
    try:
        joined = "".join(values)
    except TypeError:
        return None
    if joined.isascii():
        blob = joined.encode()
        lengths = np.fromiter(map(len, values), np.int64, len(values))
    else:
        encoded = [v.encode() for v in values]
        blob = b"".join(encoded)
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    raw = np.frombuffer(blob, np.uint8)
    if b"\t" in blob or b"\n" in blob or b"\0" in blob:
        return None
    return ("s", raw, lengths)


_POW10 = 10 ** np.arange(1, 19, dtype=np.int64)


def _digit_counts(v: np.ndarray) -> np.ndarray:
    """Characters of each integer in decimal (with the '-' of negatives)."""
    return np.searchsorted(_POW10, np.abs(v), side="right") + 1 + (v < 0)


def _put_integers(buf: np.ndarray, v: np.ndarray, ends: np.ndarray, widths: np.ndarray) -> None:
    """Write ``v`` in decimal into ``buf`` so that each number ends just before ``ends``."""
    a = np.abs(v)
    pos = ends - 1
    if len(a) and a.max() < 2**50:
        # float64 floor(a * 0.1) is exact here and much faster than int64 division
        a = a.astype(np.float64)
        while len(a):
            q = np.floor(a * 0.1)
            buf[pos] = (a - q * 10).astype(np.uint8) + 48
            keep = q > 0
            if keep.all():
                a = q
            else:
                a = q[keep]
                pos = pos[keep]
            pos = pos - 1
    while len(a):
        buf[pos] = 48 + a % 10
        a = a // 10
        keep = a > 0
        if not keep.all():
            a = a[keep]
            pos = pos[keep]
        pos = pos - 1
    negative = v < 0
    if negative.any():
        buf[(ends - widths)[negative]] = 45


def _format_rows(n: int, fields: list) -> EncodedRecords:
    """Tab-separated rows from columns, built in one uint8 buffer as bigBed stores records:
    12 bytes left for the writer's (chromId, start, end), the text, a NUL.

    Column kinds: ``("s", blob, lengths)`` text, ``("c", codes)`` one character,
    ``("i", ints)`` an integer, ``("l", values, counts)`` a list written ``"v1,v2,...,"``
    (``","`` when empty, as ``",".join([]) + ","``).
    """
    widths: list[np.ndarray] = []
    extra: list[Any] = []
    for field in fields:
        kind = field[0]
        if kind == "s":
            widths.append(field[2])
        elif kind == "c":
            widths.append(np.ones(n, np.int64))
        elif kind == "i":
            w = _digit_counts(field[1])
            widths.append(w)
            extra.append(w)
            continue
        else:
            values, counts = field[1], field[2]
            w = _digit_counts(values)
            cs = np.zeros(len(values) + 1, np.int64)
            np.cumsum(w + 1, out=cs[1:])
            bounds = np.zeros(n + 1, np.int64)
            np.cumsum(counts, out=bounds[1:])
            total = cs[bounds[1:]] - cs[bounds[:-1]]
            widths.append(np.where(counts == 0, 1, total))
            extra.append((w, cs, bounds))
            continue
        extra.append(None)
    width = np.stack(widths, axis=1)  # n x F
    cells = width + 1  # each field is followed by a tab (a NUL after the last)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(cells.sum(axis=1) + 12, out=offsets[1:])
    field_start = (offsets[:-1] + 12)[:, None] + np.cumsum(cells, axis=1) - cells
    buf = np.empty(int(offsets[-1]), np.uint8)
    seps = field_start + width
    buf[seps[:, :-1].ravel()] = 9
    buf[seps[:, -1]] = 0
    for k, (field, info) in enumerate(zip(fields, extra)):
        at = field_start[:, k]
        kind = field[0]
        if kind == "s":
            blob, lengths = field[1], field[2]
            if len(blob):
                src = np.cumsum(lengths) - lengths
                buf[np.repeat(at - src, lengths) + np.arange(len(blob))] = blob
        elif kind == "c":
            buf[at] = field[1]
        elif kind == "i":
            _put_integers(buf, field[1], at + info, info)
        else:
            values, counts = field[1], field[2]
            w, cs, bounds = info
            value_start = np.repeat(at - cs[bounds[:-1]], counts) + cs[:-1]
            value_end = value_start + w
            _put_integers(buf, values, value_end, w)
            buf[value_end] = 44
            buf[at[counts == 0]] = 44
    return EncodedRecords(buf, offsets)


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
