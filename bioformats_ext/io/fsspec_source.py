"""Any fsspec URL (``s3://``, ``gs://``, ``az://``, ``memory://``, ...) as a range backend.

fsspec is optional (the ``remote`` extra); without it these URLs raise a clear
:class:`RemoteError`.  Each span is one ``cat_file`` call (one ranged GET on object stores); several
spans of one ``read_many`` go through ``cat_ranges``, which async filesystems (s3fs, gcsfs) run
concurrently.  Opening costs one ``info`` call (a ``HEAD`` on object stores).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..errors import RemoteError
from .cache import RangeBackend
from .retry import Retrier, RetrySettings, TransientError

# Errors that retrying cannot fix.
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


class FsspecBackend(RangeBackend, RetrySettings):
    """A file behind an fsspec filesystem."""

    def __init__(
        self,
        url: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        retries: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_retry_time: float = 60.0,
        timeout: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        super().__init__()
        try:
            import fsspec
        except ImportError as exc:
            raise RemoteError(
                f"reading {url!r} needs fsspec (pip install 'bioformats-ext[remote]' plus the "
                "filesystem's package, e.g. s3fs or gcsfs)"
            ) from exc
        self.name = url
        self.init_retries(retries, backoff, max_backoff, max_retry_time, clock, sleep)
        self.timeout = timeout  # fsspec filesystems use their own timeouts (storage_options)
        try:
            self.fs, self.path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise RemoteError(f"{url}: no usable fsspec filesystem: {exc}") from exc
        self._etag = None

    def _call(self, what: str, func, *args, **kwargs):
        retrier = Retrier(self, what)
        while True:
            try:
                return func(*args, **kwargs)
            except _PERMANENT as exc:
                error = RemoteError(f"{self.name}: {type(exc).__name__}: {exc}")
                error.status = 404 if isinstance(exc, FileNotFoundError) else 403
                raise error from exc
            except (OSError, TimeoutError, ConnectionError) as exc:
                retrier.failed(TransientError(f"{type(exc).__name__}: {exc}"))
            except Exception as exc:  # fsspec backends raise their own types (botocore, aiohttp)
                retrier.failed(TransientError(f"{type(exc).__name__}: {exc}"))
            finally:
                self.stats.requests += 1

    def open(self, prefetch: int) -> tuple[int, bytes]:
        info = self._call("info", self.fs.info, self.path)
        if info.get("type") not in (None, "file"):
            raise RemoteError(f"{self.name}: not a file ({info.get('type')})")
        size = info.get("size")
        if size is None:
            raise RemoteError(f"{self.name}: filesystem reports no size")
        self._etag = info.get("ETag") or info.get("etag")
        return int(size), b""

    def fetch(self, start: int, end: int) -> bytes:
        data = self._call(f"bytes {start}..{end}", self.fs.cat_file, self.path, start=start, end=end)
        return self._checked(data, start, end)

    def fetch_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        if len(spans) < 2:
            return [self.fetch(start, end) for start, end in spans]
        starts = [start for start, _ in spans]
        ends = [end for _, end in spans]
        retrier = Retrier(self, f"{len(spans)} ranges")
        while True:
            try:
                datas = self.fs.cat_ranges([self.path] * len(spans), starts, ends, on_error="return")
            except Exception as exc:  # the whole batch failed: retry it
                self.stats.requests += len(spans)
                retrier.failed(TransientError(f"{type(exc).__name__}: {exc}"))
                continue
            self.stats.requests += len(spans)
            failed = [d for d in datas if isinstance(d, BaseException)]
            if not failed:
                break
            if isinstance(failed[0], _PERMANENT):
                raise RemoteError(f"{self.name}: {type(failed[0]).__name__}: {failed[0]}")
            retrier.failed(TransientError(f"{type(failed[0]).__name__}: {failed[0]}"))
        return [self._checked(d, s, e) for d, (s, e) in zip(datas, spans)]

    def _checked(self, data: bytes, start: int, end: int) -> bytes:
        self.stats.bytes_fetched += len(data)
        if len(data) != end - start:
            raise RemoteError(
                f"{self.name}: asked for bytes {start}..{end}, got {len(data)} bytes "
                "(file changed or truncated?)"
            )
        return bytes(data)
