"""HTTP(S) byte ranges with the standard library only.

One persistent (keep-alive) ``http.client`` connection per source; every read is a ``GET`` with a
``Range`` header.  The first request asks for the first block and learns the file size from the
``Content-Range`` total, so opening a file costs one request, not a ``HEAD`` plus a ``GET``.

Correctness rules (a wrong byte is worse than an error):

* a ``206`` must carry ``Content-Range`` whose start is the offset we asked for; a shorter range is
  accepted and the rest fetched, a different start is an error;
* ``ETag`` / ``Last-Modified`` / the size must not change between responses (file replaced under
  us → :class:`RemoteError`);
* a server that ignores ``Range`` (``200`` with the whole body) or answers ``416`` gets a clear
  :class:`RemoteError`, unless the user allowed a whole-file download for small files
  (``allow_full_download=True``, ``max_full_download=`` bytes);
* 5xx/408/429, connection resets, timeouts and short bodies are retried with exponential backoff,
  bounded by ``retries`` attempts and ``max_retry_time`` seconds; a short body resumes where it
  stopped instead of starting over.
"""

from __future__ import annotations

import base64
import http.client
import re
import ssl
import threading
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urljoin, urlsplit

from .cache import RangeBackend
from .retry import Retrier, RetrySettings, TransientError, remote_error

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)
_DISCARD_LIMIT = 64 * 1024  # read small error/redirect bodies to keep the connection; drop others
_CHUNK = 1 << 20
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")


def parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None] | None:
    """``"bytes 0-99/1000"`` → ``(0, 99, 1000)``; ``"bytes */1000"`` → ``(None, None, 1000)``;
    an unknown total is ``None``; anything unparsable → ``None``."""
    if value is None:
        return None
    match = _CONTENT_RANGE.match(value)
    if not match:
        return None
    first, last, total = match.groups()
    return (
        None if first is None else int(first),
        None if last is None else int(last),
        None if total == "*" else int(total),
    )


