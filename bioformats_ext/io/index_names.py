"""Where an index lives next to its data file: the one candidate list (names only, no I/O).

htslib looks for ``x.bam.bai`` and also ``x.bai`` (the data extension replaced); every kind
next to the full name comes first, then, for ``.bam`` only, the replaced names. Readers look
indexes up in this order (:mod:`bioformats_ext.coindex.discovery`); writers remove stale ones
from the same list (:func:`bioformats_ext.io.atomic.sibling_indexes`).
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["INDEX_KINDS", "index_candidates"]

#: Index kinds a reader of each data kind looks for, in order.
INDEX_KINDS = {"bam": ("bai", "csi"), "tabix": ("tbi", "csi")}
#: Data extensions that may be replaced by these index extensions (``x.bam`` -> ``x.bai``).
_REPLACEABLE = {".bam": ("bai", "csi")}


def index_candidates(path: str, kinds: Sequence[str]) -> list[str]:
    """Paths or URLs where an index of ``path`` of one of ``kinds`` may be, best first."""
    out = [f"{path}.{kind}" for kind in kinds]
    for ext, replaceable in _REPLACEABLE.items():
        if path.endswith(ext):
            out += [f"{path[:-len(ext)]}.{kind}" for kind in kinds if kind in replaceable]
    return out
