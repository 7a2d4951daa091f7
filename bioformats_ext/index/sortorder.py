"""The one coordinate-sort and range rule, checked on a batch *before* it is written.

Like htslib's ``hts_idx_check_range`` plus the order tests of ``hts_idx_push``: every writer
and indexer that needs sorted input (``IndexBuilder`` for BAI/TBI/CSI, the BGZF2 writer's
embedded index, the bigBed writer) validates through :class:`SortOrder`, so the rule and its
messages exist once, in the index layer (it imports only ``errors``).

Messages: ``"record 7: position 50 after 100 on chr1 (input must be coordinate-sorted)"``,
numbered from 1 (``"line 7"`` when the caller numbers lines of a text file), optionally
followed by ``": <the record's text>"``.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import RecordError, SortOrderError

__all__ = ["SortOrder", "RecordNumbers", "SORTED_HINT", "int64_columns"]

SORTED_HINT = "input must be coordinate-sorted"


def int64_columns(*columns: object, copy: bool = False) -> list[np.ndarray]:
    """Batch columns (tids, begs, ends, ...) as int64 arrays of one length (``copy``: owned
    arrays the caller may modify); ``ValueError`` when the lengths differ."""
    make = np.array if copy else np.asarray
    out = [make(c, dtype=np.int64) for c in columns]
    if len({len(c) for c in out}) > 1:
        raise ValueError("batch columns differ in length: " + ", ".join(str(len(c)) for c in out))
    return out


class RecordNumbers:
    """How a batch's records are named in errors: 1-based record or line numbers."""

    __slots__ = ("values", "noun")

    def __init__(self, values: Sequence[int], noun: str = "record"):
        self.values = values
        self.noun = noun

    @classmethod
    def count_from(cls, first: int, n: int) -> "RecordNumbers":
        """Records ``first`` .. ``first + n - 1`` (``first`` is 1-based)."""
        return cls(range(first, first + n))

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[int]:
        return (int(v) for v in self.values)

    def __getitem__(self, i: int) -> int:
        return int(self.values[i])

    def where(self, i: int) -> str:
        return f"{self.noun} {self.values[i]}"


