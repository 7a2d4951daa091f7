"""``IndexedOutput``: the co-indexing sink every record writer (BAM, VCF, tabix, later BCF) uses.

It owns the container writer (BGZF or BGZF2), the :class:`~bioformats_ext.index.IndexBuilder`
fed after each record with the container's offset (as htslib's on-the-fly indexing does), and
the atomic placement of data *and* index (temporary names, renamed only when both are complete).
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from ..index.builder import ReferenceNames
from ..errors import BioformatsError
from ..io.atomic import AtomicFiles
from .discovery import default_index_path


def _is_path(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike))


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
                 references: Sequence[tuple[str, int]] = (), content_head: bytes | None = None,
                 metadata: dict[str, str] | None = None):
        if compression not in ("bgzf", "bgzf2", None):
            raise ValueError(f"compression must be 'bgzf', 'bgzf2' or None, not {compression!r}")
        if compression != "bgzf" and index is not None:
            raise ValueError("a separate index needs compression='bgzf' "
                             "(BGZF2 files carry their index inside)")
        self.compression = compression
        self.index_kind = index
        self._files = AtomicFiles()
        self.index_target: Any = None   # where the index goes (path or stream), if any
        self.n_records = 0
        self._builder: Any = None   # an IndexBuilder once the header is written
        self.container: Any = None  # BgzfWriter, Bgzf2Writer or _PlainWriter
        self._make_builder = make_builder
        self._save_index = save_index
        self._closed = False
        self._names = ReferenceNames()   # reference ids by first appearance when no builder
        # BGZF2: called at close for the reference table when names are learnt while writing
        self.late_references: Callable[[], list[tuple[str, int]]] | None = None
        try:
            if _is_path(target):
                self.path: str | None = os.fspath(target)
                handle: BinaryIO = self._files.open(self.path)
            else:
                self.path = getattr(target, "name", None) if isinstance(getattr(target, "name", None), str) else None
                handle = target
            if index is not None:
                if index_path is None:
                    if not _is_path(target):  # e.g. sys.stdout.buffer: no "<stdout>.bai"
                        raise BioformatsError(
                            f"index={index!r} for a file-object target "
                            f"({self.path or type(target).__name__}) needs index_path= "
                            f"(a path or binary file object for the index)")
                    index_path = default_index_path(os.fspath(target), index)
                self.index_target = index_path
            self._handle = handle
            if compression == "bgzf":
                from ..bgzf import BgzfWriter

                self.container = BgzfWriter(handle, level=6 if level is None else level,
                                            threads=threads)
            elif compression == "bgzf2":
                from ..bgzf2 import Bgzf2Writer

                kwargs: dict[str, Any] = {"threads": threads,
                                          "references": list(references) or None}
                if level is not None:
                    kwargs["level"] = level
                if content_head is not None:
                    kwargs["content_head"] = content_head
                if metadata:
                    kwargs["metadata"] = dict(metadata)
                self.container = Bgzf2Writer(handle, **kwargs)
            else:
                self.container = _PlainWriter(handle)
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
                if self._make_builder is None:
                    raise ValueError("an index needs make_builder")
                self._builder = self._make_builder(self.index_kind, self.container.tell_block())
                self.container.on_amend = self._builder.amend_last

    def write_batch(self, data: bytes, sizes: np.ndarray, tid: np.ndarray | None,
                    beg: np.ndarray | None, end: np.ndarray | None, mapped: np.ndarray | None,
                    describe: Callable[[int], str] | None) -> None:
        """Write a batch of records (``data`` = their concatenation, ``sizes`` = each length)
        and push their positions; ``describe(i)`` names record i in errors."""
        sizes = np.asarray(sizes, np.int64)
        n = len(sizes)
        builder = self._builder
        if builder is not None:  # check before write: a bad batch leaves nothing half-written
            builder.check(tid, beg, end, describe)
        if self.compression == "bgzf2":
            cuts = np.concatenate(([0], np.cumsum(sizes))).tolist()
            view = memoryview(data)
            records = [view[cuts[i]:cuts[i + 1]] for i in range(n)]
            self.container.write_records(records, tid, beg, end, mapped, describe=describe)
        elif self.compression == "bgzf":
            offsets = self.container.write_records(data, sizes)
            if builder is not None:
                builder.push_many(tid, beg, end, offsets, mapped)
        else:
            self.container.write(data)
        self.n_records += n

    def tids_for(self, names: "Sequence[str | bytes]") -> np.ndarray:
        """Reference ids of a batch's names for text formats (next id on first appearance):
        the index builder's when there is one, so ids and the index's name list agree."""
        if self._builder is not None:
            return self._builder.tids_for(names)
        return self._names.tids_for(names)

    @property
    def reference_names(self) -> list[str]:
        """Names in id order, as assigned by :meth:`tids_for`."""
        return self._builder.names if self._builder is not None else self._names.names

    def write_unindexed(self, record: bytes) -> None:
        """A record the index skips (a comment line mid-file): written, not pushed."""
        self.container.write_record(record)
        if self._builder is not None and not self._builder.n_records:
            self._builder.restart_at(self.container.tell_block())  # as tabix: after meta lines

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
                    if _is_path(self.index_target):
                        stream = self._files.open(self.index_target)
                    else:
                        stream = self.index_target
                    if self._save_index is None:
                        raise ValueError("an index needs save_index")
                    self._save_index(self._builder, stream)
            else:
                if self.compression == "bgzf2" and self.late_references is not None:
                    self.container.references = self.late_references()
                self.container.close()
            self._files.commit(obsolete=self._stale_indexes())
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def _stale_indexes(self) -> list[str]:
        """Index files beside the data path that this write does not produce (stale after it)."""
        from ..io.atomic import sibling_indexes

        if self.path is None or self.compression is None or not self._files._files:
            return []
        keep = self.index_target if _is_path(self.index_target) else None
        return sibling_indexes(self.path, None if keep is None else os.fspath(keep))

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
