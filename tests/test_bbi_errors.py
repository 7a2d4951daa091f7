"""Corrupt bigBed files raise typed errors (with offsets), never low-level exceptions."""

from __future__ import annotations

import struct

import pytest

from bioformats_ext import bigbed
from bioformats_ext.align.bigbed import AlignmentIterator
from bioformats_ext.bbi.header import Header
from bioformats_ext.errors import BioformatsError, FormatError, TruncatedFileError
from helpers.bigbed import UCSC, exercise

BASE = (UCSC / "bigbedtest.bb").read_bytes()
HEADER = Header.parse(BASE)


def patched(offset: int, new: bytes, data: bytes = BASE) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def test_wrong_magic():
    with pytest.raises(FormatError, match="not a bigBed") as info:
        bigbed.open(b"\x00" * 200)
    assert info.value.offset == 0
    with pytest.raises(FormatError):
        AlignmentIterator(patched(0, b"BAM\1"))


@pytest.mark.parametrize("length", [0, 3, 10, 63, 64, 100, 500, 800, 900, 1000, 1200,
                                    len(BASE) // 2, len(BASE) - 5])
def test_truncated(length):
    try:
        exercise(BASE[:length])
    except BioformatsError as exc:
        assert isinstance(exc, FormatError)
    if length < HEADER.fullIndexOffset:
        with pytest.raises(TruncatedFileError):
            bigbed.open(BASE[:length])


@pytest.mark.parametrize("field_offset", [8, 16, 24, 36, 44, 56])
def test_offsets_past_eof(field_offset):
    data = patched(field_offset, struct.pack("<Q", len(BASE) + 1000))
    with pytest.raises(TruncatedFileError) as info:
        bigbed.open(data)
    assert info.value.offset is not None


def test_bad_rtree_magic_and_node():
    off = HEADER.fullIndexOffset
    with pytest.raises(FormatError, match="R-tree magic") as info:
        list(bigbed.open(patched(off, b"\0\0\0\0")).records())
    assert info.value.offset == off
    with pytest.raises(FormatError, match="isLeaf"):
        list(bigbed.open(patched(off + 48, b"\x07")).records("chr1"))
    # a node claiming more children than the block size
    with pytest.raises(FormatError, match="block size"):
        list(bigbed.open(patched(off + 50, struct.pack("<H", 60000))).records())


def test_bad_chrom_tree():
    off = HEADER.chromosomeTreeOffset
    with pytest.raises(FormatError, match="B\\+ tree magic"):
        bigbed.open(patched(off, b"\0\0\0\0"))
    with pytest.raises(FormatError, match="more than the file holds"):
        bigbed.open(patched(off + 16, struct.pack("<Q", 1 << 60)))
    with pytest.raises(FormatError):
        bigbed.open(patched(off + 32, b"\x05"))  # isLeaf must be 0 or 1


def test_absurd_item_count():
    with pytest.raises(FormatError, match="cannot fit"):
        bigbed.open(patched(HEADER.fullDataOffset, struct.pack("<Q", 1 << 62)))


def test_zlib_failure():
    start = HEADER.fullDataOffset + 8
    data = patched(start, b"\xff" * 8)
    with pytest.raises(FormatError, match="compressed block") as info:
        list(bigbed.open(data).records())
    assert info.value.offset == start
    with pytest.raises(FormatError):
        list(AlignmentIterator(data))


def test_bad_autosql():
    with pytest.raises(FormatError) as info:
        bigbed.open(patched(HEADER.autoSqlOffset, b"tabel"))
    assert info.value.offset == HEADER.autoSqlOffset


def test_mismatched_fields_for_alignments():
    # rename the "name" column: the Alignment reader needs the standard BED names
    text_at = BASE.index(b"name;", HEADER.autoSqlOffset)
    data = patched(text_at, b"nome;")
    assert len(list(bigbed.open(data).records())) == 8  # raw access does not care
    with pytest.raises(FormatError, match="Expected field name"):
        AlignmentIterator(data)
