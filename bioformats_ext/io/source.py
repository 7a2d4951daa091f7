"""Byte sources: the one seam every reader reads through.

:func:`open_source` turns a path, file object, bytes or URL into a
:class:`~bioformats_ext.io.base.ByteSource` (defined in :mod:`.base`, so the remote layer,
:mod:`.cache`, can build on the protocol without importing this module: no import cycle).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from ..errors import RemoteError
from .base import BytesSource, ByteSource, FileObjectSource, LocalFileSource, SourceStats

__all__ = ["ByteSource", "BytesSource", "FileObjectSource", "LocalFileSource", "SourceStats",
           "is_url", "open_source", "open_first", "iter_chunks"]


def is_url(value: object) -> bool:
    return isinstance(value, str) and "://" in value and not os.path.exists(value)


def open_source(source: Any, **options: Any) -> ByteSource:
    """Turn whatever the user gave us into a :class:`ByteSource`.

    Accepts an existing source (returned as is), a local path, a seekable binary file object, or a
    URL (``http(s)://`` via the standard library, anything else via fsspec; see
    :mod:`bioformats_ext.io.remote`). ``options`` are passed to remote sources.
    """
    if isinstance(source, ByteSource):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return BytesSource(bytes(source))
    if is_url(source):
        from .remote import open_url  # imported lazily: remote support is optional

        return open_url(str(source), **options)
    if isinstance(source, (str, os.PathLike)):
        return LocalFileSource(source)
    if hasattr(source, "read") and hasattr(source, "seek"):
        return FileObjectSource(source)
    raise TypeError(f"cannot read from {type(source).__name__}: give a path, URL or binary file object")


def open_first(candidates: Iterable["str | os.PathLike[str]"], **options) -> ByteSource | None:
    """Open the first candidate path or URL that exists (e.g. ``x.bam.bai``, ``x.bai``, ...).

    For a URL, finding out costs the same request that fetches its first block, so an index found
    this way costs no extra round trip. "Missing" is a 404/410 (or 403, which object stores send
    for absent keys without list permission); any other failure is raised.
    """
    for candidate in candidates:
        if is_url(candidate):
            try:
                return open_source(candidate, **options)
            except RemoteError as exc:
                if getattr(exc, "status", None) in (403, 404, 410):
                    continue
                raise
        elif os.path.exists(candidate):
            return open_source(candidate)
    return None


def iter_chunks(source: ByteSource, offset: int = 0, chunk_size: int = 1 << 20) -> Iterable[bytes]:
    """Stream a source from ``offset`` to its end in large pieces."""
    end = source.size
    while offset < end:
        n = min(chunk_size, end - offset)
        yield source.read(offset, n)
        offset += n


def skip_prefix(chunks: Iterable[bytes], skip: int) -> Iterator[bytes]:
    """``chunks`` without their first ``skip`` bytes: a record stream after its header, whose
    end may fall anywhere in a block."""
    for chunk in chunks:
        if skip:
            if len(chunk) <= skip:
                skip -= len(chunk)
                continue
            chunk = chunk[skip:]
            skip = 0
        yield chunk
