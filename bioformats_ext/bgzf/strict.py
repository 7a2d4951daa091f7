"""BGZF strict-EOF mode, in a module of its own so that the CLI can enter it without importing
the reader (and its codecs) before a subcommand has even parsed ``--help``."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

#: Strict mode: a BGZF stream read to its end without the EOF block raises TruncatedFileError
#: instead of warning. A context variable so that library users keep htslib's lenient default
#: while our CLI (``bioformats_ext.cli.main``) is strict.
_STRICT_EOF: contextvars.ContextVar[bool] = contextvars.ContextVar("bgzf_strict_eof",
                                                                  default=False)


@contextmanager
def strict_eof(enabled: bool = True) -> Iterator[None]:
    """``with strict_eof():`` -- BGZF files missing their EOF marker are errors inside."""
    token = _STRICT_EOF.set(enabled)
    try:
        yield
    finally:
        _STRICT_EOF.reset(token)
