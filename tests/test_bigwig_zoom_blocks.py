"""Decoded zoom blocks (bbi/zoom_records.py ZoomBlock) on blocks of unusual shapes, and the
one-bincount window path of bbi/zoom_bins.py against the general rule (wig_stats.zoom_stats)
on them: unsorted and multi-chromosome blocks, empty records, records wider than a bin,
windows at the block's ends and in gaps; blocks kept for the fast path only (``full=False``)
are read again when every field is needed."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.bigwig import same
from bioformats_ext import bigwig
from bioformats_ext.bbi import zoom_bins
from bioformats_ext.bbi.format import layouts
from bioformats_ext.bbi.wig_stats import zoom_stats
from bioformats_ext.bbi.zoom_bins import window_stats
from bioformats_ext.bbi.zoom_records import ZoomBlock, zoom_blocks, zoom_records

DTYPE = layouts("<").zoom_record_dtype


def _records(chroms, starts, ends, rng) -> np.ndarray:
    recs = np.zeros(len(starts), DTYPE)
    recs["chrom"], recs["start"], recs["end"] = chroms, starts, ends
    recs["valid"] = rng.integers(0, 300, len(starts))
    vals = rng.normal(3, 2, (len(starts), 2)).astype(np.float32)
    recs["min"], recs["max"] = vals.min(axis=1), vals.max(axis=1)
    recs["sum"] = rng.normal(50, 40, len(starts)).astype(np.float32)
    recs["sum_squares"] = np.abs(rng.normal(900, 300, len(starts))).astype(np.float32)
    return recs


def _shapes(rng) -> dict[str, np.ndarray]:
    """Record sets named by what is unusual about them (all on chromosome 0 unless named)."""
    n = 400
    widths = rng.integers(1, 250, n)
    gaps = np.where(rng.random(n) < 0.1, rng.integers(1, 5_000, n), rng.integers(0, 40, n))
    starts = np.cumsum(gaps + np.concatenate([[0], widths[:-1]]))
    ends = starts + widths
    zeros = np.zeros(n, np.int64)
    out = {"sorted": _records(zeros, starts, ends, rng)}
    e = ends.copy()
    e[::37] = starts[::37]  # empty records
    out["empty records"] = _records(zeros, starts, e, rng)
    e = ends.copy()
    e[5] = starts[5] + 40_000  # one record wider than a bin (ends still sorted after it)
    e[6:] = np.maximum(e[6:], e[5])
    out["wide record"] = _records(zeros, starts, e, rng)
    out["two chromosomes"] = _records(np.repeat([0, 1], n // 2), starts, ends, rng)
    order = rng.permutation(n)
    out["unsorted"] = _records(zeros, starts[order], ends[order], rng)
    out["one record"] = _records(zeros[:1], starts[:1], ends[:1], rng)
    return out


def _block(recs: np.ndarray, full: bool, reused: bool = False) -> ZoomBlock:
    buf = bytearray(recs.tobytes())
    if not reused:
        return ZoomBlock(buf, DTYPE, full)
    # as an uncompressed file's block: a view of a buffer that the next read overwrites
    block = ZoomBlock(memoryview(buf), DTYPE, full)
    buf[:] = bytes(len(buf))
    return block


def test_block_fields_equal_a_plain_reading():
    rng = np.random.default_rng(3)
    for name, recs in _shapes(rng).items():
        for full, reused in ((True, False), (False, False), (True, True), (False, True)):
            block = _block(recs, full, reused)
            assert np.array_equal(block.starts, recs["start"])
            assert np.array_equal(block.ends, recs["end"])
            assert np.array_equal(block.cols[2], recs["valid"])
            assert np.array_equal(block.cols[3:].view(np.float32),
                                  np.stack([recs["sum"], recs["sum_squares"]]))
            chroms, s, e = (recs[f].tolist() for f in ("chrom", "start", "end"))
            simple = len(set(chroms)) == 1 and s == sorted(s) and e == sorted(e)
            assert block.simple == simple, name
            assert block.chrom == (chroms[0] if simple else -1)
            widest = max((b - a if b > a else 1 << 32) for a, b in zip(s, e)) if simple else 0
            assert block.widest == widest, name
            if full or not simple:  # (the fast path never takes a block that is not simple)
                assert block.words is not None
                assert np.array_equal(block.overlap(0, 0, 1 << 31)["start"],
                                      recs["start"][recs["chrom"] == 0])
            else:
                assert block.words is None
                with pytest.raises(ValueError):
                    block.overlap(0, 0, 10)


def test_window_path_equals_the_general_rule_on_unusual_blocks(monkeypatch):
    """window_stats over synthetic blocks (one or two per window) either declines (None) or
    gives zoom_stats' numbers on the same records; it must decline on the shapes it cannot
    do."""
    rng = np.random.default_rng(9)
    shapes = _shapes(rng)
    done = {(name, split): 0 for name in shapes for split in (False, True)}
    for name, recs in shapes.items():
        half = max(1, len(recs) // 2)
        for split in (False, True):
            parts = [recs[:half], recs[half:]] if split and len(recs) > 1 else [recs]
            blocks = [_block(p, False) for p in parts]
            monkeypatch.setattr(zoom_bins, "zoom_blocks", lambda *_a, **_k: blocks)
            top = int(recs["end"].max()) + 100
            windows = [(0, top), (int(recs["start"][0]), int(recs["end"][0]) + 1)]
            for _ in range(40):
                width = int(rng.integers(1, 30_000))
                a = int(rng.integers(0, top))
                windows.append((a, a + width))
            for a, b in windows:
                for nbins in (1, 3, 10, 100):
                    if b - a < nbins:
                        continue
                    for kind in ("mean", "std", "coverage"):
                        fast = window_stats(None, None, 0, a, b, nbins, kind)  # type: ignore
                        if fast is None:
                            continue
                        done[name, split] += 1
                        both = np.concatenate(parts)
                        sel = both[(both["chrom"] == 0) & (both["start"] < b) & (both["end"] > a)]
                        slow = zoom_stats(sel, a, b, nbins, kind)
                        assert all(same(x, y) for x, y in zip(slow.tolist(), fast.tolist())), \
                            (name, split, a, b, nbins, kind)
    assert done["sorted", False] and done["sorted", True] and done["one record", False]
    assert done["two chromosomes", True]  # one chromosome per block: the path applies
    for name in ("two chromosomes", "unsorted"):  # not one block of them
        assert done[name, False] == 0, name
    assert done["unsorted", True] == 0


def test_blocks_kept_for_the_fast_path_are_read_again_for_every_field(tmp_path):
    rng = np.random.default_rng(2)
    items = [("c", i * 20, i * 20 + int(rng.integers(1, 20)), float(rng.normal()))
             for i in range(40_000)]
    path = tmp_path / "f.bw"
    bigwig.write(items, {"c": 900_000}, path)
    with bigwig.open(path) as fresh:
        want = [fresh.zoom_records(i, "c", 100_000, 400_000) for i in
                range(len(fresh.zoom_levels))]
    with bigwig.open(path) as ob:
        reader = ob.reader
        for i, level in enumerate(ob.zoom_levels):
            assert window_stats(reader, level, 0, 100_000, 400_000, 10, "mean") is not None \
                or level.reductionLevel * 20 > 30_000
            fast_only = zoom_blocks(reader, level, 0, 100_000, 400_000, False)
            assert fast_only
            have = zoom_records(reader, i, 0, 100_000, 400_000)
            assert np.array_equal(have, want[i])
            assert all(b.words is not None for b in zoom_blocks(reader, level, 0, 100_000,
                                                                400_000))


def _same_block(got: ZoomBlock, want: ZoomBlock, name: str) -> None:
    assert np.array_equal(got.cols, want.cols), name
    assert np.array_equal(got.starts, want.starts) and np.array_equal(got.ends, want.ends)
    assert (got.simple, got.chrom, got.widest) == (want.simple, want.chrom, want.widest), name
    assert (got.words is None) == (want.words is None), name
    if want.words is not None:
        assert np.array_equal(got.words, want.words), name


@pytest.mark.parametrize("order", ["<", ">"])
def test_group_decoding_equals_block_by_block(order):
    """zoom_batch.decode_group (many blocks per numpy pass, used by stats_many) builds the
    same blocks as ZoomBlock one at a time, whatever the neighbours in its group: every
    shape, in every order, with empty blocks between them, in both byte orders."""
    from bioformats_ext.bbi.slabs import SlabArena
    from bioformats_ext.bbi.zoom_batch import decode_group

    dtype = layouts(order).zoom_record_dtype
    rng = np.random.default_rng(21)
    shapes = list(_shapes(rng).items()) + [("empty", np.zeros(0, DTYPE))]
    datas = {name: recs.astype(dtype).tobytes() for name, recs in shapes}
    for trial in range(12):
        names = [shapes[i][0] for i in rng.permutation(len(shapes))][:1 + trial % len(shapes)]
        arena = SlabArena(64 << 20) if trial % 2 else None
        got = decode_group([datas[n] for n in names], dtype, arena)
        assert len(got) == len(names)
        for name, block in zip(names, got):
            _same_block(block, ZoomBlock(bytearray(datas[name]), dtype, False), name)
