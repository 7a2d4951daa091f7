"""BGZF2: zstd frames with the genomic index and a seek table inside the file.

A BGZF2 file is valid zstd (``zstd -d`` reads it), valid pzstd-framed zstd and a valid
zstd seekable-format file, plus a BGZF2 index frame that maps genomic ranges to data frames,
so a BAM or VCF needs no external ``.bai``/``.tbi``. See ``docs/bgzf2.md``.
"""

from ..sniff import sniff_container
from .frames import BGZF2_MAGIC, INDEX_FOOTER_MAGIC, PZSTD_MAGIC, SEEKABLE_MAGIC
from .index import Bgzf2Index, Reference
from .reader import Bgzf2Reader
from .writer import DEFAULT_BLOCK_SIZE, DEFAULT_LEVEL, Bgzf2Writer
from .split import concat, split  # noqa: E402  (needs the reader and writer above)


def is_bgzf2(head: bytes) -> bool:
    """True when ``head`` (the first >= 12 bytes of a file) starts with a BGZF2 header frame."""
    return sniff_container(head) == "bgzf2"


__all__ = ["Bgzf2Writer", "Bgzf2Reader", "split", "concat", "Bgzf2Index", "Reference", "is_bgzf2",
           "DEFAULT_LEVEL", "DEFAULT_BLOCK_SIZE", "BGZF2_MAGIC", "INDEX_FOOTER_MAGIC",
           "PZSTD_MAGIC", "SEEKABLE_MAGIC"]
