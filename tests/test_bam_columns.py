"""decode_columns with BGZF block starts as hints: the uniform-block shortcut (records of one
size cut arithmetically) must give exactly the record starts of a plain walk, whatever the
blocks hold: one-size runs, mixed sizes, records spanning blocks, hints that are not starts."""

from __future__ import annotations

import numpy as np
import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.bam import BamWriter  # noqa: E402
from bioformats_ext.bam.columns import decode_columns  # noqa: E402
from bioformats_ext.bam.scan import parse_header, record_starts  # noqa: E402
from bioformats_ext.bgzf import BgzfReader  # noqa: E402
from helpers import random_sam, tiled_bam, write_bam  # noqa: E402


def _stream_and_blocks(path) -> tuple[bytes, int, np.ndarray]:
    blocks = [data for _address, data in BgzfReader(str(path)).iter_blocks()]
    data = b"".join(blocks)
    starts = np.cumsum([0] + [len(b) for b in blocks])[:-1]
    return data, parse_header(data).end, starts.astype(np.int64)


def _check(data: bytes, first: int, hints: np.ndarray) -> None:
    """Whole stream and 8-block batches (carrying the cut record over, as readers do)."""
    expected, end = record_starts(np.frombuffer(data, np.uint8), first, len(data))
    cols = decode_columns(data, first, partial=True, hints=hints)
    assert cols.offset.tolist() == expected.tolist() and cols.consumed == end
    got: list[int] = []
    pending_at = first
    edges = [int(h) for h in hints if h > first][::8] + [len(data)]
    for edge in edges:
        if edge <= pending_at:
            continue
        piece = data[pending_at:edge]
        piece_hints = hints[(hints >= pending_at) & (hints < edge)] - pending_at
        cols = decode_columns(piece, partial=True, hints=piece_hints)
        got.extend((cols.offset + pending_at).tolist())
        pending_at += cols.consumed
    assert got == expected.tolist()


def test_one_size_records(tmp_path):
    path = tiled_bam(tmp_path / "tiled.bam", 30_000)  # names r0..r29999: a few sizes, in runs
    data, first, hints = _stream_and_blocks(path)
    _check(data, first, hints)
    # hints that are not record starts (a record straddles every "block")
    _check(data, first, np.sort(np.concatenate([hints + 7, hints[::3] + 4000])))


def test_mixed_sizes_and_spanning_records(tmp_path):
    header, lines = random_sam(5, 3000, huge=True)  # includes records larger than a block
    path = tmp_path / "r.bam"
    with BamWriter(str(path), header) as writer:
        writer.write_many(lines)
    _check(*_stream_and_blocks(path))
    other = write_bam(tmp_path / "p.bam")  # htslib's block layout
    _check(*_stream_and_blocks(other))


def test_damaged_name_or_cigar_is_a_typed_error(tmp_path):
    from bioformats_ext.errors import FormatError

    data, first, _hints = _stream_and_blocks(tiled_bam(tmp_path / "t.bam", 100))
    at = int(decode_columns(data, first).cigar_start[5])
    for where, value, message in ((at, 12, "record 6: unknown CIGAR operation 12"),
                                  (at - 1, 65, "record 6: read name is not NUL-terminated")):
        damaged = bytearray(data)
        damaged[where] = (damaged[where] & 0xF0) | value if where == at else value
        with pytest.raises(FormatError, match=message):
            decode_columns(bytes(damaged), first)
