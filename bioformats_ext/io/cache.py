"""Block cache with request coalescing, shared by every remote backend.

Remote reads cost round trips, not bytes, so :class:`CachedSource` turns whatever a reader asks for
into as few backend requests as possible:

* reads are widened to aligned blocks (``block_size``, default 64 KiB), so the small reads a
  parser makes near each other (header, then the structure it points to) hit the same block;
* blocks live in an LRU with a byte budget (``cache_size``), so a repeated query costs nothing;
* all missing blocks of one ``read``/``read_many`` call are grouped into runs of consecutive
  blocks, runs separated by at most ``merge_gap`` bytes are merged, and each run is one request;
* sequential misses grow a read-ahead window (up to ``max_readahead`` bytes), so streaming a whole
  file does not cost one request per block.

A backend (:class:`RangeBackend`) only has to learn the size and fetch one exact byte span per
request; it counts its requests in ``stats``, which the cached source shares, so
``source.stats.requests`` is what the reads really cost.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

from ..errors import RemoteError, TruncatedFileError
from .base import ByteSource, SourceStats

DEFAULT_BLOCK_SIZE = 64 * 1024
DEFAULT_CACHE_SIZE = 32 * 1024 * 1024
DEFAULT_MERGE_GAP = 128 * 1024
DEFAULT_MAX_READAHEAD = 4 * 1024 * 1024


class RangeBackend:
    """One remote object read by byte spans. Subclasses implement :meth:`open` and :meth:`fetch`."""

    name: str = "<remote>"

    def __init__(self) -> None:
        self.stats = SourceStats()

    def open(self, prefetch: int) -> tuple[int, bytes]:  # pragma: no cover - abstract
        """Return ``(size, head)``: the object's size and, when the request that learned the size
        could also carry them, up to ``prefetch`` bytes from offset 0 (else ``b""``)."""
        raise NotImplementedError

    def fetch(self, start: int, end: int) -> bytes:  # pragma: no cover - abstract
        """Exactly the bytes ``[start, end)``, or raise :class:`RemoteError`."""
        raise NotImplementedError

    def fetch_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several disjoint spans; backends that can run requests concurrently override this."""
        return [self.fetch(start, end) for start, end in spans]

    def close(self) -> None:
        pass


