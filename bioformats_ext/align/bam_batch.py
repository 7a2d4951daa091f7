"""The numpy half of ``Bio.Align.parse(x, "bam")``: everything about a batch of BAM records that
can be computed for the whole batch before any object is made (see
:mod:`bioformats_ext.align.bam_convert`, which makes the objects).

CIGAR → coordinates: all operations are flattened and the target/query advances summed per
record; records with the same number of coordinate columns are stacked, so their ``2 x k``
arrays are views made by iterating the stack. SEQ: every record's letters are decoded (and
reverse-complemented for reverse-strand mapped reads) for the batch and cut with one
``bytes.split``. Then per-record values become lists, so the record loop only indexes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from ..bam.columns import _PAIRS, BamColumns

__all__ = ["AlignmentBatch", "COMPLEMENT"]

_OP_LETTERS = np.frombuffer(b"MIDNSHP=X??????", np.uint8)
_T_OPS = np.zeros(16, bool)
_T_OPS[[0, 2, 3, 7, 8]] = True       # consume the reference
_Q_OPS = np.zeros(16, bool)
_Q_OPS[[0, 1, 4, 7, 8]] = True       # consume the query
_COL_OPS = np.zeros(16, bool)
_COL_OPS[[0, 1, 2, 3, 7, 8]] = True  # make a coordinate column
_STORE_OPS = np.zeros(16, bool)
_STORE_OPS[[3, 7, 8]] = True         # N = X: Biopython keeps ``operations``

_LETTERS = b"=ACMGRSVTWYHKDBN"
#: reverse-complement table for BAM's 16 letters, taken from Biopython itself
COMPLEMENT = bytes.maketrans(_LETTERS, bytes(Seq(_LETTERS.decode()).complement()))
#: one packed SEQ byte -> its two letters as one little-endian u16, plus a 257th entry: the
#: two separator bytes put after every record's letters
_SEP = b"\n"
_PAIR16 = np.frombuffer(_PAIRS.tobytes() + _SEP * 2, "<u2")
#: ``bytes.translate`` tables: a packed byte's first and second letter (no index arrays, so
#: no large temporaries: those cost page faults on every batch)
_FIRST = _PAIRS[:, 0].tobytes()
_SECOND = _PAIRS[:, 1].tobytes()
#: more distinct coordinate shapes than this in a batch: slice per record instead of grouping
_MAX_SHAPES = 32


def _sequences(cols: BamColumns, reverse: np.ndarray) -> list[bytes]:
    """Every record's SEQ letters as the query (reverse-complemented where ``reverse``),
    ``b""`` where there is none: one nibble-pair lookup for the batch, cut by ``bytes.split``
    at a separator that no sequence letter can be."""
    n = len(cols)
    l_seq = cols.l_seq
    half = (l_seq + 1) // 2
    if (l_seq == l_seq[0]).all():  # equal lengths: 2-D, reversed in numpy, pads cut off
        width = int(l_seq[0])
        size = int(half[0])
        letters = np.empty((n, 2 * size + 1), np.uint8)
        if size:
            packed_bytes = cols._rows(cols.seq_start, size).tobytes()
            pairs = letters[:, :2 * size].reshape(n, size, 2)
            pairs[:, :, 0] = np.frombuffer(packed_bytes.translate(_FIRST), np.uint8).reshape(n, size)
            pairs[:, :, 1] = np.frombuffer(packed_bytes.translate(_SECOND), np.uint8).reshape(n, size)
            if reverse.any():
                flip = letters[reverse, width - 1::-1]
                letters[reverse, :width] = np.frombuffer(
                    flip.tobytes().translate(COMPLEMENT), np.uint8).reshape(flip.shape)
        letters[:, width] = ord(_SEP)
        query = letters[:, :width + 1].tobytes().split(_SEP)
        query.pop()
        return query
    packed, cuts = cols._gather(cols.seq_start, half)
    codes = np.empty(len(packed) + n, np.uint16)
    sep_at = cuts[1:] + np.arange(n)
    keep = np.ones(len(codes), bool)
    keep[sep_at] = False
    codes[keep] = packed
    codes[sep_at] = 256
    blob = np.take(_PAIR16, codes).tobytes()
    odd = np.flatnonzero(l_seq & 1).tolist()
    stored = blob.split(_SEP * 2)
    stored.pop()
    for i in odd:  # the pad nibble's letter ends an odd-length sequence
        stored[i] = stored[i][:-1]
    if not reverse.any():
        return stored
    flipped = blob.translate(COMPLEMENT)[::-1].split(_SEP * 2)
    flipped.reverse()
    flipped.pop()
    for i in odd:
        flipped[i] = flipped[i][1:]
    return [r if m else s for s, r, m in zip(stored, flipped, reverse.tolist())]


def _coordinate_views(tcoord: np.ndarray, qcoord: np.ndarray, block_start: np.ndarray,
                      mapped: np.ndarray) -> list[Any]:
    """Each mapped record's ``2 x k`` coordinates (None for unmapped ones). Records with the
    same number of columns are stacked into one ``m x 2 x k`` array and split by iterating it
    (C-level views), which is cheaper than slicing per record."""
    n = len(mapped)
    block = np.diff(block_start)
    out: list[Any] = [None] * n
    shapes = np.unique(block[mapped])
    if len(shapes) > _MAX_SHAPES:
        coords2 = np.stack([tcoord, qcoord])
        bs = block_start.tolist()
        for i in np.flatnonzero(mapped).tolist():
            out[i] = coords2[:, bs[i]:bs[i + 1]]
        return out
    for k in shapes.tolist():
        sel = np.flatnonzero(mapped & (block == k))
        at = block_start[sel][:, None] + np.arange(k)
        stacked = np.empty((len(sel), 2, k), np.intp)
        stacked[:, 0, :] = tcoord[at]
        stacked[:, 1, :] = qcoord[at]
        if len(sel) == n:
            return list(stacked)
        for i, view in zip(sel.tolist(), stacked):
            out[i] = view
    return out


class AlignmentBatch:
    """A batch's per-record values, computed with numpy over the batch before the record loop
    (see :func:`~bioformats_ext.align.bam_convert.iter_alignments`)."""

    def __init__(self, cols: BamColumns, names: list[str], targets: list[SeqRecord],
                 target_indices: dict[str, int]):
        self.cols = cols
        self.names = names
        self.targets = targets
        self.target_indices = target_indices
        n = len(cols)
        cg = self.cg = cols._cg_overrides()
        if cg:
            arrays = cols.cigar_arrays()
            counts = np.array([len(a) for a in arrays], np.int64)
            flat = np.concatenate(arrays).astype(np.int64) if counts.sum() else np.zeros(0, np.int64)
        else:
            counts = cols.n_cigar
            raw, _ = cols._gather(cols.cigar_start, 4 * counts)
            flat = raw.view("<u4").astype(np.int64) if len(raw) else np.zeros(0, np.int64)
        flags = cols.flag
        mapped = (flags & 4) == 0
        reverse = (flags & 16) != 0
        ops = flat & 15
        lens = flat >> 4
        owner = np.repeat(np.arange(n), counts)
        t_adv = np.where(_T_OPS[ops], lens, 0)
        q_adv = np.where(_Q_OPS[ops], lens, 0)
        first_op = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=first_op[1:])
        cum_t = np.cumsum(t_adv)
        cum_q = np.cumsum(q_adv)
        if len(flat):
            base_t = np.concatenate(([0], cum_t))[first_op[:-1]]
            base_q = np.concatenate(([0], cum_q))[first_op[:-1]]
            cum_t = cum_t - np.repeat(base_t, counts)
            cum_q = cum_q - np.repeat(base_q, counts)
        q_before = cum_q - q_adv
        lead_s = np.bincount(owner, weights=np.where((ops == 4) & (q_before == 0), lens, 0),
                             minlength=n).astype(np.int64)
        q_total = np.bincount(owner, weights=q_adv, minlength=n).astype(np.int64)
        store = np.bincount(owner, weights=_STORE_OPS[ops], minlength=n) > 0
        is_col = _COL_OPS[ops]
        col_owner = owner[is_col]
        n_cols = np.bincount(col_owner, minlength=n)
        block_start = np.zeros(n + 1, np.int64)
        np.cumsum(n_cols + 1, out=block_start[1:])
        total = int(block_start[-1])
        pos = cols.pos
        tcoord = np.empty(total, np.intp)
        qcoord = np.empty(total, np.intp)
        tcoord[block_start[:-1]] = pos
        qcoord[block_start[:-1]] = lead_s
        col_first = np.zeros(n + 1, np.int64)
        np.cumsum(n_cols, out=col_first[1:])
        rank = np.arange(len(col_owner)) - col_first[:-1][col_owner]
        slot = block_start[:-1][col_owner] + 1 + rank
        tcoord[slot] = pos[col_owner] + cum_t[is_col]
        qcoord[slot] = cum_q[is_col]
        rev_slots = np.repeat(reverse, n_cols + 1)
        qcoord[rev_slots] = np.repeat(q_total, n_cols + 1)[rev_slots] - qcoord[rev_slots]
        self.coordinates = _coordinate_views(tcoord, qcoord, block_start, mapped)
        self.col_letters = _OP_LETTERS[ops[is_col]].tobytes()
        self.col_first = col_first  # the general path's arrays stay numpy (read per record)
        # hard clips: left when nothing of the query came before, else right (last one wins)
        hard: dict[int, list[int | None]] = {}
        clips = np.flatnonzero(ops == 5)
        for k in clips.tolist():
            pair = hard.setdefault(int(owner[k]), [None, None])
            pair[0 if q_before[k] == 0 else 1] = int(lens[k])
        self.hard = hard
        self.qnames = cols.query_names()
        self.query_seqs = _sequences(cols, mapped & reverse)
        l_seq = cols.l_seq
        self.l_seq = l_seq.tolist()
        qual_start = cols.qual_start
        has_qual = l_seq > 0
        has_qual[has_qual] = cols._u8[qual_start[has_qual]] != 0xFF
        self.qual_start = np.where(has_qual, qual_start, -1).tolist()
        self.next_pos = cols.next_pos.tolist()
        self.tlens = cols.tlen.tolist()
        self.mapqs = cols.mapq.tolist()
        self.flags = flags.tolist()
        self.pos, self.mapped, self.reverse = pos, mapped, reverse
        self.q_totals, self.store = q_total, store
        self.aux_start = cols.aux_start.tolist()
        self.stops = cols.stop.tolist()
        self.blob = cols.buffer if isinstance(cols.buffer, bytes) else cols._u8.tobytes()
        # the common record, made by the loop's short path: mapped to a reference named in
        # the header, a SEQ of its CIGAR's length, no hard clips, no N = X, no CG tag
        shared = np.full(len(names) + 1, None, dtype=object)  # index -1: unplaced
        for tid, name in enumerate(names):
            index = target_indices.get(name)
            if index is not None:
                shared[tid] = targets[index]  # one element: stored as it is
        names_or_none = np.array(list(names) + [None], dtype=object)
        simple = mapped & (l_seq > 0) & (l_seq == q_total) & ~store
        if hard:
            simple[list(hard)] = False
        if cg:
            simple[list(cg)] = False
        short = shared[cols.ref_id]
        short[~simple] = None
        self.short_targets = short.tolist()
        self.rnexts = names_or_none[cols.next_ref_id].tolist()
