"""Shared helpers for the bigBed tests: fixture list and field-by-field Alignment comparison."""

from __future__ import annotations

import numpy as np

from conftest import DATA

UCSC = DATA / "ucsc-bigbed"
FIXTURES = sorted(UCSC.glob("*.bb"))


def assert_same_alignment(ours, theirs, where: str = "") -> None:
    """Every attribute equal: records (id, name, description, length, sequence kind, dbxrefs,
    annotations, features), coordinates (values and dtype), score, thick*, itemRgb, annotations."""
    assert type(ours) is type(theirs), where
    assert ours.__dict__.keys() == theirs.__dict__.keys(), (where, ours.__dict__.keys(),
                                                            theirs.__dict__.keys())
    for key, value in theirs.__dict__.items():
        mine = ours.__dict__[key]
        if key == "coordinates":
            assert mine.dtype == value.dtype, where
            assert np.array_equal(mine, value), (where, mine, value)
        elif key == "sequences":
            assert len(mine) == len(value), where
            for a, b in zip(mine, value):
                assert a.__dict__.keys() == b.__dict__.keys(), where
                for k in ("id", "name", "description", "dbxrefs", "annotations", "features",
                          "_per_letter_annotations"):
                    assert getattr(a, k) == getattr(b, k), (where, k)
                assert len(a) == len(b), where
                assert repr(a.seq) == repr(b.seq), where
        else:
            assert mine == value and type(mine) is type(value), (where, key, mine, value)
