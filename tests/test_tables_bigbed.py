"""bigBed → Arrow / pandas: equal to our record tuples (converted field by field with the
autoSql converters), to pyBigWig's entries and to pybigtools, on UCSC's fixtures and on a
bigBed declaring every autoSql type."""

from __future__ import annotations

import random

import pytest

pa = pytest.importorskip("pyarrow")

from helpers.bigbed import FIXTURES  # noqa: E402

from bioformats_ext import bigbed  # noqa: E402
from bioformats_ext.bbi.autosql import converter  # noqa: E402
from bioformats_ext.errors import RecordError, RegionError, UnknownReferenceError  # noqa: E402


def expected_rows(bb, records):
    """Our record tuples typed with the (independent, per-value) autoSql converters."""
    fields = bb.autosql
    conv = [converter(f) for f in fields[3:]]
    rows = []
    for chrom, start, end, rest in records:
        parts = rest.split("\t") if rest is not None else []
        row = [chrom, start, end]
        for i, (f, c) in enumerate(zip(fields[3:], conv)):
            if i >= len(parts):
                row.append(None)
            elif f.name in ("reserved", "itemRgb") and f.base_type == "uint":
                row.append(parts[i])
            elif f.base_type in ("string", "lstring") and f.array_size is not None:
                row.append([v for v in parts[i].rstrip(",").split(",")] if parts[i] else [])
            else:
                row.append(c(parts[i]))
        rows.append(tuple(row))
    return rows


def table_rows(table):
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_whole_file_equals_records(path):
    with bigbed.open(path) as bb:
        table = bb.to_arrow()
        assert table.num_rows == len(bb)
        assert table.column_names == bb.autosql.names
        assert table_rows(table) == expected_rows(bb, list(bb.records()))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_regions_equal_pybigwig(path):
    pyBigWig = pytest.importorskip("pyBigWig")
    if "bigendian" in path.name:
        pytest.skip("pyBigWig reads little-endian files only")
    bw = pyBigWig.open(str(path))
    rng = random.Random(path.name)
    with bigbed.open(path) as bb:
        for chrom, size in list(bb.chroms.items())[:5]:
            for _ in range(4):
                a = rng.randrange(0, size)
                b = rng.randrange(a, size + 1)
                if a == b:
                    continue
                table = bb.to_arrow(chrom, a, b, columns=["chromStart", "chromEnd"])
                theirs = bw.entries(chrom, a, b, withString=False) or []
                ours = list(zip(*(c.to_pylist() for c in table.columns)))
                assert ours == [(s, e) for s, e in theirs], (chrom, a, b)
                # and with every column, against our own tuples
                full = bb.to_arrow(region=f"{chrom}:{a + 1}-{b}")
                assert table_rows(full) == expected_rows(bb, list(bb.records(chrom, a, b)))
    bw.close()


def test_pandas_equal_pybigtools():
    pybigtools = pytest.importorskip("pybigtools")
    path = [p for p in FIXTURES if p.name == "bigPsl.bb"][0]
    with bigbed.open(path) as bb:
        df = bb.to_pandas()
        chroms = list(bb.chroms)
    theirs = []
    f = pybigtools.open(str(path))
    for chrom in chroms:
        theirs.extend((chrom, *t[:2]) for t in f.records(chrom))
    ours = list(zip(df["chrom"].astype(str), df["chromStart"].astype(int),
                    df["chromEnd"].astype(int)))
    assert sorted(ours) == sorted(theirs)
    assert str(df["chrom"].dtype) == "category"


AS_ALL = '''table allTypes
"every autoSql type"
(
string chrom; "c"
uint chromStart; "s"
uint chromEnd; "e"
lstring name; "a long string"
int delta; "signed"
short sh; "short"
ushort ush; "ushort"
byte b; "byte"
ubyte ub; "ubyte"
bigint big; "bigint"
float f; "float"
double d; "double"
char[2] code; "two chars"
enum(alpha, beta, gamma) kind; "enum"
set(red, green, blue) colours; "set"
int count; "count"
int[count] sizes; "sized array"
double[3] triple; "fixed array"
string[count] labels; "string array"
)
'''


