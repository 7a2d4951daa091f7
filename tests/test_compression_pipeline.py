"""BlockCompressor as a pipeline: ``threads`` counts the caller (threads - 1 pool threads), the
caller compresses queued blocks itself instead of waiting, and results keep submission order."""

from __future__ import annotations

import random
import threading
import time
import zlib

import pytest

from bioformats_ext.compression import BlockCompressor


@pytest.mark.parametrize("threads,window", [(1, None), (2, 1), (2, 64), (3, 4)])
def test_order_kept_and_caller_helps(threads, window):
    rng = random.Random(threads)
    blocks = [bytes(rng.randrange(256) for _ in range(200)) * rng.randint(1, 50) for _ in range(120)]
    who: dict[int, int] = {}

    def work(data: bytes) -> bytes:
        time.sleep(rng.random() / 2000)
        who[threading.get_ident()] = who.get(threading.get_ident(), 0) + 1
        return zlib.compress(data)

    comp = BlockCompressor(work, threads, window=window)
    out = []
    for b in blocks:
        comp.submit(b)
        out.extend(comp.drain())
    out.extend(comp.drain(block=True))
    assert comp.map(blocks[:7]) == [zlib.compress(b) for b in blocks[:7]]
    comp.close()
    assert [zlib.decompress(x) for x in out] == blocks
    assert len(who) <= threads  # the pool has threads - 1 workers, plus the caller
    if threads > 1 and window == 1:
        assert who.get(threading.get_ident(), 0) > 0  # the caller compressed instead of waiting
