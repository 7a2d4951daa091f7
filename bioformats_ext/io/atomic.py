"""Atomic output: write under a temporary name next to the target, rename on success.

Every writer in the package goes through this, so a failed or interrupted write never leaves a
file that looks complete at the target path (and an existing file there stays untouched).

Temporary names carry the writer's process id (``x.bam.tmp-<pid>-<hex>``): the next write to the
same target removes the ones whose process is gone (a SIGKILLed writer cannot clean up after
itself). :class:`AtomicFiles` commits data and index in the one order that never pairs new data
with an old index: old index removed, data renamed, index renamed.

A writer dropped without ``close()`` (a forgotten ``with``) must not surprise either: when it is
garbage-collected it emits a ``ResourceWarning`` naming its target and discards its output, so
no ``x.bam.tmp-...`` stays behind (:class:`CloseOrAbort` for every writer, and a finalizer on
each :class:`AtomicFile` as the safety net for anything else holding one).
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import warnings
import weakref
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterable, Iterator

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


def _abandoned(path: str, tmp_path: str, handle: IO) -> None:
    """Finalizer of an AtomicFile collected before commit/discard: clean up, then say so."""
    try:
        handle.close()
    except Exception:  # pragma: no cover - closing a half-written file may fail; keep cleaning
        pass
    try:
        os.unlink(tmp_path)
    except OSError:
        pass
    warnings.warn(f"{path}: output abandoned without close(); its temporary file {tmp_path} "
                  f"was removed (close the writer or use 'with')", ResourceWarning, stacklevel=2)


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
        self._finalizer = weakref.finalize(self, _abandoned, self.path, self.tmp_path, self.handle)

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
        self._finalizer.detach()
        if _steps:
            _step("data-renamed")

    def discard(self) -> None:
        """Close and remove the temporary file; the target is not touched. Idempotent."""
        if self._done:
            return
        self._done = True
        self._finalizer.detach()
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


def _target_name(writer: Any) -> str:
    """What a writer writes to, for messages: its path, or its file object's name."""
    for attr in ("path", "_path"):
        try:
            value = getattr(writer, attr, None)
        except Exception:
            value = None
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
    atomic = getattr(writer, "_atomic", None)
    if atomic is not None:
        return atomic.path
    for attr in ("_out", "_fh", "_handle", "_target"):
        name = getattr(getattr(writer, attr, None), "name", None)
        if isinstance(name, str):
            return name
    return f"<{type(writer).__name__} target>"


def _is_open(writer: Any) -> bool:
    """True when ``writer`` started and has neither closed nor aborted (unknown: False)."""
    for obj in (writer, getattr(writer, "_out", None)):
        if obj is None:
            continue
        for attr in ("_closed", "closed"):
            value = obj.__dict__.get(attr) if hasattr(obj, "__dict__") else None
            if isinstance(value, bool):
                return not value
    return False


class CloseOrAbort:
    """Context-manager protocol for writers: ``close()`` on success, ``abort()`` on error.

    A writer collected while still open warns (``ResourceWarning`` naming the target) and
    aborts, so its temporary files go away and no partial output is left.
    """

    def __del__(self) -> None:
        try:
            if not _is_open(self):
                return
            name = _target_name(self)
        except Exception:  # pragma: no cover - a half-constructed writer
            return
        warnings.warn(f"{name}: {type(self).__name__} garbage-collected without close(); the "
                      f"unfinished output was discarded (close it or use 'with')",
                      ResourceWarning, stacklevel=2)
        try:
            self.abort()  # type: ignore[attr-defined]
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()  # type: ignore[attr-defined]
        else:
            self.abort()  # type: ignore[attr-defined]
