"""``IndexedOutput``: the co-indexing sink every record writer (BAM, VCF, tabix, later BCF) uses.

It owns the container writer (BGZF or BGZF2), the :class:`~bioformats_ext.index.IndexBuilder`
fed after each record with the container's offset (as htslib's on-the-fly indexing does), and
the atomic placement of data *and* index (temporary names, renamed only when both are complete).
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from ..bgzf import MAX_BLOCK_DATA
from ..index.builder import ReferenceNames
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
        self._builder = None
        self._make_builder = make_builder
        self._save_index = save_index
        self._closed = False
        self._names = ReferenceNames()   # reference ids by first appearance when no builder
        self._pending: tuple[int, int, int, int, bool] | None = None
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
                    if self.path is None:
                        raise ValueError("index_path is needed when writing to a file object")
                    index_path = default_index_path(self.path, index)
                self.index_target = index_path
            self._handle = handle
            if compression == "bgzf":
                from ..bgzf import BgzfWriter

                self.container = BgzfWriter(handle, level=6 if level is None else level,
                                            threads=threads)
                self._tell = self.container.tell_block
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

    def write_batch(self, data: bytes, sizes: np.ndarray, tid: np.ndarray | None,
                    beg: np.ndarray | None, end: np.ndarray | None, mapped: np.ndarray | None,
                    describe: Callable[[int], str] | None) -> None:
        """Write a batch of records (``data`` = their concatenation, ``sizes`` = each length)
        and push their positions; ``describe(i)`` names record i in errors."""
        sizes = np.asarray(sizes, np.int64)
        n = len(sizes)
        first = self.n_records
        builder = self._builder
        if builder is not None:  # check before write: a bad batch leaves nothing half-written
            builder.check(tid, beg, end, describe)
        if self.compression == "bgzf2":
            cuts = np.concatenate(([0], np.cumsum(sizes))).tolist()
            view = memoryview(data)
            records = [view[cuts[i]:cuts[i + 1]] for i in range(n)]
            self.container.write_records(records, tid, beg, end, mapped, describe=describe)
        elif self.compression == "bgzf":
            offsets = self._write_blocks(data, sizes)
            if builder is not None:
                mapped = np.ones(n, bool) if mapped is None else np.asarray(mapped, bool)
                self._push_amended(np.asarray(tid, np.int64), np.asarray(beg, np.int64),
                                   np.asarray(end, np.int64), offsets, mapped, sizes)
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
        if self.compression == "bgzf" and self._builder is not None and self._pending is not None:
            pt, pb, pe, po, pm = self._pending
            if po & 0xFFFF and (po & 0xFFFF) + len(record) > MAX_BLOCK_DATA:
                self._pending = (pt, pb, pe, ((po >> 16) + 1) << 16, pm)
        self.container.write_record(record)

    def _write_blocks(self, data: bytes, sizes: np.ndarray) -> np.ndarray:
        """Write records with BGZF's ``write_record`` layout, one call per block, not per record.

        The layout rule is simple enough to compute for a whole batch: a record goes into the
        current block if it fits, else the block is flushed first (unless empty), and a record
        larger than a block spans several. With cumulative sizes, each block's run of records
        is one ``searchsorted``; the block-numbered offset after every record
        (``BgzfWriter.tell_block`` values) falls out of the same arithmetic.
        """
        cap = MAX_BLOCK_DATA
        container = self.container
        n = len(sizes)
        cum = np.zeros(n + 1, np.int64)
        np.cumsum(sizes, out=cum[1:])
        offsets = np.empty(n, np.int64)
        view = memoryview(data)
        start = container.tell_block()
        block, fill = start >> 16, start & 0xFFFF
        i = 0
        while i < n:
            j = int(np.searchsorted(cum, cum[i] + cap - fill, side="right")) - 1
            if j > i:  # records i..j-1 fit in this block
                offsets[i:j] = (block << 16) + fill + (cum[i + 1:j + 1] - cum[i])
                container.write(view[cum[i]:cum[j]])
                fill += int(cum[j] - cum[i])
                if fill == cap:  # exactly full: the writer ships it, offset is next block's start
                    block, fill = block + 1, 0
                    offsets[j - 1] = block << 16
                i = j
            elif fill:
                container.flush()
                block, fill = block + 1, 0
            else:  # a record larger than a block
                size = int(sizes[i])
                container.write(view[cum[i]:cum[i + 1]])
                block, fill = block + size // cap, size % cap
                offsets[i] = (block << 16) | fill
                i += 1
        if container.tell_block() != (block << 16) | fill:  # the layout rule changed under us
            raise RuntimeError("BGZF block layout differs from the writer's; offsets unusable")
        return offsets

    def _push_amended(self, tid, beg, end, offsets, mapped, lengths) -> None:
        """Push all but the last record, after amending end offsets as htslib does.

        ``write_record`` flushes a block when the next record does not fit; the previous record
        then ends at the *next* block's start (what a reader's ``tell()`` reports, and what
        htslib's ``hts_idx_amend_last`` records). That is only known once the next record is
        written, so the last record of each batch waits in ``_pending``.
        """
        if self._pending is not None:
            pt, pb, pe, po, pm = self._pending
            tid = np.concatenate(([pt], tid))
            beg = np.concatenate(([pb], beg))
            end = np.concatenate(([pe], end))
            offsets = np.concatenate(([po], offsets))
            mapped = np.concatenate(([pm], mapped))
            lengths = np.concatenate(([0], lengths))
        within = offsets[:-1] & 0xFFFF
        amend = (within > 0) & (within + lengths[1:] > MAX_BLOCK_DATA)
        if amend.any():
            head = offsets[:-1]
            head[amend] = ((head[amend] >> 16) + 1) << 16
        self._pending = (int(tid[-1]), int(beg[-1]), int(end[-1]), int(offsets[-1]),
                         bool(mapped[-1]))
        if len(tid) > 1:
            self._builder.push_many(tid[:-1], beg[:-1], end[:-1], offsets[:-1], mapped[:-1])

    def _push_pending(self, final: int) -> None:
        if self._pending is None:
            return
        pt, pb, pe, po, pm = self._pending
        if po & 0xFFFF:
            po = final  # the closing flush ends the last block right after the last record
        self._pending = None
        self._builder.push(pt, pb, pe, po, pm)

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
                    self._push_pending(final)
                    self._builder.finish(final, block_addresses=addresses)
                    if _is_path(self.index_target):
                        stream = self._files.open(self.index_target)
                    else:
                        stream = self.index_target
                    self._save_index(self._builder, stream)
            else:
                if self.compression == "bgzf2" and self.late_references is not None:
                    self.container.references = self.late_references()
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