class HttpBackend(RangeBackend, RetrySettings):
    """A file on an HTTP(S) server that supports byte ranges."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_retry_time: float = 60.0,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = 10,
        allow_full_download: bool = False,
        max_full_download: int = 16 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 4,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise remote_error(f"not an http(s) URL: {url!r}")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        self.init_retries(retries, backoff, max_backoff, max_retry_time, clock, sleep)
        self.url = url
        self.name = _redact(url)
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.allow_full_download = allow_full_download
        self.max_full_download = max_full_download
        self._ssl_context = ssl_context
        self._user_headers = dict(headers or {})
        if parts.username is not None:  # http://user:pass@host/ → Basic auth, origin host only
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._user_headers.setdefault(
                "Authorization", "Basic " + base64.b64encode(token.encode()).decode("ascii")
            )
        self._origin = (parts.scheme, parts.hostname, parts.port)
        self._url = url  # effective URL after redirects
        self._conn: http.client.HTTPConnection | None = None
        self._conn_key: tuple | None = None
        self._conn_used = False
        self._lock = threading.RLock()
        self._size: int | None = None
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._whole: bytes | None = None  # set only by the allowed whole-file fallback
        self.max_connections = max(1, int(max_connections))
        self._options: dict[str, Any] = dict(timeout=timeout, retries=retries, backoff=backoff,
                             max_backoff=max_backoff, max_retry_time=max_retry_time,
                             headers=headers, max_redirects=max_redirects,
                             ssl_context=ssl_context, max_connections=1, clock=clock,
                             sleep=sleep)
        self._siblings: list[HttpBackend] = []

    # -- RangeBackend --------------------------------------------------------------------------

    def open(self, prefetch: int) -> tuple[int, bytes]:
        with self._lock:
            retrier = Retrier(self, "first request")
            while True:
                try:
                    data = self._range_once(0, prefetch)
                    break
                except TransientError as exc:
                    retrier.failed(exc, getattr(exc, "retry_after", None))
            if self._size is None:
                self._size = self._head_size()
            return self._size, data[: min(prefetch, self._size)]

    def fetch(self, start: int, end: int) -> bytes:
        with self._lock:
            if self._whole is not None:
                return self._whole[start:end]
            retrier = Retrier(self, f"bytes {start}..{end}")
            out = bytearray()
            pos = start
            while pos < end:
                try:
                    data = self._range_once(pos, end)
                except TransientError as exc:
                    out += exc.partial
                    pos += len(exc.partial)
                    if pos >= end:
                        break
                    retrier.failed(exc, getattr(exc, "retry_after", None))
                    continue
                if self._whole is not None:  # the fallback just downloaded everything
                    return self._whole[start:end]
                if not data:
                    retrier.failed(TransientError("empty body"))
                    continue
                out += data
                pos += len(data)
            return bytes(out)

    def fetch_many(self, spans) -> list[bytes]:
        """Disjoint spans of one read: up to ``max_connections`` requests in flight at once, so
        a query whose blocks lie in several places waits for one round trip, not several."""
        if len(spans) < 2 or self.max_connections < 2 or self._whole is not None:
            return [self.fetch(start, end) for start, end in spans]
        with self._lock:
            workers = [self, *self._sibling_backends(min(len(spans), self.max_connections) - 1)]
            shares = [list(range(k, len(spans), len(workers))) for k in range(len(workers))]
            results: list[bytes | None] = [None] * len(spans)
            errors: list[BaseException] = []

            def run(worker: "HttpBackend", share: list[int]) -> None:
                try:
                    for i in share:
                        results[i] = worker.fetch(*spans[i])
                except BaseException as exc:  # re-raised in the calling thread
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(w, share), daemon=True)
                       for w, share in zip(workers[1:], shares[1:])]
            for thread in threads:
                thread.start()
            run(self, shares[0])
            for thread in threads:
                thread.join()
            for sibling in workers[1:]:  # one set of counters for the source
                self.stats.requests += sibling.stats.requests
                self.stats.bytes_fetched += sibling.stats.bytes_fetched
                self.stats.retries += sibling.stats.retries
                sibling.stats.reset()
            if errors:
                raise errors[0]
            return results  # type: ignore[return-value]

    def _sibling_backends(self, n: int) -> list["HttpBackend"]:
        """Extra keep-alive connections for parallel requests, sharing what we know of the file."""
        while len(self._siblings) < n:
            self._siblings.append(HttpBackend(self.url, **self._options))
        siblings = self._siblings[:n]
        for sibling in siblings:
            sibling._url = self._url
            sibling._size = self._size
            sibling._etag = self._etag
            sibling._last_modified = self._last_modified
            sibling.name = self.name
        return siblings

    def close(self) -> None:
        with self._lock:
            self._drop()
            for sibling in self._siblings:
                sibling.close()
            self._siblings.clear()

    # -- one request ---------------------------------------------------------------------------

    def _range_once(self, pos: int, end: int) -> bytes:
        """One ranged GET (following redirects) for ``[pos, end)``; may return fewer bytes."""
        resp = self._send("GET", {"Range": f"bytes={pos}-{end - 1}"})
        status = resp.status
        if status == 206:
            self._check_encoding(resp)
            parsed = parse_content_range(resp.getheader("Content-Range"))
            if parsed is None or parsed[0] is None:
                self._discard(resp)
                raise remote_error(
                    f"{self.name}: 206 response without a valid Content-Range "
                    f"({resp.getheader('Content-Range')!r})"
                )
            first, last, total = parsed
            self._check_same_file(resp, total)
            if (first is None or last is None or first != pos or last < first
                    or (total is not None and last >= total)):
                self._discard(resp)
                raise remote_error(
                    f"{self.name}: asked for bytes {pos}-{end - 1}, server sent "
                    f"{resp.getheader('Content-Range')!r}; refusing possibly wrong bytes"
                )
            length = last - first + 1
            declared = resp.getheader("Content-Length")
            if declared is not None and declared.strip().isdigit() and int(declared) != length:
                self._discard(resp)
                raise remote_error(
                    f"{self.name}: Content-Length {declared} disagrees with Content-Range "
                    f"{resp.getheader('Content-Range')!r}"
                )
            body = self._read_body(resp, length)
            self._settle()
            return body[: max(0, end - pos)]
        if status == 200:
            return self._whole_body(resp, pos, end)
        if status == 416:
            parsed = parse_content_range(resp.getheader("Content-Range"))
            self._discard(resp)
            total = parsed[2] if parsed else None
            if pos == 0 and total == 0 and self._size in (None, 0):
                self._size = 0  # an empty file: nothing is satisfiable
                self._settle()
                return b""
            if self.allow_full_download:
                return self._download_whole(pos, end)
            raise remote_error(
                f"{self.name}: server answered 416 Range Not Satisfiable for bytes "
                f"{pos}-{end - 1} (file size {total if total is not None else 'unknown'}"
                f"{'' if self._size is None else f', expected {self._size}'})",
                416,
            )
        if status in RETRY_STATUSES:
            retry_after = _retry_after(resp.getheader("Retry-After"))
            self._discard(resp)
            exc = TransientError(f"HTTP {status} {resp.reason}")
            exc.retry_after = retry_after  # type: ignore[attr-defined]
            raise exc
        self._discard(resp)
        if status in (403, 404, 410) and self._url != self.url:
            # A remembered redirect target (e.g. a pre-signed URL) went stale: start over.
            self._url = self.url
            raise TransientError(f"HTTP {status} from redirect target")
        raise remote_error(f"{self.name}: HTTP {status} {resp.reason}", status)

    def _send(self, method: str, extra: Mapping[str, str]) -> http.client.HTTPResponse:
        """Send one request, following redirects; returns a response whose body is unread."""
        url = self._url
        for _ in range(self.max_redirects + 1):
            resp = self._send_to(url, method, extra)
            if resp.status not in REDIRECT_STATUSES:
                self._pending_url = url
                return resp
            location = resp.getheader("Location")
            self._discard(resp)
            if not location:
                raise remote_error(f"{self.name}: HTTP {resp.status} redirect without Location")
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https"):
                raise remote_error(f"{self.name}: redirect to unsupported URL {_redact(url)!r}")
        raise remote_error(f"{self.name}: more than {self.max_redirects} redirects")

    def _send_to(self, url: str, method: str, extra: Mapping[str, str]) -> http.client.HTTPResponse:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept-Encoding": "identity", "User-Agent": "bioformats-ext"}
        for name, value in self._user_headers.items():
            if key == self._origin or name.lower() not in _SENSITIVE:
                headers[name] = value
        headers.update(extra)
        for attempt in (0, 1):
            conn = self._connection(key)
            reused = self._conn_used
            self.stats.requests += 1
            try:
                conn.request(method, target, headers=headers)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused and attempt == 0:
                    continue  # an idle keep-alive connection the server had closed: reconnect once
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            except ssl.SSLCertVerificationError as exc:  # retrying cannot fix a certificate
                self._drop()
                raise remote_error(f"{self.name}: TLS certificate verification failed: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:  # timeouts, refused, bad status
                self._drop()
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            self._conn_used = True
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _settle(self) -> None:
        """A good response: remember where the redirects led so later requests go there."""
        self._url = getattr(self, "_pending_url", self._url)

    # -- helpers -------------------------------------------------------------------------------

    def _connection(self, key: tuple) -> http.client.HTTPConnection:
        if self._conn is not None and self._conn_key == key:
            return self._conn
        self._drop()
        scheme, host, port = key
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            self._conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        else:
            self._conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        self._conn_key = key
        self._conn_used = False
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:  # pragma: no cover - closing a broken socket
                pass
        self._conn = None
        self._conn_key = None
        self._conn_used = False

    def _discard(self, resp: http.client.HTTPResponse) -> None:
        """Finish with a response we do not want: read a small body, else drop the connection."""
        length = resp.getheader("Content-Length")
        try:
            if length is not None and length.strip().isdigit() and int(length) <= _DISCARD_LIMIT:
                resp.read()
                if not resp.will_close:
                    return
        except (OSError, http.client.HTTPException):
            pass
        resp.close()
        self._drop()

    def _read_body(self, resp: http.client.HTTPResponse, length: int) -> bytes:
        """Exactly ``length`` body bytes; a short body raises :class:`TransientError` with the part."""
        out = bytearray()
        try:
            while len(out) < length:
                chunk = resp.read(min(_CHUNK, length - len(out)))
                if not chunk:
                    break
                out += chunk
        except (OSError, http.client.HTTPException) as exc:
            self.stats.bytes_fetched += len(out)
            self._drop()
            raise TransientError(f"body failed after {len(out)} of {length} bytes: {exc}", bytes(out))
        self.stats.bytes_fetched += len(out)
        if len(out) < length:
            self._drop()
            raise TransientError(f"short body: {len(out)} of {length} bytes", bytes(out))
        if not resp.isclosed():  # more than declared: the connection is out of sync
            resp.close()
            self._drop()
        return bytes(out)

    def _check_encoding(self, resp: http.client.HTTPResponse) -> None:
        encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            self._discard(resp)
            raise remote_error(f"{self.name}: server sent Content-Encoding {encoding!r} for a byte range")

    def _check_same_file(self, resp: http.client.HTTPResponse, total: int | None) -> None:
        """The validators and size must match the first response: else the file changed."""
        etag = resp.getheader("ETag")
        modified = resp.getheader("Last-Modified")
        changed = None
        if total is not None and self._size is not None and total != self._size:
            changed = f"size {self._size} -> {total}"
        elif etag and self._etag and etag != self._etag:
            changed = f"ETag {self._etag} -> {etag}"
        elif modified and self._last_modified and modified != self._last_modified:
            changed = f"Last-Modified {self._last_modified} -> {modified}"
        if changed:
            self._discard(resp)
            raise remote_error(f"{self.name}: the remote file changed while being read ({changed})")
        if self._size is None and total is not None:
            self._size = total
        self._etag = self._etag or etag
        self._last_modified = self._last_modified or modified

    def _whole_body(self, resp: http.client.HTTPResponse, pos: int, end: int) -> bytes:
        """A ``200`` to a ranged request: the server ignored ``Range`` and sends the whole file."""
        self._check_encoding(resp)
        declared = resp.getheader("Content-Length")
        length = int(declared) if declared and declared.strip().isdigit() else None
        # Asking for [0, end) of a file no longer than end: the whole file *is* what we asked for.
        fits = pos == 0 and length is not None and length <= end
        if not fits and not (
            self.allow_full_download and (length is None or length <= self.max_full_download)
        ):
            self._discard(resp)
            hint = (
                f"; pass allow_full_download=True to download files up to "
                f"max_full_download={self.max_full_download} bytes whole"
                if not self.allow_full_download
                else f"; the file ({length} bytes) exceeds max_full_download={self.max_full_download}"
            )
            raise remote_error(
                f"{self.name}: server ignored the Range header (HTTP 200 with the whole file"
                f"{'' if length is None else f', {length} bytes'}); it cannot serve random access"
                + hint
            )
        self._check_same_file(resp, length)
        if length is None:  # chunked: read at most the limit, then insist it ended
            body = resp.read(self.max_full_download + 1)
            self.stats.bytes_fetched += len(body)
            if len(body) > self.max_full_download:
                self._discard(resp)
                raise remote_error(f"{self.name}: whole-file download exceeds max_full_download")
        else:
            body = self._read_body(resp, length)
        self._settle()
        if self._size is None:
            self._size = len(body)
        elif len(body) != self._size:
            raise remote_error(f"{self.name}: the remote file changed (size {self._size} -> {len(body)})")
        if not fits:
            self._whole = body
        return body[pos:end]

    def _download_whole(self, pos: int, end: int) -> bytes:
        resp = self._send("GET", {})
        if resp.status != 200:
            self._discard(resp)
            if resp.status in RETRY_STATUSES:
                raise TransientError(f"HTTP {resp.status} {resp.reason}")
            raise remote_error(f"{self.name}: whole-file download: HTTP {resp.status} {resp.reason}",
                         resp.status)
        return self._whole_body(resp, pos, end)

    def _head_size(self) -> int:
        retrier = Retrier(self, "HEAD")
        while True:
            try:
                resp = self._send("HEAD", {})
                resp.read()
                break
            except TransientError as exc:
                retrier.failed(exc)
        if resp.will_close:
            self._drop()
        declared = resp.getheader("Content-Length")
        if resp.status != 200 or not declared or not declared.strip().isdigit():
            raise remote_error(f"{self.name}: server reports no file size (HTTP {resp.status})", resp.status)
        self._settle()
        return int(declared)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{netloc}").geturl()
