"""One region query for every co-indexed format: which decompressed bytes may hold a region.

Through a BAI/TBI/CSI (``index``) the chunks it names are read from the BGZF file in one
``read_ranges`` call; without one the BGZF2 reader's embedded index names whole frames. Either
way the caller filters the records inside (blobs may hold records outside the region).
"""

from __future__ import annotations

from typing import Any

#: Largest stop passed to an index query (BAI/TBI positions are < 2**29, CSI < 2**44).
MAX_QUERY_STOP = 1 << 40


def region_blobs(reader: Any, key: "int | str", beg: int, stop: int,
                 index: Any = None) -> list[bytes]:
    """Decompressed blobs that may hold records overlapping ``key:[beg, stop)``.

    ``reader`` is a :class:`~bioformats_ext.bgzf.BgzfReader` with ``index`` (an
    :class:`~bioformats_ext.index.reader.IndexFile`), or a
    :class:`~bioformats_ext.bgzf2.Bgzf2Reader` with ``index=None``. ``key`` is a tid or
    (tabix) a reference name.
    """
    if index is None:
        return [data for _, data in reader.fetch_runs(key, beg, stop)]
    chunks = index.query(key, beg, min(stop, MAX_QUERY_STOP))
    if not chunks:
        return []
    return reader.read_ranges(list(chunks))