class CachedSource(ByteSource):
    """A :class:`ByteSource` over a :class:`RangeBackend`, with an aligned LRU block cache."""

    def __init__(
        self,
        backend: RangeBackend,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        merge_gap: int = DEFAULT_MERGE_GAP,
        max_readahead: int = DEFAULT_MAX_READAHEAD,
    ):
        super().__init__()
        if block_size < 1:
            raise ValueError(f"block_size must be positive, not {block_size}")
        if cache_size < 0 or merge_gap < 0 or max_readahead < 0:
            raise ValueError("cache_size, merge_gap and max_readahead must not be negative")
        self.backend = backend
        self.name = backend.name
        self.stats = backend.stats  # one set of counters: what the backend really did
        self.block_size = block_size
        self.cache_size = cache_size
        self._merge_blocks = merge_gap // block_size
        self._max_readahead_blocks = max_readahead // block_size
        self._readahead = 0
        self._next_block = -1  # first block after the last fetched run (sequential detection)
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.RLock()
        size, head = backend.open(block_size)
        self._size = size
        self._nblocks = -(-size // block_size)
        if head:
            self._store(self._split(0, head))
            self._next_block = len(head) // block_size  # reading on from the head is sequential

    # -- ByteSource protocol -------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def _read_raw(self, offset: int, length: int) -> bytes:
        return self.read_many([(offset, length)])[0]

    def read(self, offset: int, length: int) -> bytes:
        return self.read_many([(offset, length)])[0]

    def read_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Bytes for each ``(offset, length)``: every missing block of every range is fetched in
        one planning pass, so adjacent, overlapping and nearby ranges share requests."""
        ranges = [(int(offset), int(length)) for offset, length in ranges]
        for offset, length in ranges:
            if offset < 0 or length < 0 or offset + length > self._size:
                raise TruncatedFileError(
                    f"{self.name}: needs bytes {offset}..{offset + length} but the file has "
                    f"{self._size}",
                    offset,
                )
        bs = self.block_size
        needed: set[int] = set()
        for offset, length in ranges:
            if length:
                needed.update(range(offset // bs, (offset + length - 1) // bs + 1))
        with self._lock:
            have: dict[int, bytes] = {}
            missing = []
            for index in sorted(needed):
                block = self._blocks.get(index)
                if block is None:
                    missing.append(index)
                else:
                    self._blocks.move_to_end(index)
                    have[index] = block
            if missing:
                fetched = self._fetch_blocks(missing)
                have.update(fetched)
                self._store(fetched)
            elif needed:
                self.stats.cache_hits += 1
        return [self._assemble(have, offset, length) for offset, length in ranges]

    def close(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._cached_bytes = 0
        self.backend.close()

    @property
    def cached_bytes(self) -> int:
        """Bytes held in the block cache now (bounded by ``cache_size``)."""
        return self._cached_bytes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, size={self._size})"

    # -- internals -----------------------------------------------------------------------------

    def _plan(self, missing: list[int]) -> list[tuple[int, int]]:
        """Group sorted missing block indices into ``[first, stop)`` runs, merging small gaps."""
        runs: list[list[int]] = []
        for index in missing:
            if runs and index - runs[-1][1] <= self._merge_blocks:
                runs[-1][1] = index + 1
            else:
                runs.append([index, index + 1])
        # Sequential access (the read starts where the previous fetch ended) grows a read-ahead
        # window; anything else resets it.  Read-ahead adds bytes, never requests.
        if runs[0][0] == self._next_block and self._max_readahead_blocks:
            self._readahead = min(max(1, 2 * self._readahead), self._max_readahead_blocks)
            runs[-1][1] = min(runs[-1][1] + self._readahead, self._nblocks)
        else:
            self._readahead = 0
        self._next_block = runs[-1][1]
        return [(first, stop) for first, stop in runs]

    def _fetch_blocks(self, missing: list[int]) -> dict[int, bytes]:
        bs, size = self.block_size, self._size
        runs = self._plan(missing)
        spans = [(first * bs, min(stop * bs, size)) for first, stop in runs]
        datas = self.backend.fetch_many(spans)
        blocks: dict[int, bytes] = {}
        for (start, end), data in zip(spans, datas):
            if len(data) != end - start:  # a backend bug must never become wrong bytes
                raise RemoteError(
                    f"{self.name}: asked for bytes {start}..{end}, got {len(data)} bytes"
                )
            blocks.update(self._split(start, data))
        return blocks

    def _split(self, start: int, data: bytes) -> dict[int, bytes]:
        """Whole blocks contained in ``data`` (which starts at block-aligned ``start``)."""
        bs, size = self.block_size, self._size
        view = memoryview(data)
        blocks = {}
        first = start // bs
        for index in range(first, first + -(-len(data) // bs)):
            lo = index * bs - start
            hi = min((index + 1) * bs, size) - start
            if hi > len(data):
                break
            blocks[index] = data if (lo == 0 and hi == len(data)) else bytes(view[lo:hi])
        return blocks

    def _store(self, blocks: dict[int, bytes]) -> None:
        if not self.cache_size:
            return
        for index, block in blocks.items():
            old = self._blocks.pop(index, None)
            if old is not None:
                self._cached_bytes -= len(old)
            self._blocks[index] = block
            self._cached_bytes += len(block)
        while self._cached_bytes > self.cache_size and self._blocks:
            _, block = self._blocks.popitem(last=False)
            self._cached_bytes -= len(block)

    def _assemble(self, have: dict[int, bytes], offset: int, length: int) -> bytes:
        if not length:
            return b""
        bs = self.block_size
        first, last = offset // bs, (offset + length - 1) // bs
        lo = offset - first * bs
        if first == last:
            block = have[first]
            return block if (lo == 0 and length == len(block)) else block[lo : lo + length]
        parts: list[bytes | memoryview] = [memoryview(have[first])[lo:]]
        parts.extend(have[index] for index in range(first + 1, last))
        parts.append(memoryview(have[last])[: offset + length - last * bs])
        return b"".join(parts)
