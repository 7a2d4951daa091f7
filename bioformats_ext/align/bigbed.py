"""Bio.Align support for bigBed, built on the lazy :mod:`bioformats_ext.bbi` reader.

A drop-in replacement for Biopython's ``Bio.Align.bigbed`` reader: the same Alignment objects
(target / query records, coordinates with blocks and minus strand, ``score``, ``thickStart``,
``thickEnd``, ``itemRgb``, extra autoSql fields in ``annotations``), the same ``targets``,
``declaration``, ``byteorder``, ``len()`` and ``search()``, but lazy (opening reads only the
header area; a search reads only the R-tree nodes and blocks it needs) and fast (records are
decoded a block at a time and Alignment objects built without the generic constructors).

``import bioformats_ext`` makes ``Bio.Align.parse(path, "bigBed")`` use this module.
"""

from __future__ import annotations

import gc
import os
import warnings
from itertools import chain, repeat
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np
from Bio.Align import Alignment, Alignments, interfaces
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from .._gc import gc_paused
from ..bbi.autosql import BED_FIELD_NAMES, INT_TYPES, AutoSqlTable, AutoSQLTable, Field  # noqa: F401
from ..bbi.blocks import Block
from ..bbi.reader import BigBedReader
from ..errors import FormatError
from ..io.source import ByteSource
from .bigbed_writer import AlignmentWriter

__all__ = ["AlignmentIterator", "AlignmentWriter", "AutoSQLTable", "AutoSqlTable", "Field"]

_BATCH_RECORDS = 4096     # records built per column-wise pass
_FAST_MIN_RECORDS = 48    # below this the per-record path is cheaper
#: Query sequences (``Seq(None, length)``) are shared between records of equal length; a
#: transcript set has a few thousand distinct lengths, and each cached entry costs ~160 bytes,
#: so this bounds the cache at ~5 MB while making a fresh Seq per record rare.
_SEQ_CACHE = 1 << 15



def _annotation_converter(field: Field) -> Callable[[str], object]:
    """Value of an extra column in ``alignment.annotations``, as Biopython's reader gives it.

    Numbers become int / float; text stays str; any bracketed type (including ``char[n]``, as in
    Biopython) becomes a list of its comma-separated items. Unlike Biopython, ``byte``/``ubyte``
    give ints, ``double`` floats, ``enum`` str and ``set`` a list, instead of failing.
    """
    base = field.base_type
    if base in INT_TYPES:
        item: Callable[[str], object] = int
    elif base in ("float", "double"):
        item = float
    else:
        item = str
    if base == "set":
        return _list_of(str, keep_empty=False)
    if field.array_size is None:
        return item
    return _list_of(item, keep_empty=item is str)


def _list_of(item: Callable[[str], object], keep_empty: bool) -> Callable[[str], list]:
    def convert(text: str) -> list:
        text = text.rstrip(",")
        if not text and not keep_empty:
            return []
        return [item(v) for v in text.split(",")]

    return convert


def _score(word: str):
    """Biopython's rule: a number, as int when integral; otherwise the text."""
    try:
        value = float(word)
    except ValueError:
        return word
    return int(value) if value.is_integer() else value


_INT64_EDGES = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)


