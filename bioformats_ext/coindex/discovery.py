"""Finding and naming indexes: readers load the first existing candidate of
:func:`~bioformats_ext.io.index_names.index_candidates`; writers name theirs ``x.<kind>``."""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..errors import MissingIndexError
from ..io.index_names import INDEX_KINDS, index_candidates
from ..io.source import open_first

__all__ = ["INDEX_KINDS", "index_candidates", "default_index_path", "load_index",
           "load_index_near"]

def default_index_path(path: "str | os.PathLike[str]", kind: str, out: Any = None) -> Any:
    """Where a writer or indexer puts the ``kind`` index of ``path`` unless told (``x.bam.bai``)."""
    return out if out is not None else f"{os.fspath(path)}.{kind}"


def load_index(location: str | None, given: Any, kinds: Sequence[str], what: str) -> Any:
    """The index a reader uses: ``given`` (path, URL, file object, bytes or source) when not
    None, else the first of :func:`index_candidates` next to ``location``."""
    if given is not None:
        from ..index.reader import read_index

        return read_index(given)
    return load_index_near(location, kinds, what)


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
