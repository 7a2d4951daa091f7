"""The BGZF2 index frame: which data frames hold records on which reference ranges.

Layout (all little-endian; see ``docs/bgzf2.md`` for our reading of the seed's open points)::

    u32 0x184D2A5B | u32 length | u8 index flags (bit 0: zstd-compressed) | payload |
    u32 distance back to the start of this frame | u32 0x8F92EABB

The payload, once decompressed::

    u8 global flags (bit 0 aligned, bit 1 sorted) | u32 NR | u32 NI | u32 MDG | MDG bytes
    NR x  u8 flag (bit 0 long) | u32/u64 length | name NUL | u32 NI offset | u32 NI bytes |
          u32 MD | MD bytes
    NI x  u8 flag (bit 0 multi-ref, bit 1 no placed records, bit 2 multi-ref mapped) | u32 NIR |
          NIR x (u32 ref (0xFFFFFFFF = unplaced) | u32/u64 start | u32/u64 span |
                 u32 aligned | u32 unaligned)

Queries use a nested containment list per reference (the seed's suggestion): frames holding
long records simply nest, so a query costs a binary search plus the hits.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
import zstandard

from ..errors import FormatError, TruncatedFileError, UnknownReferenceError
from .frames import BGZF2_MAGIC, INDEX_FOOTER_MAGIC, zstd_frame_info

UNPLACED = 0xFFFFFFFF
_HEAD = struct.Struct("<BIII")
_SKIP_HEAD = struct.Struct("<II")
_FOOTER = struct.Struct("<II")
_U32 = struct.Struct("<I")
_ITEM4 = struct.Struct("<IIIII")
_ITEM8 = struct.Struct("<IQQII")
_LONG = 1 << 32


@dataclass
class Reference:
    """A reference sequence as the index frame records it."""

    name: str
    length: int
    metadata: dict[str, str] = field(default_factory=dict)
    long: bool = False             # coordinates stored as 64-bit
    ni_offset: int = 0             # byte range of its entries in the per-frame table
    ni_bytes: int = 0


def encode_metadata(metadata: dict[str, str] | None) -> bytes:
    out = bytearray()
    for key, value in (metadata or {}).items():
        k, v = str(key).encode(), str(value).encode()
        if b"\0" in k or b"\0" in v:
            raise ValueError(f"metadata key/value may not contain NUL: {key!r}")
        out += k + b"\0" + v + b"\0"
    return bytes(out)


def decode_metadata(raw: bytes, offset: int) -> dict[str, str]:
    if not raw:
        return {}
    if not raw.endswith(b"\0"):
        raise FormatError("index metadata is not NUL-terminated", offset)
    parts = raw[:-1].split(b"\0")
    if len(parts) % 2:
        raise FormatError("index metadata has a key without a value", offset)
    try:
        return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts), 2)}
    except UnicodeDecodeError:
        raise FormatError("index metadata is not UTF-8", offset) from None


class NCList:
    """Nested containment list over half-open intervals; :meth:`overlap` returns their values."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, values: np.ndarray):
        order = np.lexsort((-ends, starts))
        lists: dict[int, tuple[list, list, list]] = {}
        stack: list[int] = []
        for node in order.tolist():
            end = ends[node]
            while stack and ends[stack[-1]] < end:
                stack.pop()
            parent = stack[-1] if stack else -1
            entry = lists.get(parent)
            if entry is None:
                entry = lists[parent] = ([], [], [])
            entry[0].append(int(starts[node]))
            entry[1].append(int(end))
            entry[2].append(node)
            stack.append(node)
        self._lists = lists
        self._values = values.tolist()

    def overlap(self, start: int, end: int) -> list:
        out = []
        todo = [-1]
        lists = self._lists
        while todo:
            entry = lists.get(todo.pop())
            if entry is None:
                continue
            starts, ends, nodes = entry
            i = bisect_right(ends, start)
            while i < len(nodes) and starts[i] < end:
                out.append(self._values[nodes[i]])
                if nodes[i] in lists:
                    todo.append(nodes[i])
                i += 1
        return out


