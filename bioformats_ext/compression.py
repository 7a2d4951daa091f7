"""Threaded block compression: the one helper both container writers and bigBed use.

Writers compress independent blocks, so :func:`ordered_map` / :class:`BlockCompressor` run a
codec (:mod:`bioformats_ext.codec`, or zstandard) on a thread pool while keeping output order.
zlib, isal, libdeflate and zstandard all release the GIL, so threads give real parallelism.
The codec names are re-exported here for existing callers.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from .codec import DeflateCodec, available_deflate_backends, deflate_codec

__all__ = ["DeflateCodec", "available_deflate_backends", "deflate_codec", "ordered_map",
           "BlockCompressor"]

T = TypeVar("T")
R = TypeVar("R")


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


class BlockCompressor(Generic[R]):
    """Push-style companion of :func:`ordered_map` for writers that produce blocks one at a time.

    ``submit(data)`` queues a block; ``drain(block=False)`` yields finished results in order:
    all of them when ``block`` is true, otherwise those already done plus as many as needed to
    bring the in-flight count back to ``window`` (default ``2 * threads``). With one thread it
    compresses inline.

    ``threads`` counts the caller: ``threads - 1`` pool threads compress while the caller (who
    holds the GIL while it parses and encodes the next batch) keeps producing: a pipeline, not a
    pool competing with its producer for the cores. When the caller would otherwise wait (the
    window is full, or at the end) it compresses queued blocks itself, taking the oldest one the
    pool has not started, so waiting never idles a thread. zlib, isal, libdeflate and zstandard
    release the GIL, so the stages really run in parallel.
    """

    def __init__(self, func: Callable[[bytes], R], threads: int = 1, window: int | None = None):
        self._func = func
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self._threads - 1) if self._threads > 1 else None
        self._pending: deque = deque()   # (future, data) in submission order
        self._window = max(window or 0, 2 * self._threads)

    def submit(self, data: bytes) -> None:
        if self._pool is None:
            self._pending.append((None, self._func(data)))
        else:
            self._pending.append((self._pool.submit(self._func, data), data))

    def _result(self, future: "Future[R]", data: bytes) -> R:
        """The head block's result: compressed here if the pool has not started it; while the
        pool works on it, later queued blocks are compressed here instead of waiting."""
        if future.done():
            return future.result()
        if future.cancel():
            return self._func(data)
        pending = self._pending
        while not future.done():
            for k, (later, later_data) in enumerate(pending):
                if later.cancel():
                    stolen: Future = Future()
                    stolen.set_result(self._func(later_data))
                    pending[k] = (stolen, later_data)
                    break
            else:
                break  # nothing left to take: wait
        return future.result()

    def drain(self, block: bool = False) -> Iterator[R]:
        pending = self._pending
        if self._pool is None:
            while pending:
                yield pending.popleft()[1]
            return
        while pending and (block or len(pending) > self._window or pending[0][0].done()):
            future, data = pending.popleft()
            yield self._result(future, data)

    def map(self, blocks: list[bytes]) -> list[R]:
        """Compress all ``blocks`` in order (on the pool and this thread), independently of the
        queue."""
        if self._pool is None:
            return list(map(self._func, blocks))
        jobs = [(self._pool.submit(self._func, b), b) for b in blocks]
        return [self._result(f, b) for f, b in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
