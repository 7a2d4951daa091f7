"""The TBI/CSI reader's array walk (``index/reader.py``): bins found by a guessed-then-proven
chain of offsets must equal a plain sequential parse for any mix of chunk counts, and damaged
counts must still give the typed errors of the first bad bin."""

from __future__ import annotations

import random
import struct

import pytest

from bioformats_ext.errors import FormatError, TruncatedFileError
from bioformats_ext.index.reader import parse_index
from bioformats_ext.index.tabix_conf import get_config


def _tbi(refs: list[list[tuple[int, list[tuple[int, int]]]]]) -> bytes:
    names = b"".join(f"c{i}".encode() + b"\0" for i in range(len(refs)))
    out = [b"TBI\1", struct.pack("<i", len(refs)), get_config("vcf").pack(len(names)), names]
    for bins in refs:
        out.append(struct.pack("<i", len(bins)))
        for b, chunks in bins:
            out.append(struct.pack("<Ii", b, len(chunks)))
            out += [struct.pack("<QQ", u, v) for u, v in chunks]
        out.append(struct.pack("<i", 3) + struct.pack("<3Q", 0, 5 << 16, 9 << 16))
    return b"".join(out) + struct.pack("<Q", 0)


def _random_refs(rng: random.Random, multi: float) -> list:
    refs = []
    for _ in range(rng.randint(1, 4)):
        ids = rng.sample(range(4681, 37449), rng.randint(0, 300))
        bins = []
        for b in ids:
            n = rng.choice([0, 2, 3, 7]) if rng.random() < multi else 1
            chunks = sorted((rng.randrange(1 << 40), rng.randrange(1 << 40)) for _ in range(n))
            bins.append((b, chunks))
        refs.append(bins)
    return refs


@pytest.mark.parametrize("multi", [0.0, 0.01, 0.3, 1.0])
def test_array_walk_equals_sequential_parse(multi):
    rng = random.Random(int(multi * 100) + 1)
    for _ in range(20):
        refs = _random_refs(rng, multi)
        index = parse_index(_tbi(refs))
        assert index.names == [f"c{i}" for i in range(len(refs))]
        for bins, ref in zip(refs, index.refs):
            assert ref.bins == {b: chunks for b, chunks in bins}
            assert ref.linear == [0, 5 << 16, 9 << 16]


def test_damaged_counts_name_the_first_bad_bin():
    refs = [[(4681 + i, [(i, i + 1)]) for i in range(50)]]
    good = _tbi(refs)
    head = 4 + 4 + 28 + len(b"c0\0") + 4          # first bin header
    for k, (count, error) in enumerate([(-1, FormatError), (10 ** 6, FormatError)]):
        at = head + 7 * 24 + 4                      # n_chunk of bin 7
        bad = good[:at] + struct.pack("<i", count) + good[at + 4:]
        with pytest.raises(error, match="absurd chunk count"):
            parse_index(bad)
    with pytest.raises((TruncatedFileError, FormatError)):
        parse_index(good[:head + 20 * 24 + 3])      # cut inside bin 20's header
    duplicate = _tbi([[(4681, [(1, 2)]), (4681, [(3, 4)])]])
    with pytest.raises(FormatError, match="duplicate bin 4681"):
        parse_index(duplicate)


def _csi(refs: list[list[tuple[int, int, list[tuple[int, int]]]]]) -> bytes:
    out = [b"CSI\1", struct.pack("<iiI", 14, 5, 0), struct.pack("<i", len(refs))]
    for bins in refs:
        out.append(struct.pack("<i", len(bins)))
        for b, loff, chunks in bins:
            out.append(struct.pack("<IQi", b, loff, len(chunks)))
            out += [struct.pack("<QQ", u, v) for u, v in chunks]
    return b"".join(out) + struct.pack("<Q", 7)


@pytest.mark.parametrize("multi", [0.0, 0.3])
def test_csi_array_walk_equals_sequential_parse(multi):
    rng = random.Random(9)
    for _ in range(10):
        refs = [[(b, rng.randrange(1 << 50), c) for b, c in bins]
                for bins in _random_refs(rng, multi)]
        index = parse_index(_csi(refs))
        assert index.format == "csi" and index.n_no_coor == 7
        for bins, ref in zip(refs, index.refs):
            assert ref.bins == {b: c for b, _, c in bins}
            assert ref.loffsets == {b: loff for b, loff, _ in bins}


def test_empty_references_and_old_linear_index():
    """References without bins (a BAM header's decoys) take no array walk, and zero entries of
    an old linear index are filled from the right after the first non-zero one (htslib)."""
    parts = [b"BAI\1", struct.pack("<i", 3)]
    parts.append(struct.pack("<ii", 0, 0))                              # empty
    parts.append(struct.pack("<i", 0) + struct.pack("<i", 5) + struct.pack("<5Q", 0, 7, 0, 0, 9))
    parts.append(struct.pack("<i", 1) + struct.pack("<Ii", 4681, 1) + struct.pack("<QQ", 1, 2)
                 + struct.pack("<i", 4) + struct.pack("<4Q", 0, 3, 0, 4))
    index = parse_index(b"".join(parts) + struct.pack("<Q", 0))
    assert [r.bins for r in index.refs] == [{}, {}, {4681: [(1, 2)]}]
    assert [r.linear for r in index.refs] == [[], [0, 7, 9, 9, 9], [0, 3, 4, 4]]
    assert index.query(1, 0, 100) == [] and index.query(2, 0, 100) == [(1, 2)]
