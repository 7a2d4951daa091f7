"""autoSql parsing, printing and typed conversion."""

from __future__ import annotations

import pytest
from Bio.Align.bigbed import AutoSQLTable as BioTable

from bioformats_ext.bbi.autosql import AutoSqlTable, Field, bed_declaration, converter
from bioformats_ext.errors import FormatError
from helpers.bigbed import UCSC


@pytest.mark.parametrize("path", sorted(UCSC.glob("*.as")), ids=lambda p: p.name)
def test_prints_like_biopython(path):
    text = path.read_text()
    ours = AutoSqlTable.from_string(text)
    theirs = BioTable.from_string(text)
    assert str(ours) == str(theirs)
    assert bytes(ours) == bytes(theirs)
    assert [tuple(f) for f in ours] == [tuple(f) for f in theirs]
    assert AutoSqlTable.from_string(str(ours)) == ours  # round trip


@pytest.mark.parametrize("n", range(3, 13))
def test_default_declarations(n):
    assert str(bed_declaration(n)) == str(BioTable.default[:n])
    assert bed_declaration(n).names == [f.name for f in BioTable.default[:n]]
    assert isinstance(bed_declaration(n), AutoSqlTable)


def test_bed_declaration_bounds():
    with pytest.raises(ValueError):
        bed_declaration(2)
    with pytest.raises(ValueError):
        bed_declaration(13)


ALL_TYPES = '''table allTypes
"every autoSql field type"
    (
    int a;           "int"
    uint b;          "uint"
    short c;         "short"
    ushort d;        "ushort"
    byte e;          "byte"
    ubyte f;         "ubyte"
    float g;         "float"
    double h;        "double"
    char[3] i;       "fixed string"
    string j;        "string"
    lstring k;       "long string"
    enum(red, green, blue) l;  "enum"
    set(x, y, z) m;  "set"
    int[3] n;        "fixed int array"
    int count;       "count"
    double[count] o; "variable double array"
    ubyte[count] p;  "bytes"
    bigint q primary auto; "bigint with index modifiers"
    string r index[12]; "indexed"
    )
'''


def test_all_types_convert():
    table = AutoSqlTable.from_string(ALL_TYPES)
    assert table.name == "allTypes" and table.comment == "every autoSql field type"
    raw = ["-5", "7", "-3", "65535", "-128", "255", "1.5", "2.25e3", "abc", "some text",
           "long text", "green", "x,z", "1,2,3,", "2", "0.5,1.5,", "1,2", "9007199254740993",
           "key"]
    values = [converter(f)(v) for f, v in zip(table, raw)]
    assert values == [-5, 7, -3, 65535, -128, 255, 1.5, 2250.0, "abc", "some text", "long text",
                      "green", ["x", "z"], [1, 2, 3], 2, [0.5, 1.5], [1, 2], 9007199254740993,
                      "key"]
    assert table[11].values == ("red", "green", "blue")
    assert table[12].values == ("x", "y", "z")
    assert table[13].array_size == "3" and table[15].array_size == "count"
    assert table[0].array_size is None
    assert [converter(table[13])(""), converter(table[12])("")] == [[], []]
    text = str(table)
    assert "enum(red, green, blue) l;" in text.replace("  ", " ").replace("  ", " ")
    assert AutoSqlTable.from_string(text) == table


@pytest.mark.parametrize("text", [
    "", "table", 'table x "c"', 'table x "c" ( int a "no semicolon" )',
    'table x "c" ( wibble a; "unknown type" )', 'table x "c" ( )', 'table x ( int a; "" )',
    'table x "c" ( int a; "x"',
])
def test_bad_declarations(text):
    with pytest.raises(FormatError):
        AutoSqlTable.from_string(text)


def test_bytes_and_slicing():
    table = AutoSqlTable.from_bytes(bytes(bed_declaration(6)))
    assert table == bed_declaration(6)
    assert isinstance(table[:3], AutoSqlTable) and table[:3].name == "bed"
    assert isinstance(table[0], Field)
    with pytest.raises(FormatError):
        AutoSqlTable.from_bytes(b"\xff\xfe\0")
