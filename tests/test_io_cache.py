"""The block cache: exact bytes for any ranges, and the request plan (alignment, coalescing, LRU)."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bioformats_ext.errors import RemoteError, TruncatedFileError
from bioformats_ext.io import BytesSource, FileObjectSource, LocalFileSource, open_source
from bioformats_ext.io.cache import CachedSource, RangeBackend

DATA = os.urandom(200_003)


class MemoryBackend(RangeBackend):
    """Counts requests and records the spans asked for."""

    def __init__(self, data: bytes, head: bool = True):
        super().__init__()
        self.data = data
        self.head = head
        self.spans: list[tuple[int, int]] = []

    def open(self, prefetch: int):
        if not self.head:
            self.stats.requests += 1
            return len(self.data), b""
        self.spans.append((0, min(prefetch, len(self.data))))
        self.stats.requests += 1
        return len(self.data), self.data[:prefetch]

    def fetch(self, start: int, end: int) -> bytes:
        self.spans.append((start, end))
        self.stats.requests += 1
        self.stats.bytes_fetched += end - start
        return self.data[start:end]


def cached(data=DATA, **options) -> tuple[CachedSource, MemoryBackend]:
    backend = MemoryBackend(data, head=options.pop("head", True))
    return CachedSource(backend, **options), backend


ranges_strategy = st.lists(
    st.tuples(st.integers(0, len(DATA)), st.integers(0, 5000)).map(
        lambda t: (t[0], min(t[1], len(DATA) - t[0]))
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(ranges=ranges_strategy, block=st.sampled_from([1, 7, 512, 4096, 65536]),
       cache_size=st.sampled_from([0, 5000, 1 << 20]), merge_gap=st.sampled_from([0, 10_000]))
def test_read_many_equals_slices(ranges, block, cache_size, merge_gap):
    source, _ = cached(block_size=block, cache_size=cache_size, merge_gap=merge_gap)
    assert source.read_many(ranges) == [DATA[o : o + n] for o, n in ranges]
    # and again, from whatever the cache kept
    assert [source.read(o, n) for o, n in ranges] == [DATA[o : o + n] for o, n in ranges]


def test_open_primes_first_block_and_reads_are_aligned():
    source, backend = cached(block_size=4096, max_readahead=0)
    assert source.size == len(DATA)
    assert source.stats.requests == 1
    assert source.read(100, 50) == DATA[100:150]  # inside the first block: free
    assert source.read(4000, 200) == DATA[4000:4200]  # crosses into block 1: one aligned fetch
    assert backend.spans[-1] == (4096, 8192)
    assert source.stats.requests == 2
    assert source.stats.cache_hits == 1


def test_read_many_coalesces_adjacent_overlapping_and_near_ranges():
    source, backend = cached(block_size=1000, merge_gap=2000, max_readahead=0)
    n = source.stats.requests
    wanted = [(10_000, 500), (10_400, 900), (11_300, 700), (14_500, 10), (50_000, 10)]
    assert source.read_many(wanted) == [DATA[o : o + k] for o, k in wanted]
    # blocks 10-11 and 14 are 2 blocks apart (<= merge gap) → one request; block 50 another
    assert source.stats.requests - n == 2
    assert backend.spans[-2:] == [(10_000, 15_000), (50_000, 51_000)]
    assert source.read_many(wanted[::-1]) == [DATA[o : o + k] for o, k in wanted[::-1]]
    assert source.stats.requests - n == 2  # all cached now


def test_gap_above_threshold_is_not_merged():
    source, backend = cached(block_size=1000, merge_gap=0, max_readahead=0)
    source.read_many([(10_000, 10), (12_000, 10)])
    assert backend.spans[-2:] == [(10_000, 11_000), (12_000, 13_000)]


def test_lru_respects_byte_budget():
    source, backend = cached(block_size=1000, cache_size=3000, max_readahead=0, merge_gap=0)
    for offset in (10_000, 20_000, 30_000, 40_000):
        source.read(offset, 10)
    assert source.cached_bytes <= 3000
    before = source.stats.requests
    source.read(40_000, 10)  # most recent: cached
    assert source.stats.requests == before
    source.read(10_000, 10)  # evicted (first block 0 and 10 went out)
    assert source.stats.requests == before + 1


def test_cache_size_zero_still_exact():
    source, _ = cached(block_size=100, cache_size=0)
    before = source.stats.requests
    assert source.read(150, 10) == DATA[150:160]
    assert source.read(150, 10) == DATA[150:160]
    assert source.stats.requests == before + 2


def test_sequential_reads_grow_readahead():
    source, backend = cached(block_size=1000, max_readahead=16_000)
    data = b"".join(source.read(o, 1000) for o in range(0, 100_000, 1000))
    assert data == DATA[:100_000]
    # doubling read-ahead: far fewer requests than the 100 blocks read
    assert source.stats.requests < 15
    assert max(end - start for start, end in backend.spans) <= 17_000


def test_last_partial_block_and_tiny_file():
    source, _ = cached(block_size=65536)
    assert source.read(len(DATA) - 3, 3) == DATA[-3:]
    tiny, _ = cached(b"abc", block_size=65536)
    assert tiny.size == 3 and tiny.read(0, 3) == b"abc" and tiny.stats.requests == 1
    empty, _ = cached(b"", block_size=16)
    assert empty.size == 0 and empty.read(0, 0) == b"" and empty.read_many([]) == []


def test_truncation_and_bad_arguments():
    source, _ = cached(block_size=512)
    with pytest.raises(TruncatedFileError):
        source.read(len(DATA) - 1, 2)
    with pytest.raises(TruncatedFileError):
        source.read_many([(0, 1), (-1, 1)])
    assert source.read_upto(len(DATA) - 2, 100) == DATA[-2:]
    with pytest.raises(ValueError):
        cached(block_size=0)


def test_backend_returning_wrong_length_is_an_error():
    class Liar(MemoryBackend):
        def fetch(self, start, end):
            return super().fetch(start, end)[:-1]

    source = CachedSource(Liar(DATA), block_size=1000)
    with pytest.raises(RemoteError):
        source.read(5000, 10)


def test_local_sources_unchanged(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    with open_source(path) as local:
        assert isinstance(local, LocalFileSource)
        assert local.read_many([(5, 10), (100, 1)]) == [DATA[5:15], DATA[100:101]]
        assert local.stats.requests == 2
        local.stats.reset()
        assert local.stats.requests == 0 and local.stats.bytes_fetched == 0
    assert isinstance(open_source(io.BytesIO(DATA)), FileObjectSource)
    assert isinstance(open_source(DATA), BytesSource)
    existing = open_source(DATA)
    assert open_source(existing) is existing


def test_reading_on_from_the_prefetched_head_counts_as_sequential():
    source, backend = cached(block_size=4096, max_readahead=65536)
    source.read(4096, 10)
    assert backend.spans[-1] == (4096, 12288)  # block 1 plus one block of read-ahead
