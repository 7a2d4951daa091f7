"""Shared test data generators and comparisons, one place for the whole suite.

The suite puts ``tests/`` on ``sys.path``, so test files import ``from helpers import ...``.
Generators are seeded and return text (or write files) as the writers / reference tools take
them; each one's parameters select the data properties a test relies on (contig mix, counts,
POS 0, long records, unplaced reads, ...).
"""

from __future__ import annotations

from helpers.align import alignment_key
from helpers.indexes import assert_same_index, index_content
from helpers.sam import (CORPUS, HTSLIB_DATA, SAM_REFS, bam_record_bytes, bam_stream, binned_bam,
                         every_tag_bam, rand_cigar, rand_tags, random_sam, tiled_bam, to_bam,
                         write_bam)
from helpers.vcf import (TYPED_INFO, TYPED_VCF_CONTIGS, VCF_CONTIGS, random_vcf, typed_vcf,
                         vcf_lines, walk_vcf, write_vcf_gz)

# helpers.bigbed, helpers.bigwig, helpers.intervals and helpers.text are imported by module
__all__ = ["CORPUS", "HTSLIB_DATA", "SAM_REFS", "TYPED_INFO", "TYPED_VCF_CONTIGS", "VCF_CONTIGS",
           "alignment_key", "assert_same_index", "bam_record_bytes", "bam_stream", "binned_bam",
           "every_tag_bam", "index_content", "rand_cigar", "rand_tags", "random_sam", "random_vcf",
           "tiled_bam", "to_bam", "typed_vcf", "vcf_lines", "walk_vcf", "write_bam", "write_vcf_gz"]
