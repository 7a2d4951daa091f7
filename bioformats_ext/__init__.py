"""bioformats-ext: fast, lazy bigBed for Bio.Align, and indexed BAM / VCF / BGZF2 I/O.

Importing this package registers our Bio.Align format modules (``bigBed``, ...) with Biopython;
it imports nothing heavy until a format is used.
"""

from __future__ import annotations

from .align.registry import install as _install
from .align.registry import registered_formats
from .errors import BioformatsError, FormatError, SortOrderError

__version__ = "0.1.0"

_install()

__all__ = ["registered_formats", "BioformatsError", "FormatError", "SortOrderError", "__version__"]
