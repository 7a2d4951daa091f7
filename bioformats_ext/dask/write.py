"""Write one indexed BGZF2 file from many Dask tasks: shards in parallel, then ``concat``.

Each task decodes its partition of the input and writes a complete BGZF2 shard (same header,
same references); :func:`bioformats_ext.bgzf2.concat` then joins the shards by copying their
compressed frames and rebuilding only the index frame and seek table. For multi-node clusters
``tmpdir`` must be shared storage the client can read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from .partition import Partition
from .sources import SpanSource


@dataclass(frozen=True)
class VcfShardTask:
    """Write the records of one partition of a VCF.gz as a BGZF2 shard (header included)."""

    location: str
    size: int
    storage_options: dict | None
    header: str
    shard_dir: str
    level: int | None

    def __call__(self, part: Partition) -> str:
        from ..bgzf import BgzfReader
        from ..vcf import VcfWriter

        with SpanSource(self.location, self.size, self.storage_options) as src:
            text = b"".join(BgzfReader(src).read_ranges(list(part.units)))
        path = os.path.join(self.shard_dir, f"part{part.index:06d}.vcf.bgzf2")
        with VcfWriter(path, self.header, compression="bgzf2", level=self.level) as w:
            lines = text.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            w.write_many(line.decode() for line in lines)
        return path


def vcf_to_bgzf2(source: Any, target: "str | os.PathLike[str]", target_bytes: "int | str" = "64MiB",
                 n: int | None = None, storage_options: dict | None = None,
                 tmpdir: "str | None" = None, level: int | None = None) -> int:
    """Recompress a bgzipped, indexed VCF into one self-indexed BGZF2 file with Dask (uses the
    current Dask scheduler / distributed client). Returns the number of shards."""
    import dask

    from ..bgzf2 import concat
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
        size = src.size
    target = os.fspath(target)
    shard_dir = tempfile.mkdtemp(prefix=".shards-", dir=tmpdir or os.path.dirname(
        os.path.abspath(target)))
    try:
        task = VcfShardTask(_location(source), size, storage_options, header, shard_dir, level)
        if parts:
            paths = dask.compute(*[dask.delayed(task)(p) for p in parts])
        else:  # no records: one shard with just the header
            from ..vcf import VcfWriter

            paths = (os.path.join(shard_dir, "empty.vcf.bgzf2"),)
            VcfWriter(paths[0], header, compression="bgzf2", level=level).close()
        kwargs = {} if level is None else {"level": level}
        concat(list(paths), target, shared_header=True, **kwargs)
        return len(paths)
    finally:
        shutil.rmtree(shard_dir, ignore_errors=True)
