"""``BatchedRecordWriter``: buffering, batching and close/abort shared by the record writers."""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterable

from ..io.atomic import CloseOrAbort
from .output import IndexedOutput


class BatchedRecordWriter(CloseOrAbort):
    """What every co-indexing record writer shares: buffering records into batches for
    ``_write_lines`` (per-record encoding would cost ~100x more), and closing or aborting the
    :class:`IndexedOutput` in ``self._out``.

    Subclasses implement ``_to_line(record) -> bytes`` and ``_write_lines(lines)`` and may
    override ``_fast_batch(batch)``, which returns the batch as ready ``bytes`` lines when that
    needs no per-record conversion (else None). A bad or unsorted record is reported at the next
    flush (buffer full, :meth:`write_many` or :meth:`close`), naming its number and text.
    """

    batch_size = 16384
    _out: "IndexedOutput"
    _buffer: list

    @property
    def path(self) -> str | None:
        return self._out.path

    @property
    def index_path(self) -> Any:
        return self._out.index_target

    def _to_line(self, record: Any) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write_lines(self, lines: list[bytes]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        return None

    def write(self, record: Any) -> None:
        """Write one record (buffered; see the class docstring for when errors surface)."""
        buffer = self._buffer
        buffer.append(self._to_line(record))
        if len(buffer) >= self.batch_size:
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        if self._buffer:
            lines, self._buffer = self._buffer, []
            self._write_lines(lines)

    def write_many(self, records: Iterable[Any]) -> int:
        """Write records in batches (the fast path); returns how many were written."""
        self._flush_buffer()
        count = 0
        iterator = iter(records)
        to_line = self._to_line
        while True:
            batch = list(islice(iterator, self.batch_size))
            if not batch:
                return count
            lines = self._fast_batch(batch)
            self._write_lines(lines if lines is not None else [to_line(r) for r in batch])
            count += len(batch)

    def close(self) -> None:
        """EOF block, then the index; both renamed into place only now."""
        self._flush_buffer()
        self._out.close()

    def abort(self) -> None:
        """Discard everything written; nothing is left at the target paths."""
        self._buffer = []
        self._out.abort()

