"""Index comparisons: what an index says, not how its bytes are laid out."""

from __future__ import annotations

from bioformats_ext.index import read_index


def index_content(path: str) -> tuple:
    """What an index says (not how its bytes are laid out), for comparing with htslib's."""
    ix = read_index(path)
    return (ix.names, ix.tabix, ix.min_shift, ix.depth, ix.n_no_coor,
            [(r.bins, r.linear, r.loffsets) for r in ix.refs])


def assert_same_index(ref, ours) -> None:
    """Two loaded indexes (``read_index``) hold the same content, reference by reference."""
    assert ours.format == ref.format
    assert (ours.min_shift, ours.depth) == (ref.min_shift, ref.depth)
    assert ours.n_refs == ref.n_refs
    assert ours.n_no_coor == ref.n_no_coor
    assert ours.names == ref.names and ours.tabix == ref.tabix
    assert ours.aux == ref.aux
    for tid, (r, o) in enumerate(zip(ref.refs, ours.refs)):
        assert o.bins == r.bins, f"tid {tid}: bins differ"
        assert o.linear == r.linear, f"tid {tid}: linear index differs"
        assert o.loffsets == r.loffsets, f"tid {tid}: loffsets differ"
