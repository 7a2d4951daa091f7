"""A reference's finished index data (:class:`RefIndex`) and how the builder finishes it.

:func:`finish_ref` is htslib's ``update_loff`` + ``compress_binning`` for one reference with
numpy, over chunks already sorted by (bin, start); :class:`LinearSlots` holds the linear index
while records are pushed (numpy pieces from batches, plain ints from scalar pushes), so
finishing never converts it through Python lists.
"""

from __future__ import annotations

import numpy as np

from .binning import bin_first

HTS_MIN_MARKER_DIST = 0x10000


class RefIndex:
    """Finished index data of one reference (the comparison-friendly representation).

    ``bins`` maps bin id -> list of ``(beg, end)`` virtual-offset chunks (the pseudo-bin included,
    its second "chunk" being ``(n_mapped, n_unmapped)``); ``loffsets`` maps bin -> CSI loffset;
    ``linear`` is the back-filled linear index (empty for CSI files read back).

    A builder's references also carry ``arrays`` — ``(bin ids, chunks per bin, chunk begins,
    chunk ends, loffsets)`` in ascending bin order — which serialisation uses directly; the dicts
    are made from them only when read (a sparse VCF has a bin per record, so building them for
    every write would cost more than the rest of the index). Reading ``bins`` or ``loffsets``
    drops ``arrays`` (the dicts may then be changed). Likewise ``linear`` may be held as an
    int64 array (:meth:`linear_array`) and becomes a list when read.
    """

    __slots__ = ("_bins", "_loffsets", "_linear_list", "_linear_arr", "arrays")

    def __init__(self, bins: "dict[int, list[tuple[int, int]]] | None" = None,
                 linear: "list[int] | np.ndarray | None" = None,
                 loffsets: "dict[int, int] | None" = None,
                 arrays: "tuple[np.ndarray, ...] | None" = None):
        self._bins = bins if bins is not None or arrays is not None else {}
        self._loffsets = loffsets if loffsets is not None or arrays is not None else {}
        self._linear_arr: np.ndarray | None = linear if isinstance(linear, np.ndarray) else None
        self._linear_list: list[int] | None = None if self._linear_arr is not None else \
            (linear if linear is not None else [])  # type: ignore[assignment]
        self.arrays = arrays

    def _materialise(self) -> None:
        if self.arrays is not None:
            bins, counts, beg, end, loff = (a.tolist() for a in self.arrays)
            cuts = np.cumsum([0] + counts).tolist()
            pairs = list(zip(beg, end))
            self._bins = {b: pairs[cuts[k]:cuts[k + 1]] for k, b in enumerate(bins)}
            self._loffsets = dict(zip(bins, loff))
            self.arrays = None

    @property
    def bins(self) -> dict[int, list[tuple[int, int]]]:
        self._materialise()
        return self._bins  # type: ignore[return-value]

    @bins.setter
    def bins(self, value: dict[int, list[tuple[int, int]]]) -> None:
        self._materialise()
        self._bins = value

    @property
    def loffsets(self) -> dict[int, int]:
        self._materialise()
        return self._loffsets  # type: ignore[return-value]

    @loffsets.setter
    def loffsets(self, value: dict[int, int]) -> None:
        self._materialise()
        self._loffsets = value

    @property
    def linear(self) -> list[int]:
        if self._linear_list is None:
            self._linear_list = [] if self._linear_arr is None else self._linear_arr.tolist()
            self._linear_arr = None
        return self._linear_list

    @linear.setter
    def linear(self, value: list[int]) -> None:
        self._linear_list, self._linear_arr = value, None

    def linear_array(self) -> np.ndarray:
        """The linear index as little-endian int64 (no list made on the way)."""
        arr = getattr(self, "_linear_arr", None)  # (unset in subclasses with their own storage)
        if arr is not None:
            return arr.astype("<i8", copy=False)
        return np.asarray(self.linear, dtype="<i8")

    def add_bin(self, b: int, chunks: list[tuple[int, int]], loffset: int = 0) -> None:
        """Add bin ``b`` (above every bin present, e.g. the pseudo-bin) in either form."""
        if self.arrays is None:
            self.bins[b] = chunks
            self.loffsets[b] = loffset
            return
        bins, counts, beg, end, loff = self.arrays
        self.arrays = (np.append(bins, b), np.append(counts, len(chunks)),
                       np.append(beg, [c[0] for c in chunks]), np.append(end, [c[1] for c in chunks]),
                       np.append(loff, loffset))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RefIndex):
            return NotImplemented
        return (self.bins, self.linear, self.loffsets) == (other.bins, other.linear, other.loffsets)

    def __repr__(self) -> str:
        return f"RefIndex(bins={self.bins!r}, linear={self.linear!r}, loffsets={self.loffsets!r})"


