"""What every region-fetching reader shares: closing, the context manager, and one region rule.

:class:`RegionReader` gives ``fetch``-style methods the pysam conventions through
:meth:`RegionReader.region`: ``(contig, start, stop)`` 0-based half-open, or
``region="chr1:1,000-2,000"`` (1-based inclusive, as samtools writes it); the pysam aliases
``reference=`` / ``end=`` are accepted too. An unknown contig raises
:class:`~bioformats_ext.errors.UnknownReferenceError`; a negative or reversed range raises
:class:`~bioformats_ext.errors.RegionError` - identically in the bigBed, BAM, VCF/tabix and BGZF2
readers, because they all go through :func:`~bioformats_ext.regions.resolve_region`.

A subclass implements :meth:`reference_lengths` (name -> length, ``None`` when unknown) and sets
``self.source`` (the :class:`~bioformats_ext.io.ByteSource` that :meth:`close` closes), or
overrides :meth:`close`.
"""

from __future__ import annotations

from typing import Any, Mapping, TypeVar

from .errors import RegionError
from .regions import Region, resolve_region

__all__ = ["RegionReader", "Region"]

_R = TypeVar("_R", bound="RegionReader")


class RegionReader:
    """Base class: ``close()``, ``with`` support and :meth:`region` for ``fetch`` arguments."""

    source: Any = None
    _closed: bool = False

    def reference_lengths(self) -> Mapping[str, int | None]:  # pragma: no cover - abstract
        """Reference name -> length (``None`` when the file does not say)."""
        raise NotImplementedError

    def region(self, contig: str | None = None, start: int | None = None,
               stop: int | None = None, region: str | None = None, *,
               reference: str | None = None, end: int | None = None) -> Region:
        """Validate ``fetch`` arguments into a :class:`Region` (``stop`` may be ``None``: to the
        end of a reference of unknown length)."""
        if reference is not None:
            if contig is not None:
                raise RegionError("give contig or reference, not both")
            contig = reference
        if end is not None:
            if stop is not None:
                raise RegionError("give stop or end, not both")
            stop = end
        return resolve_region(contig, start, stop, region, self.reference_lengths())

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the byte source (idempotent)."""
        if not self._closed:
            self._closed = True
            source = self.source
            if source is not None:
                source.close()

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
