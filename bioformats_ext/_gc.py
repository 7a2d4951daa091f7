"""Pausing the cyclic garbage collector around batch work.

Batches allocate many small acyclic objects (tuples, Alignments, arrays); with a large live heap
(e.g. a list of Alignments being written) every automatic collection walks all of it, which can
double the cost. Collection resumes, if it was enabled, when the batch is done.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
