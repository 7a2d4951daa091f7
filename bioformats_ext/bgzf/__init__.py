"""BGZF: blocked gzip with virtual offsets (the container of BAM, VCF.gz, tabix files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# public name -> defining submodule; imported on first use (cheap CLI start-up)
_EXPORTS = {
    "BgzfWriter": ".writer",
    "BgzfReader": ".reader",
    "EOF_BLOCK": ".blocks",
    "MAX_BLOCK_DATA": ".blocks",
    "MAX_BLOCK_SIZE": ".blocks",
    "pack_block": ".blocks",
    "strict_eof": ".strict",
}

if TYPE_CHECKING:  # the real imports, for type checkers
    from .writer import BgzfWriter
    from .reader import BgzfReader
    from .strict import strict_eof
    from .blocks import EOF_BLOCK, MAX_BLOCK_DATA, MAX_BLOCK_SIZE, pack_block

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["BgzfWriter", "BgzfReader", "EOF_BLOCK", "MAX_BLOCK_DATA", "MAX_BLOCK_SIZE", "pack_block", "strict_eof"]
