"""Co-indexed writing and indexed reading of bgzipped, tab-separated text (tabix presets).

The machinery here is shared by every record writer: :class:`IndexedOutput` owns the container
writer (BGZF or BGZF2), the :class:`~bioformats_ext.index.IndexBuilder` fed after each record
with the container's offset (as htslib's on-the-fly indexing does), and the atomic placement of
data *and* index (temporary names, renamed only when both are complete). ``BamWriter`` and
``VcfWriter`` are thin users of it; :class:`TabixWriter` / :class:`TabixReader` cover BED, GFF
and SAM text with the tabix presets.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import FormatError, MissingIndexError, RecordError, SortOrderError, UnknownReferenceError
from .io.source import ByteSource, open_source

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_BATCH = 4096


# --------------------------------------------------------------------------------------------
# atomic placement of several files


class AtomicFiles:
    """Temporary files that all replace their targets on :meth:`commit`, or vanish on :meth:`abort`."""

    def __init__(self) -> None:
        self._files: list[tuple[str, str, BinaryIO]] = []

    def open(self, path: "str | os.PathLike[str]") -> BinaryIO:
        final = os.fspath(path)
        tmp = f"{final}.tmp-{secrets.token_hex(6)}"
        handle = open(tmp, "wb")
        self._files.append((tmp, final, handle))
        return handle

    def commit(self) -> None:
        """Close and rename in the order opened (data before index, so the index is newer)."""
        for _tmp, _final, handle in self._files:
            handle.close()
        for tmp, final, _handle in self._files:
            os.replace(tmp, final)
        self._files = []

    def abort(self) -> None:
        for tmp, _final, handle in self._files:
            try:
                handle.close()
            finally:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
        self._files = []


def _is_path(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike))


# --------------------------------------------------------------------------------------------
# the shared co-indexing sink


class IndexedOutput:
    """A container writer plus an optional index builder, placed atomically.

    ``index`` is ``None``, ``"bai"``, ``"tbi"`` or ``"csi"``; ``make_builder(kind, offset0)``
    returns the :class:`IndexBuilder`; ``save_index(builder, stream)`` serialises it.
    ``compression`` is ``"bgzf"``, ``"bgzf2"`` (self-indexed, no separate index file) or
    ``None`` (plain text, no index).
    """

    def __init__(self, target: Any, *, compression: str | None, level: int | None, threads: int,
                 index: str | None, index_path: Any, make_builder: Callable[[str, int], Any] | None,
                 save_index: Callable[[Any, BinaryIO], None] | None,
                 references: Sequence[tuple[str, int]] = (), content_head: bytes | None = None):
        if compression not in ("bgzf", "bgzf2", None):
            raise ValueError(f"compression must be 'bgzf', 'bgzf2' or None, not {compression!r}")
        if compression != "bgzf" and index is not None:
            raise ValueError("a separate index needs compression='bgzf' "
                             "(BGZF2 files carry their index inside)")
        self.compression = compression
        self.index_kind = index
        self._files = AtomicFiles()
        self._index_target: Any = None
        self.n_records = 0
        self._builder = None
        self._make_builder = make_builder
        self._save_index = save_index
        self._closed = False
        self._sort_state: tuple[int, int] | None = None
        self._late_references: Callable[[], list[tuple[str, int]]] | None = None
        try:
            if _is_path(target):
                self.path: str | None = os.fspath(target)
                handle: BinaryIO = self._files.open(self.path)
            else:
                self.path = getattr(target, "name", None) if isinstance(getattr(target, "name", None), str) else None
                handle = target
            if index is not None:
                if index_path is None:
                    if self.path is None:
                        raise ValueError("index_path is needed when writing to a file object")
                    index_path = f"{self.path}.{index}"
                self._index_target = index_path
            self._handle = handle
            if compression == "bgzf":
                from .bgzf import BgzfWriter

                self.container = BgzfWriter(handle, level=6 if level is None else level,
                                            threads=threads)
                self._tell = self.container.tell_block
            elif compression == "bgzf2":
                from .bgzf2 import Bgzf2Writer

                kwargs: dict[str, Any] = {"threads": threads,
                                          "references": list(references) or None}
                if level is not None:
                    kwargs["level"] = level
                if content_head is not None:
                    kwargs["content_head"] = content_head
                self.container = Bgzf2Writer(handle, **kwargs)
                self._tell = None
            else:
                self.container = _PlainWriter(handle)
                self._tell = None
        except BaseException:
            self._files.abort()
            raise

    # -- writing -------------------------------------------------------------------------------
    def write_header(self, data: bytes) -> None:
        """Write the header, end its block, and start the index at the offset after it."""
        self.container.write(data)
        if self.compression is not None:
            self.container.flush()  # records start a fresh block / frame, as htslib does
        if self.compression == "bgzf":
            if self.index_kind is not None:
                self._builder = self._make_builder(self.index_kind, self.container.tell_block())

    def write_batch(self, records: Sequence[bytes], tid: np.ndarray, beg: np.ndarray,
                    end: np.ndarray, mapped: np.ndarray | None,
                    describe: Callable[[int], str]) -> None:
        """Write encoded records and push their positions; ``describe(i)`` names record i."""
        first = self.n_records
        builder = self._builder
        if builder is not None or self.compression == "bgzf2":
            self._sort_state = _check_sorted(self._sort_state, tid, beg, end, first, describe)
        write = self.container.write_record
        if self.compression == "bgzf2":
            push = self.container.push
            m = np.ones(len(records), bool) if mapped is None else mapped
            for i, rec in enumerate(records):
                write(rec)
                push(int(tid[i]), int(beg[i]), int(end[i]), None, bool(m[i]))
        elif builder is not None:
            tell = self._tell
            offsets = np.empty(len(records), np.int64)
            for i, rec in enumerate(records):
                write(rec)
                offsets[i] = tell()
            try:
                builder.push_many(tid, beg, end, offsets, mapped)
            except SortOrderError as exc:
                raise SortOrderError(f"{exc}", exc.tid, exc.pos, exc.record) from None
        else:
            for rec in records:
                write(rec)
        self.n_records += len(records)

    # -- closing -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        try:
            if self.compression == "bgzf":
                container = self.container
                container.flush()
                final = container.tell_block()
                addresses = container.block_addresses()
                container.close()
                if self._builder is not None:
                    self._builder.finish(final, block_addresses=addresses)
                    if _is_path(self._index_target):
                        stream = self._files.open(self._index_target)
                    else:
                        stream = self._index_target
                    self._save_index(self._builder, stream)
            else:
                if self.compression == "bgzf2" and self._late_references is not None:
                    self.container.references = self._late_references()
                self.container.close()
            self._files.commit()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            abort = getattr(self.container, "abort", None)
            if abort is not None:
                abort()
        except Exception:
            pass
        self._files.abort()


def _check_sorted(state: tuple[int, int] | None, tid: np.ndarray, beg: np.ndarray,
                  end: np.ndarray, first: int, describe: Callable[[int], str]) -> tuple[int, int] | None:
    """Find the first out-of-order record of a batch *before* anything is written, to name it.

    Returns the new ``(last tid, last beg)`` state.
    """
    prev_tid, prev_beg = state if state is not None else (None, None)
    t = np.asarray(tid, np.int64)
    b = np.asarray(beg, np.int64)
    e = np.asarray(end, np.int64)
    if not len(t):
        return state
    placed = t >= 0
    pt = np.concatenate(([-2 if prev_tid is None else prev_tid], t[:-1]))
    pb = np.concatenate(([-1 if prev_beg is None else prev_beg], b[:-1]))
    after_unplaced = placed & (pt == -1)
    # a placed record after an unplaced one, a lower tid, or a lower start on the same tid
    bad = after_unplaced | (placed & (t < pt)) | (placed & (t == pt) & (b < pb))
    bad |= placed & (e < b)
    if bad.any():
        i = int(np.argmax(bad))
        number = first + i
        if e[i] < b[i]:
            why = "ends before it starts"
        else:
            why = "is not sorted by reference and position"
        raise SortOrderError(f"record {number} {why} (indexing needs coordinate-sorted input): "
                             f"{describe(i)}", int(t[i]), int(b[i]), number)
    return int(t[-1]), int(b[-1])


class _PlainWriter:
    """Uncompressed text output with the container protocol (no index possible)."""

    def __init__(self, handle: BinaryIO):
        self._fh = handle

    def write(self, data: bytes) -> int:
        return self._fh.write(data)

    write_record = write

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._fh.flush()

    def abort(self) -> None:
        pass
