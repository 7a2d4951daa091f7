"""One region rule for every reader: pysam/samtools semantics, typed errors.

``fetch(contig, start, stop)`` takes 0-based half-open coordinates; ``region="chr1:1,000-2,000"``
is 1-based inclusive as samtools writes it (also ``chr1``, ``chr1:1000`` meaning "from 1000 to
the end", and ``{HLA-A*01:01}:1-100`` when a name contains ``:``). An unknown contig raises
:class:`UnknownReferenceError`; negative coordinates or stop before start raise
:class:`RegionError`. Every reader (bigBed, bigWig, BAM, VCF/BCF, tabix, BGZF2) calls
:func:`resolve_region` so the rule lives here only.
"""

from __future__ import annotations

from typing import Collection, Mapping, NamedTuple

from .errors import RegionError, UnknownReferenceError

__all__ = ["Region", "parse_region", "resolve_region", "format_region"]


class Region(NamedTuple):
    """A resolved region: 0-based half-open; ``stop`` is ``None`` when the length is unknown."""

    contig: str
    start: int
    stop: int | None


def _parse_position(text: str, region: str) -> int:
    digits = text.replace(",", "").replace("_", "").strip()
    if not digits.isdigit():
        raise RegionError(f"region {region!r}: {text!r} is not a position")
    return int(digits)


def _split_coordinates(coords: str, region: str) -> tuple[int, int | None]:
    """``"1,000-2,000"`` → (999, 2000); ``"1000"`` / ``"1000-"`` → (999, None); ``"-5"`` → (0, 5)."""
    if not coords:
        raise RegionError(f"region {region!r}: empty coordinates after ':'")
    beg_text, dash, end_text = coords.partition("-")
    beg = _parse_position(beg_text, region) if beg_text.strip() else 1
    end = _parse_position(end_text, region) if dash and end_text.strip() else None
    start = max(beg - 1, 0)  # htslib treats position 0 as 1
    if end is not None and end < start:
        raise RegionError(f"region {region!r}: end {end} is before start {beg}")
    return start, end


def parse_region(region: str, references: Collection[str] | None = None) -> Region:
    """Split a samtools region string into (contig, 0-based start, stop or None).

    With ``references`` the whole string is tried as a name first (a contig may contain ``:``),
    and a name that is both a contig and a contig-plus-range is refused as ambiguous, as htslib
    does; use the ``{name}:beg-end`` form then.
    """
    if not isinstance(region, str) or not region.strip():
        raise RegionError(f"region {region!r}: empty")
    text = region.strip()
    if text.startswith("{"):
        close = text.find("}")
        if close < 0:
            raise RegionError(f"region {region!r}: '{{' without '}}'")
        contig, rest = text[1:close], text[close + 1:]
        if not rest:
            return Region(contig, 0, None)
        if not rest.startswith(":"):
            raise RegionError(f"region {region!r}: expected ':' after '}}'")
        start, stop = _split_coordinates(rest[1:], region)
        return Region(contig, start, stop)
    colon = text.rfind(":")
    if colon < 0:
        return Region(text, 0, None)
    contig, coords = text[:colon], text[colon + 1:]
    if references is not None:
        whole_is_name = text in references
        try:
            start, stop = _split_coordinates(coords, region)
            ranged_ok = contig in references
        except RegionError:
            ranged_ok = False
        if whole_is_name and ranged_ok:
            raise RegionError(f"region {region!r} is ambiguous: write {{{contig}}}:{coords} or {{{text}}}")
        if whole_is_name:
            return Region(text, 0, None)
    start, stop = _split_coordinates(coords, region)
    return Region(contig, start, stop)


def resolve_region(contig: str | None = None, start: int | None = None, stop: int | None = None,
                   region: str | None = None,
                   references: Mapping[str, int | None] | None = None) -> Region:
    """Validate ``fetch`` arguments against ``references`` (name → length, length may be None).

    Exactly one of ``contig`` / ``region`` must name the contig. ``stop`` defaults to the
    reference length (or ``None`` when unknown) and is clipped to it, as pysam does.
    """
    if region is not None:
        if contig is not None:
            raise RegionError("give either contig/start/stop or region, not both")
        contig, start, stop = parse_region(region, references)
    if contig is None:
        raise RegionError("a region needs a contig")
    if references is not None and contig not in references:
        raise UnknownReferenceError(f"unknown reference {contig!r}")
    for name, value in (("start", start), ("stop", stop)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            try:
                value = int(value)  # numpy integers
            except (TypeError, ValueError):
                raise RegionError(f"{name} must be an integer, not {value!r}") from None
        if value is not None and value < 0:
            raise RegionError(f"{contig}: negative {name} {value}")
    start = 0 if start is None else int(start)
    length = references.get(contig) if references is not None else None
    if stop is None:
        stop = length
    else:
        stop = int(stop)
        if stop < start:
            raise RegionError(f"{contig}: stop {stop} is before start {start}")
        if length is not None and stop > length:
            stop = max(length, start)
    return Region(contig, start, stop)


def format_region(region: Region) -> str:
    """The samtools form of a region (1-based inclusive), braced when the name has a ':'."""
    name = f"{{{region.contig}}}" if ":" in region.contig else region.contig
    if region.start == 0 and region.stop is None:
        return name
    if region.stop is None:
        return f"{name}:{region.start + 1}"
    return f"{name}:{region.start + 1}-{region.stop}"