def _parse_text(text: str, n: int, dtype) -> np.ndarray | None:
    """``n`` comma-separated numbers parsed in C (None unless exactly ``n`` plain numbers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=dtype, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if len(values) != n:
        return None
    if dtype is np.int64 and n and (values.min() == _INT64_EDGES[0] or
                                    values.max() == _INT64_EDGES[1]):
        return None  # numpy saturates out-of-range integers: let Python's int() decide
    return values


def _parse_column(column: list[str], dtype) -> np.ndarray | None:
    """A whole column of numbers parsed in C (None if any value is not a plain number)."""
    return _parse_text(",".join(column), len(column), dtype)


def _ints(column: list[str]) -> list[int]:
    values = _parse_column(column, np.int64)
    if values is None:
        return list(map(int, column))
    return values.tolist()


def _scores(column: list[str]) -> list:
    """A column of scores: ints where integral (also "135.0"), floats, or the text as is.

    numpy's float parser is ~7x slower than its integer one, and Biopython's writer stores
    integral scores as "135.0": such a column is parsed as integers with each ".0" dropped
    (a score like "1.05" or "1e3" keeps the column on the float path)."""
    text = ",".join(column)
    n = len(column)
    values = _parse_text(text, n, np.int64)
    if values is None and ".0" in text:
        values = _parse_text((text + ",").replace(".0,", ","), n, np.int64)
    if values is not None:
        return values.tolist()
    values = _parse_text(text, n, np.float64)
    if values is None:
        return list(map(_score, column))
    if np.all(np.abs(values) < 2.0 ** 62) and np.all(values == np.floor(values)):
        return values.astype(np.int64).tolist()
    return [int(v) if v.is_integer() else v for v in values.tolist()]


class AlignmentIterator(interfaces.AlignmentIterator):
    """Alignment iterator for bigBed files (lazy; searches read only what they need)."""

    fmt = "bigBed"
    mode = "b"

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource"):
        self.source = source
        if not isinstance(source, (str, os.PathLike, ByteSource)) and hasattr(source, "read"):
            if source.read(0) != b"":
                raise interfaces.StreamModeError("bigBed files must be opened in binary mode.")
        self._reader = BigBedReader(source)
        self._stream = self._reader.source
        self._index = 0
        self._setup(self)
        self._data = self._generate(None, None, None)

    # -- header ----------------------------------------------------------------------------------
    def _setup(self, target) -> None:
        """Put the file-level attributes on ``target`` (self, or an Alignments list)."""
        reader = self._reader
        target.byteorder = reader.byteorder
        target.declaration = reader.autosql
        target.bedN = reader.header.definedFieldCount
        names = reader.autosql.names  # fields with an extraIndex: a written copy keeps them
        target.extraIndexNames = [names[i.field_id] for i in reader.extra_indices
                                  if i.field_id < len(names)]
        if target is self:
            self.targets = [SeqRecord(Seq(None, length=size), id=name)
                            for name, size in zip(reader.chrom_names, reader.chrom_sizes)]
            self._prepare()
        else:
            target.targets = self.targets

    def _prepare(self) -> None:
        decl = self.declaration
        bedN = self.bedN
        if bedN > 12:
            raise FormatError(f"bigBed with {bedN} standard BED fields is not supported")
        for i in range(bedN):
            if decl[i].name != BED_FIELD_NAMES[i]:
                raise FormatError(f"Expected field name '{BED_FIELD_NAMES[i]}'; found '{decl[i].name}'")
        self._custom = [(f.name, _annotation_converter(f)) for f in decl[bedN:]]
        self._seqs: dict[int, Seq] = {}

    def _read_header(self, stream) -> None:  # Biopython hook; the work is done in __init__
        return

    def rewind(self) -> None:
        self._data = self._generate(None, None, None)
        self._index = 0

    def __len__(self) -> int:
        return self._reader.item_count

    def __getitem__(self, index):
        if index != slice(None, None, None):
            raise KeyError("only [:] (a full slice) can be used as the index")
        alignments = Alignments()
        self._setup(alignments)
        # Everything is kept: no cycles among these objects, so the collector is paused rather
        # than made to walk the growing list over and over.
        with gc_paused():
            alignments.extend(self._generate(None, None, None))
        return alignments

    def __exit__(self, exc_type, exc_value, exc_traceback):
        self.close()

    @property
    def reader(self) -> BigBedReader:
        """The low-level reader (header, R-tree, blocks) behind this iterator."""
        return self._reader

    def close(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()
        self.__dict__.pop("_stream", None)

    # -- iteration -------------------------------------------------------------------------------
    def _read_next_alignment(self, stream):
        return next(self._data, None)

    def __next__(self) -> Alignment:
        return next(self._data)

    def __iter__(self) -> Iterator[Alignment]:
        """Rewind (as Biopython's ``__iter__`` does) and hand out the underlying iterator, so a
        ``for`` loop pulls Alignments in C rather than through :meth:`__next__` per record.
        It shares state with this object: ``next(self)`` continues where the loop stopped."""
        self.rewind()
        return self._data

    def search(self, chromosome: str | None = None, start: int | None = None,
               end: int | None = None) -> Iterator[Alignment]:
        """Alignments overlapping ``chromosome:start-end`` (all when ``chromosome`` is None).

        ``start`` defaults to 0 and ``end`` to the chromosome length (to ``start + 1`` if only
        ``start`` is given). Zero-length features touching the region's edges are included.
        Only the R-tree nodes and data blocks overlapping the region are read.
        """
        self._reader.resolve(chromosome, start, end)  # validate now, not at first next()
        return self._generate(chromosome, start, end)

    def _generate(self, chrom, start, end) -> Iterator[Alignment]:
        # chain.from_iterable hands out each batch's Alignments in C: no generator frame is
        # resumed per Alignment
        return chain.from_iterable(self._batches(chrom, start, end))

    def _batches(self, chrom, start, end) -> Iterator[Iterator[Alignment]]:
        # Blocks are grouped into batches of a few thousand records so that the column-wise
        # work (numpy calls, one split per batch) is amortised over many records.
        pending: list[tuple[Block, list[int] | None]] = []
        count = 0
        for block, sel in self._reader.iter_blocks(chrom, start, end):
            pending.append((block, sel))
            count += len(block) if sel is None else len(sel)
            if count >= _BATCH_RECORDS:
                yield self._alignments_batch(pending)
                pending = []
                count = 0
        if pending:
            yield self._alignments_batch(pending)

    def _alignments_batch(self, pending: list[tuple[Block, list[int] | None]]
                          ) -> Iterator[Alignment]:
        """An iterator over the batch's Alignments, built with the cyclic garbage collector
        paused: these objects cannot form reference cycles, so it has nothing to find.

        The collector runs when it is enabled and a GC-tracked object is allocated while its
        count of young objects is high; freeing objects lowers the count again. So everything
        that allocates, down to the list iterator handed out, happens while paused (not even a
        context manager's StopIteration after resuming): if the caller drops each Alignment
        without allocating tracked objects itself, the count falls back and the collector never
        walks the batch. (Handing the Alignments out one by one as they are built, unpaused,
        was measured slower: the collector then runs every ~100 records.)
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            return iter(list(self._build_batch(pending)))
        finally:
            if enabled:
                gc.enable()

    def _build_batch(self, pending: list[tuple[Block, list[int] | None]]
                     ) -> Iterable[Alignment]:
        total = sum(len(b) if s is None else len(s) for b, s in pending)
        if len(pending) == 1 or total < _FAST_MIN_RECORDS:
            out: list[Alignment] = []
            for block, sel in pending:
                out.extend(self._alignments(block, sel))
            return out
        chroms, starts, ends, rests = [], [], [], []
        for block, sel in pending:
            if sel is None:
                chroms.append(block.chrom)
                starts.append(block.start)
                ends.append(block.end)
                rests.extend(block.rests)
            else:
                chroms.append(block.chrom[sel])
                starts.append(block.start[sel])
                ends.append(block.end[sel])
                rests.extend(block.texts_at(sel))
        fast = self._alignments_fast(np.concatenate(chroms), np.concatenate(starts),
                                     np.concatenate(ends), rests)
        if fast is not None:
            return fast
        out = []
        for block, sel in pending:
            out.extend(self._alignments(block, sel))
        return out

    # -- building Alignment objects --------------------------------------------------------------
    def _alignments(self, block: Block, sel: list[int] | None) -> Iterable[Alignment]:
        chroms = block.chrom
        starts = block.start
        ends = block.end
        if sel is not None:
            chroms = chroms[sel]
            starts = starts[sel]
            ends = ends[sel]
            rests = block.texts_at(sel)
        else:
            rests = block.texts()
        if not rests:
            return []
        try:  # both paths: a malformed record is a typed error, whichever path meets it
            if len(rests) >= _FAST_MIN_RECORDS:
                fast = self._alignments_fast(chroms, starts, ends, rests)
                if fast is not None:
                    return fast
            return self._alignments_slow(chroms, starts, ends, rests)
        except FormatError:
            raise
        except (ValueError, IndexError) as exc:
            raise FormatError(f"bad bigBed record ({exc})") from None

    def _alignments_fast(self, chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         rests: list[str]) -> Iterator[Alignment] | None:
        """Column-wise construction for a block whose records all have the same number of
        columns: numbers are parsed a column at a time and the coordinates of every record are
        computed in one vectorised pass. Returns None to fall back to the per-record path (which
        also produces the precise error for inconsistent records)."""
        bedN = self.bedN
        n = len(rests)
        if not rests[0]:
            if any(rests):
                return None
            ncols = 0
            cols: list = []
        else:
            # One split for all records, then every column is a slice: needs
            # the same number of fields in every record (one C-level count per record).
            tabs = set(map(str.count, rests, repeat("\t")))
            if len(tabs) != 1:
                return None
            ncols = tabs.pop() + 1
            if ncols < bedN - 3:
                return None
            fields = "\t".join(rests).split("\t")
            cols = [fields[j::ncols] for j in range(ncols)]
        cs = starts
        ce = ends
        try:
            if bedN > 9:
                got = _block_coordinates_vectorised(cols[6], cols[7], cols[8], cs, ce)
                if got is None:
                    return None
                coords_all, bounds, qsizes = got
            else:
                qsizes = ce - cs
                coords_all = np.empty((n, 2, 2), np.intp)
                coords_all[:, 0, 0] = cs
                coords_all[:, 0, 1] = ce
                coords_all[:, 1, 0] = 0
                coords_all[:, 1, 1] = qsizes
                bounds = None
            if bedN > 5:
                minus = _is_minus(cols[2])
                if minus.any():
                    if bounds is None:
                        q = coords_all[minus, 1, :]
                        coords_all[minus, 1, :] = qsizes[minus][:, None] - q
                    else:
                        widths = np.diff(bounds)
                        q = coords_all[:, 1]
                        np.subtract(np.repeat(qsizes, widths), q, out=q,
                                    where=np.repeat(minus, widths))
            if bedN > 4:
                scores = _scores(cols[1])
            if bedN > 6:
                thick_starts = _ints(cols[3])
            if bedN > 7:
                thick_ends = _ints(cols[4])
        except ValueError:
            return None
        ncustom = bedN - 3
        annotations = None
        if ncols > ncustom:
            names_conv = self._custom[:ncols - ncustom]
            try:
                converted = [list(map(conv, cols[ncustom + j]))
                             for j, (_name, conv) in enumerate(names_conv)]
            except ValueError:
                return None
            keys = [name for name, _conv in names_conv]
            annotations = [dict(zip(keys, values)) for values in zip(*converted)]
            if len(annotations) != n:  # ragged columns: the per-record path names the record
                return None
        qnames = cols[0] if bedN > 3 else [None] * n
        if n and int(qsizes.min()) < 0:  # impossible record: the per-record path
            return None                    # raises the typed error naming it
        seq_objs = _query_seqs(self._seqs, qsizes.tolist())
        if bounds is None:
            coords = list(coords_all)
        else:
            b = bounds.tolist()
            columns = coords_all.T  # (2, N): each record's coordinates are one column slice
            coords = [columns[:, i:j] for i, j in zip(b[:-1], b[1:])]
        targets = self.targets
        tlist = [targets[c] for c in chroms.tolist()]
        if bedN == 12 and annotations is None:  # the common case, without per-field branching
            return _emit_bed12(tlist, qnames, seq_objs, coords, scores, thick_starts,
                               thick_ends, cols[5])
        return _emit(n, bedN, tlist, qnames, seq_objs, coords, annotations,
                     scores if bedN > 4 else None, thick_starts if bedN > 6 else None,
                     thick_ends if bedN > 7 else None, cols[5] if bedN > 8 else None)

    def _alignments_slow(self, chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         texts: list[str]) -> list[Alignment]:
        """Record-by-record construction: for few records (a query's hits), where the fixed
        cost of the column-wise path dominates, and for records with irregular columns."""
        targets = self.targets
        bedN = self.bedN
        custom = self._custom
        ncustom = bedN - 3
        seqs = self._seqs
        new_alignment = Alignment.__new__
        new_record = SeqRecord.__new__
        intp = np.intp
        out: list[Alignment] = []
        append = out.append
        for cid, cs, ce, text in zip(chroms.tolist(), starts.tolist(), ends.tolist(), texts):
            words = text.split("\t") if text else []
            minus = bedN > 5 and words[2] == "-"
            if bedN > 9:
                tpos, qpos, qsize = _blocks_coordinates(words, cs, ce)
                if minus:
                    qpos = [qsize - q for q in qpos]
                coordinates = np.array([tpos, qpos], intp)
            else:
                qsize = ce - cs
                coordinates = np.array([[cs, ce], [qsize, 0] if minus else [0, qsize]], intp)
            seq = seqs.get(qsize)
            if seq is None:
                seq = Seq(None, length=qsize)
                if len(seqs) < _SEQ_CACHE:
                    seqs[qsize] = seq
            query = new_record(SeqRecord)
            query.__dict__ = {
                "_seq": seq, "id": words[0] if bedN > 3 else None, "name": "<unknown name>",
                "description": "<unknown description>", "dbxrefs": [], "annotations": {},
                "_per_letter_annotations": None, "features": []}
            alignment = new_alignment(Alignment)
            d = {"sequences": [targets[cid], query], "coordinates": coordinates}
            if len(words) > ncustom:
                d["annotations"] = {name: conv(word)
                                    for word, (name, conv) in zip(words[ncustom:], custom)}
            if bedN > 4:
                d["score"] = _score(words[1])
                if bedN > 6:
                    d["thickStart"] = int(words[3])
                    if bedN > 7:
                        d["thickEnd"] = int(words[4])
                        if bedN > 8:
                            d["itemRgb"] = words[5]
            alignment.__dict__ = d
            append(alignment)
        return out


def _is_minus(strands: list[str]) -> np.ndarray:
    """Which records are on the minus strand: one byte comparison per record when every
    strand is one ASCII character (as BED requires), else a comparison per string.

    The strands come from a tab split, so they hold no tab: joined with tabs, every field is
    one character exactly when the tabs sit at every odd position (a length check alone
    would let "" and "--" pass as two characters)."""
    n = len(strands)
    joined = "\t".join(strands)
    if n and len(joined) == 2 * n - 1 and joined.isascii():
        codes = np.frombuffer(joined.encode(), np.uint8)
        if bool((codes[1::2] == 9).all()):
            return codes[0::2] == ord("-")
    return np.fromiter(map("-".__eq__, strands), bool, n)


def _query_seqs(cache: dict[int, Seq], lengths: list[int]) -> list[Seq]:
    """One ``Seq(None, length)`` per record, shared between records of equal length (looked
    up in C; only lengths not yet cached build new objects). Seq defines ``==`` on content,
    so misses are found by KeyError, not by searching the list for None."""
    try:
        return list(map(cache.__getitem__, lengths))
    except KeyError:
        pass
    lookup = cache
    for q in set(lengths).difference(cache):
        seq = Seq(None, length=q)
        if len(cache) < _SEQ_CACHE:
            cache[q] = seq
        else:  # cache full: this batch's extra lengths live in a copy, dropped afterwards
            if lookup is cache:
                lookup = dict(cache)
            lookup[q] = seq
    return list(map(lookup.__getitem__, lengths))


def _emit_bed12(tlist, qnames, seq_objs, coords, scores, thick_starts, thick_ends, rgbs
                ) -> Iterator[Alignment]:
    """BED12 Alignments from prepared columns: the same attributes, in the same order, as
    Biopython's reader sets them, without the constructors' checks (already done per column).
    Plain attribute stores (neither class defines these names) keep CPython's compact
    per-instance values; assigning a prepared ``__dict__`` was measured 30% slower."""
    new_alignment = Alignment.__new__
    new_record = SeqRecord.__new__
    for target, qname, seq, coord, score, ts, te, rgb in zip(
            tlist, qnames, seq_objs, coords, scores, thick_starts, thick_ends, rgbs):
        query = new_record(SeqRecord)
        query._seq = seq
        query.id = qname
        query.name = "<unknown name>"
        query.description = "<unknown description>"
        query.dbxrefs = []
        query.annotations = {}
        query._per_letter_annotations = None
        query.features = []
        alignment = new_alignment(Alignment)
        alignment.sequences = [target, query]
        alignment.coordinates = coord
        alignment.score = score
        alignment.thickStart = ts
        alignment.thickEnd = te
        alignment.itemRgb = rgb
        yield alignment


def _emit(n, bedN, tlist, qnames, seq_objs, coords, annotations, scores, thick_starts,
          thick_ends, rgbs) -> Iterator[Alignment]:
    """Alignments from prepared columns, for any bedN and extra fields.

    The query-record stores repeat :func:`_emit_bed12`'s on purpose: a shared helper call per
    record measured 50% slower on this loop (0.24 s -> 0.37 s per 200k records)."""
    new_alignment = Alignment.__new__
    new_record = SeqRecord.__new__
    for i in range(n):
        query = new_record(SeqRecord)
        query._seq = seq_objs[i]
        query.id = qnames[i]
        query.name = "<unknown name>"
        query.description = "<unknown description>"
        query.dbxrefs = []
        query.annotations = {}
        query._per_letter_annotations = None
        query.features = []
        alignment = new_alignment(Alignment)
        alignment.sequences = [tlist[i], query]
        alignment.coordinates = coords[i]
        if annotations is not None:
            alignment.annotations = annotations[i]
        if bedN > 4:
            alignment.score = scores[i]
            if bedN > 6:
                alignment.thickStart = thick_starts[i]
                if bedN > 7:
                    alignment.thickEnd = thick_ends[i]
                    if bedN > 8:
                        alignment.itemRgb = rgbs[i]
        yield alignment


def _int_list(texts: list[str], total: int) -> np.ndarray:
    """All comma-separated ints of a column as one array of ``total`` values.

    UCSC and Biopython end every list with a comma, so plain concatenation usually works; a
    list without its trailing comma would merge two numbers, which the count reveals, and then
    the lists are joined with explicit separators. Call under ``warnings.simplefilter("error")``
    so that numpy's partial parses raise.
    """
    try:
        values = np.fromstring("".join(texts).rstrip(","), dtype=np.int64, sep=",")
        if len(values) != total:
            joined = ",".join(texts).replace(",,", ",").rstrip(",")
            values = np.fromstring(joined, dtype=np.int64, sep=",")
    except DeprecationWarning:
        raise ValueError("bad integer list") from None
    return values


def _block_coordinates_vectorised(counts_col, sizes_col, starts_col, cs: np.ndarray,
                                  ce: np.ndarray):
    """Coordinates of all BED12 records of a block at once.

    Returns ``(columns, bounds, qsizes)``: an ``(N, 2)`` array of (target, query) columns, where
    record ``i`` owns rows ``bounds[i]:bounds[i+1]``, and each record's query size. A column
    is emitted at the start, at every block end, and at a block start that is not where the
    previous block ended (Biopython's layout). None if the columns are inconsistent.
    """
    n = len(cs)
    counts = _parse_column(counts_col, np.int64)
    if n == 0 or counts is None or counts.min() < 1:
        return None
    total = int(counts.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sizes = _int_list(sizes_col, total)
        rel = _int_list(starts_col, total)
    if len(sizes) != total or len(rel) != total:
        return None
    ends_cum = np.cumsum(counts)
    first = ends_cum - counts
    last = ends_cum - 1
    block_end = rel + sizes
    if not np.array_equal(cs + block_end[last], ce):
        return None
    qcum = np.cumsum(sizes)
    qbase = qcum - sizes                       # query offset of each block, file-wide
    qstart = qbase - np.repeat(qbase[first], counts)
    qsizes = qstart[last] + sizes[last]
    offset = np.repeat(cs, counts)
    # A block start needs its own column unless it is where the previous block ended (or 0).
    prev_end = np.empty(total, np.int64)
    prev_end[1:] = block_end[:-1]
    prev_end[first] = 0
    gap = rel != prev_end
    if not gap[first].any() and gap.sum() == total - n:
        # Usual case: blocks start at 0 and are separated by introns -> 2 columns per block.
        columns = np.empty((2 * total, 2), np.intp)
        columns[0::2, 0] = rel + offset
        columns[1::2, 0] = block_end + offset
        columns[0::2, 1] = qstart
        columns[1::2, 1] = qstart + sizes
        bounds = np.zeros(n + 1, np.int64)
        np.cumsum(2 * counts, out=bounds[1:])
        return columns, bounds, qsizes
    # General case: per record [start column, (gap column?, end column) per block].
    record = np.repeat(np.arange(n), counts)
    slot_block_gap = 2 * np.arange(total) + record + 1
    slot_block_end = slot_block_gap + 1
    slot_init = 2 * first + np.arange(n)
    m = 2 * total + n
    tpos = np.empty(m, np.int64)
    qpos = np.empty(m, np.int64)
    keep = np.ones(m, bool)
    tpos[slot_init] = cs
    qpos[slot_init] = 0
    tpos[slot_block_gap] = rel + offset
    qpos[slot_block_gap] = qstart
    keep[slot_block_gap] = gap
    tpos[slot_block_end] = block_end + offset
    qpos[slot_block_end] = qstart + sizes
    columns = np.empty((int(keep.sum()), 2), np.intp)
    columns[:, 0] = tpos[keep]
    columns[:, 1] = qpos[keep]
    per_record = counts + 1 + np.add.reduceat(gap, first)
    bounds = np.zeros(n + 1, np.int64)
    np.cumsum(per_record, out=bounds[1:])
    return columns, bounds, qsizes


def _blocks_coordinates(words: list[str], cs: int, ce: int) -> tuple[list, list, int]:
    """Target and query coordinates of one BED12 record's blocks (a gap column where blocks
    are apart), and the query size, as Biopython lays them out."""
    try:
        count = int(words[6])
        sizes = [int(x) for x in words[7].rstrip(",").split(",")]
        rel = [int(x) for x in words[8].rstrip(",").split(",")]
    except (ValueError, IndexError):
        raise FormatError(f"bad BED12 block columns in record at {cs}") from None
    if len(sizes) != count:
        raise FormatError("Inconsistent number of block sizes (%d found, expected %d)"
                          % (len(sizes), count))
    if len(rel) != count:
        raise FormatError("Inconsistent number of block start positions (%d found, expected %d)"
                          % (len(rel), count))
    t = 0
    q = 0
    tpos = [cs]
    qpos = [0]
    for size, rstart in zip(sizes, rel):
        if rstart != t:
            tpos.append(cs + rstart)
            qpos.append(q)
            t = rstart
        t += size
        q += size
        tpos.append(cs + t)
        qpos.append(q)
    if tpos[-1] != ce:
        raise FormatError("Inconsistent chromEnd found (%d, expected %d)" % (ce, tpos[-1]))
    return tpos, qpos, q
