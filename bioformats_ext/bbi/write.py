"""Streaming bigBed writer: one pass over the input, bounded memory, bedToBigBed's output.

Records ``(chrom, start, end, rest)`` arrive in batches. Each batch is validated with numpy
(sort order, chromosome, coordinates, the standard BED columns), encoded into data blocks of
``items_per_slot`` records, compressed on threads and appended to a temporary data file; the
coverage depth goes to :class:`~.write_zoom.CoverageSpill`. Memory holds one batch, the block
bounds, the chromosome list and (for ``extra_index``) the index keys.

At the end the layout is written exactly as UCSC's bedToBigBed does - header, 10 zoom-header
slots, autoSql, total summary, extension header, extra-index list, chromosome B+ tree, data,
data R-tree, zoom levels, extra-index B+ trees, end magic - so the result matches a UCSC-made
file byte for byte (given the same zlib). Because everything is written in order at the end,
the target needs no seeking: a path, a seekable file, ``io.BytesIO`` or a pipe all work. The
only thing the chromosome B+ tree needs that is not known up front is which chromosomes are
used, which is why the data waits in a temporary file (next to a path target).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import tempfile
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import BinaryIO, Union

import numpy as np

from .._gc import gc_paused
from ..compression import BlockCompressor
from ..io.atomic import AtomicFile, CloseOrAbort
from ..errors import BioformatsError, RecordError, SortOrderError, UnknownReferenceError
from .autosql import AutoSqlTable, bed_declaration
from .format import (BIGBED_MAGIC, EXTRA_HEADER_SIZE, HEADER_SIZE, MAX_ZOOM_LEVELS,
                     TOTAL_SUMMARY_SIZE, ZOOM_HEADER_SIZE, layouts)
from .header import ExtraHeader, ExtraIndex, Header, TotalSummary, ZoomLevel, pack_zoom_headers
from .write_trees import bptree_bytes, rtree_bytes
from .write_zoom import (CoverageSpill, choose_levels, first_level, summaries_to_disk,
                         total_summary)

__all__ = ["write", "BigBedWriter", "EncodedRecords", "read_chrom_sizes", "parse_bed_type",
           "iter_bed_batches"]

_LAY = layouts("<")
_PREFIX = struct.Struct("<III")
_BATCH = 1 << 15
_MAX_COORD = 0xFFFFFFFF
_BED_NAMES = ("chrom", "chromStart", "chromEnd", "name", "score", "strand", "thickStart",
              "thickEnd", "reserved", "blockCount", "blockSizes", "chromStarts",
              "expCount", "expIds", "expScores")

Target = Union[str, os.PathLike, BinaryIO]
Record = tuple  # (chrom: str, start: int, end: int, rest: str | bytes | None)


# -- inputs ----------------------------------------------------------------------------------------
def read_chrom_sizes(source: Union[str, os.PathLike, Mapping[str, int]]) -> dict[str, int]:
    """A chrom.sizes file (two whitespace-separated columns) or a mapping, as ``{name: size}``."""
    if isinstance(source, Mapping):
        return {str(k): int(v) for k, v in source.items()}
    sizes: dict[str, int] = {}
    with open(source, "rb") as handle:
        for lineno, line in enumerate(handle, 1):
            words = line.split()
            if not words or words[0].startswith(b"#"):
                continue
            if len(words) < 2:
                raise RecordError(f"{os.fspath(source)} line {lineno}: expected 'name size'", lineno)
            try:
                size = int(words[1])
            except ValueError:
                raise RecordError(f"{os.fspath(source)} line {lineno}: size {words[1]!r} is not "
                                  "an integer", lineno) from None
            if not 0 <= size <= _MAX_COORD:
                raise RecordError(f"{os.fspath(source)} line {lineno}: size {size} out of range",
                                  lineno)
            sizes[words[0].decode()] = size
    return sizes


def parse_bed_type(bed_type: Union[str, int, None]) -> tuple[int | None, int | None]:
    """``"bed6+3"`` -> (6, 3); ``"bed12+"`` -> (12, None); ``"bed6"`` / 6 -> (6, 0)."""
    if bed_type is None:
        return None, None
    if isinstance(bed_type, int):
        n, plus = bed_type, 0
    else:
        m = re.fullmatch(r"bed(\d+)(\+(\d*))?", bed_type.strip())
        if not m:
            raise BioformatsError(f"type must look like bedN, bedN+ or bedN+P, not {bed_type!r}")
        n = int(m.group(1))
        plus = None if m.group(2) and not m.group(3) else int(m.group(3) or 0)
    if not 3 <= n <= 15:
        raise BioformatsError(f"bedN must be between 3 and 15, not {n}")
    return n, plus


def iter_bed_batches(path: Union[str, os.PathLike, BinaryIO], tab: bool = False,
                     batch: int = _BATCH) -> Iterator[tuple[list, list, list, list, list]]:
    """Batches ``(chroms, starts, ends, rests, line_numbers)`` from a BED file, all as bytes.

    Blank lines, ``#`` comments and leading ``track``/``browser`` lines are skipped (as UCSC's
    line reader does). Without ``tab``, fields are split on any whitespace and re-joined with
    tabs, as bedToBigBed stores them.
    """
    handle = open(path, "rb") if isinstance(path, (str, os.PathLike)) else path
    try:
        lineno = 0
        header_done = False
        leftover = b""
        while True:
            chunk = handle.read(1 << 22)
            if not chunk:
                body = leftover
                leftover = b""
            else:
                data = leftover + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    leftover = data
                    continue
                body = data[:cut]
                leftover = data[cut + 1:]
            lines = body.split(b"\n") if body else []
            if not lines:
                break
            if header_done and (tab or b" " not in body):
                fast = _split_fast(body, lines, lineno)
                if fast is not None:
                    lineno += len(lines)
                    for i in range(0, len(fast[0]), batch):
                        yield tuple(col[i:i + batch] for col in fast)  # type: ignore[misc]
                    if not chunk:
                        break
                    continue
            chroms, starts, ends, rests, numbers = [], [], [], [], []
            for line in lines:
                lineno += 1
                if line.endswith(b"\r"):
                    line = line[:-1]
                if not line or line[0] == 35 or line.isspace():  # '#'
                    continue
                if not header_done:
                    if line.startswith((b"track", b"browser")):
                        continue
                    header_done = True
                if tab:
                    fields = line.split(b"\t", 3)
                elif b" " in line:
                    words = line.split()
                    fields = words[:3] + [b"\t".join(words[3:])] if len(words) > 3 else words
                else:
                    fields = line.split(b"\t", 3)
                if len(fields) < 3:
                    raise RecordError(f"line {lineno}: expected at least 3 fields, got "
                                      f"{len(fields)}", lineno)
                chroms.append(fields[0])
                starts.append(fields[1])
                ends.append(fields[2])
                rests.append(fields[3] if len(fields) > 3 else b"")
                numbers.append(lineno)
                if len(chroms) >= batch:
                    yield chroms, starts, ends, rests, numbers
                    chroms, starts, ends, rests, numbers = [], [], [], [], []
            if chroms:
                yield chroms, starts, ends, rests, numbers
            if not chunk:
                break
    finally:
        if handle is not path:
            handle.close()


def _split_fast(text: bytes, lines: list[bytes], lineno: int):
    """Split a chunk (``text``, already split into ``lines``) of plain tab-separated BED lines
    at C speed; None if any line needs care (blank, comment, CR, mixed field counts)."""
    if not lines or b"\r" in text or b"\n\n" in text or b"\n#" in text or not lines[0] \
            or lines[0][:1] == b"#" or not lines[-1]:
        return None
    parts = [line.split(b"\t", 3) for line in lines]
    widths = set(map(len, parts))
    if widths == {3}:  # BED3
        chroms, starts, ends = (list(col) for col in zip(*parts))
        rests = [b""] * len(parts)
    elif widths == {4}:
        chroms, starts, ends, rests = (list(col) for col in zip(*parts))
    else:
        return None
    numbers = _Numbers(range(lineno + 1, lineno + 1 + len(lines)))
    return chroms, starts, ends, rests, numbers


def _parse_ints(values: list) -> np.ndarray | None:
    """Decimal integers (bytes/str/int) as int64, or None if any is not one."""
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    if not values:
        return np.empty(0, np.int64)
    first = values[0]
    try:
        if isinstance(first, int):
            return np.array(values, dtype=np.int64)
        if isinstance(first, bytes):
            text = b" ".join(values)
            if len(text) != sum(map(len, values)) + len(values) - 1 or b"." in text:
                return None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = np.fromstring(text.decode("ascii"), dtype=np.int64, sep=" ")
            if len(arr) != len(values):
                return None
            return arr
        return np.array(values).astype(np.int64)
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None


def _to_int_array(values: list, numbers, what: str) -> np.ndarray:
    arr = _parse_ints(values)
    if arr is None:
        for i, v in enumerate(values):
            try:
                int(v)
            except (ValueError, TypeError):
                raise RecordError(f"{_where(numbers, i)}: {what} {_show(v)} is not an integer",
                                  numbers[i]) from None
        raise RecordError(f"{what}: bad integer", None)
    return arr


def _show(v) -> str:
    return repr(v.decode(errors="replace") if isinstance(v, bytes) else v)


def _where(numbers, i: int) -> str:
    return f"line {numbers[i]}" if numbers.is_lines else f"record {numbers[i]}"


def zlib_compressor(compress: Union[bool, str]):
    """The block compressor for ``compress``: ``True``/``"zlib"`` (zlib level 6, as UCSC -
    identical bytes), ``"libdeflate"`` (same format, ~3x faster, slightly different bytes),
    ``"isal"`` (~10x faster, ~2% larger); ``False`` for none."""
    if compress is False or compress is None:
        return None
    if compress is True or compress == "zlib":
        return zlib.compress
    if compress == "libdeflate":
        import deflate

        return lambda data: deflate.zlib_compress(data, 6)
    if compress == "isal":
        from isal import isal_zlib

        return lambda data: isal_zlib.compress(data, 1)
    raise ValueError(f"compress must be True, False, 'zlib', 'libdeflate' or 'isal', "
                     f"not {compress!r}")


class EncodedRecords:
    """A batch of records already laid out as a bigBed data block stores them.

    Record ``i`` is ``buf[offsets[i]:offsets[i + 1]]``: 12 bytes left for the writer's
    ``(chromId, start, end)`` prefix, the rest text (tab-separated fields), a NUL. A caller
    that formats the text itself (e.g. the Alignment writer, with numpy) hands this to
    :meth:`BigBedWriter.write_batch` instead of a list of ``rests``, so no per-record bytes
    objects are made or joined.
    """

    __slots__ = ("buf", "offsets")

    def __init__(self, buf: np.ndarray, offsets: np.ndarray):
        self.buf = buf  # writable uint8
        self.offsets = offsets  # int64, len(records) + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, item):
        if isinstance(item, slice):
            lo, hi, _ = item.indices(len(self))
            return EncodedRecords(self.buf, self.offsets[lo:hi + 1])
        return self.rests()[item]

    def rests(self) -> list[bytes]:
        """The rest texts as bytes (for the general validation and index-key paths)."""
        off = self.offsets
        raw = self.buf[off[0]:off[-1]].tobytes()
        starts = (off[:-1] - off[0] + 12).tolist()
        ends = (off[1:] - off[0] - 1).tolist()
        return [raw[a:b] for a, b in zip(starts, ends)]


class _Numbers(list):
    """Line numbers (BED file) or record indices (iterables), for error messages."""

    is_lines = True


# -- the writer ------------------------------------------------------------------------------------
class BigBedWriter(CloseOrAbort):
    """Stream records into a bigBed file.

    >>> with BigBedWriter("out.bb", {"chr1": 248956422}) as w:   # doctest: +SKIP
    ...     w.write_records([("chr1", 100, 200, None)])

    ``autosql`` is ``.as`` text or an :class:`AutoSqlTable` (default: standard BED of the width
    of the records or of ``bed_type``); ``bed_type`` is ``"bedN[+[P]]"`` or N (the
    ``definedFieldCount``). ``close()`` writes the file and returns the number of records.
    """

    def __init__(self, target: Target, chrom_sizes: Union[Mapping[str, int], str, os.PathLike],
                 autosql: Union[str, AutoSqlTable, None] = None,
                 bed_type: Union[str, int, None] = None, extra_index: Iterable[str] = (),
                 compress: Union[bool, str] = True, block_size: int = 256,
                 items_per_slot: int = 512,
                 threads: int | None = None, validate: bool = True, zero_length_bases: int = 0,
                 allow_1bp_overlap: bool = False):
        if block_size < 2 or items_per_slot < 1:
            raise ValueError("block_size must be >= 2 and items_per_slot >= 1")
        self.chrom_sizes = read_chrom_sizes(chrom_sizes)
        self.block_size = int(block_size)
        self.items_per_slot = int(items_per_slot)
        self._zcompress = zlib_compressor(compress)
        self.compress = self._zcompress is not None
        self.validate = validate
        self._overlap_slack = 1 if allow_1bp_overlap else 0  # bedToBigBed -allow1bpOverlap
        if isinstance(extra_index, str):
            extra_index = [name for name in extra_index.split(",") if name]
        self._extra_names = list(extra_index)
        self._bed_n, self._bed_plus = parse_bed_type(bed_type)
        if isinstance(autosql, AutoSqlTable):
            self._as_text = str(autosql)
            self._table: AutoSqlTable | None = autosql
        elif autosql is not None:
            if isinstance(autosql, (bytes, bytearray)):
                autosql = bytes(autosql).split(b"\0", 1)[0].decode()
            # Text is stored verbatim (as bedToBigBed does with -as); other declaration objects
            # (e.g. Biopython's AutoSQLTable) by their str().
            self._as_text = autosql if isinstance(autosql, str) else str(autosql)
            self._table = AutoSqlTable.from_string(self._as_text)
        else:
            self._as_text = None
            self._table = None
        if self._table is not None and self._bed_n is None:
            self._bed_n = _count_bed_fields(self._table)
        self._field_count: int | None = None
        if self._table is not None:
            self._setup_fields(len(self._table))
        # target
        if isinstance(target, (str, os.PathLike)):
            self._atomic: AtomicFile | None = AtomicFile(target)
            self._out: BinaryIO = self._atomic.handle
            spill_dir = os.path.dirname(os.path.abspath(self._atomic.path))
        else:
            self._atomic = None
            self._out = target  # type: ignore[assignment]
            spill_dir = None
        self._data = tempfile.TemporaryFile(dir=spill_dir)
        # zero_length_bases: 0 = bedToBigBed (an insertion point covers nothing), 1 = Biopython
        self._coverage = CoverageSpill(spill_dir=spill_dir, zero_length_bases=zero_length_bases)
        threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._compressor = (BlockCompressor(self._zcompress, threads, window=32)
                            if self.compress else None)
        # state
        self._chroms: list[tuple[str, int]] = []  # (name, size) by chrom id
        self._seen: set[str] = set()
        self._chrom = None
        self._chrom_id = -1
        self._chrom_size = 0
        self._last_start = -1
        self._count = 0
        self._total_bases = 0
        self._pending: list[bytes] = []  # encoded records of the open block, in chunks
        self._pending_n = 0  # records in it
        self._pending_first = 0
        self._pending_end = 0
        self._pending_keys: list[list[bytes]] = [[] for _ in self._extra_names]
        self._block_chrom: list[int] = []
        self._block_start: list[int] = []
        self._block_end: list[int] = []
        self._block_sizes: list[int] = []  # compressed sizes in order
        self._queued_blocks = 0
        self._max_block = 0
        self._keys: list[list[tuple[list[bytes], int]]] = [[] for _ in self._extra_names]
        self._max_key = [0 for _ in self._extra_names]
        self._closed = False
        self._failed = False

    # -- setup ------------------------------------------------------------------------------------
    def _setup_fields(self, field_count: int, where: str | None = None) -> None:
        self._field_count = field_count
        if self._bed_n is None:
            self._bed_n = min(field_count, 12)
        if self._bed_n > field_count:
            if where is None:  # the count comes from the autoSql the caller gave
                raise BioformatsError(f"bed{self._bed_n} needs at least {self._bed_n} fields; "
                                      f"the autoSql declares {field_count}")
            raise RecordError(f"{where}: type bed{self._bed_n} needs at least {self._bed_n} "
                              f"fields, the record has {field_count}")
        if self._table is None:
            if field_count > self._bed_n or field_count > 12:
                raise RecordError(f"{where or 'records'}: {field_count} fields; give an autoSql "
                                  f"declaration (autosql=/-as=) for the fields after bed"
                                  f"{self._bed_n}")
            self._table = bed_declaration(field_count)
            self._as_text = str(self._table)
        names = self._table.names
        for i, name in enumerate(names[:self._bed_n]):
            if name != _BED_NAMES[i] and not (i == 8 and name == "itemRgb"):
                raise BioformatsError(f"autoSql field {i + 1} is {name!r}; bed{self._bed_n} needs "
                                 f"{_BED_NAMES[i]!r}")
        self._extra_fields = []
        for name in self._extra_names:
            if name not in names:
                raise BioformatsError(f"extraIndex field {name} not a standard bed field or found in "
                                 "the autoSql declaration")
            index = names.index(name)
            if self._table[index].base_type != "string":
                raise BioformatsError(f"extraIndex field {name}: can only index string fields")
            self._extra_fields.append(index)

    # -- public API -------------------------------------------------------------------------------
    def write_records(self, records: Iterable[Record]) -> int:
        """Add ``(chrom, start, end, rest)`` tuples (``rest``: tab-separated str/bytes or None)."""
        it = iter(records)
        base = self._count
        while True:
            chunk = list(islice(it, _BATCH))
            if not chunk:
                break
            try:
                chroms, starts, ends, rests = zip(*chunk)
            except ValueError:
                for i, rec in enumerate(chunk):
                    if len(rec) != 4:
                        raise RecordError(f"record {base + i}: expected (chrom, start, end, "
                                          f"rest), got {len(rec)} values", base + i) from None
                raise
            numbers = _Numbers(range(base, base + len(chunk)))
            numbers.is_lines = False
            try:
                rests = list(map(str.encode, rests))
            except TypeError:
                rests = [r.encode() if isinstance(r, str) else (b"" if r is None else bytes(r))
                         for r in rests]
            self.write_batch(list(chroms), list(starts), list(ends), rests, numbers)
            base += len(chunk)
        return self._count

    def write_batch(self, chroms: list, starts: list, ends: list, rests: list[bytes],
                    numbers: list[int] | None = None, values: dict | None = None) -> None:
        """Add one batch of records (the fast path; ``rests`` as bytes without the NUL).

        ``values`` (optional): the numbers ``rests`` were formatted from, for a caller that
        made the text itself - ``{"fields": count, "name_lengths", "score", "strand" (byte
        codes), "thickStart", "thickEnd", "itemRgb" (str list), "blockCount", "blockSizes",
        "chromStarts" (flat)}`` up to the BED width. They are validated exactly as the parsed
        text would be, without parsing it again; the caller guarantees they match ``rests``.
        """
        if self._closed:
            raise ValueError("writer is closed")
        n = len(chroms)
        if n == 0:
            return
        if numbers is None:
            numbers = _Numbers(range(self._count, self._count + n))
            numbers.is_lines = False
        elif not isinstance(numbers, _Numbers):
            numbers = _Numbers(numbers)
        try:
            with gc_paused():
                self._write_batch(chroms, starts, ends, rests, numbers, values)
        except BaseException:
            self._failed = True
            raise

    def close(self) -> int:
        """Finish the file; returns the number of records written."""
        if self._closed:
            return self._count
        self._closed = True
        try:
            if self._failed:
                raise BioformatsError("an earlier write_batch failed; the output was discarded "
                                      "and nothing was written to the target")
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


    # -- internals --------------------------------------------------------------------------------
    def _abort(self) -> None:
        if self._compressor is not None:
            self._compressor.close()
        for handle in (self._data,):
            try:
                handle.close()
            except Exception:
                pass
        self._coverage.close()
        if self._atomic is not None:
            self._atomic.discard()

    def _write_batch(self, chroms, starts, ends, rests, numbers, values=None) -> None:
        n = len(chroms)
        s = _to_int_array(starts, numbers, "chromStart")
        e = _to_int_array(ends, numbers, "chromEnd")
        if isinstance(chroms[0], bytes):
            chroms = [c.decode() for c in chroms]
        if isinstance(rests, EncodedRecords) and (
                values is None or self._field_count is None or self._extra_names
                or values.get("fields") != self._field_count - 3):
            rests = rests.rests()  # the general paths need the text
        if self._field_count is None:
            first = rests[0]
            self._setup_fields(3 + (first.count(b"\t") + 1 if first else 0), _where(numbers, 0))
        if self.validate:
            self._validate(chroms, s, e, rests, numbers, values)
        # Chromosome runs.
        carr = np.array(chroms, dtype=object)
        change = np.flatnonzero(carr[1:] != carr[:-1]) + 1
        bounds = [0, *change.tolist(), n]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            self._write_run(chroms[lo], s[lo:hi], e[lo:hi], rests[lo:hi], numbers, lo)

    def _validate(self, chroms, s, e, rests, numbers, values=None) -> None:
        bad = np.flatnonzero((s < 0) | (e > _MAX_COORD) | (s > e))
        if len(bad):
            i = int(bad[0])
            if s[i] > e[i]:
                raise RecordError(f"{_where(numbers, i)}: end ({e[i]}) before start ({s[i]})",
                                  numbers[i])
            raise RecordError(f"{_where(numbers, i)}: coordinates {s[i]}-{e[i]} out of range",
                              numbers[i])
        extra = self._field_count - 3
        if extra == 0:
            nonempty = [i for i, r in enumerate(rests) if r]
            if nonempty:
                i = nonempty[0]
                raise RecordError(f"{_where(numbers, i)}: expected 3 fields, got more", numbers[i])
            return
        if values is not None and values.get("fields") == extra and self._bed_n > 3 \
                and self._bed_n - 3 == extra:
            # The caller formatted rests from these numbers (no tab inside a text field).
            _validate_bed_columns(self._bed_n, None, s, e, numbers, values, self._overlap_slack)
            return
        # Tabs per record, counted over the joined batch with numpy.
        lengths = np.fromiter(map(len, rests), np.int64, len(rests))
        tab_at = np.flatnonzero(np.frombuffer(b"".join(rests), np.uint8) == 9)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        counts = np.diff(np.searchsorted(tab_at, bounds))
        bad = np.flatnonzero(counts != extra - 1)
        if len(bad):
            i = int(bad[0])
            got = 3 + (counts[i] + 1 if rests[i] else 0)
            raise RecordError(f"{_where(numbers, i)}: expected {self._field_count} fields, got "
                              f"{got}", numbers[i])
        if self._bed_n <= 3:
            return
        # Every record has exactly `extra` fields now: one split of the joined batch.
        flat = b"\t".join(rests).split(b"\t")
        cols = [flat[k::extra] for k in range(self._bed_n - 3)]
        _validate_bed_columns(self._bed_n, cols, s, e, numbers, slack=self._overlap_slack)

    def _new_chrom(self, name: str, numbers, index: int) -> None:
        if name in self._seen:
            raise SortOrderError(f"{_where(numbers, index)}: input is not sorted: {name} appears "
                                 "again after other chromosomes (sort -k1,1 -k2,2n)",
                                 record=numbers[index])
        try:
            size = self.chrom_sizes[name]
        except KeyError:
            raise UnknownReferenceError(f"{_where(numbers, index)}: {name} is not found in the "
                                        "chromosome sizes") from None
        if not name or len(name.encode()) > 255:
            raise RecordError(f"{_where(numbers, index)}: chromosome name must be 1-255 bytes",
                              numbers[index])
        if self._chrom is not None:
            self._end_block()
            self._coverage.end_chrom()
        self._seen.add(name)
        self._chrom = name
        self._chrom_id = len(self._chroms)
        self._chroms.append((name, size))
        self._chrom_size = size
        self._last_start = -1
        self._coverage.start_chrom(self._chrom_id, size)

    def _write_run(self, chrom: str, s: np.ndarray, e: np.ndarray, rests, numbers, offset: int):
        if chrom != self._chrom:
            self._new_chrom(chrom, numbers, offset)
        if len(s) > 1:
            bad = np.flatnonzero(s[1:] < s[:-1])
            if len(bad):
                i = offset + int(bad[0]) + 1
                raise SortOrderError(f"{_where(numbers, i)}: input is not sorted by start "
                                     f"({s[bad[0] + 1]} after {s[bad[0]]} on {chrom}; sort -k1,1 "
                                     "-k2,2n)", tid=self._chrom_id, pos=int(s[bad[0] + 1]),
                                     record=numbers[i])
        if s[0] < self._last_start:
            raise SortOrderError(f"{_where(numbers, offset)}: input is not sorted by start "
                                 f"({s[0]} after {self._last_start} on {chrom})",
                                 tid=self._chrom_id, pos=int(s[0]), record=numbers[offset])
        over = np.flatnonzero(e > self._chrom_size)
        if len(over):
            i = offset + int(over[0])
            raise RecordError(f"{_where(numbers, i)}: end coordinate {e[over[0]]} bigger than "
                              f"{chrom} size of {self._chrom_size}", numbers[i])
        self._last_start = int(s[-1])
        self._count += len(s)
        self._total_bases += int((e - s).sum())
        self._coverage.add(s, e)
        # Encode records: 12-byte prefix + rest + NUL.
        cid = self._chrom_id
        if isinstance(rests, EncodedRecords):
            off = rests.offsets
            prefix = np.empty((len(s), 3), "<u4")
            prefix[:, 0] = cid
            prefix[:, 1] = s
            prefix[:, 2] = e
            rests.buf[off[:-1, None] + np.arange(12)] = prefix.view(np.uint8).reshape(-1, 12)
            raw = rests.buf[off[0]:off[-1]].tobytes()
            cut = (off - off[0]).tolist()

            def chunk(i: int, j: int) -> bytes:
                return raw[cut[i]:cut[j]]
        else:
            pack = _PREFIX.pack
            recs = [pack(cid, a, b) + r + b"\0" for a, b, r in zip(s.tolist(), e.tolist(), rests)]

            def chunk(i: int, j: int) -> bytes:
                return b"".join(recs[i:j])
        keys = None
        if self._extra_names:
            keys = [self._index_keys(chrom, rests, k) for k in self._extra_fields]
        per = self.items_per_slot
        i = 0
        n = len(s)
        el = e.tolist()
        while i < n:
            if not self._pending_n:
                self._pending_first = int(s[i])
                self._pending_end = 0
            take = min(per - self._pending_n, n - i)
            self._pending.append(chunk(i, i + take))
            self._pending_n += take
            top = max(el[i:i + take])
            if top > self._pending_end:
                self._pending_end = top
            if keys is not None:
                for store, col in zip(self._pending_keys, keys):
                    store.extend(col[i:i + take])
            i += take
            if self._pending_n >= per:
                self._end_block()

    def _index_keys(self, chrom: str, rests: list[bytes], field: int) -> list[bytes]:
        if field == 0:
            return [chrom.encode()] * len(rests)
        j = field - 3
        return [r.split(b"\t", j + 1)[j] for r in rests]

    def _end_block(self) -> None:
        if not self._pending_n:
            return
        data = b"".join(self._pending)
        self._pending = []
        self._pending_n = 0
        if len(data) > self._max_block:
            self._max_block = len(data)
        block = len(self._block_chrom)
        self._block_chrom.append(self._chrom_id)
        self._block_start.append(self._pending_first)
        self._block_end.append(self._pending_end)
        for i, keys in enumerate(self._pending_keys):
            if keys:
                longest = max(map(len, keys))
                # A compact fixed-width array per block (not a list of bytes objects).
                self._keys[i].append((np.array(keys, dtype=f"S{max(longest, 1)}"), block))
                if longest > self._max_key[i]:
                    self._max_key[i] = longest
        self._pending_keys = [[] for _ in self._extra_names]
        if self._compressor is None:
            self._data.write(data)
            self._block_sizes.append(len(data))
        else:
            self._compressor.submit(data)
            self._drain(False)

    def _drain(self, block: bool) -> None:
        for comp in self._compressor.drain(block):
            self._data.write(comp)
            self._block_sizes.append(len(comp))

    def _finish(self) -> None:
        if self._chrom is not None:
            self._end_block()
            self._coverage.end_chrom()
        sizes = [size for _, size in self._chroms]
        ave = self._total_bases / self._count if self._count else 0.0
        # While the pool finishes the last blocks: the likely zoom level 0 (needs no sizes).
        early = first_level(self._coverage, ave, sizes) if self._count else {}
        if self._compressor is not None:
            self._drain(True)  # the pool stays up for the zoom blocks
        if self._field_count is None:
            self._setup_fields(self._bed_n or 3)
        out = _Counter(self._out)
        header = Header(byteorder="<", fieldCount=self._field_count,
                        definedFieldCount=self._bed_n)
        # Fixed part, zoom slots (filled at the end), autoSql, total summary, extension header.
        prefix = bytearray(HEADER_SIZE + MAX_ZOOM_LEVELS * ZOOM_HEADER_SIZE)
        header.autoSqlOffset = len(prefix)
        as_bytes = self._as_text.encode() + b"\0"
        header.totalSummaryOffset = header.autoSqlOffset + len(as_bytes)
        header.extensionOffset = header.totalSummaryOffset + TOTAL_SUMMARY_SIZE
        pos = header.extensionOffset + EXTRA_HEADER_SIZE
        extra_list_offset = pos if self._extra_names else 0
        pos += 20 * len(self._extra_names)
        header.chromosomeTreeOffset = pos
        chrom_tree = self._chrom_tree(pos)
        header.fullDataOffset = pos + len(chrom_tree)
        data_size = self._data.tell()
        header.fullIndexOffset = header.fullDataOffset + 8 + data_size
        # Everything after the data can be computed now; the zoom levels need the data size.
        levels = choose_levels(self._coverage, ave, header.fullIndexOffset - header.fullDataOffset,
                               self.compress, sizes, early) if self._count else []
        summary = TotalSummary(*total_summary(self._coverage))
        # Data R-tree.
        block_sizes = np.asarray(self._block_sizes, dtype=np.uint64)
        offsets = header.fullDataOffset + 8 + np.concatenate(
            [[0], np.cumsum(block_sizes)[:-1]]).astype(np.uint64) if len(block_sizes) else \
            np.empty(0, np.uint64)
        data_index = rtree_bytes(self._block_chrom, self._block_start, self._block_end, offsets,
                                 header.fullIndexOffset, header.fullIndexOffset,
                                 self.block_size, 1)
        pos = header.fullIndexOffset + len(data_index)
        zoom_parts = []
        zoom_headers = []
        for reduction, summ in levels:
            part, level = self._zoom_level(summ, reduction, pos)
            zoom_parts.append(part)
            zoom_headers.append(level)
            pos += len(part)
        header.zoomLevels = len(levels)
        extra_parts = []
        extra_items = []
        for i, field in enumerate(self._extra_fields):
            tree = self._extra_tree(i, offsets, block_sizes, pos)
            extra_items.append(ExtraIndex(0, pos, [field]))
            extra_parts.append(tree)
            pos += len(tree)
        if self.compress:
            header.uncompressBufSize = max(self._max_block,
                                           self.items_per_slot * _LAY.zoom_record.size)
        # Write it all, in file order.
        prefix[:HEADER_SIZE] = header.pack()
        prefix[HEADER_SIZE:] = pack_zoom_headers(zoom_headers, "<")
        out.write(bytes(prefix))
        out.write(as_bytes)
        out.write(summary.pack("<"))
        out.write(ExtraHeader(EXTRA_HEADER_SIZE, len(self._extra_names),
                              extra_list_offset).pack("<"))
        for item in extra_items:
            out.write(item.pack("<"))
        out.write(chrom_tree)
        assert out.pos == header.fullDataOffset
        out.write(_LAY.data_count.pack(self._count))
        out.copy_from(self._data, data_size)
        self._data.close()
        assert out.pos == header.fullIndexOffset
        out.write(data_index)
        for part in zoom_parts:
            out.write(part)
        for part in extra_parts:
            out.write(part)
        out.write(struct.pack("<I", BIGBED_MAGIC))
        self._coverage.close()
        if self._compressor is not None:
            self._compressor.close()

    def _chrom_tree(self, offset: int) -> bytes:
        names = sorted((name.encode(), cid, size) for cid, (name, size) in enumerate(self._chroms))
        # With no chromosomes, UCSC writes block and key size 0; 1 keeps strict readers happy.
        key_size = max((len(n) for n, _, _ in names), default=1)
        keys = np.array([n for n, _, _ in names], dtype=f"S{max(key_size, 1)}")
        vals = np.array([(cid, size) for _, cid, size in names],
                        dtype=[("id", "<u4"), ("size", "<u4")])
        return bptree_bytes(keys, vals, max(1, min(self.block_size, len(names))), offset,
                            key_size)

    def _zoom_level(self, summ: np.ndarray, reduction: int, pos: int) -> tuple[bytes, ZoomLevel]:
        disk = summaries_to_disk(summ)
        per = self.items_per_slot
        blocks = [disk[i:i + per].tobytes() for i in range(0, len(disk), per)]
        if self.compress:
            blocks = self._compressor.map(blocks)
        data_offset = pos
        sizes = np.array([len(b) for b in blocks], dtype=np.uint64)
        block_offsets = data_offset + 4 + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(
            np.uint64)
        item_offsets = np.repeat(block_offsets, [min(per, len(disk) - i)
                                                 for i in range(0, len(disk), per)])
        index_offset = data_offset + 4 + int(sizes.sum())
        tree = rtree_bytes(summ["chrom"], summ["start"], summ["end"], item_offsets,
                           index_offset, index_offset, self.block_size, per)
        part = _LAY.zoom_count.pack(len(disk)) + b"".join(blocks) + tree
        return part, ZoomLevel(reduction, data_offset, index_offset)

    def _extra_tree(self, i: int, offsets: np.ndarray, sizes: np.ndarray, pos: int) -> bytes:
        entries = self._keys[i]
        key_size = self._max_key[i]
        width = f"S{max(key_size, 1)}"
        keys = np.concatenate([k.astype(width) for k, _ in entries]) if entries else \
            np.empty(0, dtype=width)
        blocks = np.repeat(np.array([b for _, b in entries], dtype=np.int64),
                           [len(k) for k, _ in entries]) if entries else np.empty(0, np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        blocks = blocks[order]
        vals = np.empty(len(keys), dtype=[("offset", "<u8"), ("size", "<u8")])
        vals["offset"] = offsets[blocks] if len(blocks) else 0
        vals["size"] = sizes[blocks] if len(blocks) else 0
        return bptree_bytes(keys, vals, self.block_size, pos, key_size)


class _Counter:
    """Write-through wrapper that tracks the position, so the target needs no tell()/seek()."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self.pos = 0

    def write(self, data) -> int:
        self._handle.write(data)
        self.pos += len(data)
        return len(data)

    def copy_from(self, source: BinaryIO, size: int) -> None:
        """Append ``size`` bytes of ``source`` (from its start); in the kernel when both are
        real files."""
        source.flush()
        source.seek(0)
        try:
            dst = self._handle.fileno()
            src = source.fileno()
            self._handle.flush()
        except (AttributeError, OSError, io.UnsupportedOperation):
            shutil.copyfileobj(source, self, 1 << 20)
            return
        done = 0
        while done < size:
            try:
                sent = os.sendfile(dst, src, done, size - done)
            except OSError:
                if done:
                    raise
                shutil.copyfileobj(source, self, 1 << 20)  # fd types sendfile refuses
                return
            if sent == 0:
                raise OSError("short copy of the data section")
            done += sent
        self.pos += done


