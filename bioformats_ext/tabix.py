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
from itertools import islice
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import FormatError, MissingIndexError, SortOrderError, UnknownReferenceError
from .io.atomic import AtomicFiles, CloseOrAbort
from .io.source import ByteSource, open_source

BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def load_index_near(location: str | None, candidates: Sequence[str], what: str):
    """Read the first index among ``candidates`` that exists (local paths or URLs; a missing
    URL is a 403/404/410, any other failure is raised)."""
    from .index import read_index
    from .io.source import open_first

    if location is None:
        raise MissingIndexError(f"no index given and the {what} is not a path or URL")
    source = open_first(candidates)
    if source is None:
        raise MissingIndexError(f"no index ({', '.join(c.rsplit('.', 1)[-1] for c in candidates)}) "
                                f"next to {location}")
    return read_index(source)


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
        self._index_target: Any = None
        self.n_records = 0
        self._builder = None
        self._make_builder = make_builder
        self._save_index = save_index
        self._closed = False
        self._sort_state: tuple[int, int] | None = None
        self._pending: tuple[int, int, int, int, bool] | None = None
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
        if builder is not None or self.compression == "bgzf2":
            self._sort_state = _check_sorted(self._sort_state, tid, beg, end, first, describe)
        if self.compression == "bgzf2":
            cuts = np.concatenate(([0], np.cumsum(sizes))).tolist()
            view = memoryview(data)
            records = [view[cuts[i]:cuts[i + 1]] for i in range(n)]
            self.container.write_records(records, tid, beg, end, mapped)
        elif self.compression == "bgzf":
            offsets = self._write_blocks(data, sizes)
            if builder is not None:
                mapped = np.ones(n, bool) if mapped is None else np.asarray(mapped, bool)
                self._push_amended(np.asarray(tid, np.int64), np.asarray(beg, np.int64),
                                   np.asarray(end, np.int64), offsets, mapped, sizes)
        else:
            self.container.write(data)
        self.n_records += n

    def write_unindexed(self, record: bytes) -> None:
        """A record the index skips (a comment line mid-file): written, not pushed."""
        if self.compression == "bgzf" and self._builder is not None and self._pending is not None:
            from .bgzf import MAX_BLOCK_DATA

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
        from .bgzf import MAX_BLOCK_DATA as cap

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
        from .bgzf import MAX_BLOCK_DATA

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


# --------------------------------------------------------------------------------------------
# tabix writer


def _as_line(record: Any) -> bytes:
    if isinstance(record, bytes):
        line = record
    elif isinstance(record, str):
        line = record.encode()
    elif isinstance(record, (bytearray, memoryview)):
        line = bytes(record)
    else:
        line = str(record).encode()
    return line if line.endswith(b"\n") else line + b"\n"


def _vcf_intervals(conf: Any, data: bytes, sizes: np.ndarray, lines: list[bytes],
                   first_lineno: int):
    """VCF intervals of a batch, computed on the joined bytes with numpy.

    ``beg = POS-1`` and ``end = beg + len(REF)`` come from the positions of each line's first
    four tabs (one ``flatnonzero`` over the batch, one ``searchsorted``); POS digits are summed
    as a matrix. Lines that mention ``END=`` or look unusual (few columns, odd POS) go through
    the exact per-line rule, which also raises the typed, numbered error for bad lines.
    Names come back as bytes (the caller maps them to tids without decoding every line).
    """
    n = len(sizes)
    buf = np.frombuffer(data, np.uint8)
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=cum[1:])
    starts, stops = cum[:-1], cum[1:]
    tabs = np.flatnonzero(buf == 9)
    k = np.searchsorted(tabs, starts)
    last = len(tabs) - 1
    t = [tabs[np.minimum(k + j, last)] if len(tabs) else np.full(n, -1) for j in range(4)]
    ok = (k + 3 <= last) & (t[3] < stops) if len(tabs) else np.zeros(n, bool)
    plen = t[1] - t[0] - 1
    ok &= (plen >= 1) & (plen <= 12)
    width = 12
    idx = (t[0] + 1)[:, None] + np.arange(width)
    inside = np.arange(width) < plen[:, None]
    digits = buf[np.minimum(idx, len(buf) - 1)].astype(np.int64) - 48
    ok &= ~(inside & ((digits < 0) | (digits > 9))).any(axis=1)
    power = np.where(inside, 10 ** np.clip(plen[:, None] - 1 - np.arange(width), 0, None), 0)
    pos = (np.where(inside, digits, 0) * power).sum(axis=1)
    reflen = t[3] - t[2] - 1
    beg = np.maximum(pos - 1, 0)
    end = np.where(reflen > 0, beg + reflen, np.maximum(pos, 1))
    special = set(np.flatnonzero(~ok).tolist())
    for marker in (b"END=", b"SVLEN=", b"<*>", b"<NON_REF>"):  # END=, SVLEN=, gVCF LEN: the full end rule
        at = data.find(marker)
        while at >= 0:
            special.add(int(np.searchsorted(starts, at, side="right")) - 1)
            at = data.find(marker, at + len(marker))
    t0 = np.where(ok, t[0], starts).tolist()
    names = [data[a:b] for a, b in zip(starts.tolist(), t0)]
    from .vcf.end_rule import tabix_interval

    for i in sorted(special):
        name, b, e = tabix_interval(lines[i].rstrip(b"\r\n"), first_lineno + i)
        names[i] = name.encode()
        beg[i] = b
        end[i] = e
    return names, beg, end


