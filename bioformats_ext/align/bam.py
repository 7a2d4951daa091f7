"""Bio.Align support for the "bam" format (registered through bioformats_ext's entry points).

Reading decodes batches of records into numpy columns and builds ``Alignment`` objects from
them directly (:mod:`bioformats_ext.align.bam_convert`): the same objects Biopython's ``"sam"``
parser makes from the equivalent SAM text, without the text, and correct where that parser
fails (B arrays, H tags, ``P`` operations, spaces in tags, long CIGARs). ``search(chrom, start,
end)`` reads only the chunks the BAI/CSI next to the file names (or BGZF2's embedded index).

Writing formats mapped alignments with Biopython's SAM writer (so CIGARs are built exactly as
there), adds ``tlen``, formats tags with their proper SAM types and handles unmapped reads
(``coordinates is None``), then feeds :class:`~bioformats_ext.bam.BamWriter`, so
``Bio.Align.write(alignments, "x.bam", "bam", index="bai")`` writes the BAM and its index in
one pass.
"""

from __future__ import annotations

import array
import io
from typing import Any, Iterator

import numpy as np
from Bio.Align import Alignment, interfaces
from Bio.Align import sam as _sam
from Bio.Seq import UndefinedSequenceError

from ..bam import BamWriter
from ..bam.alignment_file import BamFile
from ..errors import BioformatsError, FormatError, RecordError
from .bam_convert import iter_alignments


def _header_text(bam: BamFile) -> str:
    text = bam.header.text
    if bam.references and "@SQ\t" not in text:  # references only in the binary list
        text += "".join(f"@SQ\tSN:{n}\tLN:{l}\n" for n, l in zip(bam.references, bam.lengths))
    return text


def _split_header(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Header lines Biopython's parser reads (``@TG\tKY:value...``) and the others (free-text
    ``@CO`` comments and malformed lines, which it would crash on) as ``(tag, text)``."""
    good = []
    other = []
    for line in text.splitlines():
        if not line.startswith("@"):
            continue
        tag, _, rest = line[1:].partition("\t")
        fields = rest.split("\t") if rest else []
        ok = tag != "CO" and all(len(f) > 2 and f[2] == ":" for f in fields)
        if tag == "SQ":
            keys = {f[:2] for f in fields}
            ok = ok and "SN" in keys and "LN" in keys and all(
                f[3:].isdigit() for f in fields if f.startswith("LN:"))
        if ok:
            good.append(line + "\n")
        else:
            other.append((tag, rest))
    return "".join(good), other


def _header_for_writing(alignments: Any) -> tuple[Any, str]:
    """What Biopython's header writer can take, plus the free-text lines it cannot."""
    metadata = getattr(alignments, "metadata", None)
    if not metadata:
        return alignments, ""
    clean: dict[str, Any] = {}
    extra = []
    for tag, rows in metadata.items():
        if tag == "HD":
            clean[tag] = rows
            continue
        kept = []
        for row in rows:
            if isinstance(row, str):
                extra.append(f"@{tag}\t{row}\n")
            else:
                kept.append(row)
        if kept:
            clean[tag] = kept
    view: Any = _Buffer(alignments)
    view.metadata = clean
    return view, "".join(extra)


class _RecordStream:
    """What Biopython's base class calls ``_stream``: the open BAM plus a rewind."""

    def __init__(self, bam: BamFile):
        self.bam = bam
        self.seek(0)

    def seek(self, offset: int) -> None:
        self.records: Iterator[Alignment] | None = None  # made by the iterator on first use

    def close(self) -> None:
        self.bam.close()