def _count_bed_fields(table: AutoSqlTable) -> int:
    n = 0
    for f, name in zip(table.names, _BED_NAMES):
        if f != name and not (n == 8 and f == "itemRgb"):
            break
        n += 1
    return max(3, min(n, 12))


# -- BED column validation ------------------------------------------------------------------------
def _ints(col, numbers, what: str) -> np.ndarray:
    return _to_int_array(list(col), numbers, what)


def _validate_bed_columns(bed_n: int, cols, s: np.ndarray, e: np.ndarray, numbers,
                          values: dict | None = None, slack: int = 0) -> None:
    """Check the standard columns 4..bed_n the way bedToBigBed does (vectorised per batch).

    ``cols``: the text columns; or ``values``: the same columns as numbers (see
    :meth:`BigBedWriter.write_batch`), checked in the same order with the same messages.
    """
    if values is not None:
        lengths = values["name_lengths"]
    else:
        name = cols[0]
        lengths = np.fromiter(map(len, name), np.int64, len(name))
    bad = np.flatnonzero(lengths > 255)
    if len(bad):
        i = int(bad[0])
        raise RecordError(f"{_where(numbers, i)}: name is too long ({lengths[i]} > 255 bytes)",
                          numbers[i])
    if bed_n >= 5:
        score = values["score"] if values is not None else _ints(cols[1], numbers, "score")
        bad = np.flatnonzero((score < 0) | (score > 1000))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: score ({score[i]}) must be between 0 and "
                              "1000", numbers[i])
    if bed_n >= 6 and values is not None:
        bad = np.flatnonzero((values["strand"] != 43) & (values["strand"] != 45)
                             & (values["strand"] != 46))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: expecting + or - or . in strand, got "
                              f"{_show(bytes([values['strand'][i]]))}", numbers[i])
    elif bed_n >= 6:
        strand = set(cols[2])
        if not strand <= {b"+", b"-", b"."}:
            bad_value = next(v for v in cols[2] if v not in (b"+", b"-", b"."))
            i = list(cols[2]).index(bad_value)
            raise RecordError(f"{_where(numbers, i)}: expecting + or - or . in strand, got "
                              f"{_show(bad_value)}", numbers[i])
    if bed_n >= 8:
        if values is not None:
            thick_start, thick_end = values["thickStart"], values["thickEnd"]
        else:
            thick_start = _ints(cols[3], numbers, "thickStart")
            thick_end = _ints(cols[4], numbers, "thickEnd")
        bad = np.flatnonzero((thick_start < s) & ~((thick_start == 0) & (thick_end == 0))
                             | (thick_start > e))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: thickStart out of range "
                              f"({s[i]}-{e[i]}, thick: {thick_start[i]}-{thick_end[i]})",
                              numbers[i])
        bad = np.flatnonzero(((thick_end < s) & ~((thick_start == 0) & (thick_end == 0)))
                             | (thick_end > e) | (thick_end < thick_start))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: thickEnd out of range "
                              f"({s[i]}-{e[i]}, thick: {thick_start[i]}-{thick_end[i]})",
                              numbers[i])
    elif bed_n == 7:
        thick_start = values["thickStart"] if values is not None else \
            _ints(cols[3], numbers, "thickStart")
        bad = np.flatnonzero((thick_start > e) | ((thick_start < s) & (thick_start != 0)))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: thickStart out of range", numbers[i])
    if bed_n >= 9:
        colors = cols[5] if values is None else values["itemRgb"]
        for color in set(colors):
            if not _valid_rgb(color if isinstance(color, bytes) else color.encode()):
                i = list(colors).index(color)
                raise RecordError(f"{_where(numbers, i)}: expecting color to consist of r,g,b "
                                  f"values from 0 to 255, got {_show(color)}", numbers[i])
    if bed_n >= 10:
        count = values["blockCount"] if values is not None else \
            _ints(cols[6], numbers, "blockCount")
        bad = np.flatnonzero(count < 0)
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{_where(numbers, i)}: blockCount ({count[i]}) is negative",
                              numbers[i])
    if bed_n >= 12:
        if values is not None:
            _check_blocks(count, values["blockSizes"], values["chromStarts"], s, e, numbers, slack)
        else:
            _validate_blocks(count, cols[7], cols[8], s, e, numbers, slack)


