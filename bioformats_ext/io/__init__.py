"""Byte sources (local files, file objects, HTTP(S), fsspec) with one read protocol."""

from .source import (
    ByteSource,
    BytesSource,
    FileObjectSource,
    LocalFileSource,
    SourceStats,
    is_url,
    open_first,
    open_source,
)

__all__ = [
    "ByteSource",
    "BytesSource",
    "FileObjectSource",
    "LocalFileSource",
    "SourceStats",
    "is_url",
    "open_first",
    "open_source",
]
