"""The single-pass index builder shared by every writer (and by the second-pass indexers).

It is a faithful model of htslib's ``hts_idx_push`` / ``hts_idx_finish``: one call per record in
file order with the virtual offset where the record *ends* (the previous call's offset is where it
starts; ``offset0`` is where the first record starts). The same state machine feeds BAI, TBI and
CSI; they differ only in serialisation (:mod:`bioformats_ext.index.serialize`).

Content rules (see docs/index.md for the full list): chunks close when the bin or reference
changes; each reference gets a pseudo-bin with ``(off_beg, off_end)`` and ``(mapped, unmapped)``;
the linear index takes, per ``2**min_shift`` window, the start of the first record touching it and
is back-filled right to left; ``compress_binning`` folds bins spanning < 64 KiB of compressed file
into their parent and merges chunks meeting in one block; unplaced records (tid -1) only count in
``n_no_coor``.

:meth:`IndexBuilder.push` is the scalar reference; :meth:`IndexBuilder.push_many` does the same
with numpy over whole batches. Both may be mixed.
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Sequence

import numpy as np

from ..errors import RecordError
from .sortorder import RecordNumbers, SortOrder, int64_columns
from .binning import (bin_first, bin_limit, csi_depth_for, n_bins, pseudo_bin, reg2bin,
                      reg2bin_array, tabix_csi_depth)
from .refs import (HTS_MIN_MARKER_DIST, LinearSlots, RefIndex, backfill, finish_ref,
                   group_starts, sort_chunks)
from .tabix_conf import TabixConfig, get_config

__all__ = ["IndexBuilder", "RefIndex", "ReferenceNames", "HTS_MIN_MARKER_DIST", "csi_depth_for",
           "tabix_csi_depth"]
_NO_BIN = -1


class ReferenceNames:
    """Reference ids for text formats: the next id on a name's first appearance (tabix's
    convention). The index builder owns one; a writer without an index (BGZF2) uses its own."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._ids: dict[str | bytes, int] = {}

    def tid_for(self, name: str) -> int:
        tid = self._ids.get(name)
        if tid is None:
            tid = self._ids[name] = len(self._names)
            self._names.append(name)
        return tid

    def tids_for(self, names: "Sequence[str | bytes]") -> np.ndarray:
        """:meth:`tid_for` of every name of a batch (bytes names are decoded once per name)."""
        ids = self._ids
        for name in dict.fromkeys(names):
            if name not in ids:
                ids[name] = self.tid_for(name.decode() if isinstance(name, bytes) else name)
        return np.fromiter(map(ids.__getitem__, names), np.int64, len(names))

    def __getitem__(self, tid: int) -> str:
        return self._names[tid]

    def __len__(self) -> int:
        return len(self._names)

    @property
    def names(self) -> list[str]:
        return list(self._names)


