"""The tabix VCF interval rule over a whole batch of lines (the VCF writer's fast path).

The implementation lives in :mod:`bioformats_ext.index.vcf_batch` so that the second-pass
``index_tabix`` (a lower layer) shares it; this module keeps the public import path.
"""

from __future__ import annotations

from ..index.vcf_batch import vcf_intervals

__all__ = ["vcf_intervals"]
