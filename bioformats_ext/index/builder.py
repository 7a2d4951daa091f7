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

from typing import BinaryIO, Sequence

import numpy as np

from ..errors import RecordError
from .sortorder import RecordNumbers, SortOrder, int64_columns
from .binning import bin_first, bin_limit, n_bins, pseudo_bin, reg2bin, reg2bin_array
from .tabix_conf import TabixConfig, get_config

HTS_MIN_MARKER_DIST = 0x10000
_NO_BIN = -1


def csi_depth_for(max_ref_len: int, min_shift: int = 14) -> int:
    """samtools' CSI depth: smallest n with ``max_ref_len + 256 <= 2**(min_shift + 3n)``."""
    limit = max_ref_len + 256
    depth, s = 0, 1 << min_shift
    while limit > s:
        depth += 1
        s <<= 3
    return depth


def tabix_csi_depth(min_shift: int = 14, max_ref_len: int | None = None) -> int:
    """tabix/bcftools' CSI depth: start at ``(31 - min_shift + 2) // 3`` and grow to fit
    ``max_ref_len`` (from ``##contig`` / ``@SQ`` lengths; 100 Gbp when unknown)."""
    depth = (31 - min_shift + 2) // 3
    limit = (max_ref_len or 100 * 1024 ** 3) + 256
    s = bin_limit(min_shift, depth)
    while limit > s:
        depth += 1
        s <<= 3
    return depth


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


