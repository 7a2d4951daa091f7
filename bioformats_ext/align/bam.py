"""Bio.Align support for the "bam" format (registered through bioformats_ext's entry points).

Reading turns each BAM record into its SAM line and hands it to Biopython's own SAM parser, so
``Bio.Align.parse("x.bam", "bam")`` yields exactly the ``Alignment`` objects
``Bio.Align.parse("x.sam", "sam")`` yields for the equivalent SAM text. ``search(chrom, start,
end)`` reads only the chunks the BAI/CSI next to the file names (or BGZF2's embedded index).

Writing formats each ``Alignment`` with Biopython's SAM writer and feeds the lines to
:class:`~bioformats_ext.bam.BamWriter`, so ``Bio.Align.write(alignments, "x.bam", "bam",
index="bai")`` produces the BAM and its index in one pass.
"""

from __future__ import annotations

import io
from typing import Any, Iterator

from Bio.Align import Alignment, interfaces
from Bio.Align import sam as _sam

from ..bam import BamReader, BamWriter


class _SamLineParser(_sam.AlignmentIterator):
    """Biopython's SAM parser, fed lines by us instead of reading a file."""

    def __init__(self, header_text: str):  # noqa: D107 - no stream to open
        self._read_header(io.StringIO(header_text))

    def parse_line(self, line: str) -> Alignment:
        return self._read_next_alignment(iter((line,)))


def _header_text(reader: BamReader) -> str:
    header = reader.header
    text = header.text
    if header.names and "@SQ\t" not in text:  # references only in the binary list
        text += "".join(f"@SQ\tSN:{n}\tLN:{l}\n" for n, l in header.references)
    return text


class _RecordStream:
    """What Biopython's base class calls ``_stream``: our reader plus a rewind."""

    def __init__(self, reader: BamReader):
        self.reader = reader
        self.lines: Iterator[str] = iter(reader)

    def seek(self, offset: int) -> None:
        self.lines = iter(self.reader)

    def close(self) -> None:
        self.reader.close()


class AlignmentIterator(interfaces.AlignmentIterator):
    """Alignment iterator for BAM files (BGZF or BGZF2), with indexed :meth:`search`.

    Attributes ``metadata`` and ``targets`` are those Biopython's SAM parser reads from the
    header.
    """

    fmt = "BAM"
    mode = "b"

    def __init__(self, source: Any, index: Any = None):
        self.source = source
        self._reader = BamReader(source, index=index)
        self._stream = _RecordStream(self._reader)
        self._index = 0
        self._read_header(self._stream)

    def _read_header(self, stream: _RecordStream) -> None:
        parser = _SamLineParser(_header_text(stream.reader))
        self.metadata = parser.metadata
        self.targets = parser.targets
        self._parser = parser

    def _read_next_alignment(self, stream: _RecordStream) -> Alignment | None:
        line = next(stream.lines, None)
        if line is None:
            return None
        return self._parser.parse_line(line)

    def search(self, chromosome: str | None = None, start: int | None = None,
               end: int | None = None) -> Iterator[Alignment]:
        """Alignments overlapping ``chromosome:[start, end)`` (0-based), read via the index.

        With no chromosome, every placed alignment of every reference, in file order.
        """
        names = [chromosome] if chromosome is not None else self._reader.header.names
        parse = self._parser.parse_line
        for name in names:
            for line in self._reader.fetch(name, start, end):
                yield parse(line)


class AlignmentWriter(interfaces.AlignmentWriter):
    """Alignment writer for BAM, co-producing a BAI/CSI (``index="bai"`` or ``"csi"``).

    Extra keyword arguments (``index``, ``min_shift``, ``level``, ``threads``,
    ``compression``, ``index_path``) go to :class:`~bioformats_ext.bam.BamWriter`; ``md`` is
    Biopython's SAM-writer option.
    """

    fmt = "BAM"
    mode = "b"

    def __init__(self, target: Any, md: bool = False, **options: Any):  # noqa: D107
        self._target = target
        self._stream = None
        self._sam = _sam.AlignmentWriter(None, md=md)
        self._options = options

    def write_file(self, stream: Any, alignments: Any) -> int:
        """Write all alignments (``stream`` is unused: BamWriter owns the file and its index)."""
        if not isinstance(alignments, _Buffer):
            alignments = _Buffer(alignments)
        text = io.StringIO()
        self._sam.write_header(text, alignments)
        header = text.getvalue()
        if "@SQ\t" not in header:
            header += _targets_from_alignments(alignments)
        fmt = self._sam.format_alignment
        with BamWriter(self._target, header, **self._options) as writer:
            return writer.write_many(fmt(a) for a in alignments)

    def write(self, alignments: Any) -> int:
        if isinstance(alignments, Alignment):
            alignments = [alignments]
        return self.write_file(None, alignments)


class _Buffer:
    """Alignments with their ``metadata``/``targets``; materialised only when the header needs
    targets that only the alignments themselves can tell."""

    def __init__(self, alignments: Any):
        self._alignments = alignments
        for attr in ("metadata", "targets"):
            if hasattr(alignments, attr):
                setattr(self, attr, getattr(alignments, attr))

    def __iter__(self):
        return iter(self._alignments)

    def materialise(self) -> list:
        if not isinstance(self._alignments, list):
            self._alignments = list(self._alignments)
        return self._alignments


def _targets_from_alignments(alignments: _Buffer) -> str:
    """@SQ lines from the alignments' targets (first appearance order), for iterables without
    a ``targets`` attribute."""
    seen: dict[str, int] = {}
    for alignment in alignments.materialise():
        target = alignment.sequences[0] if alignment.coordinates is not None else None
        if target is None:
            continue
        name = target.id
        if name not in seen:
            seen[name] = len(target.seq)
    return "".join(f"@SQ\tSN:{n}\tLN:{l}\n" for n, l in seen.items())
