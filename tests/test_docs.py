"""Every ```python block in README.md and docs/*.md runs as written.

The files are found by glob, so a new docs page is covered the moment it exists. Blocks of one
file share a namespace and run in order, in an empty temporary working directory (a block that
needs data gets it from ``bioformats_ext.examples.path(...)`` or writes it first). Conventions for
authors:

- Only blocks fenced as ```python (or ```py / ```pycon-free ```python3) run; shell commands and
  sketches go in ```text (or ```sh / ```console) blocks or indented blocks.
- ``https://example.org/<name>`` is a placeholder: the test replaces it with a local HTTP range
  server serving the bundled examples, so remote-read examples run offline.
- A block may end with ``...`` placeholders inside loops (``for x in y: ...``); that is valid Python.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
import warnings
from pathlib import Path

import pytest

from bioformats_ext import examples

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[ \t]*(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
RUNNABLE = {"python", "py", "python3"}
URL_PLACEHOLDER = "https://example.org/"


def code_blocks(page: Path) -> list[tuple[int, str]]:
    """``(line number, code)`` of each runnable block of ``page``."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        if match.group(1).lower() in RUNNABLE:
            blocks.append((text.count("\n", 0, match.start()) + 2, match.group(2)))
    return blocks


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves the bundled examples with HTTP Range support (what remote readers need)."""

    def log_message(self, *args) -> None:
        pass

    def _body(self):
        name = self.path.lstrip("/").split("?")[0]
        try:
            return examples.path(name).read_bytes()
        except KeyError:
            return None

    def do_HEAD(self) -> None:
        data = self._body()
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        data = self._body()
        if data is None:
            self.send_error(404)
            return
        match = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if not match:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if match.group(1):
            beg = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        else:
            beg, end = max(0, len(data) - int(match.group(2))), len(data) - 1
        body = data[beg:end + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {beg}-{end}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def example_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_pages_are_found():
    assert (ROOT / "README.md") in PAGES and len(PAGES) > 3
    assert any(code_blocks(page) for page in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch, example_server):
    blocks = code_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for line, code in blocks:
        code = code.replace(URL_PLACEHOLDER, example_server)
        try:
            compiled = compile(code, f"{page.name}:{line}", "exec")
            with warnings.catch_warnings():
                warnings.simplefilter("error", ResourceWarning)  # docs must close what they open
                exec(compiled, namespace)
        except Exception as exc:
            pytest.fail(f"{page.relative_to(ROOT)} block at line {line} failed: "
                        f"{type(exc).__name__}: {exc}")


def test_examples_api():
    names = examples.names()
    assert {"genes.bb", "bigbedtest.bb", "example.vcf", "example.sam"} <= set(names)
    assert all(examples.path(n).is_file() for n in names)
    with pytest.raises(KeyError, match="genes.bb"):
        examples.path("nope.bb")
    with pytest.raises(KeyError):
        examples.path("../__init__.py")
    assert os.path.samefile(examples.directory() / "genes.bb", examples.path("genes.bb"))