class AlignmentIterator(interfaces.AlignmentIterator):
    """Alignment iterator for BAM files (BGZF or BGZF2), with indexed :meth:`search`.

    Attributes ``metadata`` and ``targets`` are those Biopython's SAM parser reads from the
    header.
    """

    fmt = "BAM"
    mode = "b"

    def __init__(self, source: Any, index: Any = None):
        self.source = source
        self._bam = BamFile(source, index=index)
        self._stream = _RecordStream(self._bam)
        self._index = 0
        self._read_header(self._stream)

    def __del__(self) -> None:  # iterators are rarely closed explicitly: release the file
        bam = self.__dict__.get("_bam")
        if bam is not None:
            try:
                bam.close()
            except Exception:  # noqa: BLE001 - never raise from a finaliser
                pass

    def _read_header(self, stream: _RecordStream) -> None:
        parser = _sam.AlignmentIterator.__new__(_sam.AlignmentIterator)
        good, other = _split_header(_header_text(stream.bam))
        try:
            parser._read_header(io.StringIO(good))
        except Exception as exc:  # Biopython asserts / unpacks: report it as ours
            raise FormatError(f"BAM header not understood: {type(exc).__name__}: {exc}") from None
        self.metadata = parser.metadata
        for tag, text in other:  # free text (@CO comments): kept as strings
            self.metadata.setdefault(tag, []).append(text)
        self.targets = parser.targets
        self._target_indices = parser._target_indices
        self._names = list(stream.bam.references)

    def _alignments(self, batches: Iterator[Any]) -> Iterator[Alignment]:
        return iter_alignments(batches, self._names, self.targets, self._target_indices)

    def _start(self, stream: _RecordStream) -> Iterator[Alignment]:
        stream.records = self._alignments(stream.bam.fetch_columns(until_eof=True))
        return stream.records

    def _read_next_alignment(self, stream: _RecordStream) -> Alignment | None:
        return next(stream.records or self._start(stream), None)

    def __next__(self) -> Alignment:
        """The next alignment (Biopython's ``__next__`` without its extra call per record)."""
        try:
            stream = self._stream
        except AttributeError:  # closed
            raise StopIteration from None
        alignment = next(stream.records or self._start(stream), None)
        if alignment is None:
            self._len = self._index
            raise StopIteration
        self._index += 1
        return alignment

    def search(self, chromosome: str | None = None, start: int | None = None,
               end: int | None = None) -> Iterator[Alignment]:
        """Alignments overlapping ``chromosome:[start, end)`` (0-based), read via the index.

        With no chromosome, every placed alignment of every reference, in file order.
        """
        names = [chromosome] if chromosome is not None else self._names
        for name in names:
            yield from self._alignments(self._bam.fetch_columns(name, start, end))


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
        view, extra = _header_for_writing(alignments)
        try:
            self._sam.write_header(text, view)
        except (AttributeError, KeyError, TypeError, ValueError, AssertionError) as exc:
            raise RecordError(f"cannot write the BAM header from these alignments: {exc}") from None
        header = text.getvalue() + extra
        if "@SQ\t" not in header:
            header += _targets_from_alignments(alignments)
        with BamWriter(self._target, header, **self._options) as writer:
            return writer.write_many(self._lines(alignments))

    def _lines(self, alignments: Any) -> Iterator[bytes]:
        fmt = self.format_alignment
        for number, alignment in enumerate(alignments):
            try:
                yield fmt(alignment).encode()
            except BioformatsError:
                raise
            except (AttributeError, KeyError, TypeError, ValueError, AssertionError,
                    IndexError) as exc:
                raise RecordError(f"alignment {number}: cannot write it as a BAM record: "
                                  f"{type(exc).__name__}: {exc}", number) from None

    def format_alignment(self, alignment: Any) -> str:
        """One SAM line (no newline) for an alignment, mapped or not."""
        if not isinstance(alignment, Alignment):
            raise TypeError(f"expected an Alignment, not {type(alignment).__name__}")
        if alignment.coordinates is None:
            fields = _unmapped_fields(alignment)
        elif self._sam.md:  # Biopython computes MD (it cannot write =/X operations)
            saved = alignment.__dict__.pop("annotations", None)
            try:
                line = self._sam.format_alignment(alignment)
            finally:
                if saved is not None:
                    alignment.annotations = saved  # type: ignore[attr-defined]
            fields = line.rstrip("\n").split("\t")
            fields[8] = str(int(getattr(alignment, "tlen", 0)))
        else:
            fields = _mapped_fields(alignment)
        fields += [_format_tag(key, value) for key, value in
                   getattr(alignment, "annotations", {}).items()]
        return "\t".join(fields)

    def write(self, alignments: Any) -> int:
        if isinstance(alignments, Alignment):
            alignments = [alignments]
        return self.write_file(None, alignments)


def _sequence_text(seq_obj: Any) -> str:
    try:
        return bytes(seq_obj).decode("ascii") or "*"
    except UndefinedSequenceError:
        return "*"
    except TypeError:  # a plain str
        return str(seq_obj) or "*"