class LinearSlots:
    """One reference's linear index while pushing: slot values (-1 = unset) appended in order,
    as int64 arrays (batches) or ints into ``tail`` (scalar pushes, which read ``size +
    len(tail)`` and extend ``tail`` themselves: no method call per record)."""

    __slots__ = ("parts", "tail", "size")

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.tail: list[int] = []
        self.size = 0  # slots in ``parts``

    def __len__(self) -> int:
        return self.size + len(self.tail)

    def append_array(self, values: np.ndarray) -> None:
        self._flush()
        self.parts.append(values)
        self.size += len(values)

    def _flush(self) -> None:
        if self.tail:
            self.parts.append(np.array(self.tail, dtype=np.int64))
            self.size += len(self.tail)
            self.tail = []

    def array(self) -> np.ndarray:
        """All slots as one (new) int64 array."""
        self._flush()
        if not self.parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(self.parts).astype(np.int64, copy=False)


def backfill(arr: np.ndarray) -> np.ndarray:
    """Unset slots (-1) take the value of the next set slot to their right."""
    if len(arr) == 0:
        return arr
    unset = arr < 0
    if not unset.any():
        return arr
    idx = np.where(unset, len(arr), np.arange(len(arr)))
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    ok = nxt < len(arr)
    out = arr.copy()
    out[ok] = arr[nxt[ok]]
    return out


def _bin_bot_array(bins: np.ndarray, depth: int) -> np.ndarray:
    firsts = np.array([bin_first(level) for level in range(depth + 2)], dtype=np.int64)
    level = np.searchsorted(firsts, bins, side="right") - 1
    return (bins - firsts[level]) << (3 * (depth - level))