def _conf_text(conf: Any) -> str:
    """A tabix configuration as text, kept in BGZF2 metadata so readers need no preset."""
    return ",".join(map(str, (conf.format, conf.col_seq, conf.col_beg, conf.col_end,
                              ord(conf.meta), conf.skip)))


def _conf_from_text(text: str) -> Any:
    from .index.tabix_conf import TabixConfig

    fmt, seq, beg, end, meta, skip = (int(x) for x in text.split(","))
    return TabixConfig(fmt, seq, beg, end, chr(meta), skip)


def _sq_lengths(header: bytes) -> list[tuple[str, int]]:
    out = []
    for line in header.splitlines():
        if line.startswith(b"@SQ\t"):
            fields = dict(f.split(b":", 1) for f in line.split(b"\t")[1:] if b":" in f)
            if b"SN" in fields and fields.get(b"LN", b"").isdigit():
                out.append((fields[b"SN"].decode(), int(fields[b"LN"])))
    return out


class BatchedRecordWriter(CloseOrAbort):
    """What every co-indexing record writer shares: buffering records into batches for
    ``_write_lines`` (per-record encoding would cost ~100x more), and closing or aborting the
    :class:`IndexedOutput` in ``self._out``.

    Subclasses implement ``_to_line(record) -> bytes`` and ``_write_lines(lines)`` and may
    override ``_fast_batch(batch)``, which returns the batch as ready ``bytes`` lines when that
    needs no per-record conversion (else None). A bad or unsorted record is reported at the next
    flush (buffer full, :meth:`write_many` or :meth:`close`), naming its number and text.
    """

    batch_size = 16384
    _out: "IndexedOutput"
    _buffer: list

    @property
    def path(self) -> str | None:
        return self._out.path

    @property
    def index_path(self) -> Any:
        return self._out._index_target

    def _to_line(self, record: Any) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write_lines(self, lines: list[bytes]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        return None

    def write(self, record: Any) -> None:
        """Write one record (buffered; see the class docstring for when errors surface)."""
        buffer = self._buffer
        buffer.append(self._to_line(record))
        if len(buffer) >= self.batch_size:
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        if self._buffer:
            lines, self._buffer = self._buffer, []
            self._write_lines(lines)

    def write_many(self, records: Iterable[Any]) -> int:
        """Write records in batches (the fast path); returns how many were written."""
        self._flush_buffer()
        count = 0
        iterator = iter(records)
        to_line = self._to_line
        while True:
            batch = list(islice(iterator, self.batch_size))
            if not batch:
                return count
            lines = self._fast_batch(batch)
            self._write_lines(lines if lines is not None else [to_line(r) for r in batch])
            count += len(batch)

    def close(self) -> None:
        """EOF block, then the index; both renamed into place only now."""
        self._flush_buffer()
        self._out.close()

    def abort(self) -> None:
        """Discard everything written; nothing is left at the target paths."""
        self._buffer = []
        self._out.abort()


class TabixWriter(BatchedRecordWriter):
    """Write bgzipped tab-separated text (BED, GFF, SAM, VCF, ...) and its TBI/CSI in one pass.

    ``preset`` is a tabix preset name (``"bed"``, ``"gff"``, ``"sam"``, ``"vcf"``) or a
    :class:`~bioformats_ext.index.tabix_conf.TabixConfig`. ``header``: text written first
    (lines starting with the preset's meta character). ``references``: optional
    ``(name, length)`` list, used for the CSI depth and BGZF2's reference table.
    Reference ids follow first appearance, as tabix assigns them, so a chromosome that comes
    back after another one is a :class:`~bioformats_ext.errors.SortOrderError` when indexing.
    """

    def __init__(self, target: Any, header: "str | bytes | None" = None, preset: Any = "bed",
                 index: str | None = None, level: int | None = None, threads: int = 1,
                 compression: str | None = "bgzf", index_path: Any = None, min_shift: int = 14,
                 references: Sequence[tuple[str, int]] | None = None):
        from .index.tabix_conf import get_config

        if index not in (None, "tbi", "csi"):
            raise ValueError(f"index must be None, 'tbi' or 'csi', not {index!r}")
        self.config = get_config(preset)
        if isinstance(header, str):
            header = header.encode()
        header = bytes(header or b"")
        if header and not header.endswith(b"\n"):
            header += b"\n"
        if references is None and self.config.preset == 1:  # SAM text: lengths from @SQ
            references = _sq_lengths(header)
        self.references = [(str(n), int(l)) for n, l in (references or [])]
        self._lengths = dict(self.references)
        self._tids: dict[Any, int] = {}
        self._names: list[str] = []
        self._buffer: list[bytes] = []
        config = self.config
        # like tabix / bcftools, only VCF (##contig) and SAM (@SQ) lengths choose the CSI depth
        max_len = (max(self._lengths.values(), default=0) or None) if config.preset in (1, 2) else None

        def make_builder(kind: str, offset0: int):
            from .index import IndexBuilder

            if kind == "tbi":
                return IndexBuilder.tbi(config, offset0=offset0)
            return IndexBuilder.csi(min_shift=min_shift, max_ref_len=max_len, offset0=offset0,
                                    tabix=config)

        def save_index(builder, stream) -> None:
            if index == "tbi":
                builder.write_tbi(stream, self._names)
            else:
                builder.write_csi(stream, self._names)

        self._check_header(header)
        self.header = header.decode()
        self._out = IndexedOutput(target, compression=compression, level=level, threads=threads,
                                  index=index, index_path=index_path, make_builder=make_builder,
                                  save_index=save_index, references=self.references,
                                  content_head=header[:64] or None,
                                  metadata={"tabix": _conf_text(config)})
        self._out._late_references = lambda: [(n, self._lengths.get(n, 0)) for n in self._names]
        try:
            self._out.write_header(header)
        except BaseException:
            self._out.abort()
            raise

    def _check_header(self, header: bytes) -> None:
        meta = self.config.meta.encode()
        for number, line in enumerate(header.splitlines(), 1):
            if line and not line.startswith(meta):
                raise ValueError(f"header line {number} does not start with {meta.decode()!r}")

    def _to_line(self, record: Any) -> bytes:
        return _as_line(record)

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        kinds = set(map(type, batch))
        if kinds == {bytes} and all(line.endswith(b"\n") for line in batch):
            return batch
        if kinds == {str} and all(line.endswith("\n") for line in batch):
            return [line.encode() for line in batch]
        return None

    def _write_lines(self, lines: list[bytes]) -> None:
        from .index.tabix_conf import parse_lines

        out = self._out
        try:
            if out.compression is None:
                out.write_batch(b"".join(lines), np.fromiter(map(len, lines), np.int64,
                                                             len(lines)), None, None, None, None,
                                None)
                return
            first = out.n_records
            meta = self.config.meta.encode()
            if any(ln.startswith(meta) for ln in lines):  # meta lines mid-file: never indexed
                run: list[bytes] = []
                for ln in lines:
                    if ln.startswith(meta):
                        if run:
                            self._write_lines(run)
                            run = []
                        out.write_unindexed(ln)
                    else:
                        run.append(ln)
                if run:
                    self._write_lines(run)
                return
            if out.compression == "bgzf" and out.index_kind is None:  # nothing to index
                out.write_batch(b"".join(lines), np.fromiter(map(len, lines), np.int64,
                                                             len(lines)), None, None, None,
                                None, None)
                return
            data = b"".join(lines)
            sizes = np.fromiter(map(len, lines), np.int64, len(lines))
            if self.config.preset == 2:
                names, begs, ends = _vcf_intervals(self.config, data, sizes, lines, first + 1)
            else:
                names, begs, ends = parse_lines(self.config, [ln.rstrip(b"\r\n") for ln in lines],
                                                first + 1)
            tids = self._tids
            for name in dict.fromkeys(names):
                if name not in tids:
                    tids[name] = len(self._names)
                    self._names.append(name.decode() if isinstance(name, bytes) else name)
            tid = np.fromiter(map(tids.__getitem__, names), np.int64, len(names))
            out.write_batch(data, sizes, tid, np.asarray(begs, np.int64),
                            np.asarray(ends, np.int64), None,
                            lambda i: lines[i][:120].decode(errors="replace").rstrip())
        except BaseException:
            self.abort()
            raise




# --------------------------------------------------------------------------------------------
# tabix reader


def _detect(source: ByteSource) -> str:
    head = source.read_upto(0, 16)
    if head[:4] == BGZF_MAGIC:
        return "bgzf"
    from .bgzf2 import is_bgzf2

    if is_bgzf2(head):
        return "bgzf2"
    if head[:2] == b"\x1f\x8b":
        raise FormatError(f"{source.name}: plain gzip, not BGZF (recompress with bgzip)", 0)
    return "text"


class TabixReader:
    """Read bgzipped (or BGZF2, or plain) tab-separated text; fetch regions through its index.

    ``index``: a TBI/CSI path or source; by default ``x.gz.tbi`` / ``x.gz.csi`` next to the file
    is used when a region is first fetched (BGZF2 files need none). ``preset`` gives the column
    rules when there is no index to take them from.
    """

    def __init__(self, source: Any, index: Any = None, preset: Any = None):
        from .index.tabix_conf import get_config

        self._path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        self.source = open_source(source)
        self.container = _detect(self.source)
        self._index_source = index
        self._index = None
        self.config = get_config(preset) if preset is not None else None
        if self.container == "bgzf":
            from .bgzf import BgzfReader

            self._bgzf = BgzfReader(self.source)
        elif self.container == "bgzf2":
            from .bgzf2 import Bgzf2Reader

            self._bgzf2 = Bgzf2Reader(self.source)
            stored = (self._bgzf2.metadata or {}).get("tabix")
            if self.config is None and stored:
                try:
                    self.config = _conf_from_text(stored)
                except ValueError:
                    raise FormatError(f"{self.source.name}: bad tabix metadata {stored!r}") from None
        self._header: str | None = None

    @property
    def meta(self) -> bytes:
        """The meta (header / comment) character: from ``preset``, else the index, else '#'."""
        if self.config is None and self.container == "bgzf":
            try:
                self._load_index()
            except MissingIndexError:
                pass
        return (self.config.meta if self.config is not None else "#").encode()

    def _chunks(self) -> Iterator[bytes]:
        if self.container == "bgzf":
            for _address, data in self._bgzf.iter_blocks():
                yield data
        elif self.container == "bgzf2":
            yield from self._bgzf2.iter_frames()
        else:
            from .io.source import iter_chunks

            yield from iter_chunks(self.source)

    def _lines(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self._chunks():
            data = pending + chunk if pending else chunk
            lines = data.split(b"\n")
            pending = lines.pop()
            yield from lines
        if pending:
            yield pending

    @property
    def header(self) -> str:
        """The leading meta lines (with newlines)."""
        if self._header is None:
            meta = self.meta
            out = []
            for line in self._lines():
                if not line.startswith(meta):
                    break
                out.append(line.decode(errors="replace") + "\n")
            self._header = "".join(out)
        return self._header

    def __iter__(self) -> Iterator[str]:
        """Data lines (meta lines skipped), without newlines."""
        meta = self.meta
        for line in self._lines():
            if line and not line.startswith(meta):
                yield line.rstrip(b"\r").decode(errors="replace")

    def _load_index(self):
        if self._index is not None:
            return self._index
        from .index import read_index

        if self._index_source is None:
            self._index = load_index_near(self._path, [self._path + ".tbi", self._path + ".csi"]
                                          if self._path else [], "file")
        else:
            self._index = read_index(self._index_source)
        if self.config is None:
            conf = getattr(self._index, "tabix", None) or getattr(self._index, "config", None)
            if conf is not None:
                self.config = conf
        return self._index

    def fetch(self, chrom: str, start: int | None = None, end: int | None = None) -> Iterator[str]:
        """Data lines overlapping ``chrom:[start, end)`` (0-based, half-open)."""
        from .index.tabix_conf import parse_line
        from .vcf.end_rule import tabix_interval as vcf_interval

        beg = 0 if start is None else max(0, int(start))
        stop = (1 << 62) if end is None else int(end)
        if stop <= beg:
            return
        if self.container == "bgzf2":
            if self.config is None:
                raise MissingIndexError("this BGZF2 file does not say which columns hold "
                                        "positions; pass preset=")
            try:
                blobs = [data for _, data in self._bgzf2.fetch_runs(chrom, beg, stop)]
            except (KeyError, UnknownReferenceError):
                return
        elif self.container == "bgzf":
            index = self._load_index()
            names = list(getattr(index, "names", None) or [])
            if names and chrom not in names:
                return
            chunks = index.query(chrom, beg, min(stop, 1 << 40))
            if not chunks:
                return
            blobs = self._bgzf.read_ranges(list(chunks))
        else:
            raise MissingIndexError("plain text files cannot be fetched by region")
        conf = self.config
        meta = self.meta
        for blob in blobs:
            for line in blob.split(b"\n"):
                if not line or line.startswith(meta):
                    continue
                name, b, e = vcf_interval(line) if conf.preset == 2 else parse_line(conf, line)
                if name != chrom:
                    continue
                if b >= stop:
                    break
                if e > beg:
                    yield line.rstrip(b"\r").decode(errors="replace")

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> "TabixReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