class RefIndex:
    """Finished index data of one reference (the comparison-friendly representation).

    ``bins`` maps bin id -> list of ``(beg, end)`` virtual-offset chunks (the pseudo-bin included,
    its second "chunk" being ``(n_mapped, n_unmapped)``); ``loffsets`` maps bin -> CSI loffset;
    ``linear`` is the back-filled linear index (empty for CSI files read back).

    A builder's references also carry ``arrays`` — ``(bin ids, chunks per bin, chunk begins,
    chunk ends, loffsets)`` in ascending bin order — which serialisation uses directly; the dicts
    are made from them only when read (a sparse VCF has a bin per record, so building them for
    every write would cost more than the rest of the index). Reading ``bins`` or ``loffsets``
    drops ``arrays`` (the dicts may then be changed).
    """

    __slots__ = ("_bins", "_loffsets", "linear", "arrays")

    def __init__(self, bins: "dict[int, list[tuple[int, int]]] | None" = None,
                 linear: "list[int] | None" = None, loffsets: "dict[int, int] | None" = None,
                 arrays: "tuple[np.ndarray, ...] | None" = None):
        self._bins = bins if bins is not None or arrays is not None else {}
        self._loffsets = loffsets if loffsets is not None or arrays is not None else {}
        self.linear: list[int] = linear if linear is not None else []
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
        self._linear: dict[int, list[int]] = {}                 # tid -> slots (-1 = unset)
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
        Records checked here are not checked again when pushed."""
        self.order.check(tids, begs, ends, numbers, describe)

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
                lin = self._linear[tid] = []
            n = len(lin)
            if w1 >= n:
                if w0 > n:
                    lin.extend([-1] * (w0 - n))
                    n = w0
                lin.extend([last_off] * (w1 + 1 - n))
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
        try:
            beg, end = int64_columns(begs, ends, copy=True)  # clamped in place below
        except OverflowError:  # a text coordinate beyond 64 bits: name the record
            bad = next(i for i, (b, e) in enumerate(zip(begs, ends))
                       if not (-(1 << 63) <= int(b) < 1 << 63 and -(1 << 63) <= int(e) < 1 << 63))
            number = self.n_records + bad + 1
            raise RecordError(f"record {number}: region {int(begs[bad])}..{int(ends[bad])} cannot "
                              f"be stored in a {self.fmt.upper()} index (positions must be below "
                              f"{self.max_pos})", number) from None
        if not len(beg) == n:
            raise ValueError("push_many: arrays differ in length")
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
            T = np.flatnonzero(tid_change)
            if len(T):
                m_cum = np.concatenate(([0], np.cumsum(mapped_arr)))
                bounds = np.concatenate(([0], T))
                for k, t_at in enumerate(T):
                    lo = bounds[k]
                    nm = int(m_cum[t_at] - m_cum[lo])
                    nu = int(t_at - lo) - nm
                    if k == 0:
                        if self._save_bin == _NO_BIN and t_at == 0:
                            continue
                        nm += self._n_mapped
                        nu += self._n_unmapped
                        prev_tid = self._save_tid if t_at == 0 else int(tid[t_at - 1])
                        off_beg = self._off_beg
                    else:
                        prev_tid = int(tid[t_at - 1])
                        off_beg = int(starts[T[k - 1]])
                    self._meta[prev_tid] = (int(off_beg), int(starts[t_at]), nm, nu)
                last_t = T[-1]
                self._off_beg = int(starts[last_t])
                tail = mapped_arr[last_t:]
                self._n_mapped = int(tail.sum())
                self._n_unmapped = len(tail) - self._n_mapped
            else:
                self._n_mapped += int(mapped_arr.sum())
                self._n_unmapped += n - int(mapped_arr.sum())
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
                lin = self._linear[t] = []
            w0 = beg[lo:hi] >> s
            w1 = (end[lo:hi] - 1) >> s
            cm = np.maximum.accumulate(w1)
            top = int(cm[-1])
            have = len(lin)
            if top >= have:
                W = np.arange(have, top + 1, dtype=np.int64)
                i = np.searchsorted(cm, W, side="left")
                vals = np.where(w0[i] <= W, starts[lo:hi][i], -1)
                lin.extend(vals.tolist())
        self.n_no_coor += int(np.count_nonzero(unplaced)) if any_unplaced else 0
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
        order = np.lexsort((cu, cb, ct))  # per reference, per bin, by start (push order)
        ct, cb, cu, cv = ct[order], cb[order], cu[order], cv[order]
        tids = sorted(set(np.unique(ct).tolist()) | set(self._meta) | set(self._linear))
        cuts = np.searchsorted(ct, tids + [1 << 62])
        refs: dict[int, RefIndex] = {}
        for k, tid in enumerate(tids):
            lo, hi = int(cuts[k]), int(cuts[k + 1])
            lin = np.array(self._linear.get(tid, []), dtype=np.int64)
            if translate is not None and len(lin):
                set_ = lin >= 0
                lin[set_] = translate(lin[set_])
            lin = _backfill(lin)
            refs[tid] = _finish_ref(cb[lo:hi], cu[lo:hi], cv[lo:hi], lin, self.depth, self.n_bins)
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


def _backfill(arr: np.ndarray) -> np.ndarray:
    """Unset slots (-1) take the value of the next set slot to their right."""
    if len(arr) == 0:
        return arr
    idx = np.where(arr >= 0, np.arange(len(arr)), len(arr))
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


def _finish_ref(cb: np.ndarray, cu: np.ndarray, cv: np.ndarray, lin: np.ndarray, depth: int,
                nb: int) -> RefIndex:
    """htslib's update_loff + compress_binning for one reference, vectorised.

    ``cb, cu, cv`` are the reference's chunks sorted by (bin, start). Levels are processed from the
    deepest up: a bin whose chunks span < 64 KiB of compressed file and whose parent bin exists
    moves its chunks to the parent. Then chunks meeting in one BGZF block are merged per bin.
    """
    if len(cb) == 0:
        return RefIndex(linear=lin.tolist())
    # loffsets, from the linear index, for every bin present before compression
    present = np.unique(cb)
    bots = _bin_bot_array(present, depth)
    safe = np.minimum(bots, max(len(lin) - 1, 0))
    loffs = np.where(bots < len(lin), lin[safe] if len(lin) else 0, 0)
    firsts = [bin_first(level) for level in range(depth + 2)]
    for level in range(depth, 0, -1):
        starts = np.flatnonzero(np.concatenate(([True], cb[1:] != cb[:-1])))
        ends = np.append(starts[1:], len(cb)) - 1
        bins = cb[starts]
        at_level = (bins >= firsts[level]) & (bins < firsts[level + 1])
        if not at_level.any():
            continue
        span = (cv[ends] >> 16) - (cu[starts] >> 16)
        parents = (bins - 1) >> 3
        has_parent = np.isin(parents, bins)
        move = at_level & (span < HTS_MIN_MARKER_DIST) & has_parent
        if move.any():
            counts = ends - starts + 1
            per_chunk = np.repeat(move, counts)
            cb = cb.copy()
            cb[per_chunk] = np.repeat(parents[move], counts[move])
            order = np.lexsort((cu, cb))
            cb, cu, cv = cb[order], cu[order], cv[order]
    # merge adjacent chunks that meet in one BGZF block
    # running max of chunk ends per bin: the ends themselves when they ascend within each bin,
    # as chunks of one file never overlap (the general rule only for other input)
    same_bin = cb[1:] == cb[:-1]
    cm = cv if bool((cv[1:] >= cv[:-1])[same_bin].all()) else _segmented_cummax(cb, cv)
    new_bin = np.concatenate(([True], cb[1:] != cb[:-1]))
    starts_group = new_bin.copy()
    starts_group[1:] |= (cm[:-1] >> 16) < (cu[1:] >> 16)
    g = np.flatnonzero(starts_group)
    g_end = np.append(g[1:], len(cb)) - 1
    mb, mu, mv = cb[g], cu[g], cm[g_end]
    first = np.flatnonzero(np.concatenate(([True], mb[1:] != mb[:-1])))
    ubins = mb[first]
    counts = np.diff(np.append(first, len(mb)))
    loff = loffs[np.searchsorted(present, ubins)]
    return RefIndex(linear=lin.tolist(), arrays=(ubins, counts, mu, mv, loff))
