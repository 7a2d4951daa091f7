"""What a task reads through: a byte source of known size whose ``read_many`` is one request.

A partition's task must not pay for opening the file (a header read, a HEAD or ``info``): the
plan already knows the size and everything the header says. :class:`SpanSource` therefore
reads only what it is asked for, and turns a ``read_many`` into a single read of the hull of
the ranges (the ranges of one partition are adjacent by construction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

from ..io.source import ByteSource, is_url


class SpanSource(ByteSource):
    """``location`` (path or URL) of known ``size``; each read is one request."""

    def __init__(self, location: str, size: int, storage_options: dict | None = None,
                 **options: Any):
        super().__init__()
        self.name = location
        self._size = size
        self._backend: Any = None
        self._handle: Any = None
        if is_url(location):
            scheme = location.split("://", 1)[0].lower()
            if scheme in ("http", "https") and not storage_options:
                from ..io.http import HttpBackend

                self._backend = HttpBackend(location, **options)
            else:
                from ..io.fsspec_source import FsspecBackend

                self._backend = FsspecBackend(location, storage_options=storage_options, **options)
        else:
            self._handle = open(os.fspath(location), "rb")

    @property
    def size(self) -> int:
        return self._size

    def _read_raw(self, offset: int, length: int) -> bytes:
        self.stats.requests += 1
        self.stats.bytes_fetched += length
        if self._backend is not None:
            return self._backend.fetch(offset, offset + length)
        return os.pread(self._handle.fileno(), length, offset)

    def read_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        ranges = [(o, n) for o, n in ranges]
        if len(ranges) < 2:
            return [self.read(o, n) for o, n in ranges]
        lo = min(o for o, _ in ranges)
        hi = max(o + n for o, n in ranges)
        data = self.read(lo, hi - lo)
        return [data[o - lo:o - lo + n] for o, n in ranges]

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        if self._handle is not None:
            self._handle.close()


@dataclass(frozen=True)
class RangeTask:
    """Base of the per-partition tasks: where the file is and how big (no header re-read)."""

    location: str
    size: int
    storage_options: dict | None

    def open(self) -> SpanSource:
        return SpanSource(self.location, self.size, self.storage_options)

    def bgzf_bytes(self, part: Any) -> bytes:
        """The uncompressed records of a BGZF partition's voffset intervals (one read)."""
        from ..bgzf import BgzfReader

        with self.open() as src:
            return b"".join(BgzfReader(src).read_ranges(list(part.units)))


def run_shards(target: str, tmpdir: "str | None", parts: Sequence[Any], make_task: Any,
               empty: Any, finish: Any) -> int:
    """The shard workflow: a temporary directory next to ``target`` (or in ``tmpdir``), one
    ``make_task(shard_dir)`` call per partition computed by Dask (``empty(shard_dir)`` when
    there is none), then ``finish(results)`` on the client. Returns the shard count."""
    import shutil
    import tempfile

    import dask

    shard_dir = tempfile.mkdtemp(prefix=".shards-", dir=tmpdir or os.path.dirname(
        os.path.abspath(target)))
    try:
        task = make_task(shard_dir)
        results = (list(dask.compute(*[dask.delayed(task)(p) for p in parts])) if parts
                   else [empty(shard_dir)])
        finish(results)
        return len(results)
    finally:
        shutil.rmtree(shard_dir, ignore_errors=True)
