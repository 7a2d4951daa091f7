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

import os
import struct
import tempfile
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any, BinaryIO, Callable, Union, cast

import numpy as np

from .._gc import gc_paused
from ..codec import deflate_codec
from ..compression import BlockCompressor
from ..errors import BioformatsError, RecordError, UnknownReferenceError
from ..io.atomic import AtomicFile
from ..index.sortorder import RecordNumbers, SortOrder
from .autosql import BED_FIELD_NAMES, AutoSqlTable, bed_declaration
from .staged import StagedWriter
from .bed_input import BATCH, MAX_COORD, iter_bed_batches, parse_bed_type, read_chrom_sizes
from .bed_input import to_int_array as _to_int_array
from .bed_validate import count_bed_fields, validate_bed_columns
from .format import layouts
from .write_layout import FileLayout
from .write_zoom import CoverageSpill

# read_chrom_sizes, parse_bed_type and iter_bed_batches live in .bed_input (re-exported here)
__all__ = ["write", "write_bed_file", "BigBedWriter", "EncodedRecords", "read_chrom_sizes",
           "parse_bed_type", "iter_bed_batches", "zlib_compressor"]

_LAY = layouts("<")
_PREFIX = struct.Struct("<III")
#: the sort hint bedToBigBed users know
_SORT_HINT = "input must be sorted: sort -k1,1 -k2,2n"

Target = Union[str, os.PathLike, BinaryIO]
Record = tuple  # (chrom: str, start: int, end: int, rest: str | bytes | None)


def zlib_compressor(compress: Union[bool, str]) -> "Callable[[bytes], bytes] | None":
    """The block compressor for ``compress``: ``True``/``"zlib"`` (zlib level 6, as UCSC -
    identical bytes), ``"libdeflate"`` (same format, ~3x faster, slightly different bytes),
    ``"isal"`` (~8x faster, ~2% larger); ``False`` for none. Levels: :mod:`bioformats_ext.codec`."""
    if compress is False or compress is None:
        return None
    backend = "zlib" if compress is True else compress
    if backend not in ("zlib", "libdeflate", "isal"):
        raise ValueError(f"compress must be True, False, 'zlib', 'libdeflate' or 'isal', "
                         f"not {compress!r}")
    return deflate_codec(backend, 6).zlib_compress


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