class SortOrder:
    """State of the sort check across batches: last reference and start, references seen.

    ``strict``: references must come in increasing id order (header order: BAM and BGZF2
    writers, tabix writers whose ids follow first appearance); otherwise only "each reference
    in one run" is required, as ``samtools index`` / ``tabix`` accept. ``max_pos`` (with
    ``max_pos_note``) bounds starts and ends (an index's addressable range). ``negative_start``:
    ``"clamp"`` (htslib's indexer treats it as 0) or ``"error"``. ``end_before_start``:
    ``"error"`` or ``"allow"`` (the caller widens such records itself). ``reference_name(tid)``
    names references in messages. Unplaced records (tid < 0) must all come last.
    ``ordered=False`` keeps only the per-record checks (range, negative start, end).
    """

    def __init__(self, *, strict: bool = False, max_pos: int | None = None,
                 max_pos_note: str = "", negative_start: str = "clamp",
                 end_before_start: str = "error",
                 reference_name: Callable[[int], str] | None = None, hint: str = SORTED_HINT,
                 ordered: bool = True):
        self.ordered = ordered
        self.strict = strict
        self.max_pos = max_pos
        self.max_pos_note = max_pos_note
        self.negative_start = negative_start
        self.end_before_start = end_before_start
        self.reference_name = reference_name
        self.hint = hint
        self.n_checked = 0
        self._last_tid = -2           # no record yet
        self._last_beg = -1
        self._unplaced = False        # an unplaced record has been seen
        self._seen: set[int] = set()  # placed references that have had a run

    def _name(self, tid: int) -> str:
        if self.reference_name is not None:
            try:
                return str(self.reference_name(tid))
            except (IndexError, KeyError):
                pass
        return f"reference {tid}"

    def check(self, tids: Sequence[int] | np.ndarray, begs: Sequence[int] | np.ndarray,
              ends: Sequence[int] | np.ndarray, numbers: RecordNumbers | None = None,
              describe: Callable[[int], str] | None = None,
              advance: bool = True) -> np.ndarray | None:
        """Raise for the first record of the batch that breaks the rule; else (``advance``)
        move the state past the batch. ``numbers`` defaults to the running 1-based count;
        ``describe(i)`` adds record i's text to the message.

        Returns, when the batch took the common path (every record placed, starts >= 0; see
        :meth:`_check_sorted`), the rows ``i >= 1`` where the reference changes (the index
        builder's pushes reuse them); else None."""
        tid, beg, end = int64_columns(tids, begs, ends)
        n = len(tid)
        if n == 0:
            return None
        if advance and self.ordered and not self._unplaced:
            heads = self._check_sorted(tid, beg, end)
            if heads is not None:
                return heads
        placed = tid >= 0
        failures: list[tuple[int, type[RecordError], str]] = []

        def first(mask: np.ndarray, kind: type[RecordError], message: Callable[[int], str]) -> None:
            if mask.any():
                i = int(np.argmax(mask))
                failures.append((i, kind, message(i)))

        if self.max_pos is not None:
            first(placed & ((beg > self.max_pos) | (end > self.max_pos)), RecordError,
                  lambda i: f"region {beg[i]}..{end[i]} cannot be stored in {self.max_pos_note}")
        if self.negative_start == "error":
            first(placed & (beg < 0), RecordError, lambda i: f"negative start {beg[i]}")
        if self.end_before_start == "error":
            first(placed & (end < beg), RecordError,
                  lambda i: f"end {end[i]} is before start {beg[i]}")
        if self.ordered:
            self._check_order(tid, beg, placed, n, first)
        if failures:
            i, kind, message = min(failures, key=lambda f: f[0])
            if numbers is None:
                numbers = RecordNumbers.count_from(self.n_checked + 1, n)
            text = f"{numbers.where(i)}: {message}"
            if describe is not None:
                text += f": {describe(i)}"
            if kind is SortOrderError:
                raise SortOrderError(text, int(tid[i]), int(beg[i]), numbers[i])
            raise RecordError(text, numbers[i])
        if advance:
            self._advance(tid, beg, placed)
        return None

    def _check_sorted(self, tid: np.ndarray, beg: np.ndarray, end: np.ndarray
                      ) -> np.ndarray | None:
        """The whole rule for a batch whose records are all placed with starts >= 0 (a sorted
        file's batches), as a few passes over the arrays: starts may only decrease where the
        reference changes, each reference starting there is new (increasing when ``strict``),
        ends are within range and not before starts. Returns the reference-change rows and
        moves the state on; None (state untouched) when the batch is not of that kind or
        breaks the rule: the general pass then decides, and words the error."""
        heads = np.flatnonzero(tid[1:] != tid[:-1]) + 1
        down = np.flatnonzero(beg[1:] < beg[:-1]) + 1
        if len(down) and not np.isin(down, heads).all():
            return None
        run_tids = [int(tid[0])] + tid[heads].tolist()
        # each run ascends, so its first start is its least: all starts >= 0, no clamping
        if min(run_tids) < 0 or int(beg[0]) < 0 or (len(heads) and int(beg[heads].min()) < 0):
            return None
        if self.end_before_start == "error" and bool((end < beg).any()):
            return None
        if self.max_pos is not None:  # ends >= starts here unless allowed otherwise
            top = int(end.max()) if self.end_before_start == "error" else \
                max(int(end.max()), int(beg.max()))
            if top > self.max_pos:
                return None
        last = self._last_tid
        new = run_tids if run_tids[0] != last else run_tids[1:]
        if run_tids[0] == last:
            prev = max(self._last_beg, 0) if self.negative_start == "clamp" else self._last_beg
            if int(beg[0]) < prev:
                return None
        if self.strict:
            if any(b <= a for a, b in zip([last] + new, new)):
                return None
        elif len(set(new)) < len(new) or not self._seen.isdisjoint(new):
            return None
        self._seen.update(new)
        self._last_tid = int(tid[-1])
        self._last_beg = int(beg[-1])
        self.n_checked += len(tid)
        return heads

    def _check_order(self, tid: np.ndarray, beg: np.ndarray, placed: np.ndarray, n: int,
                     first: Callable[..., None]) -> None:
        # unplaced records must come last
        was_unplaced = np.empty(n, dtype=bool)
        was_unplaced[0] = self._unplaced
        if n > 1:
            np.maximum.accumulate(~placed[:-1] | self._unplaced, out=was_unplaced[1:])
        first(placed & was_unplaced, SortOrderError,
              lambda i: f"placed record on {self._name(int(tid[i]))} after unplaced records "
                        f"({self.hint})")
        prev_tid = np.empty(n, dtype=np.int64)
        prev_tid[0] = self._last_tid
        prev_tid[1:] = tid[:-1]
        change = placed & (tid != prev_tid)
        if self.strict:
            first(change & (tid < prev_tid), SortOrderError,
                  lambda i: f"{self._name(int(tid[i]))} comes after {self._name(int(prev_tid[i]))} "
                            f"({self.hint})")
        else:
            ci = np.flatnonzero(change)
            if len(ci):
                new = tid[ci]
                again = np.isin(new, np.fromiter(self._seen, dtype=np.int64, count=len(self._seen)))
                order = np.argsort(new, kind="stable")
                repeat = np.zeros(len(ci), dtype=bool)
                repeat[order[1:]] = new[order][1:] == new[order][:-1]
                mask = np.zeros(n, dtype=bool)
                mask[ci[again | repeat]] = True
                first(mask, SortOrderError,
                      lambda i: f"{self._name(int(tid[i]))} appears again after another reference "
                                f"({self.hint})")
        prev_beg = np.empty(n, dtype=np.int64)
        prev_beg[0] = self._last_beg
        prev_beg[1:] = beg[:-1]
        if self.negative_start == "clamp":
            np.maximum(prev_beg, 0, out=prev_beg)  # htslib compares with the clamped start
        first(placed & ~change & (tid == prev_tid) & (beg < prev_beg), SortOrderError,
              lambda i: f"position {beg[i]} after {prev_beg[i]} on {self._name(int(tid[i]))} "
                        f"({self.hint})")

    def check_one(self, tid: int, beg: int, end: int) -> None:
        """:meth:`check` for one record, in plain Python (a scalar ``push`` stays cheap)."""
        ok = True
        if tid >= 0:
            if self.max_pos is not None and (beg > self.max_pos or end > self.max_pos):
                ok = False
            elif self.negative_start == "error" and beg < 0:
                ok = False
            elif self.end_before_start == "error" and end < beg:
                ok = False
            elif self.ordered:
                if self._unplaced:
                    ok = False
                elif tid == self._last_tid:
                    prev = max(self._last_beg, 0) if self.negative_start == "clamp" else self._last_beg
                    ok = beg >= prev
                elif self.strict:
                    ok = tid > self._last_tid
                else:
                    ok = tid not in self._seen
        if not ok:
            self.check(np.array([tid]), np.array([beg]), np.array([end]))  # raises
            return
        if tid >= 0:
            self._seen.add(tid)
        else:
            self._unplaced = True
        self._last_tid = tid
        self._last_beg = beg
        self.n_checked += 1

    def _advance(self, tid: np.ndarray, beg: np.ndarray, placed: np.ndarray) -> None:
        self._seen.update(np.unique(tid[placed]).tolist())
        self._unplaced = self._unplaced or not bool(placed.all())
        self._last_tid = int(tid[-1])
        self._last_beg = int(beg[-1])
        self.n_checked += len(tid)
