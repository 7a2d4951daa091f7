"""``Align.write(Align.parse(x, "bigBed"), y, "bigBed")`` is a copy: same records (pyBigWig),
same BED width, autoSql and extra indexes; explicit keywords still override."""

from __future__ import annotations

from pathlib import Path

import pytest
from Bio import Align

import bioformats_ext  # noqa: F401
from bioformats_ext import bigbed, examples

pyBigWig = pytest.importorskip("pyBigWig")
UCSC = Path(__file__).parent / "data" / "ucsc-bigbed"
SOURCES = [examples.path("genes.bb"), UCSC / "bigPsl.bb", UCSC / "bed12.bb",
           UCSC / "bigbed_extended.bigendian.bb", examples.path("bigbedtest.bb")]


def _entries(path):
    if "bigendian" in str(path):  # pyBigWig reads little-endian files only: use our reader
        with bigbed.open(path) as bb:
            return {c: [(s, e, r) for _, s, e, r in bb.records(c)] for c in bb.chroms}
    bw = pyBigWig.open(str(path))
    try:
        return {c: bw.entries(c, 0, n) for c, n in bw.chroms().items()}
    finally:
        bw.close()


@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_default_write_of_a_bigbed_iterator_is_a_copy(source, tmp_path):
    out = tmp_path / "copy.bb"
    n = Align.write(Align.parse(source, "bigBed"), out, "bigBed")
    with bigbed.open(source) as a, bigbed.open(out) as b:
        assert n == len(a) == len(b)
        assert b.header.definedFieldCount == a.header.definedFieldCount
        assert b.header.fieldCount == a.header.fieldCount
        assert b.autosql.names == a.autosql.names
        assert [f.base_type for f in b.autosql] == [f.base_type for f in a.autosql]
        assert b.extra_index_fields == a.extra_index_fields
        for field in a.extra_index_fields:
            value = next(iter(a.records()))[3].split("\t")[a.autosql.names.index(field) - 3]
            assert list(b.find(field, value)) == list(a.find(field, value))
    assert _entries(out) == _entries(source)


def test_readme_copy_with_explicit_bedN_keeps_extra_fields_and_indexes(tmp_path):
    genes = examples.path("genes.bb")
    out = tmp_path / "copy.bb"
    Align.write(Align.parse(genes, "bigBed"), out, "bigBed", bedN=9)
    assert _entries(out) == _entries(genes)
    with bigbed.open(out) as b:
        assert b.autosql.names[-2:] == ["geneSymbol", "spID"]
        assert b.extra_index_fields == bigbed.open(genes).extra_index_fields
        assert [r[:3] for r in b.find("geneSymbol", "PDGFA")]


def test_fewer_standard_columns_keep_the_extra_fields(tmp_path):
    genes = examples.path("genes.bb")
    out = tmp_path / "bed6plus.bb"
    Align.write(Align.parse(genes, "bigBed"), out, "bigBed", bedN=6, extraIndex=[])
    with bigbed.open(out) as b, bigbed.open(genes) as a:
        assert b.header.definedFieldCount == 6
        assert b.autosql.names == a.autosql.names[:6] + a.autosql.names[9:]
        got = [(c, s, e, r.split("\t")) for c, s, e, r in b.records()]
        want = [(c, s, e, r.split("\t")) for c, s, e, r in a.records()]
        assert [(c, s, e, f[:3] + f[6:]) for c, s, e, f in want] == got
        assert b.extra_index_fields == []


def test_plain_iterables_keep_biopython_defaults(tmp_path):
    alignments = list(Align.parse(examples.path("bigbedtest.bb"), "bigBed"))
    targets = Align.parse(examples.path("bigbedtest.bb"), "bigBed").targets
    out = tmp_path / "list.bb"
    Align.write(alignments, out, "bigBed", targets=targets)  # a list has no bedN: bed12
    with bigbed.open(out) as b:
        assert b.header.definedFieldCount == 12 and b.extra_index_fields == []
