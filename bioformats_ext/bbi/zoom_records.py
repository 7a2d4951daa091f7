"""Public access to zoom summary records, shared by the bigBed and bigWig readers."""

from __future__ import annotations

import numpy as np

from .header import ZoomLevel
from .reader import BigBedReader


def zoom_records(reader: BigBedReader, level: "int | ZoomLevel", cid: int, start: int,
                 end: int) -> np.ndarray:
    """Zoom records of ``level`` (index into ``reader.zoom_levels`` or a ZoomLevel) that
    overlap ``cid:start-end``, as a structured array (fields ``chrom, start, end, valid, min,
    max, sum, sum_squares``; floats are the stored float32)."""
    if not isinstance(level, ZoomLevel):
        index = int(level)
        if not 0 <= index < len(reader.zoom_levels):
            raise ValueError(f"zoom level {index} does not exist: the file has "
                             f"{len(reader.zoom_levels)}")
        level = reader.zoom_levels[index]
    return reader.zoom_records(level, cid, start, end)
