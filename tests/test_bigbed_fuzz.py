"""Fuzzing: mutated or truncated UCSC fixtures produce results or typed errors, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioformats_ext.errors import BioformatsError
from helpers.bigbed import UCSC, exercise

FILES = [(UCSC / name).read_bytes() for name in
         ("bigbedtest.bb", "bed12.bb", "bigbed_extended.bigendian.bb", "bigPsl.bb")]


def _find_all(data: bytes) -> None:
    from bioformats_ext import bigbed

    with bigbed.open(data) as bb:
        for field in bb.extra_index_fields:
            list(bb.find(field, "PDGFA"))
            list(bb.find(field, "uc003sis.1"))


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(1, 8))):
        # bias towards the structures: header, metadata, and the index / data
        pos = draw(st.one_of(st.integers(0, 127), st.integers(0, len(data) - 1)))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutations_give_typed_errors_only(data):
    try:
        exercise(data)
        _find_all(data)
    except BioformatsError:
        pass
