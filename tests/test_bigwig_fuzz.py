"""Fuzzing: mutated or truncated bigWigs produce results or typed errors, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.bigwig import DATA
from bioformats_ext import bigwig
from bioformats_ext.errors import BioformatsError

FILES = [(DATA / name).read_bytes() for name in ("pybigwig_test.bw", "variable_step.bw")]
FILES.append(bigwig and (DATA.parent.parent.parent / "bioformats_ext" / "data" /
                         "example.bw").read_bytes())


def exercise(data: bytes) -> None:
    with bigwig.open(data) as bw:
        bw.summary()
        for chrom, size in list(bw.chroms.items())[:3]:
            if size < 1:
                continue
            bw.values(chrom, 0, min(size, 100_000))
            bw.intervals(chrom, 0, min(size, 100_000))
            bw.stats(chrom, 0, size, nBins=4)
            bw.stats(chrom, 0, min(size, 5000), type="std", exact=True)
            for i in range(len(bw.zoom_levels)):
                bw.zoom_records(i, chrom, 0, size)
        list(bw.iter_intervals())


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.one_of(st.integers(0, 399), st.integers(0, len(data) - 1)))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=int(__import__("os").environ.get("BW_FUZZ", 200)), deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutations_give_typed_errors_only(data):
    try:
        exercise(data)
    except BioformatsError:
        pass