def _mapped_fields(alignment: Alignment) -> list[str]:
    """Biopython's SAM line for a mapped alignment (same strand rule, CIGAR and clips), plus
    ``tlen`` and ``=``/``X`` operations, which its writer drops or rejects."""
    coordinates = np.asarray(alignment.coordinates).transpose()
    target, query = alignment.sequences
    annotations = getattr(query, "annotations", {}) or {}
    hard_left = annotations.get("hard_clip_left")
    hard_right = annotations.get("hard_clip_right")
    phred = getattr(query, "letter_annotations", {}).get("phred_quality")
    qual = "*" if phred is None else "".join(chr(value + 33) for value in phred)
    qname = getattr(query, "id", "query")
    qseq = getattr(query, "seq", query)
    rname = getattr(target, "id", "target")
    q_size = len(qseq)
    if coordinates[0, 0] > coordinates[-1, 0]:
        coordinates = coordinates[::-1, :]
    if coordinates[0, 1] < coordinates[-1, 1]:
        flag = 0
    else:
        flag = 16
        try:
            qseq = qseq.reverse_complement()
        except UndefinedSequenceError:
            pass
        coordinates = np.array(coordinates, np.intp)
        coordinates[:, 1] = q_size - coordinates[:, 1]
        hard_left, hard_right = hard_right, hard_left
    flag |= getattr(alignment, "flag", 0)
    seq = _sequence_text(qseq)
    operations = getattr(alignment, "operations", None)
    t0, q0 = (int(x) for x in coordinates[0, :])
    cigar = []
    if hard_left is not None:
        cigar.append(f"{hard_left}H")
    if q0 > 0:
        cigar.append(f"{q0}S")
    t_start, q_start = t0, q0
    q_end = q0
    for k, (t_end, q_end) in enumerate(coordinates[1:, :].tolist()):
        t_count, q_count = t_end - t_start, q_end - q_start
        op = chr(operations[k]) if operations is not None else None
        if t_count == 0:
            cigar.append(f"{q_count}I")
        elif q_count == 0:
            cigar.append(f"{t_count}{'N' if op == 'N' else 'D'}")
        else:
            if t_count != q_count:
                raise ValueError("unequal step sizes in alignment")
            cigar.append(f"{t_count}{op if op in ('=', 'X') else 'M'}")
        t_start, q_start = t_end, q_end
    if q_end < q_size:
        cigar.append(f"{q_size - q_end}S")
    if hard_right is not None:
        cigar.append(f"{hard_right}H")
    rnext = getattr(alignment, "rnext", "*")
    if rnext == rname:
        rnext = "="
    pnext = getattr(alignment, "pnext", -1) + 1
    fields = [qname, str(flag), rname, str(t0 + 1), str(getattr(alignment, "mapq", 255)),
              "".join(cigar) or "*", rnext, str(pnext), str(int(getattr(alignment, "tlen", 0))),
              seq, qual]
    score = getattr(alignment, "score", None)
    if score is not None:
        fields.append("AS:i:%.0f" % score)
    return fields


def _unmapped_fields(alignment: Alignment) -> list[str]:
    target, query = alignment.sequences
    rname = getattr(alignment, "rname", None)
    pos = getattr(alignment, "pos", None)
    if rname is None:  # SAM convention: an unmapped read sits at its mate's position
        rname = getattr(alignment, "rnext", None) or (target.id if target is not None else "*")
        pos = getattr(alignment, "pnext", None)
    flag = getattr(alignment, "flag", 0) | 4
    qname = getattr(query, "id", "query")
    seq = _sequence_text(getattr(query, "seq", query))
    phred = getattr(query, "letter_annotations", {}).get("phred_quality")
    qual = "*" if phred is None or seq == "*" else "".join(chr(q + 33) for q in phred)
    rnext = getattr(alignment, "rnext", "*")
    if rnext == rname and rname != "*":
        rnext = "="
    pnext = getattr(alignment, "pnext", -1) + 1
    fields = [qname, str(flag), rname, str(0 if pos is None or rname == "*" else pos + 1),
              str(getattr(alignment, "mapq", 255)), "*", rnext, str(pnext),
              str(int(getattr(alignment, "tlen", 0))), seq, qual]
    score = getattr(alignment, "score", None)
    if score is not None:
        fields.append("AS:i:%.0f" % score)
    return fields


_B_CODES = {np.dtype(np.int8): "c", np.dtype(np.uint8): "C", np.dtype(np.int16): "s",
            np.dtype(np.uint16): "S", np.dtype(np.int32): "i", np.dtype(np.uint32): "I",
            np.dtype(np.float32): "f", np.dtype(np.float64): "f"}


def _format_tag(key: str, value: Any) -> str:
    """A SAM tag with its proper type (Biopython's writer mangles bytes and arrays)."""
    if isinstance(value, (bool, np.bool_)):
        return f"{key}:i:{int(value)}"
    if isinstance(value, (int, np.integer)):
        return f"{key}:i:{int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"{key}:f:{'%g' % value}"
    if isinstance(value, str):
        return f"{key}:{'A' if len(value) == 1 else 'Z'}:{value}"
    if isinstance(value, (bytes, bytearray)):
        return f"{key}:H:{bytes(value).hex().upper()}"
    if isinstance(value, array.array):
        value = np.array(value)
    if isinstance(value, (list, tuple)):
        value = np.array(value)
    if isinstance(value, np.ndarray):
        code = _B_CODES.get(value.dtype)
        if code is None and np.issubdtype(value.dtype, np.integer):
            lo, hi = (int(value.min()), int(value.max())) if value.size else (0, 0)
            for code, (a, b) in (("C", (0, 255)), ("c", (-128, 127)), ("S", (0, 65535)),
                                 ("s", (-32768, 32767)), ("I", (0, 2**32 - 1)),
                                 ("i", (-2**31, 2**31 - 1))):
                if a <= lo and hi <= b:
                    break
            else:
                raise ValueError(f"tag {key}: integer array values do not fit 32 bits")
        if code is None:
            raise ValueError(f"tag {key}: arrays of {value.dtype} cannot be stored in BAM")
        items = ["%g" % x for x in value.tolist()] if code == "f" else [str(int(x)) for x in value.tolist()]
        return f"{key}:B:{code}" + "".join("," + x for x in items)
    raise ValueError(f"tag {key}: cannot store a {type(value).__name__} in BAM")


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