# -- the writer ------------------------------------------------------------------------------------
class BigBedWriter(FileLayout, StagedWriter):
    """Stream records into a bigBed file.

    >>> with BigBedWriter("out.bb", {"chr1": 248956422}) as w:   # doctest: +SKIP
    ...     w.write_records([("chr1", 100, 200, None)])

    ``autosql`` is ``.as`` text or an :class:`AutoSqlTable` (default: standard BED of the width
    of the records or of ``bed_type``); ``bed_type`` is ``"bedN[+[P]]"`` or N (the
    ``definedFieldCount``). ``close()`` writes the file and returns the number of records.
    """

    _failed_message = ("an earlier write_batch failed; the output was discarded and nothing "
                       "was written to the target")

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
        if isinstance(extra_index, str):
            extra_index = [name for name in extra_index.split(",") if name]
        self._extra_names = list(extra_index)
        self._bed_n, self._bed_plus = parse_bed_type(bed_type)
        self._as_text: str | None
        if isinstance(autosql, AutoSqlTable):
            self._as_text = str(autosql)
            self._table: AutoSqlTable | None = autosql
        elif autosql is not None:
            if isinstance(autosql, (bytes, bytearray)):
                autosql = bytes(autosql).split(b"\0", 1)[0].decode()
            # Text is stored verbatim (as bedToBigBed does with -as); other declaration objects
            # (e.g. Biopython's AutoSQLTable) by their str().
            self._as_text = text = autosql if isinstance(autosql, str) else str(autosql)
            self._table = AutoSqlTable.from_string(text)
        else:
            self._as_text = None
            self._table = None
        if self._table is not None and self._bed_n is None:
            self._bed_n = count_bed_fields(self._table)
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
        self._overlap_slack = 1 if allow_1bp_overlap else 0  # bedToBigBed -allow1bpOverlap
        threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._compressor: BlockCompressor[bytes] | None = (
            BlockCompressor(self._zcompress, threads, window=32)
            if self._zcompress is not None else None)
        # state
        self._chroms: list[tuple[str, int]] = []  # (name, size) by chrom id
        self._chrom_ids: dict[str, int] = {}     # chrom id by first appearance, checked
        # the shared sort/range rule; bigBed coordinates are 32-bit
        self._order = SortOrder(max_pos=MAX_COORD, max_pos_note="a bigBed file (32-bit "
                                "coordinates)", negative_start="error",
                                reference_name=self._chrom_name, hint=_SORT_HINT)
        self._chrom: str | None = None
        self._chrom_id = -1
        self._chrom_size = 0
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
        self._keys: list[list[tuple[np.ndarray, int]]] = [[] for _ in self._extra_names]
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
            if name != BED_FIELD_NAMES[i] and not (i == 8 and name == "itemRgb"):
                raise BioformatsError(f"autoSql field {i + 1} is {name!r}; bed{self._bed_n} needs "
                                 f"{BED_FIELD_NAMES[i]!r}")
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
            chunk = list(islice(it, BATCH))
            if not chunk:
                break
            try:
                chroms, starts, ends, rests = zip(*chunk)
            except ValueError:
                for i, rec in enumerate(chunk):
                    if len(rec) != 4:
                        raise RecordError(f"record {base + i + 1}: expected (chrom, start, end, "
                                          f"rest), got {len(rec)} values", base + i + 1) from None
                raise
            numbers = RecordNumbers.count_from(base + 1, len(chunk))
            try:
                texts = list(map(str.encode, rests))
            except TypeError:
                texts = [r.encode() if isinstance(r, str) else (b"" if r is None else bytes(r))
                         for r in rests]
            self.write_batch(list(chroms), list(starts), list(ends), texts, numbers)
            base += len(chunk)
        return self._count

    def write_batch(self, chroms: list, starts: list, ends: list, rests: Any,
                    numbers: RecordNumbers | None = None, values: dict | None = None) -> None:
        """Add one batch of records (the fast path; ``rests`` as bytes without the NUL, or
        :class:`EncodedRecords`). ``numbers`` names them in errors (default: 1-based count).

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
            numbers = RecordNumbers.count_from(self._count + 1, n)
        elif not isinstance(numbers, RecordNumbers):
            numbers = RecordNumbers(numbers, "line")
        try:
            with gc_paused():
                self._write_batch(chroms, starts, ends, rests, numbers, values)
        except BaseException:
            self._failed = True
            raise

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
            self._setup_fields(3 + (first.count(b"\t") + 1 if first else 0), numbers.where(0))
        tids = self._tids_for(chroms, numbers)
        self._order.check(tids, s, e, numbers)
        if self.validate:
            self._validate(chroms, s, e, rests, numbers, values)
        # Chromosome runs.
        change = np.flatnonzero(tids[1:] != tids[:-1]) + 1
        bounds = [0, *change.tolist(), n]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            self._write_run(chroms[lo], s[lo:hi], e[lo:hi], rests[lo:hi], numbers, lo)

    def _validate(self, chroms, s, e, rests, numbers, values=None) -> None:
        field_count, bed_n = cast(int, self._field_count), cast(int, self._bed_n)  # set up by now
        extra = field_count - 3
        if extra == 0:
            nonempty = [i for i, r in enumerate(rests) if r]
            if nonempty:
                i = nonempty[0]
                raise RecordError(f"{numbers.where(i)}: expected 3 fields, got more", numbers[i])
            return
        if values is not None and values.get("fields") == extra and bed_n > 3 \
                and bed_n - 3 == extra:
            # The caller formatted rests from these numbers (no tab inside a text field).
            validate_bed_columns(bed_n, None, s, e, numbers, values, self._overlap_slack)
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
            raise RecordError(f"{numbers.where(i)}: expected {self._field_count} fields, got "
                              f"{got}", numbers[i])
        if bed_n <= 3:
            return
        # Every record has exactly `extra` fields now: one split of the joined batch.
        flat = b"\t".join(rests).split(b"\t")
        cols = [flat[k::extra] for k in range(bed_n - 3)]
        validate_bed_columns(bed_n, cols, s, e, numbers, slack=self._overlap_slack)

    def _chrom_name(self, tid: int) -> str:
        names = list(self._chrom_ids)
        return names[tid] if 0 <= tid < len(names) else f"chromosome {tid}"

    def _tids_for(self, chroms: list[str], numbers: RecordNumbers) -> np.ndarray:
        """Chromosome ids (by first appearance) of a batch; a name must be in chrom.sizes."""
        ids = self._chrom_ids
        for name in dict.fromkeys(chroms):  # per distinct name, not per record
            if name in ids:
                continue
            if name not in self.chrom_sizes:
                i = chroms.index(name)
                raise UnknownReferenceError(f"{numbers.where(i)}: {name} is not found in the "
                                            "chromosome sizes")
            if not name or len(name.encode()) > 255:
                i = chroms.index(name)
                raise RecordError(f"{numbers.where(i)}: chromosome name must be 1-255 bytes",
                                  numbers[i])
            ids[name] = len(ids)
        return np.fromiter(map(ids.__getitem__, chroms), np.int64, len(chroms))

    def _new_chrom(self, name: str) -> None:
        if self._chrom is not None:
            self._end_block()
            self._coverage.end_chrom()
        size = self.chrom_sizes[name]
        self._chrom = name
        self._chrom_id = len(self._chroms)
        self._chroms.append((name, size))
        self._chrom_size = size
        self._coverage.start_chrom(self._chrom_id, size)

    def _write_run(self, chrom: str, s: np.ndarray, e: np.ndarray, rests: Any,
                   numbers: RecordNumbers, offset: int) -> None:
        if chrom != self._chrom:
            self._new_chrom(chrom)
        over = np.flatnonzero(e > self._chrom_size)
        if len(over):
            i = offset + int(over[0])
            raise RecordError(f"{numbers.where(i)}: end coordinate {e[over[0]]} bigger than "
                              f"{chrom} size of {self._chrom_size}", numbers[i])
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
        if self._compressor is None:
            return
        for comp in self._compressor.drain(block):
            self._data.write(comp)
            self._block_sizes.append(len(comp))


# -- bulk entry point -------------------------------------------------------------------------------
def write(records: Union[Iterable[Record], str, os.PathLike],
          chrom_sizes: Union[Mapping[str, int], str, os.PathLike], target: Target,
          autosql: Union[str, AutoSqlTable, None] = None, bed_type: Union[str, int, None] = None,
          extra_index: Iterable[str] = (), compress: Union[bool, str] = True,
          block_size: int = 256,
          items_per_slot: int = 512, *, tab: bool = False, threads: int | None = None,
          progress: Callable[[int], Any] | None = None, zero_length_bases: int = 0,
          allow_1bp_overlap: bool = False) -> int:
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
                          zero_length_bases=zero_length_bases, allow_1bp_overlap=allow_1bp_overlap)
    try:
        if isinstance(records, (str, os.PathLike)):
            write_bed_file(writer, records, tab=tab, progress=progress)
        else:
            writer.write_records(records)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def write_bed_file(writer: BigBedWriter, path: Union[str, os.PathLike, BinaryIO],
                   tab: bool = False, progress: Callable[[int], Any] | None = None) -> None:
    """Feed a BED file to ``writer`` in batches (errors name the file's 1-based lines);
    ``progress`` is called with the number of records of each batch."""
    for chroms, starts, ends, rests, numbers in iter_bed_batches(path, tab=tab):
        writer.write_batch(chroms, starts, ends, rests, numbers)
        if progress is not None:
            progress(len(chroms))
