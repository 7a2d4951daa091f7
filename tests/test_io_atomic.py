"""The one atomic-output mechanism every writer uses."""

from __future__ import annotations

import os

import pytest

from bioformats_ext.io.atomic import AtomicFile, AtomicFiles, CloseOrAbort, atomic_open


def test_commit_replaces_target_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    atomic = AtomicFile(target)
    atomic.handle.write(b"new")
    assert target.read_bytes() == b"old"          # untouched until commit
    atomic.commit()
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failure_inside_atomic_open_keeps_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_group_commit_and_abort(tmp_path):
    files = AtomicFiles()
    files.open(tmp_path / "x.bam").write(b"data")
    files.open(tmp_path / "x.bam.bai").write(b"index")
    files.abort()
    assert os.listdir(tmp_path) == []
    files = AtomicFiles()
    files.open(tmp_path / "x.bam").write(b"data")
    files.open(tmp_path / "x.bam.bai").write(b"index")
    files.commit()
    assert sorted(os.listdir(tmp_path)) == ["x.bam", "x.bam.bai"]
    # data renamed before index: the index is never older than its data
    assert os.stat(tmp_path / "x.bam").st_mtime_ns <= os.stat(tmp_path / "x.bam.bai").st_mtime_ns


def test_close_or_abort_protocol():
    calls = []

    class Writer(CloseOrAbort):
        def close(self):
            calls.append("close")

        def abort(self):
            calls.append("abort")

    with Writer():
        pass
    with pytest.raises(KeyError):
        with Writer():
            raise KeyError
    assert calls == ["close", "abort"]