def _valid_rgb(color: bytes) -> bool:
    if color == b".":  # what Biopython writes for "no color"
        return True
    parts = color.rstrip(b",").split(b",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        return False
    if len(values) == 3:
        return all(0 <= v <= 255 for v in values)
    return len(values) == 1 and 0 <= values[0] <= 0xFFFFFFFF


def _split_lists(col, counts: np.ndarray, numbers, what: str) -> np.ndarray:
    """All comma-separated integer lists of a column, concatenated; checks the counts."""
    joined = b"".join(col)
    lengths = np.fromiter(map(len, col), np.int64, len(col))
    ends = np.cumsum(lengths)
    raw = np.frombuffer(joined, np.uint8)
    commas = np.flatnonzero(raw == 44)
    per = np.bincount(np.searchsorted(ends, commas, side="right"), minlength=len(col))[:len(col)]
    trailing = np.zeros(len(col), bool)
    nonempty = lengths > 0
    trailing[nonempty] = raw[ends[nonempty] - 1] == 44
    stripped = lengths - trailing
    got = np.where(stripped > 0, per - trailing + 1, 0)
    bad = np.flatnonzero(got != counts)
    if len(bad):
        i = int(bad[0])
        raise RecordError(f"{_where(numbers, i)}: {what} has {got[i]} values, blockCount is "
                          f"{counts[i]}", numbers[i])
    total = int(counts.sum())
    if not total:
        return np.empty(0, np.int64)
    if not trailing[nonempty].all() or (nonempty & (stripped == 0)).any():
        joined = b"".join(c.rstrip(b",") + b"," for c in col if c.rstrip(b","))
    arr = None
    if b" " not in joined and b"." not in joined:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                arr = np.fromstring(joined.decode("ascii"), dtype=np.int64, sep=",")
            except (ValueError, UnicodeDecodeError):
                arr = None
    if arr is not None and len(arr) == total:
        return arr
    for i, t in enumerate(col):  # slow path: find the offending record
        try:
            [int(v) for v in t.rstrip(b",").split(b",")] if t else None
        except ValueError:
            raise RecordError(f"{_where(numbers, i)}: {what} {_show(col[i])} are not "
                              "integers", numbers[i]) from None
    raise RecordError(f"{what}: cannot parse", None)


def _validate_blocks(counts, sizes_col, starts_col, s, e, numbers, slack: int = 0) -> None:
    sizes = _split_lists(sizes_col, counts, numbers, "blockSizes")
    starts = _split_lists(starts_col, counts, numbers, "chromStarts")
    _check_blocks(counts, sizes, starts, s, e, numbers, slack)


def _check_blocks(counts, sizes, starts, s, e, numbers, slack: int = 0) -> None:
    """``slack`` = 1 lets consecutive blocks overlap by one base (bedToBigBed -allow1bpOverlap)."""
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    lasts = firsts + counts - 1
    has = np.flatnonzero(counts > 0)
    rec = np.repeat(np.arange(len(counts)), counts)
    problems = []
    bad = has[starts[firsts[has]] != 0]
    if len(bad):
        problems.append((int(bad[0]), "first block must start at chromStart (chromStarts[0] "
                                      "must be 0)"))
    bad = has[starts[lasts[has]] + sizes[lasts[has]] != (e - s)[has]]
    if len(bad):
        problems.append((int(bad[0]), "last block must end at chromEnd"))
    bad = np.flatnonzero(sizes < 0)
    if len(bad):
        problems.append((int(rec[bad[0]]), "negative block size"))
    if len(starts) > 1:
        same = rec[1:] == rec[:-1]
        overlap = starts[1:] < starts[:-1] + sizes[:-1] - slack
        bad = np.flatnonzero(same & overlap)
        if len(bad):
            problems.append((int(rec[bad[0] + 1]), "blocks overlap or are not in ascending "
                                                   "order"))
    if problems:
        i, text = min(problems)
        raise RecordError(f"{_where(numbers, i)}: inconsistent blocks: {text}", numbers[i])


# -- bulk entry point -------------------------------------------------------------------------------
def write(records: Union[Iterable[Record], str, os.PathLike],
          chrom_sizes: Union[Mapping[str, int], str, os.PathLike], target: Target,
          autosql: Union[str, AutoSqlTable, None] = None, bed_type: Union[str, int, None] = None,
          extra_index: Iterable[str] = (), compress: Union[bool, str] = True,
          block_size: int = 256,
          items_per_slot: int = 512, *, tab: bool = False, threads: int | None = None,
          progress=None, zero_length_bases: int = 0) -> int:
    """Write a bigBed from ``(chrom, start, end, rest)`` tuples or a BED file path, in one pass.

    ``chrom_sizes``: ``{name: size}`` or a chrom.sizes path. ``autosql``: ``.as`` text (or an
    :class:`AutoSqlTable`); ``bed_type``: ``"bedN[+[P]]"``. Returns the number of records. The
    result is what UCSC ``bedToBigBed`` makes from the same input (byte for byte with the default
    ``compress=True``; ``"libdeflate"`` / ``"isal"`` trade that for speed, see
    :func:`zlib_compressor`). ``progress`` (optional) is
    called with the number of records added after each batch.
    """
    writer = BigBedWriter(target, chrom_sizes, autosql=autosql, bed_type=bed_type,
                          extra_index=extra_index, compress=compress, block_size=block_size,
                          items_per_slot=items_per_slot, threads=threads,
                          zero_length_bases=zero_length_bases)
    try:
        if isinstance(records, (str, os.PathLike)):
            for chroms, starts, ends, rests, numbers in iter_bed_batches(records, tab=tab):
                writer.write_batch(chroms, starts, ends, rests, _Numbers(numbers))
                if progress is not None:
                    progress(len(chroms))
        else:
            writer.write_records(records)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