def _segmented_cummax(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarted wherever ``keys`` (sorted) changes."""
    if len(values) == 0:
        return values
    uniq, rank = np.unique(values, return_inverse=True)
    seg = np.concatenate(([0], np.cumsum(keys[1:] != keys[:-1])))
    combined = np.maximum.accumulate(seg * len(uniq) + rank)
    return uniq[combined - seg * len(uniq)]


def group_starts(keys: np.ndarray) -> np.ndarray:
    """First row of each run of equal ``keys``."""
    heads = np.empty(len(keys), dtype=bool)
    if len(keys):
        heads[0] = True
        np.not_equal(keys[1:], keys[:-1], out=heads[1:])
    return np.flatnonzero(heads)


def _compress_levels(cb: np.ndarray, cu: np.ndarray, cv: np.ndarray, depth: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """htslib's first ``compress_binning`` pass: from the deepest level up, a bin whose chunks
    span < 64 KiB of compressed file moves them to its parent if the parent bin exists.

    Bin ids order by level, so a level's chunks are one slice of the (bin, start)-sorted
    arrays: only levels that have parent bins are looked at, and a move re-sorts just the
    parent level's chunks with the moved ones (the level's other chunks keep their order)."""
    firsts = [bin_first(level) for level in range(depth + 2)]
    for level in range(depth, 0, -1):
        i0, i1, i2 = np.searchsorted(cb, firsts[level - 1:level + 2]).tolist()
        if i1 == i0 or i2 == i1:  # no parent bins, or no bins at this level
            continue
        lb, lu, lv = cb[i1:i2], cu[i1:i2], cv[i1:i2]
        starts = group_starts(lb)
        ends = np.append(starts[1:], len(lb)) - 1
        bins = lb[starts]
        span = (lv[ends] >> 16) - (lu[starts] >> 16)
        parents = (bins - 1) >> 3
        pb = cb[i0:i1]
        have = pb[group_starts(pb)]
        k = np.minimum(np.searchsorted(have, parents), len(have) - 1)
        move = (span < HTS_MIN_MARKER_DIST) & (have[k] == parents)
        if not move.any():
            continue
        counts = ends - starts + 1
        per_chunk = np.repeat(move, counts)
        nb = np.concatenate((pb, np.repeat(parents[move], counts[move])))
        nu = np.concatenate((cu[i0:i1], lu[per_chunk]))
        nv = np.concatenate((cv[i0:i1], lv[per_chunk]))
        order = np.lexsort((nu, nb))
        stay = ~per_chunk
        cb = np.concatenate((cb[:i0], nb[order], lb[stay], cb[i2:]))
        cu = np.concatenate((cu[:i0], nu[order], lu[stay], cu[i2:]))
        cv = np.concatenate((cv[:i0], nv[order], lv[stay], cv[i2:]))
    return cb, cu, cv


def finish_ref(cb: np.ndarray, cu: np.ndarray, cv: np.ndarray, lin: np.ndarray,
               depth: int) -> RefIndex:
    """htslib's update_loff + compress_binning for one reference, vectorised.

    ``cb, cu, cv`` are the reference's chunks sorted by (bin, start); ``lin`` its back-filled
    linear index. Levels are processed from the deepest up (:func:`_compress_levels`), then
    chunks meeting in one BGZF block are merged per bin.
    """
    if len(cb) == 0:
        return RefIndex(linear=lin)
    # loffsets, from the linear index, for every bin present before compression
    present = cb[group_starts(cb)]
    bots = _bin_bot_array(present, depth)
    safe = np.minimum(bots, max(len(lin) - 1, 0))
    loffs = np.where(bots < len(lin), lin[safe] if len(lin) else 0, 0)
    cb, cu, cv = _compress_levels(cb, cu, cv, depth)
    # merge adjacent chunks that meet in one BGZF block
    # running max of chunk ends per bin: the ends themselves when they ascend within each bin,
    # as chunks of one file never overlap (the general rule only for other input)
    same_bin = cb[1:] == cb[:-1]
    cm = cv if bool((cv[1:] >= cv[:-1])[same_bin].all()) else _segmented_cummax(cb, cv)
    starts_group = np.empty(len(cb), dtype=bool)
    starts_group[0] = True
    starts_group[1:] = ~same_bin | ((cm[:-1] >> 16) < (cu[1:] >> 16))
    g = np.flatnonzero(starts_group)
    g_end = np.append(g[1:], len(cb)) - 1
    mb, mu, mv = cb[g], cu[g], cm[g_end]
    first = group_starts(mb)
    ubins = mb[first]
    counts = np.diff(np.append(first, len(mb)))
    loff = loffs[np.searchsorted(present, ubins)]
    return RefIndex(linear=lin, arrays=(ubins, counts, mu, mv, loff))


def sort_chunks(ct: np.ndarray, cb: np.ndarray, cu: np.ndarray, cv: np.ndarray,
                nb: int) -> tuple[np.ndarray, ...]:
    """Chunks ordered by (reference, bin, start). They are pushed in file order, so starts
    already ascend: a stable sort on one (reference, bin) key then gives the same order as a
    three-key sort, for much less (the general sort when starts do not ascend)."""
    if len(ct) < 2:
        return ct, cb, cu, cv
    if (bool((cu[1:] >= cu[:-1]).all()) and int(ct.min()) >= -1 and int(cb.min()) >= 0
            and int(cb.max()) <= nb and int(ct.max()) < (1 << 62) // (nb + 2)):
        order = np.argsort((ct + 1) * (nb + 2) + cb, kind="stable")
    else:
        order = np.lexsort((cu, cb, ct))
    return ct[order], cb[order], cu[order], cv[order]