def _all_types_records(n: int, seed: int = 1):
    rng = random.Random(seed)
    out = []
    pos = {"chrA": 0, "chrB": 0}
    for i in range(n):
        chrom = "chrA" if i < n * 2 // 3 else "chrB"
        pos[chrom] += rng.randrange(0, 50)
        start = pos[chrom]
        k = rng.randrange(0, 4)
        rest = "\t".join([
            f"name{i}" + "é" * (i % 3), str(rng.randrange(-2**31, 2**31)),
            str(rng.randrange(-2**15, 2**15)), str(rng.randrange(0, 2**16)),
            str(rng.randrange(-128, 128)), str(rng.randrange(0, 256)),
            str(rng.randrange(-2**63, 2**63)), repr(rng.uniform(-1e6, 1e6)),
            repr(rng.uniform(-1e300, 1e300)), rng.choice(["ab", "xy"]),
            rng.choice(["alpha", "beta", "gamma"]),
            ",".join(rng.sample(["red", "green", "blue"], rng.randrange(0, 4))),
            str(k), "".join(f"{rng.randrange(0, 1000)}," for _ in range(k)),
            ",".join(repr(rng.random()) for _ in range(3)) + ",",
            "".join(f"l{j}," for j in range(k)),
        ])
        out.append((chrom, start, start + rng.randrange(0, 300), rest))
    return out


@pytest.fixture(scope="module")
def all_types(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "all.bb"
    records = _all_types_records(3000)
    bigbed.write(records, {"chrA": 10**6, "chrB": 10**6}, path, autosql=AS_ALL,
                 bed_type="bed3+16", block_size=64)
    return path


def test_every_autosql_type(all_types):
    with bigbed.open(all_types) as bb:
        table = bb.to_arrow()
        types = dict(zip(table.column_names, table.schema.types))
        assert types["delta"] == pa.int32() and types["sh"] == pa.int16()
        assert types["ush"] == pa.uint16() and types["b"] == pa.int8()
        assert types["ub"] == pa.uint8() and types["big"] == pa.int64()
        assert types["f"] == pa.float32() and types["d"] == pa.float64()
        assert types["code"] == pa.string() and types["name"] == pa.string()
        assert types["kind"] == pa.dictionary(pa.int32(), pa.string())
        assert types["colours"] == pa.list_(pa.string())
        assert types["sizes"] == pa.list_(pa.int32())
        assert types["triple"] == pa.list_(pa.float64())
        assert types["labels"] == pa.list_(pa.string())
        want = expected_rows(bb, list(bb.records()))
        got = table_rows(table)
        assert len(got) == len(want) == 3000
        # float32 round trip: compare at float32 precision
        fi = table.column_names.index("f")
        for g, w in zip(got, want):
            assert g[:fi] == w[:fi] and g[fi + 1:] == w[fi + 1:]
            assert g[fi] == pytest.approx(w[fi], rel=1e-6)
        # columns= keeps the asked order; regions
        sub = bb.to_arrow("chrB", 100, 5000, columns=["kind", "chromStart", "sizes"])
        assert sub.column_names == ["kind", "chromStart", "sizes"]
        ref = [(w[13], w[1], w[16]) for w in expected_rows(bb, list(bb.records("chrB", 100, 5000)))]
        assert table_rows(sub) == ref and ref
        df = bb.to_pandas(region="chrA:1-2000", columns=["name", "d"])
        assert list(df.columns) == ["name", "d"]


def test_errors(all_types):
    with bigbed.open(all_types) as bb:
        with pytest.raises(KeyError, match="nope"):
            bb.to_arrow(columns=["nope"])
        with pytest.raises(UnknownReferenceError):
            bb.to_arrow("chrZ")
        with pytest.raises(RegionError):
            bb.to_arrow("chrA", 10, 5)
        with pytest.raises(RegionError):
            bb.to_arrow(start=5)


def test_bad_enum_value_is_a_record_error(tmp_path):
    path = tmp_path / "bad.bb"
    text = '''table t
"t"
(
string chrom; "c"
uint chromStart; "s"
uint chromEnd; "e"
enum(a, b) kind; "k"
)
'''
    bigbed.write([("chr1", 1, 2, "a"), ("chr1", 3, 4, "zzz")], {"chr1": 100}, path,
                 autosql=text, bed_type="bed3+1")
    with bigbed.open(path) as bb:
        with pytest.raises(RecordError, match="zzz"):
            bb.to_arrow()
        assert bb.to_arrow(columns=["chromStart"]).num_rows == 2
