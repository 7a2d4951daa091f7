"""VCF / BCF: text VCF through tabix (:mod:`.text`: VcfWriter, VcfReader), BCF writing, and the
record-level reader (:mod:`.reader`: VariantFile)."""

from .text import VcfReader, VcfWriter, format_field, parse_contigs

from .bcf_writer import BcfWriter
from .co_index import co_index
from .header import VcfHeader
from .reader import VariantFile, open  # noqa: A004
from .bcf_record import BcfRecord
from .record import TextRecord, VariantRecord

__all__ = ["VcfWriter", "VcfReader", "parse_contigs", "format_field", "BcfWriter", "VcfHeader", "VariantFile",
           "open", "co_index", "VariantRecord", "TextRecord", "BcfRecord"]
