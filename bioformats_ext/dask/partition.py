"""Partitions planned from an index alone: small, picklable descriptions of one task's work.

Every planner works on *units* that the index already delimits and that hold each record
exactly once: bigBed/bigWig data blocks (R-tree leaves), BGZF virtual-offset intervals between
record starts the index records (chunk starts, linear-index entries, a reference's first
record), BGZF2 frames. Units are grouped in file order until a partition reaches the byte
target, so small contigs share a partition and a large reference is cut wherever the index has
a record boundary (an empty-bin / window boundary of the linear index). A record belongs to the
partition whose unit holds it, i.e. the one holding its start: nothing is read twice or lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "ki": 1 << 10,
          "mi": 1 << 20, "gi": 1 << 30}


def parse_bytes(value: "int | str") -> int:
    """``"128MiB"``, ``"1.5 GB"``, ``"64k"`` or an int → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"byte target must be positive, got {value}")
        return value
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read {value!r} as a number of bytes (e.g. '128MiB')")
    n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n < 1:
        raise ValueError(f"byte target must be positive, got {value!r}")
    return n


@dataclass(frozen=True)
class Partition:
    """One task's share of a file.

    ``contig``/``start`` … ``end_contig``/``end``: the genomic extent of the record starts it
    holds (0-based; from the index, so BGZF positions are window-accurate, not base-accurate).
    ``byte_ranges``: the compressed bytes to fetch, coalesced (normally one range).
    ``units``: what to decode — bigBed/bigWig ``(offset, size)`` blocks, BGZF
    ``(start_voffset, end_voffset)`` intervals, BGZF2 frame numbers. ``region``: when planned
    from regions, ``(contig, start, stop)`` records must overlap (the serial ``fetch`` rule).
    """

    index: int
    kind: str
    contig: str | None
    start: int
    end_contig: str | None
    end: int
    byte_ranges: tuple[tuple[int, int], ...]
    estimated_bytes: int
    units: tuple = ()
    region: tuple[str, int, int] | None = None
    contigs: tuple[str, ...] = field(default=())

    @property
    def nbytes(self) -> int:
        return sum(n for _, n in self.byte_ranges)


@dataclass(frozen=True)
class Unit:
    """One indivisible piece: ``key`` (block, voffset interval or frame), its compressed
    ``span`` in the file, estimated bytes, and the genomic extent of its records' starts."""

    key: object
    span: tuple[int, int]      # [begin, end) file offsets (compressed)
    nbytes: int
    tid: int
    pos: int
    end_tid: int
    end_pos: int


def coalesce(spans: Iterable[tuple[int, int]], gap: int = 0) -> tuple[tuple[int, int], ...]:
    """``(begin, end)`` spans → merged ``(offset, length)`` ranges (sorted; gaps <= ``gap`` joined)."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b - a) for a, b in out if b > a)


def group_units(units: Sequence[Unit], target: int, names: Sequence[str], kind: str = "mapped",
                region: tuple[str, int, int] | None = None, first_index: int = 0,
                gap: int = 1 << 20) -> list[Partition]:
    """Greedy grouping in file order: a partition closes once it holds ``target`` bytes, so
    every partition but the last of a run holds at least ``target`` and at most ``target``
    plus one unit."""
    groups: list[list[Unit]] = []
    acc = 0
    for unit in units:
        if not groups or acc >= target:
            groups.append([])
            acc = 0
        groups[-1].append(unit)
        acc += unit.nbytes
    out = []
    for i, group in enumerate(groups):
        first, last = group[0], group[-1]
        tids = list(dict.fromkeys(u.tid for u in group) | dict.fromkeys(u.end_tid for u in group))
        out.append(Partition(
            index=first_index + i, kind=kind,
            contig=names[first.tid] if 0 <= first.tid < len(names) else None, start=first.pos,
            end_contig=names[last.end_tid] if 0 <= last.end_tid < len(names) else None,
            end=last.end_pos,
            byte_ranges=coalesce([u.span for u in group], gap),
            estimated_bytes=sum(u.nbytes for u in group),
            units=tuple(u.key for u in group), region=region,
            contigs=tuple(names[t] for t in sorted(set(tids)) if 0 <= t < len(names))))
    return out


def renumber(parts: Sequence[Partition]) -> list[Partition]:
    from dataclasses import replace

    return [replace(p, index=i) for i, p in enumerate(parts)]
