"""Block codecs and the one helper that compresses blocks on threads.

Both container writers (BGZF, BGZF2) compress independent blocks, so they share this seam:
a codec is two functions (``compress(data) -> bytes``, ``decompress(data, size_hint) -> bytes``),
chosen once, and :func:`ordered_map` runs them on a thread pool while keeping output order.
zlib, isal, libdeflate and zstandard all release the GIL, so threads give real parallelism.
"""

from __future__ import annotations

import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class DeflateCodec:
    """Raw deflate (no zlib/gzip wrapper) plus CRC32: what a BGZF block needs."""

    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes, int], bytes]
    crc32: Callable[[bytes], int]


def _zlib_codec(level: int) -> DeflateCodec:
    def compress(data: bytes) -> bytes:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    def decompress(data: bytes, size_hint: int) -> bytes:
        return _bounded(zlib.decompressobj(-15), data, size_hint, zlib.error)

    return DeflateCodec("zlib", compress, decompress, zlib.crc32)


def _bounded(d: Any, data: bytes, size: int, error: type) -> bytes:
    """Inflate at most ``size`` bytes (a BGZF block's ISIZE): a stream that would inflate to
    more is an error, never a larger allocation (libdeflate behaves so by design)."""
    out = d.decompress(data, max(size, 1))
    if d.unconsumed_tail or not d.eof:
        raise error("deflate stream does not end at the declared size")
    return out


def _isal_codec(level: int) -> DeflateCodec:
    from isal import isal_zlib

    isal_level = min(max(level, 0), 3)  # isal has levels 0-3

    def compress(data: bytes) -> bytes:
        return isal_zlib.compress(data, isal_level, wbits=-15)

    def decompress(data: bytes, size_hint: int) -> bytes:
        return _bounded(isal_zlib.decompressobj(-15), data, size_hint, isal_zlib.error)

    return DeflateCodec("isal", compress, decompress, isal_zlib.crc32)


def _libdeflate_codec(level: int) -> DeflateCodec:
    import deflate

    ld_level = min(max(level, 1), 12)

    def compress(data: bytes) -> bytes:
        return deflate.deflate_compress(data, ld_level)

    def decompress(data: bytes, size_hint: int) -> bytes:
        return deflate.deflate_decompress(data, size_hint)

    return DeflateCodec("libdeflate", compress, decompress, deflate.crc32)


_DEFLATE_BACKENDS = {"zlib": _zlib_codec, "isal": _isal_codec, "libdeflate": _libdeflate_codec,
                     "deflate": _libdeflate_codec}


def available_deflate_backends() -> list[str]:
    """Backends importable here, fastest first."""
    names = []
    for name, module in (("libdeflate", "deflate"), ("isal", "isal")):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(name)
    names.append("zlib")
    return names


def deflate_codec(backend: str = "zlib", level: int = 6) -> DeflateCodec:
    """A raw-deflate codec. ``backend`` is ``zlib``, ``isal``, ``libdeflate`` or ``auto``."""
    if backend == "auto":
        backend = available_deflate_backends()[0]
    try:
        factory = _DEFLATE_BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown deflate backend {backend!r}; choose from "
                         f"{sorted(_DEFLATE_BACKENDS)} or 'auto'") from None
    return factory(level)


def ordered_map(func: Callable[[T], R], items: Iterable[T], threads: int = 1,
                lookahead: int | None = None) -> Iterator[R]:
    """``map(func, items)`` on ``threads`` threads, results in input order, bounded memory.

    At most ``lookahead`` (default ``4 * threads``) items are in flight, so a writer streaming
    gigabytes never queues more than a few blocks.
    """
    if threads <= 1:
        yield from map(func, items)
        return
    lookahead = lookahead or 4 * threads
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) >= lookahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class BlockCompressor:
    """Push-style companion of :func:`ordered_map` for writers that produce blocks one at a time.

    ``submit(data)`` queues a block; ``drain(block=False)`` yields finished results in order:
    all of them when ``block`` is true, otherwise those already done plus as many as needed to
    bring the in-flight count back to ``window`` (default ``2 * threads``). Collecting finished
    blocks without waiting lets the caller (holding the GIL while it prepares the next blocks)
    and the compressing threads (which release it) overlap; the window bounds memory to about
    ``window`` blocks. With one thread it compresses inline.
    """

    def __init__(self, func: Callable[[bytes], R], threads: int = 1, window: int | None = None):
        self._func = func
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self._threads) if self._threads > 1 else None
        self._pending: deque = deque()
        self._window = max(window or 0, 2 * self._threads)

    def submit(self, data: bytes) -> None:
        if self._pool is None:
            self._pending.append(self._func(data))
        else:
            self._pending.append(self._pool.submit(self._func, data))

    def drain(self, block: bool = False) -> Iterator[R]:
        pending = self._pending
        if self._pool is None:
            while pending:
                yield pending.popleft()
            return
        while pending and (block or len(pending) > self._window or pending[0].done()):
            yield pending.popleft().result()

    def map(self, blocks: list[bytes]) -> list[R]:
        """Compress all ``blocks`` in order (on the pool), independently of the queue."""
        if self._pool is None:
            return list(map(self._func, blocks))
        return list(self._pool.map(self._func, blocks))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
