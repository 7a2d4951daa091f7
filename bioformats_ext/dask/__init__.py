"""Dask reading partitioned by our own indexes (optional extra ``dask``).

``plan(source, target_bytes="128MiB" | n=…, regions=None)`` → small picklable
:class:`Partition` objects planned from the index alone (BAI/CSI/TBI, bigBed R-tree leaves,
BGZF2 frame index); ``read_bigbed`` / ``read_bigwig`` / ``read_vcf`` / ``read_bam`` →
``dask.dataframe.DataFrame`` whose tasks
each open their own byte source (path, HTTP(S), ``s3://`` … with ``storage_options``) and read
their partition with one coalesced range request.
"""

from __future__ import annotations

from .partition import Partition, parse_bytes
from .plan import plan

__all__ = ["plan", "Partition", "parse_bytes", "read_bigbed", "read_bigwig", "read_vcf", "read_bam",
           "vcf_to_bgzf2", "vcf_to_bgzf", "bam_to_bgzf"]


def __getattr__(name: str):  # the readers import dask lazily
    if name in ("read_bigbed", "read_bigwig", "read_vcf", "read_bam", "BigBedTask", "VcfTask", "BamTask"):
        from . import read

        return getattr(read, name)
    if name == "vcf_to_bgzf2":
        from .write import vcf_to_bgzf2

        return vcf_to_bgzf2
    if name in ("vcf_to_bgzf", "bam_to_bgzf"):
        from . import bgzf_shards

        return getattr(bgzf_shards, name)
    raise AttributeError(name)
