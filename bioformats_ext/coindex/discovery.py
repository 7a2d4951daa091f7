"""Where an index lives: one candidate list for every reader, and one default output name.

htslib looks for ``x.bam.bai`` and also ``x.bai`` (the data extension replaced); we keep the
order the readers have always used: every kind next to the full name first, then (for ``.bam``
only) next to the name without its extension.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..errors import MissingIndexError
from ..io.source import open_first

#: Index kinds a reader of each data kind looks for, in order.
INDEX_KINDS = {"bam": ("bai", "csi"), "tabix": ("tbi", "csi")}
#: Data extensions that may be replaced by the index extension (``x.bam`` -> ``x.bai``).
_REPLACEABLE = (".bam",)


def index_candidates(path: str, kinds: Sequence[str]) -> list[str]:
    """Paths or URLs where an index of ``path`` may be, best first."""
    out = [f"{path}.{kind}" for kind in kinds]
    for ext in _REPLACEABLE:
        if path.endswith(ext):
            out += [f"{path[:-len(ext)]}.{kind}" for kind in kinds]
    return out


def default_index_path(path: "str | os.PathLike[str]", kind: str, out: Any = None) -> Any:
    """Where a writer or indexer puts the ``kind`` index of ``path`` unless told (``x.bam.bai``)."""
    return out if out is not None else f"{os.fspath(path)}.{kind}"


def load_index_near(location: str | None, kinds: Sequence[str], what: str) -> Any:
    """Read the first index of ``location`` among :func:`index_candidates` that exists (local
    paths or URLs; a missing URL is a 403/404/410, any other failure is raised)."""
    from ..index.reader import read_index

    if location is None:
        raise MissingIndexError(f"no index given and the {what} is not a path or URL")
    candidates = index_candidates(location, kinds)
    source = open_first(candidates)
    if source is None:
        raise MissingIndexError(f"no index ({', '.join(c.rsplit('.', 1)[-1] for c in candidates)}) "
                                f"next to {location}")
    try:
        return read_index(source)
    finally:
        source.close()  # the index is parsed into memory; keep no file handle
