"""``close()`` / ``abort()`` for the BBI writers, which stage data in temporary files and
assemble the real file only at ``close()`` (so a failure never leaves a complete-looking file)."""

from __future__ import annotations

from typing import Any

from .._gc import gc_paused
from ..errors import BioformatsError
from ..io.atomic import CloseOrAbort


class StagedWriter(CloseOrAbort):
    """Subclasses set ``_closed``, ``_failed``, ``_count``, ``_atomic`` (an AtomicFile or None)
    and ``_out``, and implement ``_finish()`` (write everything) and ``_abort()`` (free
    resources, discard the temporary output)."""

    _closed: bool
    _failed: bool
    _count: int
    _atomic: Any
    _out: Any
    _failed_message = ("an earlier batch failed; the output was discarded and nothing was "
                       "written to the target")

    def close(self) -> int:
        """Finish the file; returns the number of records written."""
        if self._closed:
            return self._count
        self._closed = True
        try:
            if self._failed:
                raise BioformatsError(self._failed_message)
            with gc_paused():
                self._finish()
        except BaseException:
            self._abort()
            raise
        if self._atomic is not None:
            self._atomic.commit()
        else:
            try:
                self._out.flush()
            except (AttributeError, ValueError):
                pass
        return self._count

    def abort(self) -> None:
        """Give up: remove the temporary output (path targets) and free resources."""
        self._closed = True
        self._abort()

    def _finish(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _abort(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
