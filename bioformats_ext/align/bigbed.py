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

import os
from typing import BinaryIO, Callable, Iterator

import numpy as np
from Bio.Align import Alignment, Alignments, interfaces
from Bio.Seq import Seq, _UndefinedSequenceData
from Bio.SeqRecord import SeqRecord

from ..bbi.autosql import INT_TYPES, AutoSqlTable, AutoSQLTable, Field  # noqa: F401
from ..bbi.blocks import Block
from ..bbi.reader import BigBedReader
from ..errors import FormatError
from ..io.source import ByteSource

__all__ = ["AlignmentIterator", "AutoSQLTable", "AutoSqlTable", "Field"]

_BED_NAMES = ("chrom", "chromStart", "chromEnd", "name", "score", "strand", "thickStart",
              "thickEnd", "reserved", "blockCount", "blockSizes", "chromStarts")


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
    try:
        return int(word)
    except ValueError:
        pass
    try:
        value = float(word)
    except ValueError:
        return word
    return int(value) if value.is_integer() else value


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
            if decl[i].name != _BED_NAMES[i]:
                raise FormatError(f"Expected field name '{_BED_NAMES[i]}'; found '{decl[i].name}'")
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
        alignments.extend(self._generate(None, None, None))
        return alignments

    def __exit__(self, exc_type, exc_value, exc_traceback):
        self.close()

    def close(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()
        self.__dict__.pop("_stream", None)

    # -- iteration -------------------------------------------------------------------------------
    def _read_next_alignment(self, stream):
        return next(self._data, None)

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
        for block, sel in self._reader.iter_blocks(chrom, start, end):
            yield from self._alignments(block, sel)

    # -- building Alignment objects --------------------------------------------------------------
    def _alignments(self, block: Block, sel: np.ndarray | None) -> list[Alignment]:
        texts = block.texts()
        chroms = block.chrom
        starts = block.start
        ends = block.end
        if sel is not None:
            chroms = chroms[sel]
            starts = starts[sel]
            ends = ends[sel]
            texts = [texts[i] for i in sel.tolist()]
        targets = self.targets
        bedN = self.bedN
        custom = self._custom
        ncustom = bedN - 3
        seqs = self._seqs
        new_alignment = Alignment.__new__
        new_record = SeqRecord.__new__
        out = []
        append = out.append
        for cid, cs, ce, text in zip(chroms.tolist(), starts.tolist(), ends.tolist(), texts):
            words = text.split("\t") if text else []
            if bedN > 9:
                coordinates, qsize = _blocks_coordinates(words, cs, ce)
            else:
                qsize = ce - cs
                coordinates = np.array([[cs, ce], [0, qsize]], np.intp)
            if bedN > 5 and words[2] == "-":
                coordinates[1, :] = qsize - coordinates[1, :]
            seq = seqs.get(qsize)
            if seq is None:
                seq = Seq(None, length=qsize)
                if len(seqs) < 4096:
                    seqs[qsize] = seq
            query = new_record(SeqRecord)
            query.__dict__.update({
                "_seq": seq, "id": words[0] if bedN > 3 else None, "name": "<unknown name>",
                "description": "<unknown description>", "dbxrefs": [], "annotations": {},
                "_per_letter_annotations": None, "features": []})
            alignment = new_alignment(Alignment)
            d = alignment.__dict__
            d["sequences"] = [targets[cid], query]
            d["coordinates"] = coordinates
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
            append(alignment)
        return out


def _blocks_coordinates(words: list[str], cs: int, ce: int) -> tuple[np.ndarray, int]:
    """Target/query coordinates of a BED12 record's blocks (gaps where blocks are apart)."""
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
    tpos = [0]
    qpos = [0]
    for size, rstart in zip(sizes, rel):
        if rstart != t:
            tpos.append(rstart)
            qpos.append(q)
            t = rstart
        t += size
        q += size
        tpos.append(t)
        qpos.append(q)
    coordinates = np.array([tpos, qpos], np.intp)
    coordinates[0, :] += cs
    if coordinates[0, 0] != cs:
        raise FormatError("Inconsistent chromStart found (%d, expected %d)"
                          % (cs, coordinates[0, 0]))
    if coordinates[0, -1] != ce:
        raise FormatError("Inconsistent chromEnd found (%d, expected %d)"
                          % (ce, coordinates[0, -1]))
    return coordinates, q
