"""Atomic output: write under a temporary name next to the target, rename on success.

Every writer in the package goes through this, so a failed or interrupted write never leaves a
file that looks complete at the target path (and an existing file there stays untouched).

A writer dropped without ``close()`` (a forgotten ``with``) must not surprise either: when it is
garbage-collected it emits a ``ResourceWarning`` naming its target and discards its output, so
no ``x.bam.tmp-...`` stays behind (:class:`CloseOrAbort` for every writer, and a finalizer on
each :class:`AtomicFile` as the safety net for anything else holding one).
"""

from __future__ import annotations

import os
import secrets
import warnings
import weakref
from contextlib import contextmanager
from typing import IO, Any, Iterator


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
        self.tmp_path = f"{self.path}.tmp-{secrets.token_hex(6)}"
        self.handle: IO = open(self.tmp_path, mode, **open_args)
        self._done = False
        self._finalizer = weakref.finalize(self, _abandoned, self.path, self.tmp_path, self.handle)

    def commit(self) -> None:
        """Close the temporary file and rename it onto the target."""
        if self._done:
            return
        try:
            self.handle.close()
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.discard()
            raise
        self._done = True
        self._finalizer.detach()

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
    """Several :class:`AtomicFile` that replace their targets together, in the order opened.

    Writers that produce a data file and its index open the data first, so after a commit the
    index is never older than its data.
    """

    def __init__(self) -> None:
        self._files: list[AtomicFile] = []

    def open(self, path: "str | os.PathLike[str]", mode: str = "wb") -> IO:
        atomic = AtomicFile(path, mode)
        self._files.append(atomic)
        return atomic.handle

    def commit(self) -> None:
        try:
            for atomic in self._files:
                atomic.handle.close()
            for atomic in self._files:
                atomic.commit()
        except BaseException:
            self.abort()
            raise
        self._files = []

    def abort(self) -> None:
        for atomic in self._files:
            atomic.discard()
        self._files = []


@contextmanager
def atomic_open(path: "str | os.PathLike[str]", mode: str = "wb", **open_args) -> Iterator[IO]:
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