class IndexBuilder:
    """Accumulates (tid, beg, end, voffset) pushes; serialises BAI, TBI or CSI after :meth:`finish`."""

    def __init__(self, fmt: str, min_shift: int = 14, depth: int = 5, offset0: int = 0,
                 tabix: "TabixConfig | str | None" = None, n_refs: int | None = None,
                 strict: bool = False):
        self.fmt = fmt
        self.min_shift = min_shift
        self.tabix = get_config(tabix) if tabix is not None else None
        self.n_refs = n_refs
        self._set_depth(depth)
        self.offset0 = offset0
        # htslib's ``z`` state
        self._last_tid = -1
        self._last_bin = _NO_BIN
        self._save_tid = -1
        self._save_bin = _NO_BIN
        self._save_off = offset0
        self._last_off = offset0
        self._off_beg = offset0
        self._last_coor = -1
        self._n_mapped = 0
        self._n_unmapped = 0
        self.n_no_coor = 0
        self.n_records = 0
        # accumulated data
        self._chunk_batches: list[tuple[np.ndarray, ...]] = []   # (tid, bin, beg, end) arrays
        self._ct: list[int] = []                                # scalar-push chunks, flushed into batches
        self._cb: list[int] = []
        self._cu: list[int] = []
        self._cv: list[int] = []
        self._meta: dict[int, tuple[int, int, int, int]] = {}  # tid -> off_beg, off_end, mapped, unmapped
        self._linear: dict[int, LinearSlots] = {}               # tid -> slots (-1 = unset)
        # the last batch check() passed on the common path: (its arguments, their int64
        # columns, reference-change rows), for push_many of the same arrays
        self._checked: tuple | None = None
        self.reference_names = ReferenceNames()
        self.refs: dict[int, RefIndex] | None = None             # set by finish()
        self.final_voffset: int | None = None
        # the sort/range rule (htslib's hts_idx_check_range + push checks); ``strict`` also
        # wants references in increasing id order, as writers of header-ordered files do
        note = (f"a {fmt.upper()} index with min_shift={min_shift}, depth={depth}"
                + ("; use CSI" if fmt != "csi" else "; use a larger depth"))
        self.order = SortOrder(strict=strict, max_pos=self.max_pos, max_pos_note=note,
                               reference_name=self._reference_name)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def bai(cls, n_refs: int, offset0: int = 0, strict: bool = False) -> "IndexBuilder":
        return cls("bai", 14, 5, offset0, n_refs=n_refs, strict=strict)

    @classmethod
    def tbi(cls, preset: "str | TabixConfig" = "vcf", offset0: int = 0,
            strict: bool = False) -> "IndexBuilder":
        return cls("tbi", 14, 5, offset0, tabix=preset, strict=strict)

    @classmethod
    def csi(cls, min_shift: int = 14, depth: int | None = None, max_ref_len: int | None = None,
            offset0: int = 0, tabix: "TabixConfig | str | None" = None,
            n_refs: int | None = None, strict: bool = False) -> "IndexBuilder":
        """CSI builder. ``depth=None`` picks htslib's depth: samtools' rule from ``max_ref_len``
        for BAM, tabix/bcftools' rule (start at 6 for min_shift 14) when ``tabix`` is given."""
        if depth is None:
            if tabix is not None:
                depth = tabix_csi_depth(min_shift, max_ref_len)
            elif max_ref_len is not None:
                depth = csi_depth_for(max_ref_len, min_shift)
            else:
                depth = 5
        return cls("csi", min_shift, depth, offset0, tabix=tabix, n_refs=n_refs, strict=strict)

    def _set_depth(self, depth: int) -> None:
        self.depth = depth
        self.n_bins = n_bins(depth)
        self.pseudo_bin = pseudo_bin(depth)
        self._leaf_first = bin_first(depth)
        self.max_pos = bin_limit(self.min_shift, depth)

    # -- names for text formats ---------------------------------------------------------------
    def tid_for(self, name: str) -> int:
        """Tid of ``name``, assigning the next one on first appearance (tabix's convention)."""
        return self.reference_names.tid_for(name)

    def tids_for(self, names: "Sequence[str | bytes]") -> np.ndarray:
        return self.reference_names.tids_for(names)

    @property
    def names(self) -> list[str]:
        return self.reference_names.names

    def _reference_name(self, tid: int) -> str:
        names = self.reference_names
        return names[tid] if 0 <= tid < len(names) else f"reference {tid}"

    # -- the sort / range rule ------------------------------------------------------------------
    def check(self, tids, begs, ends, describe=None, numbers: RecordNumbers | None = None) -> None:
        """Validate the next records *before* they are written (htslib's
        ``hts_idx_check_range``): a typed, 1-based numbered error for the first bad one.
        Records checked here are not checked again when pushed; what the check learnt about
        a sorted batch (where the reference changes) serves :meth:`push_many` of the same,
        unchanged arrays."""
        self._checked = None
        tid, beg, end = int64_columns(tids, begs, ends)
        heads = self.order.check(tid, beg, end, numbers, describe)
        if heads is not None:
            self._checked = ((tids, begs, ends), (tid, beg, end), heads)

    def _check_unchecked(self, tid, beg, end, numbers: RecordNumbers | None) -> None:
        done = self.order.n_checked - self.n_records  # of this push, already checked
        if done <= 0:
            self.order.check(tid, beg, end, numbers)
        elif done < len(tid):
            self.order.check(tid[done:], beg[done:], end[done:],
                             None if numbers is None else RecordNumbers(numbers.values[done:],
                                                                        numbers.noun))

    # -- scalar push --------------------------------------------------------------------------
    def push(self, tid: int, beg: int, end: int, voffset: int, mapped: bool = True) -> None:
        """Record one record spanning ``[beg, end)`` that ends at virtual offset ``voffset``."""
        if self.refs is not None:
            raise RecordError("push() after finish()", self.n_records)
        if tid < 0:
            beg, end = -1, 0
        if self.order.n_checked <= self.n_records:
            self.order.check_one(tid, beg, end)
        if tid != self._last_tid:
            self._last_tid = tid
            self._last_bin = _NO_BIN
        last_off = self._last_off
        if tid >= 0:
            if beg < 0:
                beg = 0
            if end <= 0:
                end = 1
            s = self.min_shift
            w0, w1 = beg >> s, (end - 1) >> s
            lin = self._linear.get(tid)
            if lin is None:
                lin = self._linear[tid] = LinearSlots()
            tail = lin.tail
            n = lin.size + len(tail)
            if w1 >= n:
                if w0 > n:
                    tail.extend([-1] * (w0 - n))
                    n = w0
                tail.extend([last_off] * (w1 + 1 - n))
        else:
            self.n_no_coor += 1
        s = self.min_shift
        if beg >> s == (end - 1) >> s:   # leaf bin: the common case, without the level loop
            b = self._leaf_first + (beg >> s)
        else:
            b = reg2bin(beg, end, s, self.depth)
        if self._last_bin != b:
            if self._save_bin != _NO_BIN:
                self._ct.append(self._save_tid)
                self._cb.append(self._save_bin)
                self._cu.append(self._save_off)
                self._cv.append(last_off)
            if self._last_bin == _NO_BIN and self._save_bin != _NO_BIN:
                self._meta[self._save_tid] = (self._off_beg, last_off, self._n_mapped, self._n_unmapped)
                self._n_mapped = self._n_unmapped = 0
                self._off_beg = last_off
            self._save_off = last_off
            self._save_bin = self._last_bin = b
            self._save_tid = tid
        if mapped:
            self._n_mapped += 1
        else:
            self._n_unmapped += 1
        self._last_off = voffset
        self._last_coor = beg
        self.n_records += 1

    def restart_at(self, voffset: int) -> None:
        """Move the start of the indexed data to ``voffset`` (before the first push only): tabix
        starts its first chunk after the last meta line preceding the first record."""
        if self.n_records or self.refs is not None:
            raise RecordError("restart_at() after records were pushed", self.n_records)
        self.offset0 = self._save_off = self._last_off = self._off_beg = voffset

    def amend_last(self, voffset: int) -> None:
        """Move the end of the last pushed record (htslib's ``hts_idx_amend_last``): a writer that
        starts a new block before the next record calls this so offsets match a reader's view."""
        self._last_off = voffset

    # -- vectorised push ----------------------------------------------------------------------
    def _close_references(self, changes: list[int], tid: np.ndarray, starts: np.ndarray,
                          n_mapped: Callable[[int, int], int]) -> None:
        """Pseudo-bin data (offsets, mapped / unmapped counts) of every reference a batch
        closes: ``changes`` are the rows where the reference changes (0 when the batch's
        first row already does), ``n_mapped(lo, hi)`` counts the mapped rows in ``[lo, hi)``;
        then carry the open reference's counts into the next batch."""
        n = len(tid)
        lo = 0
        for k, t_at in enumerate(changes):
            nm = n_mapped(lo, t_at)
            nu = t_at - lo - nm
            if k == 0:
                if self._save_bin == _NO_BIN and t_at == 0:
                    continue  # nothing was open before this batch
                nm += self._n_mapped
                nu += self._n_unmapped
                prev_tid = self._save_tid if t_at == 0 else int(tid[t_at - 1])
                off_beg = self._off_beg
            else:
                prev_tid = int(tid[t_at - 1])
                off_beg = int(starts[lo])
            self._meta[prev_tid] = (off_beg, int(starts[t_at]), nm, nu)
            lo = t_at
        if changes:
            self._off_beg = int(starts[lo])
            self._n_mapped = n_mapped(lo, n)
            self._n_unmapped = n - lo - self._n_mapped
        else:
            m = n_mapped(0, n)
            self._n_mapped += m
            self._n_unmapped += n - m

    def push_many(self, tids, begs, ends, voffsets, mapped=None,
                  numbers: RecordNumbers | None = None) -> None:
        """:meth:`push` for whole arrays at once (numpy; same result as pushing one by one).

        ``numbers``: how to name the records in errors (default: 1-based record count)."""
        if self.refs is not None:
            raise RecordError("push_many() after finish()", self.n_records)
        tid, voff = int64_columns(tids, voffsets)
        n = len(tid)
        if n == 0:
            return
        checked, self._checked = self._checked, None
        if (checked is not None and all(a is b for a, b in zip(checked[0], (tids, begs, ends)))
                and len(checked[2]) <= n == len(checked[1][0])
                and self.order.n_checked - self.n_records == n):
            _, (tid, beg, end), heads = checked  # check() saw exactly this batch
            self._push_sorted(tid, beg, end, voff, mapped, heads)
            return
        try:
            beg, end = int64_columns(begs, ends)
        except OverflowError:  # a text coordinate beyond 64 bits: name the record
            bad = next(i for i, (b, e) in enumerate(zip(begs, ends))
                       if not (-(1 << 63) <= int(b) < 1 << 63 and -(1 << 63) <= int(e) < 1 << 63))
            number = self.n_records + bad + 1
            raise RecordError(f"record {number}: region {int(begs[bad])}..{int(ends[bad])} cannot "
                              f"be stored in a {self.fmt.upper()} index (positions must be below "
                              f"{self.max_pos})", number) from None
        if not len(beg) == n:
            raise ValueError("push_many: arrays differ in length")
        if self.order.n_checked <= self.n_records:  # not checked yet (raises for a bad record)
            heads = self.order.check(tid, beg, end, numbers)
            if heads is not None:
                self._push_sorted(tid, beg, end, voff, mapped, heads)
                return
        beg, end = beg.copy(), end.copy()  # clamped in place below
        mapped_arr = np.ones(n, dtype=bool) if mapped is None else np.asarray(mapped, dtype=bool)
        unplaced = tid < 0
        any_unplaced = bool(unplaced.any())
        if any_unplaced:
            beg[unplaced] = -1
            end[unplaced] = 0
        self._check_unchecked(tid, beg, end, numbers)
        placed = ~unplaced
        np.maximum(beg, 0, out=beg, where=placed)
        end[placed & (end <= 0)] = 1
        starts = np.empty(n, dtype=np.int64)
        starts[0] = self._last_off
        starts[1:] = voff[:-1]
        bins = reg2bin_array(beg, end, self.min_shift, self.depth)
        # tid runs and segments (runs of equal (tid, bin) restarted at every tid change)
        tid_change = np.empty(n, dtype=bool)
        tid_change[0] = tid[0] != self._last_tid
        np.not_equal(tid[1:], tid[:-1], out=tid_change[1:])
        seg = tid_change.copy()
        seg[0] |= bins[0] != self._last_bin
        seg[1:] |= bins[1:] != bins[:-1]
        B = np.flatnonzero(seg)
        if len(B):
            # chunks closed at each segment start: the previous segment's (tid, bin, start) .. start[B]
            prev_t = np.empty(len(B), dtype=np.int64)
            prev_b = np.empty(len(B), dtype=np.int64)
            prev_u = np.empty(len(B), dtype=np.int64)
            prev_t[0], prev_b[0], prev_u[0] = self._save_tid, self._save_bin, self._save_off
            prev_t[1:], prev_b[1:], prev_u[1:] = tid[B[:-1]], bins[B[:-1]], starts[B[:-1]]
            keep = prev_b != _NO_BIN
            self._flush_scalar_chunks()
            self._chunk_batches.append((prev_t[keep], prev_b[keep], prev_u[keep], starts[B][keep]))
            # pseudo-bin data at every reference change
            m_cum = np.concatenate(([0], np.cumsum(mapped_arr)))
            self._close_references(np.flatnonzero(tid_change).tolist(), tid, starts,
                                   lambda lo, hi: int(m_cum[hi] - m_cum[lo]))
            lb = B[-1]
            self._save_tid, self._save_bin, self._save_off = int(tid[lb]), int(bins[lb]), int(starts[lb])
        else:
            self._n_mapped += int(mapped_arr.sum())
            self._n_unmapped += n - int(mapped_arr.sum())
        # linear index, per run of one placed reference
        run_starts = np.flatnonzero(tid_change)
        if len(run_starts) == 0 or run_starts[0] != 0:
            run_starts = np.concatenate(([0], run_starts))
        run_ends = np.append(run_starts[1:], n)
        s = self.min_shift
        for lo, hi in zip(run_starts.tolist(), run_ends.tolist()):
            t = int(tid[lo])
            if t < 0:
                continue
            lin = self._linear.get(t)
            if lin is None:
                lin = self._linear[t] = LinearSlots()
            w0 = beg[lo:hi] >> s
            w1 = (end[lo:hi] - 1) >> s
            cm = np.maximum.accumulate(w1)
            top = int(cm[-1])
            have = len(lin)
            if top >= have:
                W = np.arange(have, top + 1, dtype=np.int64)
                i = np.searchsorted(cm, W, side="left")
                lin.append_array(np.where(w0[i] <= W, starts[lo:hi][i], -1))
        self.n_no_coor += int(np.count_nonzero(unplaced)) if any_unplaced else 0
        self._last_tid = int(tid[-1])
        self._last_bin = int(bins[-1])
        self._last_off = int(voff[-1])
        self._last_coor = int(beg[-1])
        self.n_records += n

    def _push_sorted(self, tid: np.ndarray, beg: np.ndarray, end: np.ndarray, voff: np.ndarray,
                     mapped, heads: np.ndarray) -> None:
        """:meth:`push_many` of a batch the sort check passed on its common path: every record
        placed, starts >= 0 ascending within each reference run, ``heads`` the rows where the
        reference changes. The same state machine with less work: most records lie in one
        leaf bin (``beg >> min_shift`` is their linear window and bin), so only the others
        (and ends <= 0, which htslib raises to 1) take :func:`reg2bin_array`; per-reference
        counts and the linear index are computed per run, not per record."""
        n = len(tid)
        s = self.min_shift
        w0 = beg >> s
        w1 = (end - 1) >> s
        spans = w0 != w1
        odd = np.flatnonzero(spans) if spans.any() else heads[:0]
        bins = w0 + self._leaf_first
        if len(odd):
            e = np.maximum(end[odd], 1)
            w1[odd] = (e - 1) >> s
            bins[odd] = reg2bin_array(beg[odd], e, s, self.depth)
        marr = None if mapped is None else np.asarray(mapped, dtype=bool)

        def n_mapped(lo: int, hi: int) -> int:
            return hi - lo if marr is None else int(np.count_nonzero(marr[lo:hi]))

        starts = np.empty(n, dtype=np.int64)
        starts[0] = self._last_off
        starts[1:] = voff[:-1]
        first_new = int(tid[0]) != self._last_tid
        seg = np.empty(n, dtype=bool)
        seg[0] = first_new or int(bins[0]) != self._last_bin
        np.not_equal(bins[1:], bins[:-1], out=seg[1:])
        seg[heads] = True
        B = np.flatnonzero(seg)
        if len(B):
            # chunks closed at each segment start: the previous segment's (tid, bin, start)
            self._flush_scalar_chunks()
            prev = B[:-1]
            keep = 0 if self._save_bin != _NO_BIN else 1
            self._chunk_batches.append((
                np.concatenate(([self._save_tid], tid[prev]))[keep:],
                np.concatenate(([self._save_bin], bins[prev]))[keep:],
                np.concatenate(([self._save_off], starts[prev]))[keep:], starts[B][keep:]))
            # pseudo-bin data at every reference change
            self._close_references(([0] if first_new else []) + heads.tolist(), tid, starts,
                                   n_mapped)
            last = int(B[-1])
            self._save_tid, self._save_bin, self._save_off = (int(tid[last]), int(bins[last]),
                                                              int(starts[last]))
        else:
            m = n_mapped(0, n)
            self._n_mapped += m
            self._n_unmapped += n - m
        # linear index, per reference run: a slot takes the start of the first record reaching
        # its window (-1 if that record starts beyond it)
        bounds = [0] + heads.tolist() + [n]
        cuts = np.searchsorted(B, bounds).tolist() if not len(odd) else []
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            t = int(tid[lo])
            lin = self._linear.get(t)
            if lin is None:
                lin = self._linear[t] = LinearSlots()
            have = len(lin)
            if not len(odd):
                # one window per record, ascending: each new window's first record starts a
                # segment, so the slots are scattered from the segment starts alone
                top = int(w0[hi - 1])
                if top >= have:
                    rows = B[cuts[k]:cuts[k + 1]]
                    win = w0[rows]
                    j = int(np.searchsorted(win, have))
                    vals = np.full(top + 1 - have, -1, dtype=np.int64)
                    vals[win[j:] - have] = starts[rows[j:]]
                    lin.append_array(vals)
                continue
            cm = np.maximum.accumulate(w1[lo:hi])
            top = int(cm[-1])
            if top >= have:
                W = np.arange(have, top + 1, dtype=np.int64)
                i = np.searchsorted(cm, W, side="left")
                lin.append_array(np.where(w0[lo:hi][i] <= W, starts[lo:hi][i], -1))
        self._last_tid = int(tid[-1])
        self._last_bin = int(bins[-1])
        self._last_off = int(voff[-1])
        self._last_coor = int(beg[-1])
        self.n_records += n

    def _flush_scalar_chunks(self) -> None:
        if self._ct:
            self._chunk_batches.append(tuple(np.array(x, dtype=np.int64)
                                             for x in (self._ct, self._cb, self._cu, self._cv)))
            self._ct, self._cb, self._cu, self._cv = [], [], [], []

    # -- finish -------------------------------------------------------------------------------
    def finish(self, final_voffset: int, block_addresses: "np.ndarray | None" = None) -> "IndexBuilder":
        """Close the last chunk at ``final_voffset`` (the EOF block's offset) and build bins.

        ``block_addresses``: when the pushed offsets are block-numbered (``BgzfWriter.tell_block``),
        the array from ``BgzfWriter.block_addresses()`` that turns them into real offsets.
        """
        if self.refs is not None:
            return self
        if (self.fmt == "csi" and self.tabix is not None and not self.n_records
                and not self.n_no_coor):
            # htslib grows a text CSI's depth for long contigs only when the first record
            # arrives (hts_idx_push); with none, tabix/bcftools keep the initial depth
            self._set_depth(tabix_csi_depth(self.min_shift, 1))
        if self._save_tid >= 0 and self._save_bin != _NO_BIN:
            self._ct.append(self._save_tid)
            self._cb.append(self._save_bin)
            self._cu.append(self._save_off)
            self._cv.append(final_voffset)
            self._meta[self._save_tid] = (self._off_beg, final_voffset, self._n_mapped, self._n_unmapped)
        self._flush_scalar_chunks()
        if self._chunk_batches:
            ct, cb, cu, cv = (np.concatenate(parts) for parts in zip(*self._chunk_batches))
        else:
            ct = cb = cu = cv = np.zeros(0, dtype=np.int64)
        self._chunk_batches = []
        translate = None
        if block_addresses is not None:
            addr = np.asarray(block_addresses, dtype=np.int64)

            def translate(v):
                v = np.asarray(v, dtype=np.int64)
                return (addr[v >> 16] << 16) | (v & 0xFFFF)

            cu, cv = translate(cu), translate(cv)
            final_voffset = int(translate(final_voffset))
        ct, cb, cu, cv = sort_chunks(ct, cb, cu, cv, self.n_bins)
        tids = sorted(set(ct[group_starts(ct)].tolist()) | set(self._meta) | set(self._linear))
        cuts = np.searchsorted(ct, tids + [1 << 62]).tolist()
        refs: dict[int, RefIndex] = {}
        for k, tid in enumerate(tids):
            lo, hi = cuts[k], cuts[k + 1]
            slots = self._linear.get(tid)
            lin = slots.array() if slots is not None else np.zeros(0, dtype=np.int64)
            if translate is not None and len(lin):
                set_ = lin >= 0
                lin[set_] = translate(lin[set_])
            refs[tid] = finish_ref(cb[lo:hi], cu[lo:hi], cv[lo:hi], backfill(lin), self.depth)
            meta = self._meta.get(tid)
            if meta is not None:
                ob, oe, nm, nu = meta
                if translate is not None:
                    ob, oe = int(translate(ob)), int(translate(oe))
                refs[tid].add_bin(self.pseudo_bin, [(ob, oe), (nm, nu)], 0)
        self.refs = dict(sorted(refs.items()))
        self.final_voffset = final_voffset
        return self

    # -- serialisation (see serialize.py) ------------------------------------------------------
    def require_finished(self) -> dict[int, RefIndex]:
        """The finished references; a RecordError before :meth:`finish`."""
        if self.refs is None:
            raise RecordError("finish() must be called before writing the index")
        return self.refs

    def write_bai(self, stream: BinaryIO, n_refs: int | None = None) -> None:
        from .serialize import write_bai

        write_bai(self, stream, self.n_refs if n_refs is None else n_refs)

    def write_tbi(self, stream: BinaryIO, names: Sequence[str] | None = None) -> None:
        from .serialize import write_tbi

        write_tbi(self, stream, names)

    def write_csi(self, stream: BinaryIO, names: Sequence[str] | None = None,
                  n_refs: int | None = None) -> None:
        from .serialize import write_csi

        write_csi(self, stream, names, self.n_refs if n_refs is None else n_refs)

    def save(self, path: str, names: Sequence[str] | None = None, n_refs: int | None = None) -> str:
        """Write the index to ``path`` atomically (temp file + rename) in this builder's format."""
        from .serialize import save

        return save(self, path, names, n_refs)
