"""Write one indexed BGZF2 file from many Dask tasks: shards in parallel, then ``concat``.

Each task decodes its partition of the input and writes a complete BGZF2 shard (same header,
same references); :func:`bioformats_ext.bgzf2.concat` then joins the shards by copying their
compressed frames and rebuilding only the index frame and seek table. For multi-node clusters
``tmpdir`` must be shared storage the client can read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .partition import Partition
from .sources import RangeTask, run_shards


@dataclass(frozen=True)
class VcfShardTask(RangeTask):
    """Write the records of one partition of a VCF.gz as a BGZF2 shard (header included)."""

    header: str
    shard_dir: str
    level: int | None

    def __call__(self, part: Partition) -> str:
        path = os.path.join(self.shard_dir, f"part{part.index:06d}.vcf.bgzf2")
        _write_bgzf2(path, self.header, self.bgzf_bytes(part), self.level)
        return path


def _write_bgzf2(path: str, header: str, text: bytes, level: int | None) -> None:
    from ..vcf import VcfWriter

    with VcfWriter(path, header, compression="bgzf2", level=level) as w:
        w.write_many(line.decode() for line in text.splitlines(keepends=True))


def plan_vcf(source: Any, target_bytes: "int | str", n: int | None,
             storage_options: dict | None) -> tuple[str, int, str, list[Partition]]:
    """``(location, size, header text, partitions)`` of a bgzipped, indexed VCF."""
    from ..io.source import open_source
    from ..vcf import VcfReader
    from .plan import bgzf_context, plan_bgzf
    from .read import _location

    opts = {"storage_options": storage_options} if storage_options else {}
    with open_source(source, **opts) as src:
        ctx = bgzf_context(source, src, "vcf", None, storage_options)
        header = VcfReader(src).header
        parts = plan_bgzf(ctx["index"], ctx["names"], ctx["lengths"], src.size, ctx["eof"],
                          target_bytes, n, references=ctx.get("references"))
        return _location(source), src.size, header, parts


def vcf_to_bgzf2(source: Any, target: "str | os.PathLike[str]", target_bytes: "int | str" = "64MiB",
                 n: int | None = None, storage_options: dict | None = None,
                 tmpdir: "str | None" = None, level: int | None = None) -> int:
    """Recompress a bgzipped, indexed VCF into one self-indexed BGZF2 file with Dask (uses the
    current Dask scheduler / distributed client). Returns the number of shards."""
    from ..bgzf2 import concat

    loc, size, header, parts = plan_vcf(source, target_bytes, n, storage_options)
    target = os.fspath(target)
    kwargs = {} if level is None else {"level": level}

    def empty(shard_dir: str) -> str:  # no records: one shard with just the header
        path = os.path.join(shard_dir, "empty.vcf.bgzf2")
        _write_bgzf2(path, header, b"", level)
        return path

    return run_shards(target, tmpdir, parts,
                      lambda d: VcfShardTask(loc, size, storage_options, header, d, level),
                      empty, lambda paths: concat(list(paths), target, shared_header=True,
                                                  **kwargs))
