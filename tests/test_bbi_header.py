"""Header structures: parse and pack round-trip byte for byte on UCSC files, both byte orders."""

from __future__ import annotations

import pytest

from bioformats_ext.bbi.format import HEADER_SIZE, layouts
from bioformats_ext.bbi.header import (ExtraHeader, Header, TotalSummary, ZoomLevel,
                                       pack_zoom_headers, parse_extra_indices)
from bioformats_ext.errors import FormatError, TruncatedFileError
from helpers.bigbed import FIXTURES


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_round_trip(path):
    data = path.read_bytes()
    h = Header.parse(data, len(data))
    assert h.pack() == data[:HEADER_SIZE]
    assert h.byteorder == (">" if "bigendian" in path.name else "<")
    zooms = ZoomLevel.parse_all(data, h, len(data))
    assert len(zooms) == h.zoomLevels
    area = pack_zoom_headers(zooms, h.byteorder)
    assert area == data[HEADER_SIZE:HEADER_SIZE + len(area)]
    total = TotalSummary.parse(data, h.totalSummaryOffset, h.byteorder)
    assert total.pack(h.byteorder) == data[h.totalSummaryOffset:h.totalSummaryOffset + 40]
    ext = ExtraHeader.parse(data, h.extensionOffset, h.byteorder)
    assert ext.pack(h.byteorder) == data[h.extensionOffset:h.extensionOffset + 64]
    indices = parse_extra_indices(data, ext.extraIndexListOffset, ext.extraIndexCount,
                                  h.byteorder)
    packed = b"".join(i.pack(h.byteorder) for i in indices)
    assert packed == data[ext.extraIndexListOffset:ext.extraIndexListOffset + len(packed)]


def test_swapped_header_is_the_same_header():
    big = Header.parse((FIXTURES[0].parent / "bigbed_extended.bigendian.bb").read_bytes())
    little = Header.parse((FIXTURES[0].parent / "bigbed_extended.littleendian.bb").read_bytes())
    assert big.byteorder == ">" and little.byteorder == "<"
    assert big.fieldCount == little.fieldCount == 11
    big.byteorder = "<"
    assert Header.parse(big.pack()).byteorder == "<"


def test_layout_sizes():
    for bo in "<>":
        lay = layouts(bo)
        assert (lay.header.size, lay.zoom_header.size, lay.total_summary.size,
                lay.extra_header.size, lay.bpt_header.size, lay.rtree_header.size,
                lay.rtree_leaf.itemsize, lay.rtree_nonleaf.itemsize, lay.zoom_record.size,
                lay.bed_prefix.size) == (64, 24, 40, 64, 32, 48, 32, 24, 32, 12)
        assert lay.bpt_leaf_dtype(10).itemsize == 18
        assert lay.bpt_leaf_dtype(10, 16).itemsize == 26
    with pytest.raises(ValueError):
        layouts("!")


def test_header_errors():
    data = FIXTURES[0].read_bytes()
    with pytest.raises(FormatError, match="not a bigBed"):
        Header.parse(b"\0" * 64)
    with pytest.raises(TruncatedFileError):
        Header.parse(data[:30])
    with pytest.raises(TruncatedFileError):
        Header.parse(data[:64], file_size=100)  # offsets past the end
