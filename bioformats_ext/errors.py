"""One exception hierarchy for the whole package.

Everything we raise about bad input derives from :class:`BioformatsError`, which subclasses
``ValueError`` so that code written against Biopython (which raises ``ValueError`` for bad files)
keeps working. Low-level exceptions (``struct.error``, ``zlib.error``, ``IndexError``,
``UnicodeDecodeError``) are caught at the layer that knows what they mean and re-raised as one of
these, with the file offset or record number attached.
"""

from __future__ import annotations


class BioformatsError(ValueError):
    """Root of every error bioformats_ext raises about data."""


class FormatError(BioformatsError):
    """A file is corrupt, truncated or not of the expected format.

    ``offset`` is the byte offset in the file (or virtual offset, for BGZF) where the problem
    was found, when known.
    """

    def __init__(self, message: str, offset: int | None = None):
        if offset is not None:
            message = f"{message} (at offset {offset})"
        super().__init__(message)
        self.offset = offset


class TruncatedFileError(FormatError):
    """The file ends before a structure it declares."""


class TruncatedFileWarning(UserWarning):
    """A file that is probably truncated was read anyway (htslib's "EOF marker is absent").
    Strict mode (:func:`bioformats_ext.bgzf.strict_eof`, used by our CLI) raises
    :class:`TruncatedFileError` instead."""


class RecordError(BioformatsError):
    """A record given to a writer (or read from a text file) is invalid.

    ``record`` is the 0-based record index or 1-based line number the message names.
    """

    def __init__(self, message: str, record: int | None = None):
        super().__init__(message)
        self.record = record


class SortOrderError(RecordError):
    """Records are not sorted by (reference, start) where an index or bigBed needs them to be."""

    def __init__(self, message: str, tid: int | None = None, pos: int | None = None,
                 record: int | None = None):
        super().__init__(message, record)
        self.tid = tid
        self.pos = pos


class UnknownReferenceError(BioformatsError):
    """A chromosome / reference name is not in the file or header."""


class RegionError(BioformatsError):
    """A region is malformed or impossible: negative coordinates, stop before start, bad syntax."""


class MissingIndexError(BioformatsError):
    """A region query needs an index (BAI/TBI/CSI/extraIndex) that does not exist."""


class RemoteError(BioformatsError):
    """A remote source failed after retries, or a server cannot serve byte ranges.

    ``status``: the HTTP status when there was one (404/410/403 mean "missing")."""

    status: int | None = None


__all__ = [
    "BioformatsError",
    "FormatError",
    "TruncatedFileError",
    "TruncatedFileWarning",
    "RecordError",
    "SortOrderError",
    "UnknownReferenceError",
    "RegionError",
    "MissingIndexError",
    "RemoteError",
]
