"""Atomic output: write under a temporary name next to the target, rename on success.

Every writer in the package goes through this, so a failed or interrupted write never leaves a
file that looks complete at the target path (and an existing file there stays untouched).
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Any, Iterator


class AtomicFile:
    """A temporary file beside ``path`` that replaces ``path`` on :meth:`commit`.

    :meth:`discard` (or any failure in :meth:`commit`) removes the temporary file. ``handle``
    is the open temporary file; ``mode`` is passed to :func:`open` ("wb" by default).
    """

    def __init__(self, path: "str | os.PathLike[str]", mode: str = "wb", **open_args):
        self.path = os.fspath(path)
        self.tmp_path = f"{self.path}.tmp-{secrets.token_hex(6)}"
        self.handle: Any = open(self.tmp_path, mode, **open_args)  # binary or text, per mode
        self._done = False

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
    """Several :class:`AtomicFile` that replace their targets together, in the order opened.

    Writers that produce a data file and its index open the data first, so after a commit the
    index is never older than its data.
    """

    def __init__(self) -> None:
        self._files: list[AtomicFile] = []

    def open(self, path: "str | os.PathLike[str]", mode: str = "wb") -> Any:
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