class Bgzf2Index:
    """The parsed (or built) index: references, global metadata and one entry per data frame.

    Per-frame items are parallel numpy arrays (``item_frame``, ``item_tid`` with -1 for
    unplaced, ``item_start``, ``item_end`` (0-based, end exclusive), ``item_aligned``,
    ``item_unaligned``); ``frame_flags`` holds each entry's flag byte.
    """

    def __init__(self, references: list[Reference], n_frames: int, *, aligned: bool = True,
                 sorted: bool = True, metadata: dict[str, str] | None = None,
                 frame_flags: np.ndarray | None = None, items: dict[str, np.ndarray] | None = None):
        self.references = references
        self.n_frames = n_frames
        self.aligned = aligned
        self.sorted = sorted
        self.metadata = dict(metadata or {})
        self.frame_flags = (frame_flags if frame_flags is not None
                            else np.zeros(n_frames, dtype=np.uint8))
        empty = np.zeros(0, dtype=np.int64)
        items = items or {}
        self.item_frame = items.get("frame", empty)
        self.item_tid = items.get("tid", empty)
        self.item_start = items.get("start", empty)
        self.item_end = items.get("end", empty)
        self.item_aligned = items.get("aligned", empty)
        self.item_unaligned = items.get("unaligned", empty)
        self._names = {ref.name: i for i, ref in enumerate(references)}
        self._nclists: dict[int, NCList] = {}

    # ------------------------------------------------------------------ queries
    def tid(self, ref: str | int) -> int:
        if isinstance(ref, (int, np.integer)):
            if not -1 <= ref < len(self.references):
                raise UnknownReferenceError(f"reference id {ref} out of range")
            return int(ref)
        if ref == "*":
            return -1
        try:
            return self._names[ref]
        except KeyError:
            raise UnknownReferenceError(f"reference {ref!r} is not in this BGZF2 index") from None

    def frames_for(self, ref: str | int, start: int | None = None,
                   end: int | None = None) -> list[int]:
        """Sorted data-frame numbers with records overlapping ``ref:[start, end)`` (0-based).

        ``ref`` ``"*"`` / ``-1`` gives the frames holding unplaced records.
        """
        tid = self.tid(ref)
        if tid == -1:
            hits = self.item_frame[self.item_tid == -1]
            # A frame flagged "no placed records" may hold unplaced records whose per-frame
            # counts the layout does not keep; include it unless it holds nothing but pushes
            # onto references (impossible by construction).
            nothing_placed = np.flatnonzero(self.frame_flags & 2)
            return sorted(set(hits.tolist()) | set(nothing_placed.tolist()))
        start = 0 if start is None else max(0, int(start))
        end = (1 << 63) - 1 if end is None else int(end)
        if end <= start:
            end = start + 1
        nclist = self._nclists.get(tid)
        if nclist is None:
            mask = self.item_tid == tid
            nclist = self._nclists[tid] = NCList(self.item_start[mask], self.item_end[mask],
                                                 self.item_frame[mask])
        return sorted(set(nclist.overlap(start, end)))

    def counts(self, ref: str | int | None = None) -> tuple[int, int]:
        """``(aligned, unaligned)`` record counts for a reference, or for all placed items."""
        mask = slice(None) if ref is None else (self.item_tid == self.tid(ref))
        return int(self.item_aligned[mask].sum()), int(self.item_unaligned[mask].sum())

    # ------------------------------------------------------------------ bytes
    def payload(self) -> bytes:
        """The uncompressed index payload (global header, references, per-frame table)."""
        refs = self.references
        long_tids = {i for i, r in enumerate(refs) if r.long}
        order = np.lexsort((self.item_tid, self.item_frame))
        frames = self.item_frame[order].tolist()
        cols = [self.item_tid[order].tolist(), self.item_start[order].tolist(),
                self.item_end[order].tolist(), self.item_aligned[order].tolist(),
                self.item_unaligned[order].tolist()]
        table = bytearray()
        first = [-1] * len(refs)
        last = [0] * len(refs)
        k = 0
        n_items = len(frames)
        for frame in range(self.n_frames):
            flag = int(self.frame_flags[frame])
            j = k
            while j < n_items and frames[j] == frame:
                j += 1
            entry_start = len(table)
            nir = 0 if flag & 2 else (j - k)
            table += bytes((flag,)) + _U32.pack(nir)
            if nir:
                for m in range(k, j):
                    tid, s, e, a, u = (cols[0][m], cols[1][m], cols[2][m], cols[3][m],
                                       cols[4][m])
                    item = _ITEM8 if tid in long_tids else _ITEM4
                    if tid < 0:
                        tid, s, e = UNPLACED, 0, 0
                    table += item.pack(tid, s, e - s, a, u)
            entry_end = len(table)
            if nir:
                for m in range(k, j):
                    tid = cols[0][m]
                    if tid >= 0:
                        if first[tid] < 0:
                            first[tid] = entry_start
                        last[tid] = entry_end
            k = j
        head = bytearray()
        mdg = encode_metadata(self.metadata)
        gflags = (1 if self.aligned else 0) | (2 if self.sorted else 0)
        head += _HEAD.pack(gflags, len(refs), self.n_frames, len(mdg)) + mdg
        for i, ref in enumerate(refs):
            md = encode_metadata(ref.metadata)
            ref.ni_offset = max(first[i], 0)
            ref.ni_bytes = last[i] - first[i] if first[i] >= 0 else 0
            head += bytes((1 if ref.long else 0,))
            head += struct.pack("<Q" if ref.long else "<I", ref.length)
            head += ref.name.encode() + b"\0"
            head += struct.pack("<III", ref.ni_offset, ref.ni_bytes, len(md)) + md
        return bytes(head + table)

    def to_frame(self, level: int = 3) -> bytes:
        """The complete BGZF2 index skippable frame; zstd-compressed when that is smaller."""
        raw = self.payload()
        packed = zstandard.ZstdCompressor(level=max(level, 3), write_checksum=True,
                                          write_content_size=True).compress(raw)
        flag, body = (1, packed) if len(packed) < len(raw) else (0, raw)
        total = 8 + 1 + len(body) + 8
        return (_SKIP_HEAD.pack(BGZF2_MAGIC, total - 8) + bytes((flag,)) + body
                + _FOOTER.pack(total, INDEX_FOOTER_MAGIC))

    @classmethod
    def from_frame(cls, frame: bytes, offset: int, n_data_frames: int) -> "Bgzf2Index":
        """Parse and validate a whole index frame located at file ``offset``."""
        size = len(frame)
        if size < 17:
            raise TruncatedFileError("BGZF2 index frame is too short", offset)
        magic, length = _SKIP_HEAD.unpack_from(frame, 0)
        back, fmagic = _FOOTER.unpack_from(frame, size - 8)
        if magic != BGZF2_MAGIC or fmagic != INDEX_FOOTER_MAGIC:
            raise FormatError("not a BGZF2 index frame (bad magic numbers); is this a plain "
                              "seekable zstd file?", offset)
        if length != size - 8 or back != size:
            raise FormatError(f"BGZF2 index frame sizes disagree (length {length}, footer "
                              f"{back}, seek table {size})", offset)
        flag = frame[8]
        if flag & 0xFE:
            raise FormatError(f"BGZF2 index flags have reserved bits set (0x{flag:02X})",
                              offset + 8)
        body = frame[9:size - 8]
        if flag & 1:
            info = zstd_frame_info(body, offset + 9)
            if info.frame_size != len(body) or info.content_size is None \
                    or info.content_size > info.max_output:
                raise FormatError("compressed BGZF2 index has inconsistent zstd framing",
                                  offset + 9)
            try:
                body = zstandard.ZstdDecompressor().decompress(body)
            except zstandard.ZstdError as exc:
                raise FormatError(f"compressed BGZF2 index is corrupt: {exc}", offset + 9) \
                    from None
            if len(body) != info.content_size:
                raise FormatError("compressed BGZF2 index decodes to the wrong size", offset + 9)
        try:
            return cls._parse_payload(body, offset + 9, n_data_frames)
        except (struct.error, IndexError, ValueError) as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"BGZF2 index payload is corrupt: {exc}", offset + 9) from None

    @classmethod
    def _parse_payload(cls, data: bytes, base: int, n_data_frames: int) -> "Bgzf2Index":
        end = len(data)

        def need(pos: int, n: int) -> None:
            if pos + n > end:
                raise FormatError(f"BGZF2 index payload ends early ({end} bytes)", base + pos)

        need(0, _HEAD.size)
        gflags, nr, ni, mdg = _HEAD.unpack_from(data, 0)
        if gflags & 0xFC:
            raise FormatError(f"BGZF2 index global flags have reserved bits (0x{gflags:02X})",
                              base)
        if ni != n_data_frames:
            raise FormatError(f"BGZF2 index lists {ni} frames but the seek table has "
                              f"{n_data_frames} data frames", base)
        if nr * 18 > end or ni * 5 > end:
            raise FormatError(f"BGZF2 index declares {nr} references / {ni} frames, more than "
                              f"its {end} bytes can hold", base)
        pos = _HEAD.size
        need(pos, mdg)
        metadata = decode_metadata(data[pos:pos + mdg], base + pos)
        pos += mdg
        refs: list[Reference] = []
        for _ in range(nr):
            need(pos, 1)
            rflag = data[pos]
            if rflag & 0xFE:
                raise FormatError("reference flags have reserved bits set", base + pos)
            long = bool(rflag & 1)
            width = 8 if long else 4
            need(pos + 1, width)
            length = int.from_bytes(data[pos + 1:pos + 1 + width], "little")
            pos += 1 + width
            nul = data.find(b"\0", pos)
            if nul < 0:
                raise FormatError("reference name is not NUL-terminated", base + pos)
            try:
                name = data[pos:nul].decode()
            except UnicodeDecodeError:
                raise FormatError("reference name is not UTF-8", base + pos) from None
            pos = nul + 1
            need(pos, 12)
            ni_off, ni_bytes, md = struct.unpack_from("<III", data, pos)
            pos += 12
            need(pos, md)
            refs.append(Reference(name, length, decode_metadata(data[pos:pos + md], base + pos),
                                  long, ni_off, ni_bytes))
            pos += md
        long_tids = {i for i, r in enumerate(refs) if r.long}
        flags = np.zeros(ni, dtype=np.uint8)
        cols: list[list[int]] = [[], [], [], [], [], []]
        table_start = pos
        for frame in range(ni):
            need(pos, 5)
            flag = data[pos]
            nir = _U32.unpack_from(data, pos + 1)[0]
            if flag & 0xF8:
                raise FormatError("index entry flags have reserved bits set", base + pos)
            if (flag & 2 and nir) or (nir > 1 and not flag & 4) or (flag & 4 and nir < 2):
                raise FormatError(f"index entry {frame}: {nir} references contradicts flags "
                                  f"0x{flag:02X}", base + pos)
            if nir * 20 > end - pos:
                raise FormatError(f"index entry {frame} declares {nir} references, past the "
                                  "end of the index", base + pos)
            flags[frame] = flag
            pos += 5
            for _ in range(nir):
                need(pos, 4)
                tid = _U32.unpack_from(data, pos)[0]
                if tid != UNPLACED and tid >= nr:
                    raise FormatError(f"index entry {frame} names reference {tid} of {nr}",
                                      base + pos)
                item = _ITEM8 if tid in long_tids else _ITEM4
                need(pos, item.size)
                _, start, span, aligned, unaligned = item.unpack_from(data, pos)
                pos += item.size
                cols[0].append(frame)
                cols[1].append(-1 if tid == UNPLACED else tid)
                cols[2].append(start)
                cols[3].append(start + span)
                cols[4].append(aligned)
                cols[5].append(unaligned)
        if pos != end:
            raise FormatError(f"BGZF2 index has {end - pos} unexplained trailing bytes",
                              base + pos)
        table_bytes = end - table_start
        for ref in refs:
            if ref.ni_offset + ref.ni_bytes > table_bytes:
                raise FormatError(f"reference {ref.name!r} points past the frame table", base)
        arrays = {k: np.array(v, dtype=np.int64) for k, v in
                  zip(("frame", "tid", "start", "end", "aligned", "unaligned"), cols)}
        return cls(refs, ni, aligned=bool(gflags & 1), sorted=bool(gflags & 2),
                   metadata=metadata, frame_flags=flags, items=arrays)


