"""The tabix column rules as text, stored in BGZF2 metadata so a reader needs no preset."""

from __future__ import annotations

from ..index.tabix_conf import TabixConfig

#: BGZF2 global-metadata key holding :func:`config_to_text`.
METADATA_KEY = "tabix"


def config_to_text(conf: TabixConfig) -> str:
    return ",".join(map(str, (conf.format, conf.col_seq, conf.col_beg, conf.col_end,
                              ord(conf.meta), conf.skip)))


def config_from_text(text: str) -> TabixConfig:
    """Inverse of :func:`config_to_text`; ``ValueError`` for anything else."""
    fmt, seq, beg, end, meta, skip = (int(x) for x in text.split(","))
    return TabixConfig(fmt, seq, beg, end, chr(meta), skip)
