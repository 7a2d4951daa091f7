"""Read BGZF2: stream, seek by uncompressed offset, and fetch frames by genomic region.

Opening costs at most two reads of the file's tail (seek table + index frame); a region query
then reads each contiguous run of overlapping frames with one range (all runs in one
``read_many`` call). Every frame read is checked against the tables before it is trusted:
pzstd size vs seek table, zstd frame extent, content size, checksum.
"""

from __future__ import annotations

import io
import os
import threading
from typing import BinaryIO, Iterator

import numpy as np
import zstandard

from ..compression import ordered_map
from ..errors import FormatError
from ..io.base import LineReader
from ..io.source import ByteSource, open_source
from ..reader_base import RegionReader
from ..sniff import sniff_container
from .frames import (EMPTY_CHECKSUM, INDEX_FOOTER_MAGIC, MAX_FRAME_SIZE,
                     PZSTD_FRAME_SIZE, SEEK_FOOTER_MAGIC, ZSTD_MAGIC, SeekTable,
                     parse_header_frame, parse_pzstd_frame, parse_seek_table, seek_table_size,
                     zstd_frame_info)
from .index import Bgzf2Index, Reference

TAIL_READ = 256 * 1024
STREAM_CHUNK = 8 << 20   # compressed bytes fetched per read while streaming


def _sniff(head: bytes) -> str:
    """What a file that is not a valid BGZF2 file looks like (for the error message)."""
    container = sniff_container(head)
    if container == "zstd":
        if head[:4] == ZSTD_MAGIC.to_bytes(4, "little"):
            return "a plain zstd stream"
        return "a zstd stream starting with a skippable frame"
    if container in ("gzip", "bgzf"):
        return "gzip/BGZF (use the BGZF reader)"
    if container == "bgzf2":
        return "a BGZF2 file without a valid seek table (truncated?)"
    return "not zstd"


