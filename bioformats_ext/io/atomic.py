"""Atomic output: write under a temporary name next to the target, rename on success.

Every writer in the package goes through this, so a failed or interrupted write never leaves a
file that looks complete at the target path (and an existing file there stays untouched).

Temporary names carry the writer's process id (``x.bam.tmp-<pid>-<hex>``): the next write to the
same target removes the ones whose process is gone (a SIGKILLed writer cannot clean up after
itself). :class:`AtomicFiles` commits data and index in the one order that never pairs new data
with an old index: old index removed, data renamed, index renamed.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from .index_names import index_candidates

#: Test seam: called with the name of each commit step ("closed", "old-removed",
#: "data-renamed", "index-renamed"), so crash tests can kill a writer exactly there.
crash_hook: "Callable[[str], None] | None" = None

_TMP = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}$")


def _step(name: str) -> None:
    if crash_hook is not None:
        crash_hook(name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process (or we cannot tell): leave it alone
    return True


def clean_stale_temporaries(path: str) -> list[str]:
    """Remove ``path.tmp-<pid>-<hex>`` files left by writers that no longer run; returns them.

    Only names of exactly our pattern are touched, and only when their process is gone, so a
    concurrent writer's temporary file survives (same host; on a shared network file system a
    live writer on another host could have a pid that is free here -- hence the exact pattern).
    """
    removed = []
    for tmp in glob.glob(glob.escape(path) + ".tmp-*"):
        m = _TMP.search(tmp)
        if m is None or tmp[:m.start()] != path or _alive(int(m.group(1))):
            continue
        try:
            os.unlink(tmp)
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def sibling_indexes(data_path: str, keep: "str | None" = None) -> list[str]:
    """Index files htslib would pick up beside ``data_path`` (``x.tbi``/``.csi``/``.bai``, and
    ``x.bai``/``x.csi`` for ``x.bam``), except ``keep``: after new data is written there, they
    describe the old data and must go (a reader would otherwise pair them with the new)."""
    names = index_candidates(data_path, ("tbi", "csi", "bai"))
    keep_path = os.path.abspath(keep) if keep is not None else None
    return [n for n in names if os.path.abspath(n) != keep_path]


class AtomicFile:
    """A temporary file beside ``path`` that replaces ``path`` on :meth:`commit`.

    :meth:`discard` (or any failure in :meth:`commit`) removes the temporary file. ``handle``
    is the open temporary file; ``mode`` is passed to :func:`open` ("wb" by default).
    """

    def __init__(self, path: "str | os.PathLike[str]", mode: str = "wb", **open_args):
        self.path = os.fspath(path)
        clean_stale_temporaries(self.path)
        self.tmp_path = f"{self.path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        self.handle: Any = open(self.tmp_path, mode, **open_args)  # binary or text, per mode
        self._done = False

    def commit(self, _steps: bool = True) -> None:
        """Close the temporary file and rename it onto the target."""
        if self._done:
            return
        try:
            self.handle.close()
            if _steps:
                _step("closed")
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.discard()
            raise
        self._done = True
        if _steps:
            _step("data-renamed")

    def discard(self) -> None:
        """Close and remove the temporary file; the target is not touched. Idempotent."""
        if self._done:
            return
        self._done = True
        try:
            self.handle.close()
        finally:
            try:
                os.unlink(self.tmp_path)
            except FileNotFoundError:
                pass


class AtomicFiles:
    """Several :class:`AtomicFile` that replace their targets together: the first one opened is
    the data, the others its index files.

    Renames are not atomic as a group, so :meth:`commit` orders them such that a crash at any
    point leaves old data with its old index, old or new data *without* an index (readers report
    the missing index), or new data with its new index -- never new data beside an old index:
    first every old index (and any ``obsolete`` sibling index) is removed, then the data is
    renamed, then the indexes.
    """

    def __init__(self) -> None:
        self._files: list[AtomicFile] = []

    def open(self, path: "str | os.PathLike[str]", mode: str = "wb") -> Any:
        atomic = AtomicFile(path, mode)
        self._files.append(atomic)
        return atomic.handle

    def commit(self, obsolete: Iterable[str] = ()) -> None:
        """Rename everything into place (see the class docstring); ``obsolete``: index paths of
        the data that this commit does not rewrite and that would be stale after it."""
        try:
            for atomic in self._files:
                atomic.handle.close()
            _step("closed")
            if self._files:
                data, indexes = self._files[0], self._files[1:]
                for old in [a.path for a in indexes] + [os.fspath(p) for p in obsolete]:
                    _unlink_quiet(old)
                _step("old-removed")
                data.commit(_steps=False)
                _step("data-renamed")
                for atomic in indexes:
                    atomic.commit(_steps=False)
                _step("index-renamed")
        except BaseException:
            self.abort()
            raise
        self._files = []

    def abort(self) -> None:
        for atomic in self._files:
            atomic.discard()
        self._files = []


@contextmanager
def atomic_open(path: "str | os.PathLike[str]", mode: str = "wb", **open_args) -> Iterator[Any]:
    """``with atomic_open(path) as fh:`` — ``path`` appears only if the block completes."""
    atomic = AtomicFile(path, mode, **open_args)
    try:
        yield atomic.handle
    except BaseException:
        atomic.discard()
        raise
    atomic.commit()


class CloseOrAbort:
    """Context-manager protocol for writers: ``close()`` on success, ``abort()`` on error."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()  # type: ignore[attr-defined]
        else:
            self.abort()  # type: ignore[attr-defined]