class FrameIndexBuilder:
    """Collects pushes per data frame while writing; :meth:`finish` makes a :class:`Bgzf2Index`.

    ``add(frame, tid, beg, end, mapped)`` is the hot path (one call per record), so a frame's
    state is a small dict ``tid -> [beg, end, aligned, unaligned]``.
    """

    def __init__(self) -> None:
        self.frames: list[dict[int, list[int]]] = []

    def frame(self, i: int) -> dict[int, list[int]]:
        while len(self.frames) <= i:
            self.frames.append({})
        return self.frames[i]

    def finish(self, n_frames: int, references: list[tuple[str, int]] | None, aligned: bool,
               is_sorted: bool, metadata: dict[str, str] | None) -> Bgzf2Index:
        if n_frames:
            self.frame(n_frames - 1)
        cols: list[list[int]] = [[], [], [], [], [], []]
        flags = np.zeros(n_frames, dtype=np.uint8)
        max_end: dict[int, int] = {}
        totals: dict[int, list[int]] = {}
        for frame, state in enumerate(self.frames[:n_frames]):
            placed = [t for t in state if t >= 0]
            if not aligned or not placed:
                flags[frame] = 2
            elif len(state) > 1:
                flags[frame] = 1 | 4
            for tid, (beg, end, a, u) in sorted(state.items()):
                tot = totals.setdefault(tid, [0, 0])
                tot[0] += a
                tot[1] += u
                if tid >= 0 and end > max_end.get(tid, -1):
                    max_end[tid] = end
                if flags[frame] & 2:
                    continue
                for col, value in zip(cols, (frame, tid, beg, end, a, u)):
                    col.append(value)
        refs: list[Reference] = []
        if references is None:
            n_refs = max(max_end) + 1 if max_end else 0
            references = [(str(i), max_end.get(i, 0)) for i in range(n_refs)]
        for tid, (name, length) in enumerate(references):
            ref_max = max(length, max_end.get(tid, 0))
            a, u = totals.get(tid, (0, 0))
            refs.append(Reference(str(name), int(length), {"nrec_mapped": str(a),
                                                           "nrec_unmapped": str(u)},
                                  long=ref_max >= _LONG))
        meta = {"nrec_mapped": str(sum(t[0] for t in totals.values())),
                "nrec_unmapped": str(sum(t[1] for t in totals.values()))}
        meta.update(metadata or {})
        arrays = {k: np.array(v, dtype=np.int64) for k, v in
                  zip(("frame", "tid", "start", "end", "aligned", "unaligned"), cols)}
        return Bgzf2Index(refs, n_frames, aligned=aligned, sorted=is_sorted, metadata=meta,
                          frame_flags=flags, items=arrays)
