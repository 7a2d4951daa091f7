"""Recycled memory for the decoded blocks a reader caches.

The first touch of a fresh page costs a fault: measured ~1.9 us per 4 KiB on the project's
machines (a VM), ~10 us for the 20 KiB of columns kept per bigWig zoom block, a sixth of
inflating it. The C and Rust readers pay the same, but a reader that caches decoded blocks pays
it for all of them on every open. A reader therefore carves its cached columns out of 4 MiB
slabs that go back to a small process-wide pool when the reader is closed, so the next reader
(a script reopening a file per batch of windows, a service opening many tracks) reuses warm
pages. A slab that something outside the reader still points at is not recycled. The pool
holds at most 64 MiB; :func:`clear_pool` frees it.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

SLAB_BYTES = 4 << 20
POOL_SLABS = 16  # slabs kept between readers (64 MiB)
_ALIGN = 64

_pool: list[np.ndarray] = []
_pool_lock = threading.Lock()


class SlabArena:
    """Bump allocation of small arrays from pooled slabs, up to ``limit`` bytes per reader
    (then plain ``np.empty``): evicted blocks are not reused before :meth:`release`."""

    def __init__(self, limit: int):
        self.limit = limit
        self._slabs: list[np.ndarray] = []
        self._pos = SLAB_BYTES
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: "np.dtype | type") -> np.ndarray:
        dt = np.dtype(dtype)
        nbytes = dt.itemsize
        for n in shape:
            nbytes *= n
        with self._lock:
            if self._pos + nbytes > SLAB_BYTES:
                if nbytes > SLAB_BYTES // 8 or len(self._slabs) * SLAB_BYTES >= self.limit:
                    return np.empty(shape, dt)
                slab = _take_slab()
                self._slabs.append(slab)
                self._pos = -slab.ctypes.data % _ALIGN  # (the slab has _ALIGN spare bytes)
            pos = self._pos
            self._pos = pos + (nbytes + _ALIGN - 1) // _ALIGN * _ALIGN
            slab = self._slabs[-1]
        return slab[pos:pos + nbytes].view(dt).reshape(shape)

    def release(self) -> None:
        """Give the slabs back to the pool; call when nothing cached points into them."""
        with self._lock:
            slabs, self._slabs = self._slabs, []
            self._pos = SLAB_BYTES
        # what getrefcount says of an array held by one local name only (2 on CPython 3.11;
        # measured rather than assumed, since interpreters count borrowed references
        # differently): a slab counted no higher has no view left outside this arena
        probe = np.empty(0, np.uint8)
        unshared = sys.getrefcount(probe)
        while slabs:
            slab = slabs.pop()
            if sys.getrefcount(slab) <= unshared:
                with _pool_lock:
                    if len(_pool) < POOL_SLABS:
                        _pool.append(slab)
            del slab


def _take_slab() -> np.ndarray:
    with _pool_lock:
        if _pool:
            return _pool.pop()
    return np.empty(SLAB_BYTES + _ALIGN, np.uint8)


def clear_pool() -> int:
    """Free the pooled slabs (what closed readers left for the next one); returns how many
    bytes were held. For a long process that is done with bigWig/bigBed reading."""
    with _pool_lock:
        held = sum(slab.nbytes for slab in _pool)
        _pool.clear()
    return held
