"""``open_url``: a URL → a cached, request-counting :class:`~bioformats_ext.io.cache.CachedSource`.

``http://`` and ``https://`` use the standard-library client (:mod:`.http`); every other scheme
goes through fsspec (:mod:`.fsspec_source`).  Cache options (``block_size``, ``cache_size``,
``merge_gap``, ``max_readahead``) go to the cache; the rest (``timeout``, ``retries``, ``backoff``,
``max_retry_time``, ``headers``, ``allow_full_download``, ``max_full_download``,
``storage_options``, ...) to the backend.  An unknown option is a ``TypeError``.
"""

from __future__ import annotations

from typing import Any

from ..errors import RemoteError
from .cache import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_READAHEAD,
    DEFAULT_MERGE_GAP,
    CachedSource,
    RangeBackend,
)


def open_url(
    url: str,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    cache_size: int = DEFAULT_CACHE_SIZE,
    merge_gap: int = DEFAULT_MERGE_GAP,
    max_readahead: int = DEFAULT_MAX_READAHEAD,
    backend: str | None = None,
    **options: Any,
) -> CachedSource:
    """Open ``url`` for random access. ``backend="fsspec"`` forces fsspec for http(s) URLs too."""
    scheme = url.split("://", 1)[0].lower()
    impl: RangeBackend
    if scheme in ("http", "https") and backend in (None, "http"):
        from .http import HttpBackend

        impl = HttpBackend(url, **options)
    elif backend in (None, "fsspec"):
        if "headers" in options:
            raise TypeError("headers= applies to http(s) URLs; use storage_options for fsspec")
        from .fsspec_source import FsspecBackend

        impl = FsspecBackend(url, **options)
    else:
        raise RemoteError(f"unknown remote backend {backend!r} for {url}")
    try:
        return CachedSource(
            impl,
            block_size=block_size,
            cache_size=cache_size,
            merge_gap=merge_gap,
            max_readahead=max_readahead,
        )
    except BaseException:
        impl.close()
        raise
