"""Per-frame metadata frames, and reading BGZF2 from a pipe while skipping frames by region.

With ``Bgzf2Writer(frame_metadata=True)`` every data frame is preceded by a skippable frame
(magic ``0x184D2A5C``, listed in the seek table like every other frame) holding key/value
pairs — the seed's "generic key-value pair mechanism" — for the records of the data frame that
follows::

    nrec_mapped=<n>  nrec_unmapped=<n>
    ref.<tid>=<start>,<end>,<mapped>,<unmapped>     (0-based half-open; tid -1 = unplaced)
    name.<tid>=<reference name>                     (when the writer knows the names)

Layout: ``[header][meta][pzstd][data][meta][pzstd][data]...[index][seek table]``. zstd
decoders skip the metadata frames; the pzstd frame still directly precedes its data frame;
the seek table lists every frame, so seekable readers work unchanged.

:func:`stream_frames` reads such a file front to back from any non-seekable source (a pipe,
a socket, stdin) and, given a region, skips — reads past without decompressing — every data
frame whose metadata says it holds no record there. Files without metadata frames stream too
(every frame is then decoded).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import zstandard

from ..errors import FormatError, TruncatedFileError
from .frames import PZSTD_MAGIC, ZSTD_MAGIC, parse_pzstd_frame, skippable_frame
from .index import decode_metadata, encode_metadata

FRAME_META_MAGIC = 0x184D2A5C
_HEAD = struct.Struct("<II")
MAX_META_FRAME = 16 << 20


def frame_meta_frame(state: dict[int, list[int]], names: "list[str] | None") -> bytes:
    """The metadata frame for one data frame's index state ``{tid: [beg, end, mapped, unmapped]}``."""
    meta: dict[str, str] = {
        "nrec_mapped": str(sum(v[2] for v in state.values())),
        "nrec_unmapped": str(sum(v[3] for v in state.values()))}
    for tid in sorted(state):
        beg, end, a, u = state[tid]
        meta[f"ref.{tid}"] = f"{beg},{end},{a},{u}"
        if names is not None and 0 <= tid < len(names):
            meta[f"name.{tid}"] = names[tid]
    return skippable_frame(FRAME_META_MAGIC, encode_metadata(meta))


@dataclass
class FrameMeta:
    """Parsed metadata of one data frame."""

    mapped: int = 0
    unmapped: int = 0
    ranges: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, payload: bytes, offset: int) -> "FrameMeta":
        raw = decode_metadata(payload, offset)
        out = cls()
        try:
            out.mapped = int(raw.get("nrec_mapped", 0))
            out.unmapped = int(raw.get("nrec_unmapped", 0))
            for key, value in raw.items():
                if key.startswith("ref."):
                    b, e, a, u = (int(x) for x in value.split(","))
                    out.ranges[int(key[4:])] = (b, e, a, u)
                elif key.startswith("name."):
                    out.names[int(key[5:])] = value
        except ValueError:
            raise FormatError("malformed BGZF2 frame metadata", offset) from None
        return out

    def may_overlap(self, contig: str, start: int, stop: int) -> bool:
        """False only when the metadata proves no record of this frame overlaps the region."""
        for tid, (b, e, _a, _u) in self.ranges.items():
            name = self.names.get(tid)
            if tid >= 0 and name is None:
                return True  # cannot tell which reference this is
            if name == contig and b < stop and e > start:
                return True
            if contig == "*" and tid < 0:
                return True
        return False


@dataclass
class StreamStats:
    frames: int = 0
    decoded: int = 0
    skipped: int = 0
    bytes_read: int = 0


def _read_exact(handle: BinaryIO, n: int, offset: int, what: str) -> bytes:
    chunks = []
    got = 0
    while got < n:
        chunk = handle.read(n - got)
        if not chunk:
            raise TruncatedFileError(f"stream ends inside {what}", offset + got)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def stream_frames(handle: BinaryIO, contig: str | None = None, start: int = 0,
                  stop: int | None = None, stats: StreamStats | None = None
                  ) -> Iterator[tuple[int, bytes]]:
    """``(data frame number, decoded bytes)`` of a BGZF2 stream read strictly front to back.

    With ``contig`` (``"*"`` for unplaced records), frames whose metadata frame shows no
    record overlapping ``contig:[start, stop)`` are read past without decompression; as with
    :meth:`Bgzf2Reader.fetch`, records inside a returned frame still need filtering.
    """
    stats = stats if stats is not None else StreamStats()
    stop_ = (1 << 62) if stop is None else stop
    dctx = zstandard.ZstdDecompressor()
    pos = 0
    frame_no = 0
    pending: FrameMeta | None = None
    while True:
        head = handle.read(8)
        if not head:
            return
        if len(head) < 8:
            head += _read_exact(handle, 8 - len(head), pos + len(head), "a frame header")
        magic, length = _HEAD.unpack(head)
        if magic == ZSTD_MAGIC:
            raise FormatError("zstd data frame without a preceding pzstd frame", pos)
        if magic & 0xFFFFFFF0 != 0x184D2A50:
            raise FormatError(f"not a BGZF2 stream (magic 0x{magic:08X})", pos)
        if magic == FRAME_META_MAGIC:
            if length > MAX_META_FRAME:
                raise FormatError(f"frame metadata of {length} bytes", pos)
            pending = FrameMeta.parse(_read_exact(handle, length, pos + 8, "frame metadata"),
                                      pos + 8)
            pos += 8 + length
            continue
        if magic == PZSTD_MAGIC:
            body = _read_exact(handle, length, pos + 8, "a pzstd frame")
            size = parse_pzstd_frame(head + body, pos)
            pos += 8 + length
            frame = _read_exact(handle, size, pos, "a data frame")
            stats.frames += 1
            stats.bytes_read += size
            skip = (contig is not None and pending is not None
                    and not pending.may_overlap(contig, start, stop_))
            if skip:
                stats.skipped += 1
            else:
                try:
                    data = dctx.decompress(frame)
                except zstandard.ZstdError as exc:
                    raise FormatError(f"data frame {frame_no}: corrupt zstd data ({exc})",
                                      pos) from None
                stats.decoded += 1
                yield frame_no, data
            pos += size
            frame_no += 1
            pending = None
            continue
        # the header, index and seek-table frames (and unknown skippable frames): read past
        remaining = length
        while remaining:  # in bounded pieces: a length field cannot make us allocate
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                raise TruncatedFileError("stream ends inside a skippable frame", pos)
            remaining -= len(chunk)
        pos += 8 + length
