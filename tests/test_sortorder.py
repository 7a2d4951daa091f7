"""The one sort/range rule (bioformats_ext.index.sortorder): batch and scalar checks agree, messages
are 1-based and identical for every user (IndexBuilder, BGZF2 writer, tabix/BAM writers)."""

import random

import numpy as np
import pytest

from bioformats_ext.errors import RecordError, SortOrderError
from bioformats_ext.index.sortorder import RecordNumbers, SortOrder


def _outcome(check, records):
    """(index of the first rejected record, message) or (None, None)."""
    for i, rec in enumerate(records):
        try:
            check(*rec)
        except RecordError as exc:
            return i, str(exc)
    return None, None


@pytest.mark.parametrize("strict", [False, True])
def test_batch_equals_scalar_on_random_input(strict):
    rng = random.Random(5)
    for trial in range(300):
        n = rng.randint(1, 12)
        recs = []
        tid, pos = 0, 0
        for _ in range(n):
            r = rng.random()
            if r < 0.15:
                tid = rng.randint(-1, 3)
            elif r < 0.3:
                pos = max(0, pos - rng.randint(1, 5))
            else:
                pos += rng.randint(0, 5)
            end = pos + rng.randint(-2, 10)
            recs.append((tid, pos, end))
        scalar = SortOrder(strict=strict, max_pos=40, max_pos_note="a test index")
        batch = SortOrder(strict=strict, max_pos=40, max_pos_note="a test index")
        want = _outcome(scalar.check_one, recs)
        cut = rng.randint(0, n)  # two batches: the state carries across
        got = (None, None)
        for lo, hi in ((0, cut), (cut, n)):
            part = recs[lo:hi]
            if not part:
                continue
            try:
                batch.check(*zip(*part))
            except RecordError as exc:
                got = (exc.record - 1, str(exc))
                break
        assert got == want, (trial, recs, cut)


def test_messages_and_types():
    order = SortOrder(reference_name=["chr1", "chr2"].__getitem__)
    order.check([0, 0], [10, 20], [11, 21])
    with pytest.raises(SortOrderError) as info:
        order.check([0, 0], [30, 5], [31, 6], describe=lambda i: f"line text {i}")
    assert str(info.value) == ("record 4: position 5 after 30 on chr1 "
                               "(input must be coordinate-sorted): line text 1")
    assert (info.value.record, info.value.tid, info.value.pos) == (4, 0, 5)
    order.check([1], [0], [1])
    with pytest.raises(SortOrderError, match="chr1 appears again after another reference"):
        order.check([0], [50], [51])
    with pytest.raises(RecordError, match=r"^line 9: end 3 is before start 7$"):
        SortOrder().check([0], [7], [3], numbers=RecordNumbers([9], "line"))
    unplaced = SortOrder()
    unplaced.check([-1], [-1], [0])
    with pytest.raises(SortOrderError, match="record 2: placed record on reference 0 after unplaced"):
        unplaced.check([0], [1], [2])
    strict = SortOrder(strict=True)
    strict.check([2], [1], [2])
    with pytest.raises(SortOrderError, match="reference 0 comes after reference 2"):
        strict.check(np.array([0]), np.array([1]), np.array([2]))
    loose = SortOrder(strict=False)
    loose.check([2, 0], [1, 1], [2, 2])  # samtools index accepts an unseen lower reference
    with pytest.raises(RecordError, match="negative start -4"):
        SortOrder(negative_start="error").check([0], [-4], [1])
    SortOrder(ordered=False, negative_start="error").check([0, 0], [9, 1], [10, 2])
