"""A small HTTP/1.1 range server on 127.0.0.1 for tests and benchmarks.

Real sockets, keep-alive, ``Range`` (``a-b``, ``a-``, ``-n``), ``ETag``/``Last-Modified``, a request
log, per-request latency, redirects, and scripted faults, so remote reads can be tested end to end
(including request counts) without leaving the machine.  It binds 127.0.0.1 only and stops when its
context manager exits.

Faults are queued with :meth:`RangeServer.fail` and consumed one per request, in order:

``"500"``/``"503"``/...  that status;      ``"reset"``      TCP reset before any response;
``"truncate"``  half the body, then close;  ``"slow"``       sleep ``slow_seconds`` first;
``"norange"``   200 with the whole file;    ``"416"``        416 Range Not Satisfiable;
``"wrongrange"`` 206 for a different start; ``"short"``      a valid but shorter 206;
``"etag"``      a different ETag;           ``"drop"``       respond, then close the connection
                                           silently (as an idle keep-alive timeout does).
"""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Clients that reset or time out are part of the tests, not server errors."""


@dataclass
class LoggedRequest:
    method: str
    path: str
    range: str | None
    status: int | None = None
    headers: dict | None = None
    client_port: int | None = None


class RangeServer:
    """Serve in-memory files over HTTP/1.1 on ``127.0.0.1`` (port chosen by the OS)."""

    def __init__(self, files: dict[str, bytes] | None = None, *, latency: float = 0.0,
                 ranges: bool = True, slow_seconds: float = 2.0, idle_timeout: float = 5.0,
                 ssl_context=None):
        self.files: dict[str, bytes] = dict(files or {})
        self.redirects: dict[str, tuple[int, str]] = {}
        self.latency = latency
        self.ranges = ranges
        self.slow_seconds = slow_seconds
        self.log: list[LoggedRequest] = []
        self._faults: list[str] = []
        self._etags: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers+body writes meet delayed ACKs (40 ms)
            timeout = idle_timeout  # idle keep-alive connections end by themselves

            def do_GET(self) -> None:
                server._handle(self, body=True)

            def do_HEAD(self) -> None:
                server._handle(self, body=False)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:  # an ssl.SSLContext with the server's certificate loaded
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def fail(self, *faults: str) -> None:
        """Queue faults for the next requests (one per request)."""
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.redirects[path.lstrip("/")] = (status, location)

    def requests(self, method: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if method is None or r.method == method]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def start(self) -> "RangeServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "RangeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------------------

    def _handle(self, h: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        path = h.path.split("?", 1)[0].lstrip("/")
        entry = LoggedRequest(h.command, path, h.headers.get("Range"), None,
                              dict(h.headers.items()), h.client_address[1])
        with self._lock:
            self.log.append(entry)
            fault = self._faults.pop(0) if self._faults else None
        if self.latency:
            time.sleep(self.latency)
        try:
            self._respond(h, path, entry, fault, body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. timed out)
            h.close_connection = True
        if fault == "drop":
            h.close_connection = True

    def _respond(self, h, path, entry, fault, body) -> None:
        def send(status: int, headers: dict[str, str], payload: bytes = b"",
                 declared: int | None = None) -> None:
            entry.status = status
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(payload) if declared is None else declared))
            h.end_headers()
            if body and payload:
                h.wfile.write(payload)

        if fault == "reset":
            entry.status = 0
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        if fault == "slow":
            time.sleep(self.slow_seconds)
        if fault and fault.isdigit() and fault != "416":
            send(int(fault), {"Content-Type": "text/plain"}, b"injected failure")
            return
        if path in self.redirects:
            status, location = self.redirects[path]
            send(status, {"Location": location})
            return
        data = self.files.get(path)
        if data is None:
            send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        size = len(data)
        etag = self._etag(path, data)
        if fault == "etag":
            etag = '"changed"'
        common = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": formatdate(1_700_000_000, usegmt=True),
            "Content-Type": "application/octet-stream",
        }
        spec = h.headers.get("Range")
        if spec is None or not self.ranges or fault == "norange":
            self._send_body(send, 200, common, data, fault)
            return
        match = _RANGE.match(spec.strip())
        if not match or match.groups() == ("", ""):
            send(416, {**common, "Content-Range": f"bytes */{size}"})
            return
        first, last = match.groups()
        if first == "":
            start, stop = max(0, size - int(last)), size
        else:
            start, stop = int(first), size if last == "" else min(int(last) + 1, size)
        if fault == "416" or start >= size or start >= stop:
            send(416, {**common, "Content-Range": f"bytes */{size}"})
            return
        if fault == "wrongrange":
            start = min(start + 1, size - 1)
        if fault == "short":
            stop = start + max(1, (stop - start) // 2)
        headers = {**common, "Content-Range": f"bytes {start}-{stop - 1}/{size}"}
        self._send_body(send, 206, headers, data[start:stop], fault)

    def _etag(self, path: str, data: bytes) -> str:
        """Content hash, computed once per file object (hashing on every request would add
        milliseconds of server time to each request of a large file)."""
        cached = self._etags.get(path)
        if cached is None or cached[0] is not data:
            cached = (data, '"%s"' % hashlib.sha1(data).hexdigest()[:16])
            self._etags[path] = cached
        return cached[1]

    @staticmethod
    def _send_body(send, status, headers, payload, fault) -> None:
        if fault == "truncate":
            send(status, headers, payload[: len(payload) // 2], declared=len(payload))
            raise BrokenPipeError  # close the connection mid-body
        send(status, headers, payload)
