"""VCF text: a writer that co-produces its TBI/CSI, and a reader that fetches regions through it.

Both are thin specialisations of :mod:`bioformats_ext.tabix` with the VCF preset (TBI end =
POS-1 + len(REF), extended by INFO/END as htslib does); the VCF-specific parts are the header
checks (``#CHROM`` line, ``##contig`` lengths for the CSI depth and BGZF2's reference table)
and accepting records as tuples or pysam ``VariantRecord`` objects.
"""

from __future__ import annotations

import os
import re
from typing import Any, BinaryIO, Iterator

import numpy as np

from ..errors import FormatError
from ..tabix import TabixReader, TabixWriter
from .fields import format_field, tuple_line  # noqa: F401  (format_field: re-exported by vcf)
from ..index.vcf_batch import NameRuns, VcfScan, scan_intervals

_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")


def parse_contigs(header: str) -> list[tuple[str, int]]:
    """``(ID, length)`` of every ``##contig`` line (length 0 when not given)."""
    out = []
    for line in header.splitlines():
        m = _CONTIG.match(line)
        if not m:
            continue
        fields = dict(_split_structured(m.group(1)))
        if "ID" in fields:
            try:
                length = int(fields.get("length", 0))
            except ValueError:
                length = 0
            out.append((fields["ID"], length))
    return out


def _split_structured(body: str) -> Iterator[tuple[str, str]]:
    """Key=value pairs of a ``##key=<...>`` line, honouring quoted commas."""
    key, value, quoted, in_value = "", "", False, False
    for ch in body + ",":
        if ch == '"':
            quoted = not quoted
            value += ch
        elif ch == "," and not quoted:
            yield key.strip(), value.strip().strip('"')
            key, value, in_value = "", "", False
        elif ch == "=" and not in_value:
            in_value = True
        elif in_value:
            value += ch
        else:
            key += ch


class VcfWriter(TabixWriter):
    """Write ``.vcf.gz`` (BGZF; or BGZF2, or plain text with ``compression=None``) and its index.

    ``header``: VCF header text ending with the ``#CHROM`` line. ``index``: ``None``,
    ``"tbi"`` or ``"csi"`` (placed at ``x.vcf.gz.tbi`` / ``.csi`` unless ``index_path``).
    ``write`` takes a VCF line, an object whose ``str()`` is one (pysam ``VariantRecord``), or a
    tuple ``(CHROM, POS, ID, REF, ALT, QUAL, FILTER, INFO[, FORMAT, sample...])``.
    """

    def __new__(cls, *args: Any, format: str = "vcf", **kwargs: Any):  # noqa: A002
        if format in ("bcf", "b", "u"):  # VcfWriter(target, header, format="bcf", index="csi")
            from .bcf_writer import BcfWriter

            if format == "u":
                kwargs.setdefault("level", 0)
            return BcfWriter(*args, **kwargs)
        if format not in ("vcf", "v", "z"):
            raise ValueError(f"format must be 'vcf' or 'bcf', not {format!r}")
        return super().__new__(cls)

    def __init__(self, target: "str | os.PathLike[str] | BinaryIO", header: "str | bytes",
                 index: str | None = None, level: int | None = None, threads: int = 1,
                 compression: str | None = "bgzf", index_path: Any = None, min_shift: int = 14,
                 format: str = "vcf"):  # noqa: A002
        if format == "v":
            compression = None
        if isinstance(header, bytes):
            try:
                header = header.decode()
            except UnicodeDecodeError as exc:
                raise FormatError(f"VCF header is not UTF-8 (byte {exc.start})") from None
        header = str(header)
        if not any(line.startswith("#CHROM") for line in header.splitlines()):
            raise FormatError("a VCF header must end with the #CHROM line")
        contigs = parse_contigs(header)
        self._contig_names = {name.encode() for name, _ in contigs}
        self._next_line = header.count("\n") + (0 if header.endswith("\n") else 1) + 1
        self._validating = False
        self._scan: "tuple[list[bytes], VcfScan] | None" = None
        super().__init__(target, header, preset="vcf", index=index, level=level,
                         threads=threads, compression=compression, index_path=index_path,
                         min_shift=min_shift, references=contigs)

    def _write_lines(self, lines: list[bytes]) -> None:
        """Refuse what htslib refuses (see :mod:`.validate`) before anything is written."""
        if self._validating:  # the base class re-enters for runs between meta lines
            return super()._write_lines(lines)
        from .validate import check_vcf_lines

        ready = self._scan if self._scan is not None and self._scan[0] is lines else None
        try:
            scan = check_vcf_lines(lines, self._contig_names, self._next_line,
                                   ready[1] if ready is not None else None)
        except BaseException:
            self.abort()
            raise
        self._next_line += len(lines)
        self._validating = True
        self._scan = (lines, scan)  # the co-index reuses the validation's column scan
        try:
            super()._write_lines(lines)
        finally:
            self._validating = False
            self._scan = None

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        """Ready lines without a Python step per line: joined once, newline ends checked on
        the joined bytes, and the scan kept for validation and the co-index."""
        kinds = set(map(type, batch))
        if kinds == {str}:
            batch = [line.encode() for line in batch]
        elif kinds != {bytes}:
            return super()._fast_batch(batch)
        scan = VcfScan.of_lines(batch)
        if scan.n and not (scan.sizes.all() and bool((scan.buf[scan.stops - 1] == 10).all())):
            return None  # some line lacks its newline: the per-record path adds it
        self._scan = (batch, scan)
        return batch

    def _join(self, lines: list[bytes]) -> tuple[bytes, np.ndarray]:
        if self._scan is not None and self._scan[0] is lines:
            return self._scan[1].data, self._scan[1].sizes
        return super()._join(lines)

    def _to_line(self, record: Any) -> bytes:
        if isinstance(record, tuple):
            return (tuple_line(record) + "\n").encode()
        return super()._to_line(record)

    def _intervals(self, data: bytes, sizes: np.ndarray, lines: list[bytes],
                   first_lineno: int) -> tuple[NameRuns, np.ndarray, np.ndarray]:
        scan = self._scan[1] if self._scan is not None and self._scan[1].data is data else None
        return scan_intervals(scan or VcfScan(data, sizes), first_lineno, lines)


class VcfReader(TabixReader):
    """Read a VCF (bgzipped, BGZF2 or plain): ``header``, iteration over record lines, and
    ``fetch(chrom, start=None, end=None)`` through the TBI/CSI next to the file (or BGZF2's
    embedded index)."""

    def __init__(self, source: Any, index: Any = None):
        super().__init__(source, index=index, preset="vcf")

    @property
    def contigs(self) -> list[tuple[str, int]]:
        return parse_contigs(self.header)

    def reference_lengths(self) -> dict[str, int | None] | None:  # type: ignore[override]
        """The ``##contig`` lines plus the contigs the index knows (a declared contig without
        records fetches nothing; one the file never mentions is an UnknownReferenceError)."""
        known = super().reference_lengths()
        declared = {name: (length or None) for name, length in self.contigs}
        if known is None:
            return declared or None
        return {**declared, **{k: v for k, v in known.items() if k not in declared}}

    @property
    def samples(self) -> list[str]:
        for line in self.header.splitlines():
            if line.startswith("#CHROM"):
                return line.split("\t")[9:]
        return []
