"""BGZF: blocked gzip with virtual offsets (the container of BAM, VCF.gz, tabix files)."""

from .blocks import EOF_BLOCK, MAX_BLOCK_DATA, MAX_BLOCK_SIZE, pack_block
from .reader import BgzfReader, strict_eof
from .writer import BgzfWriter

__all__ = ["BgzfWriter", "BgzfReader", "EOF_BLOCK", "MAX_BLOCK_DATA", "MAX_BLOCK_SIZE", "pack_block", "strict_eof"]
