"""Random tab-separated interval records for the BGZF2 tests (``name  beg  end  ...``)."""

from __future__ import annotations

import random

Record = tuple[int, int, int, bool, bytes]  # (tid, beg, end, mapped, line)


def big_and_small(n_small: int, small: int = 2000, big: int = 1_000_000) -> list[tuple[str, int]]:
    """One large contig then ``n_small`` tiny ones (several contigs share a frame)."""
    return [("big", big)] + [(f"s{i}", small) for i in range(n_small)]


def interval_records(seed: int, references=None, *, n_refs: int = 6,
                     lengths=(300, 5_000, 200_000), per_ref: int = 400, few=(1, 8),
                     many_above: int = 1000, spread: float = 1.0, max_span: int = 150,
                     long_every: int = 0, max_payload: int = 120, huge_rate: float = 0.0,
                     max_huge: int | None = None, unmapped_rate: float = 0.0,
                     unplaced: int = 50) -> tuple[list[tuple[str, int]], list[Record]]:
    """Coordinate-sorted records walking each reference: ``(references, records)``.

    ``references`` defaults to ``n_refs`` contigs ``ctg{i}`` of lengths drawn from
    ``lengths``. A reference longer than ``many_above`` gets ``per_ref`` records, a shorter
    one ``randint(*few)``; steps average ``spread * length / (count + 1)``, so positions repeat
    and ``spread=2`` walks to the contig end. Every ``long_every``-th record (from the 6th)
    spans a quarter to all of its contig (contains many later ones); ``huge_rate`` of the
    payloads are 30 kB (bigger than a frame; at most ``max_huge``); ``unmapped_rate`` are
    placed but unmapped (column 4 says which); ``unplaced`` records (tid -1) come last.
    """
    rng = random.Random(seed)
    fixed = references is not None
    refs: list[tuple[str, int]] = list(references) if fixed else []
    records: list[Record] = []
    huge_left = max_huge
    for tid in range(len(refs) if fixed else n_refs):
        if fixed:
            name, length = refs[tid]
        else:
            name, length = f"ctg{tid}", rng.choice(lengths)
            refs.append((name, length))
        count = per_ref if length > many_above else rng.randint(*few)
        step = max(1, int(spread * length / (count + 1)))
        pos = 0
        for k in range(count):
            pos = min(length - 1, pos + rng.randint(0, step))
            span = rng.randint(1, max_span)
            if long_every and k % long_every == 5:
                span = rng.randint(length // 4, length)
            end = min(length, pos + span)
            mapped = rng.random() >= unmapped_rate
            size = rng.randint(0, max_payload)
            if huge_rate and (huge_left is None or huge_left > 0) and rng.random() < huge_rate:
                size = 30_000
                huge_left = None if huge_left is None else huge_left - 1
            line = f"{name}\t{pos}\t{end}\t{int(mapped)}\t{'ACGT' * (size // 4)}\n".encode()
            records.append((tid, pos, end, mapped, line))
    for k in range(unplaced):
        records.append((-1, -1, 0, False, f"*\t0\t0\t0\tunplaced{k}\n".encode()))
    return refs, records
