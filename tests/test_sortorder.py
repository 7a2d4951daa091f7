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


def _change_rows(part):
    return [i for i in range(1, len(part)) if part[i][0] != part[i - 1][0]]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("end_rule", ["error", "allow"])
def test_long_sorted_batches_take_the_common_path_and_agree_with_scalar(strict, end_rule):
    """Batches of placed records (a sorted file's) are checked in a few passes
    (``SortOrder._check_sorted``), which accept and reject exactly what ``check_one`` does
    record by record, with the same 1-based message; they return the rows where the
    reference changes (the index builder reuses them) and leave the same state."""
    rng = random.Random(9)
    taken = 0
    for trial in range(400):
        n = rng.randint(1, 200)
        recs = []
        tid, pos = rng.randint(0, 2), rng.randint(0, 50)
        for _ in range(n):
            r = rng.random()
            if r < 0.03:
                tid = rng.randint(0, 4)  # a new, a repeated or a lower reference
            elif r < 0.04:
                pos = max(0, pos - rng.randint(1, 5))  # unsorted
            else:
                pos += rng.randint(0, 3)
            beg = -rng.randint(1, 3) if rng.random() < 0.005 else pos
            end = pos + rng.choice([0, 1, 5, 2])
            if rng.random() < 0.005:
                end = pos - 2  # before the start
            if rng.random() < 0.005:
                end = 10 ** 6  # beyond max_pos
            recs.append((tid, beg, end))
        make = lambda: SortOrder(strict=strict, max_pos=10 ** 5, max_pos_note="a test index",  # noqa: E731
                                 end_before_start=end_rule)
        scalar, batch = make(), make()
        want = _outcome(scalar.check_one, recs)
        cuts = sorted(rng.sample(range(1, n), min(2, n - 1))) if n > 1 else []
        got = (None, None)
        for lo, hi in zip([0] + cuts, cuts + [n]):
            part = recs[lo:hi]
            try:
                heads = batch.check(*(np.array(c) for c in zip(*part)))
            except RecordError as exc:
                got = (exc.record - 1, str(exc))
                break
            if min(r[1] for r in part) >= 0:  # placed, starts >= 0: the common path
                assert heads is not None, (trial, part)
                assert heads.tolist() == _change_rows(part)
                taken += 1
        assert got == want, (trial, recs, cuts)
        if want == (None, None):
            assert (batch.n_checked, batch._last_tid, batch._last_beg, batch._seen) == \
                (scalar.n_checked, scalar._last_tid, scalar._last_beg, scalar._seen)
    assert taken > 100