class Bgzf2Reader(LineReader, RegionReader):
    """Random access to a BGZF2 file from anything :func:`~bioformats_ext.io.open_source` takes.

    Data frames are numbered 0..``n_frames``-1 (skippable frames are not counted). Genomic
    queries work at frame granularity: :meth:`fetch` returns whole frames, and filtering the
    records inside them is the caller's job (a frame may hold records outside the region).
    """

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | bytes | ByteSource",
                 threads: int = 1):
        self.source = open_source(source)
        self.threads = max(1, threads)
        self._local = threading.local()
        self._pos = 0
        self._cache: tuple[int, bytes] | None = None   # (data frame, decoded bytes)
        self._content_head: bytes | None = None
        self._open()

    # ------------------------------------------------------------------ opening
    def _not_bgzf2(self, why: str, offset: int | None = None) -> FormatError:
        head = self.source.read_upto(0, 12)
        if _sniff(head) in ("not zstd", "gzip/BGZF (use the BGZF reader)"):
            from ..sniff import describe, sniff

            return FormatError(f"{self.source.name} is {describe(sniff(self.source))}, not a "
                               f"BGZF2 file ({why})", offset)
        return FormatError(f"{self.source.name}: not BGZF2 ({why}); the file looks like "
                           f"{_sniff(head)}", offset)

    def _open(self) -> None:
        src = self.source
        size = src.size
        if size < 9:
            raise self._not_bgzf2("file is too short")
        tail_len = min(size, TAIL_READ)
        tail = src.read(size - tail_len, tail_len)
        if int.from_bytes(tail[-4:], "little") != SEEK_FOOTER_MAGIC:
            raise self._not_bgzf2("no zstd seek table at the end", size - 4)
        table_size, n, _ = seek_table_size(tail, size)
        # Where the index footer sits, and how many more tail bytes we need.
        need = table_size + 8
        if need <= tail_len:
            back, magic = np.frombuffer(tail, "<u4", 2, tail_len - need).tolist()
            if magic != INDEX_FOOTER_MAGIC:
                raise self._not_bgzf2("no BGZF2 index frame before the seek table",
                                      size - table_size - 4)
            if back > size - table_size:
                raise FormatError("BGZF2 index footer points before the start of the file",
                                  size - need)
            need = table_size + back
        else:
            need = 3 * table_size  # guess: the index is rarely larger than the seek table
        if need > tail_len:
            need = min(need, size)
            tail = src.read(size - need, need - tail_len) + tail
            tail_len = need
        self.seek_table = table = parse_seek_table(tail[tail_len - table_size:], size)
        self._check_layout(table)
        stride = self.frame_stride
        n_data = (len(table) - 2) // stride
        start = int(table.offsets[-2])
        index_len = int(table.compressed[-1])
        if size - start - table_size > tail_len - table_size:
            tail = src.read(start, size - table_size - start) + tail[tail_len - table_size:]
            tail_len = len(tail)
        frame = tail[tail_len - table_size - index_len:tail_len - table_size]
        self.index: Bgzf2Index = Bgzf2Index.from_frame(frame, start, n_data)
        if tail_len == size:
            self._content_head = parse_header_frame(tail[:int(table.compressed[0])])
        # Data frame i is seek-table frame stride * (i + 1); numpy views for the hot paths.
        data = slice(stride, -1, stride)
        self._coff = table.offsets[data]
        self._csize = table.compressed[data]
        self._usize = table.decompressed[data]
        self._ustart = table.uoffsets[data]
        self._checks = None if table.checksums is None else table.checksums[data]
        self.size = int(table.uoffsets[-1])
        self.n_frames = n_data

    def _check_layout(self, table: SeekTable) -> None:
        """Check the frame pattern; sets ``frame_stride``: 2 for ``[pzstd][data]`` pairs, 3
        when each pair is preceded by a per-frame metadata frame (``frame_metadata=True``)."""
        n = len(table)
        comp, decomp = table.compressed, table.decompressed
        stride = 3 if n >= 5 and int(comp[1]) != PZSTD_FRAME_SIZE else 2
        self.frame_stride = stride
        if n < 2 or (n - 2) % stride:
            raise FormatError(f"seek table lists {n} frames; a BGZF2 file has a header frame, "
                              "pzstd+data frame pairs (each optionally after a frame-metadata "
                              "frame) and an index frame", self.source.size)
        data_ix = np.arange(stride, n - 1, stride)
        skippable = np.setdiff1d(np.arange(n), data_ix)
        if decomp[skippable].any():
            raise FormatError("seek table gives a skippable frame a decompressed size",
                              self.source.size - table.size)
        if (comp[data_ix - 1] != PZSTD_FRAME_SIZE).any():
            bad = int(data_ix[np.flatnonzero(comp[data_ix - 1] != PZSTD_FRAME_SIZE)[0]] - 1)
            raise FormatError(f"seek table frame {bad} should be a {PZSTD_FRAME_SIZE}-byte "
                              "pzstd frame", int(table.offsets[bad]))
        if stride == 3 and (comp[data_ix - 2] < 8).any():
            raise FormatError("seek table has a frame-metadata frame shorter than 8 bytes",
                              self.source.size - table.size)
        data = comp[data_ix]
        if (data < 9).any() or (decomp[data_ix] > MAX_FRAME_SIZE).any():
            raise FormatError("seek table has an impossible data frame size",
                              self.source.size - table.size)
        empty = decomp[data_ix] == 0
        if empty.any():
            # Writers never cut an empty frame (BGZF2 has no EOF frame), and a reader seeking by
            # uncompressed offset would step over a frame the table says is empty: its bytes
            # would silently vanish from read(). So an empty data frame is corruption.
            bad = int(np.flatnonzero(empty)[0])
            raise FormatError(f"seek table gives data frame {bad} a decompressed size of 0 "
                              f"(its zstd frame is {int(data[bad])} bytes)",
                              int(table.offsets[data_ix[bad]]))
        if table.checksums is not None:
            if (table.checksums[skippable] != EMPTY_CHECKSUM).any():
                raise FormatError("seek table checksum of a skippable frame is not that of "
                                  "empty content", self.source.size - table.size)

    # ------------------------------------------------------------------ metadata
    @property
    def references(self) -> list[Reference]:
        return self.index.references

    @property
    def metadata(self) -> dict[str, str]:
        return self.index.metadata

    @property
    def content_head(self) -> bytes:
        """The verbatim first data bytes stored in the header frame (for type detection)."""
        if self._content_head is None:
            n = int(self.seek_table.compressed[0])
            self._content_head = parse_header_frame(self.source.read(0, n))
        return self._content_head

    # ------------------------------------------------------------------ frames
    def _decode(self, i: int, chunk: bytes | memoryview) -> bytes:
        """Validate and decompress data frame ``i`` given its pzstd frame + data frame bytes."""
        pzstd_off = int(self._coff[i]) - PZSTD_FRAME_SIZE
        csize = int(self._csize[i])
        usize = int(self._usize[i])
        if parse_pzstd_frame(chunk, pzstd_off) != csize:
            raise FormatError(f"frame {i}: pzstd frame announces "
                              f"{parse_pzstd_frame(chunk, pzstd_off)} bytes, seek table {csize}",
                              pzstd_off)
        frame = chunk[PZSTD_FRAME_SIZE:]
        offset = pzstd_off + PZSTD_FRAME_SIZE
        info = zstd_frame_info(frame, offset)
        if info.frame_size != csize:
            raise FormatError(f"frame {i}: zstd frame is {info.frame_size} bytes, seek table "
                              f"says {csize}", offset)
        if info.content_size != usize:
            raise FormatError(f"frame {i}: zstd content size {info.content_size} disagrees with "
                              f"the seek table ({usize})", offset)
        if usize > info.max_output:
            raise FormatError(f"frame {i}: content size {usize} impossible for its blocks",
                              offset)
        if self._checks is not None and info.checksum is not None \
                and info.checksum != int(self._checks[i]):
            raise FormatError(f"frame {i}: checksum 0x{info.checksum:08X} disagrees with the "
                              f"seek table (0x{int(self._checks[i]):08X})", offset)
        dctx = getattr(self._local, "dctx", None)
        if dctx is None:
            dctx = self._local.dctx = zstandard.ZstdDecompressor()
        try:
            data = dctx.decompress(frame)
        except zstandard.ZstdError as exc:
            raise FormatError(f"frame {i}: corrupt zstd data ({exc})", offset) from None
        if len(data) != usize:
            raise FormatError(f"frame {i}: decoded {len(data)} bytes, expected {usize}", offset)
        if self._checks is not None and info.checksum is None:
            # no frame checksum for libzstd to verify: hash the data against the seek table
            from .checksum import xxh64

            if xxh64(data) & 0xFFFFFFFF != int(self._checks[i]):
                raise FormatError(f"frame {i}: data does not match the seek-table checksum "
                                  f"0x{int(self._checks[i]):08X}", offset)
        return data

    def _extent(self, first: int, last: int) -> tuple[int, int]:
        """File range covering data frames ``first..last`` with their pzstd frames."""
        start = int(self._coff[first]) - PZSTD_FRAME_SIZE
        return start, int(self._coff[last] + self._csize[last]) - start

    def _runs(self, frames: list[int]) -> list[tuple[int, int]]:
        runs: list[tuple[int, int]] = []
        for f in frames:
            if runs and runs[-1][1] == f - 1:
                runs[-1] = (runs[-1][0], f)
            else:
                runs.append((f, f))
        return runs

    def _decode_runs(self, runs: list[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
        """Decoded frames of the given runs in order; one read per run, all in one read_many."""
        raw = self.source.read_many([self._extent(a, b) for a, b in runs])
        jobs = []
        for (first, last), blob in zip(runs, raw):
            view = memoryview(blob)
            base = int(self._coff[first]) - PZSTD_FRAME_SIZE
            for i in range(first, last + 1):
                s = int(self._coff[i]) - PZSTD_FRAME_SIZE - base
                jobs.append((i, view[s:s + PZSTD_FRAME_SIZE + int(self._csize[i])]))
        for i, data in zip((j[0] for j in jobs),
                           ordered_map(lambda job: self._decode(*job), jobs, self.threads)):
            yield i, data

    def read_frame(self, i: int) -> bytes:
        """Decompressed bytes of data frame ``i`` (validated)."""
        if not 0 <= i < self.n_frames:
            raise IndexError(f"data frame {i} out of range (0..{self.n_frames - 1})")
        if self._cache is not None and self._cache[0] == i:
            return self._cache[1]
        (_, data), = self._decode_runs([(i, i)])
        self._cache = (i, data)
        return data

    def iter_frames(self, first: int = 0, last: int | None = None) -> Iterator[bytes]:
        """Decoded data frames ``first..last`` in order, read in large batches."""
        last = self.n_frames - 1 if last is None else last
        i = first
        while i <= last:
            j = i
            budget = STREAM_CHUNK
            while j < last and budget > 0:
                budget -= int(self._csize[j]) + PZSTD_FRAME_SIZE
                j += 1
            for _, data in self._decode_runs([(i, j)]):
                yield data
            i = j + 1

    # ------------------------------------------------------------------ regions
    def frames_for(self, ref: str | int, start: int | None = None,
                   end: int | None = None) -> list[int]:
        """Data frames with records overlapping ``ref:[start, end)`` (0-based), from the index."""
        return self.index.frames_for(ref, start, end)

    def reference_lengths(self) -> dict[str, int | None]:
        return {ref.name: (ref.length or None) for ref in self.index.references}

    def _resolve(self, ref: "str | int | None", start: int | None, stop: int | None,
                 region: str | None) -> tuple["str | int", int | None, int | None]:
        """Named regions follow the shared rule (:mod:`bioformats_ext.reader_base`); a tid or
        ``"*"`` (unplaced records) is passed to the index as is."""
        if region is None and (isinstance(ref, (int, np.integer)) or ref == "*"):
            return ref, start, stop  # type: ignore[return-value]
        r = self.region(ref if isinstance(ref, str) else None, start, stop, region)
        return r.contig, r.start, r.stop

    def fetch_runs(self, ref: "str | int | None" = None, start: int | None = None,
                   end: int | None = None, region: str | None = None
                   ) -> Iterator[tuple[int, bytes]]:
        """``(uncompressed_offset, bytes)`` per contiguous run of overlapping frames."""
        key, start, end = self._resolve(ref, start, end, region)
        return self._fetch_runs(key, start, end)

    def _fetch_runs(self, ref: "str | int", start: int | None,
                    end: int | None) -> Iterator[tuple[int, bytes]]:
        runs = self._runs(self.frames_for(ref, start, end))
        if not runs:
            return
        decoded = self._decode_runs(runs)
        for first, last in runs:
            parts = [next(decoded)[1] for _ in range(first, last + 1)]
            yield int(self._ustart[first]), b"".join(parts)

    def fetch(self, ref: "str | int | None" = None, start: int | None = None,
              end: int | None = None, region: str | None = None) -> bytes:
        """Decompressed bytes of every frame overlapping the region, in file order.

        ``ref``/``start``/``end`` (0-based, half-open) or ``region`` (``"chr1:1,000-2,000"``);
        ``ref`` may also be a reference id or ``"*"`` for the unplaced records.

        Whole frames: records outside the region are included and must be filtered by the
        caller (who knows the record format). Frames start at record boundaries when the
        writer used ``write_record``.
        """
        return b"".join(data for _, data in self.fetch_runs(ref, start, end, region))

    # ------------------------------------------------------------------ stream interface
    def frame_at(self, offset: int) -> int:
        """Data frame holding uncompressed ``offset``."""
        return int(np.searchsorted(self._ustart, offset, side="right")) - 1

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.size
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        """Read ``n`` bytes (all remaining when negative) from the current position."""
        pos = self._pos
        end = self.size if n is None or n < 0 else min(self.size, pos + n)
        if pos >= end:
            return b""
        first, last = self.frame_at(pos), self.frame_at(end - 1)
        if first == last:
            data = self.read_frame(first)
            base = int(self._ustart[first])
            out = data[pos - base:end - base]
        else:
            parts = list(self.iter_frames(first, last))
            self._cache = (last, parts[-1])
            base = int(self._ustart[first])
            out = b"".join(parts)[pos - base:end - base]
        self._pos = end
        return out

    def readline(self) -> bytes:
        parts = []
        while self._pos < self.size:
            i = self.frame_at(self._pos)
            data = self.read_frame(i)
            base = int(self._ustart[i])
            nl = data.find(b"\n", self._pos - base)
            stop = len(data) if nl < 0 else nl + 1
            parts.append(data[self._pos - base:stop])
            self._pos = base + stop
            if nl >= 0:
                break
        return b"".join(parts)

    def close(self) -> None:
        self._closed = True
        self.source.close()
