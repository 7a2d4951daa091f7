"""Streaming BGZF reads start small (cheap headers over the network) and grow (fast scans)."""

from __future__ import annotations

import io
import os

from bioformats_ext.bgzf import BgzfReader, BgzfWriter
from bioformats_ext.io.source import BytesSource


def test_first_block_costs_one_small_read_and_a_scan_reads_everything():
    out = io.BytesIO()
    payload = os.urandom(3_000_000)          # incompressible: ~46 blocks, ~3 MB of BGZF
    with BgzfWriter(out) as writer:
        writer.write(payload)
    source = BytesSource(out.getvalue())
    blocks = BgzfReader(source).iter_blocks()
    next(blocks)
    assert source.stats.requests == 1
    assert source.stats.bytes_fetched <= 1 << 16
    data = next(BgzfReader(source).iter_blocks())[1] + b"".join(d for _, d in blocks)
    assert data == payload
    # the scan grew its reads: far fewer requests than blocks
    assert source.stats.requests < 15
