"""Binning arithmetic: SAM-spec values, brute-force containment, vectorised == scalar."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from bioformats_ext.index import bin_limit, reg2bin, reg2bins
from bioformats_ext.index.binning import (bin_bot, bin_first, bin_level, bin_parent, n_bins,
                                          pseudo_bin, reg2bin_array)


def test_known_values():
    assert n_bins(5) == 37449 and pseudo_bin(5) == 37450
    assert pseudo_bin(3) == 586 and pseudo_bin(6) == 299594
    assert bin_limit(14, 5) == 1 << 29
    assert reg2bin(0, 1) == 4681                       # first 16 kb leaf
    assert reg2bin(0, 1 << 14) == 4681
    assert reg2bin(0, (1 << 14) + 1) == 585            # spills into level 4
    assert reg2bin(0, 1 << 29) == 0
    assert reg2bin(16384, 16385) == 4682
    assert reg2bin(100, 100) == 4681                   # zero-length: end - 1 < beg stays in bin
    assert reg2bin(16384, 16384) == 585                # ... unless end - 1 falls in the previous leaf
    assert bin_parent(4681) == 585 and bin_level(4681) == 5 and bin_first(5) == 4681
    assert bin_bot(585) == 0 and bin_bot(586) == 8 and bin_bot(4682) == 1


def _contains(b, beg, end, min_shift, depth):
    level = bin_level(b)
    width = 1 << (min_shift + 3 * (depth - level))
    lo = (b - bin_first(level)) * width
    return lo <= beg and end <= lo + width


@settings(max_examples=300, deadline=None)
@given(st.integers(0, (1 << 29) - 2), st.integers(1, 1 << 20), st.sampled_from([(14, 5), (12, 6), (14, 3)]))
def test_reg2bin_smallest_containing(beg, length, params):
    min_shift, depth = params
    end = min(beg + length, bin_limit(min_shift, depth))
    if end <= beg:
        return
    b = reg2bin(beg, end, min_shift, depth)
    assert _contains(b, beg, end, min_shift, depth)
    if b:  # no child contains it
        level = bin_level(b)
        if level < depth:
            first_child = b * 8 + 1
            assert not any(_contains(c, beg, end, min_shift, depth) for c in range(first_child, first_child + 8))
    # any record overlapping a query has its bin among reg2bins(query)
    q = reg2bins(max(0, beg - 5000), beg + 1, min_shift, depth)
    assert b in q


def test_reg2bins_levels():
    bins = reg2bins(0, 1)
    assert bins == [0, 1, 9, 73, 585, 4681]
    assert reg2bins(5, 5) == []
    assert len(reg2bins(0, 1 << 29)) == n_bins(5)


def test_vectorised_matches_scalar():
    rng = np.random.default_rng(0)
    beg = rng.integers(0, 1 << 28, 5000)
    end = beg + rng.integers(0, 1 << 22, 5000)
    for ms, d in ((14, 5), (12, 7)):
        got = reg2bin_array(beg, end, ms, d)
        assert got.tolist() == [reg2bin(int(b), int(e), ms, d) for b, e in zip(beg, end)]
