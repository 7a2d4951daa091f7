"""bedGraph parsing in chunks, at C speed for the common case.

A chunk of plain tab-separated four-column lines is split once (newlines turned into tabs, one
``bytes.split``), and the columns are converted by numpy in one call each. A chunk that needs care
(``track``/``browser``/``#`` lines, blank lines, CR, spaces, wrong column counts) is parsed line by
line, so errors can name the line.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import RecordError

CHUNK = 1 << 22

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _arrow(body: bytes, nlines: int, first_line: int) -> Batch | None:
    """pyarrow's multi-threaded CSV reader, when installed (about 6x faster than splitting);
    None when it is missing or refuses the chunk (the slow path then names the bad line)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    try:
        table = pcsv.read_csv(
            pa.BufferReader(body),
            read_options=pcsv.ReadOptions(column_names=["c", "s", "e", "v"], block_size=1 << 20),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False,
                                            double_quote=False),
            convert_options=pcsv.ConvertOptions(column_types={
                "c": pa.dictionary(pa.int32(), pa.string()), "s": pa.int64(),
                "e": pa.int64(), "v": pa.float64()}),
            # the system allocator returns freed chunks; mimalloc's pool kept ~2x the RSS
            memory_pool=pa.system_memory_pool())
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if table.num_rows != nlines:
        return None
    chrom = table.column("c").combine_chunks()
    cols = [chrom.indices, *(table.column(c).combine_chunks() for c in "sev")]
    if any(col.null_count for col in cols):  # empty or "NA" fields: the slow path names them
        return None
    # numpy views of the buffers: ``to_numpy`` would import pandas (about 50 MB of RSS)
    ix, s, e, v = (np.frombuffer(col.buffers()[1], dt, len(col), col.offset)
                   for col, dt in zip(cols, (np.int32, np.int64, np.int64, np.float64)))
    names = np.array(chrom.dictionary.to_pylist(), dtype=object)[ix]
    return names, s, e, v, np.arange(first_line, first_line + nlines)


def _fast(body: bytes, nlines: int, first_line: int) -> Batch | None:
    if b"#" in body or b"\r" in body or b" " in body or b"\n\n" in body or b"track" in body \
            or b"browser" in body:
        return None
    batch = _arrow(body, nlines, first_line)
    if batch is not None:
        return batch
    fields = body.replace(b"\n", b"\t").split(b"\t")
    if len(fields) != 4 * nlines:
        return None
    try:
        starts = np.array(fields[1::4]).astype(np.int64)
        ends = np.array(fields[2::4]).astype(np.int64)
        values = np.array(fields[3::4]).astype(np.float64)
    except (ValueError, OverflowError):
        return None
    chroms = np.array(fields[0::4])
    return chroms, starts, ends, values, np.arange(first_line, first_line + nlines)


def _slow(lines: list[bytes], first_line: int, header_done: bool) -> tuple[Batch, bool]:
    chroms, starts, ends, values, numbers = [], [], [], [], []
    for lineno, line in enumerate(lines, first_line):
        line = line.rstrip(b"\r")
        words = line.split()
        if not words or words[0].startswith(b"#"):
            continue
        if not header_done and words[0] in (b"track", b"browser"):
            continue
        header_done = True
        if len(words) != 4:
            raise RecordError(f"line {lineno}: expected 4 columns (chrom start end value), "
                              f"got {len(words)}", lineno)
        try:
            start, end = int(words[1]), int(words[2])
        except ValueError:
            raise RecordError(f"line {lineno}: start/end {words[1]!r}/{words[2]!r} are not "
                              "integers", lineno) from None
        try:
            value = float(words[3])
        except ValueError:
            raise RecordError(f"line {lineno}: value {words[3].decode(errors='replace')!r} is "
                              "not a number", lineno) from None
        chroms.append(words[0])
        starts.append(start)
        ends.append(end)
        values.append(value)
        numbers.append(lineno)
    return ((np.array(chroms, dtype=object).astype(bytes) if chroms else np.zeros(0, "S1"),
             np.array(starts, np.int64), np.array(ends, np.int64), np.array(values, np.float64),
             np.array(numbers, np.int64)), header_done)


def iter_bedgraph(source: "str | os.PathLike[str] | BinaryIO") -> Iterator[Batch]:
    """Batches ``(chroms (bytes array), starts, ends, values, line numbers)``."""
    handle = open(source, "rb") if isinstance(source, (str, os.PathLike)) else source
    try:
        lineno = 1
        leftover = b""
        header_done = False
        while True:
            chunk = handle.read(CHUNK)
            data = leftover + chunk
            if chunk:
                cut = data.rfind(b"\n")
                if cut < 0:
                    leftover = data
                    continue
                body, leftover = data[:cut], data[cut + 1:]
            else:
                body, leftover = data.rstrip(b"\n"), b""
            if body:
                nlines = body.count(b"\n") + 1
                first = lineno
                if not header_done:  # skip the leading track/browser/comment/blank lines
                    lines = body.split(b"\n")
                    k = 0
                    while k < len(lines) and (not lines[k].strip() or lines[k].split()[0] in
                                              (b"track", b"browser") or lines[k][:1] == b"#"):
                        k += 1
                    if k < len(lines):
                        header_done = True
                    body = b"\n".join(lines[k:])
                    first += k
                batch = _fast(body, nlines - (first - lineno), first) if body else None
                if batch is None:
                    batch, header_done = _slow(body.split(b"\n"), first, header_done)
                lineno += nlines
                if len(batch[1]):
                    yield batch
            if not chunk:
                break
    finally:
        if handle is not source:
            handle.close()
