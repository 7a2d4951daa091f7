"""Progress bars appear only on a terminal and never change what is read."""

from __future__ import annotations

import io
import os
import sys

from bioformats_ext.commands._options import progress, progress_bytes


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bytes_counts_every_byte_on_a_terminal(monkeypatch, tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 10_000)
    fake_err = _Tty()
    monkeypatch.setattr(sys, "stderr", fake_err)
    with open(path, "rb") as handle, progress_bytes(handle, desc="test") as counted:
        assert counted is not handle
        chunks = []
        while block := counted.read(3000):
            chunks.append(block)
        assert counted.bar.n == 10_000 and counted.bar.total == 10_000
    assert b"".join(chunks) == path.read_bytes()
    assert "test" in fake_err.getvalue()


def test_no_bar_when_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    handle = io.BytesIO(b"abc")
    with progress_bytes(handle) as counted:
        assert counted is handle
    items = [1, 2, 3]
    assert progress(items) is items


def test_progress_position_follows_the_offset(monkeypatch):
    from bioformats_ext.commands._options import progress_position

    monkeypatch.setattr(sys, "stderr", _Tty())
    with progress_position(1000, desc="idx") as update:
        update(250)
        update(1000)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_position(1000) as update:
        assert update is None


def test_index_bam_reports_progress_to_the_end(tmp_path):
    __import__("pytest").importorskip("pysam")
    from helpers import tiled_bam
    from bioformats_ext.bam import index_bam

    path = str(tmp_path / "x.bam")
    tiled_bam(path, 3000)
    seen = []
    index_bam(path, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == os.path.getsize(path)
