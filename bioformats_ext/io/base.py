"""The byte-source protocol and its in-process implementations (no remote code here).

A reader never opens a file itself; it asks a :class:`ByteSource` for byte ranges. Local files,
file objects and (see :mod:`bioformats_ext.io.http`) remote URLs all implement the same three
things, so remote support and request accounting live in one place.

``read(offset, length)`` returns *exactly* ``length`` bytes or raises
:class:`~bioformats_ext.errors.TruncatedFileError`: callers never check for short reads.
``read_many(ranges)`` lets a reader ask for everything a query needs in one call, which remote
sources turn into as few requests as possible.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Sequence

from ..errors import TruncatedFileError


@dataclass
class SourceStats:
    """What a source has cost so far: requests made and bytes fetched from the backing store."""

    requests: int = 0
    bytes_fetched: int = 0
    #: Requests that were repeats of a failed attempt (already included in ``requests``).
    retries: int = 0
    #: ``read``/``read_many`` calls answered from a cache without any request.
    cache_hits: int = 0

    def reset(self) -> None:
        self.requests = 0
        self.bytes_fetched = 0
        self.retries = 0
        self.cache_hits = 0


class ByteSource:
    """Random-access, read-only bytes. Subclasses implement :meth:`_read_raw` and :attr:`size`."""

    name: str = "<bytes>"

    def __init__(self) -> None:
        self.stats = SourceStats()

    @property
    def size(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_raw(self, offset: int, length: int) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``; a range past the end is a truncated file."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TruncatedFileError(
                f"{self.name}: needs bytes {offset}..{offset + length} but the file has "
                f"{self.size}",
                offset,
            )
        if length == 0:
            return b""
        data = self._read_raw(offset, length)
        if len(data) != length:
            raise TruncatedFileError(f"{self.name}: short read ({len(data)} of {length})", offset)
        return data

    def read_upto(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``, fewer at the end of the file (for speculative reads)."""
        length = max(0, min(length, self.size - offset))
        return self.read(offset, length)

    def read_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Bytes for each ``(offset, length)``; remote sources coalesce these into few requests."""
        return [self.read(offset, length) for offset, length in ranges]

    def read_into(self, offset: int, buffer: memoryview) -> None:
        """Fill ``buffer`` with the ``len(buffer)`` bytes at ``offset`` (same rules as
        :meth:`read`). For a hot loop of block reads: a local file fills a reused buffer with
        one ``preadv`` instead of allocating a fresh ``bytes`` each time, which was measured
        ~10 us per 22 KiB block (the new pages' faults) against ~2 us."""
        buffer[:] = self.read(offset, len(buffer))

    def close(self) -> None:
        pass

    def __enter__(self) -> "ByteSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileObjectSource(ByteSource):
    """A seekable binary file object. We do not close it unless we opened it."""

    def __init__(self, handle: BinaryIO, name: str | None = None, owned: bool = False):
        super().__init__()
        self._handle = handle
        self._owned = owned
        self._lock = threading.Lock()
        self.name = name or getattr(handle, "name", None) or "<file object>"
        if not isinstance(self.name, str):
            self.name = str(self.name)
        with self._lock:
            here = handle.tell()
            self._size = handle.seek(0, io.SEEK_END)
            handle.seek(here)
        self._fd: int | None = None  # set by LocalFileSource (a file object's fileno() may
        # not address the bytes its seek/read do: gzip.GzipFile)

    @property
    def size(self) -> int:
        return self._size

    def _read_raw(self, offset: int, length: int) -> bytes:
        with self._lock:
            self._handle.seek(offset)
            data = self._handle.read(length)
        self.stats.requests += 1
        self.stats.bytes_fetched += len(data)
        return data

    def read_into(self, offset: int, buffer: memoryview) -> None:
        length = len(buffer)
        fd = self._fd
        if fd is None or offset < 0 or offset + length > self.size or not length:
            buffer[:] = self.read(offset, length)  # its checks and typed errors
            return
        got = os.preadv(fd, [buffer], offset)  # no seek: no lock needed
        if got != length:
            raise TruncatedFileError(f"{self.name}: short read ({got} of {length})", offset)
        self.stats.requests += 1
        self.stats.bytes_fetched += got

    def close(self) -> None:
        self._fd = None  # its number may be reused by the next file opened
        if self._owned:
            self._handle.close()


class LocalFileSource(FileObjectSource):
    """A local path, opened unbuffered-ish: each read is one ``pread``-like seek+read."""

    def __init__(self, path: str | os.PathLike[str]):
        path = os.fspath(path)
        super().__init__(open(path, "rb"), name=path, owned=True)
        if hasattr(os, "preadv"):  # POSIX: positional reads for read_into
            self._fd = self._handle.fileno()


class BytesSource(ByteSource):
    """In-memory bytes (tests, and data already fetched whole)."""

    def __init__(self, data: bytes, name: str = "<bytes>"):
        super().__init__()
        self._data = memoryview(bytes(data))
        self.name = name

    @property
    def size(self) -> int:
        return len(self._data)

    def _read_raw(self, offset: int, length: int) -> bytes:
        self.stats.requests += 1
        self.stats.bytes_fetched += length
        return bytes(self._data[offset : offset + length])


class LineReader:
    """Line iteration for decompressing readers that implement ``readline()`` (BGZF, BGZF2),
    like a binary file."""

    def readline(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line
