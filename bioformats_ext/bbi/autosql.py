"""autoSql table declarations (the ``.as`` text stored in a bigBed), and typed field conversion.

:class:`AutoSqlTable` is a list of :class:`Field` that prints back as ``.as`` text in the same
layout as Biopython's ``AutoSQLTable`` (so ``str(declaration)`` is interchangeable), parses every
field type UCSC's autoSql accepts, and knows how to turn a raw column string into a Python value.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from ..errors import FormatError

INT_TYPES = frozenset({"int", "uint", "short", "ushort", "byte", "ubyte", "bigint"})
FLOAT_TYPES = frozenset({"float", "double"})
STRING_TYPES = frozenset({"char", "string", "lstring"})
ALL_TYPES = INT_TYPES | FLOAT_TYPES | STRING_TYPES | {"enum", "set", "object", "simple", "table"}


class Field(NamedTuple):
    """One column: its autoSql type text (e.g. ``"int[blockCount]"``), name and comment."""

    as_type: str
    name: str
    comment: str

    @property
    def base_type(self) -> str:
        """``"int"`` for ``"int[blockCount]"``, ``"enum"`` for ``"enum(a, b)"``."""
        return re.split(r"[\[(\s]", self.as_type, 1)[0]

    @property
    def array_size(self) -> str | None:
        """The text in brackets (``"3"`` or ``"blockCount"``), None if not an array."""
        m = re.search(r"\[([^\]]*)\]\s*$", self.as_type)
        return m.group(1).strip() if m else None

    @property
    def values(self) -> tuple[str, ...]:
        """Allowed values of an ``enum(...)`` / ``set(...)`` type (empty otherwise)."""
        m = re.match(r"\s*(?:enum|set)\s*\((.*)\)\s*$", self.as_type, re.S)
        if not m:
            return ()
        return tuple(v.strip() for v in m.group(1).split(",") if v.strip())


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\];,])|(?P<word>[^\s()\[\];,"]+))',
                    re.S)


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FormatError(f"autoSql: cannot parse near {text[pos:pos + 30]!r}")
        out.append(m.group(m.lastgroup or 0))
        pos = m.end()
    return out


class AutoSqlTable(list):
    """An autoSql ``table`` declaration: ``name``, ``comment`` and a list of :class:`Field`."""

    default: "AutoSqlTable"

    def __init__(self, name: str = "bed", comment: str = "", fields: list[Field] | tuple = ()):
        super().__init__(fields)
        self.name = name
        self.comment = comment

    # -- parsing ---------------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> "AutoSqlTable":
        """Parse ``.as`` text; the first ``table``/``object``/``simple`` declaration is returned."""
        toks = _tokens(text)
        i = 0

        def need(cond: bool, what: str) -> None:
            if not cond:
                raise FormatError(f"autoSql: expected {what} in declaration")

        need(len(toks) >= 4 and toks[0] in ("table", "object", "simple"), "'table NAME'")
        name = toks[1]
        need(toks[2].startswith('"'), "a quoted table comment")
        comment = toks[2][1:-1]
        need(toks[3] == "(", "'('")
        i = 4
        fields: list[Field] = []
        while i < len(toks) and toks[i] != ")":
            # type: word, optional (values...) for enum/set, optional [size]
            start = i
            need(not toks[i].startswith('"') and toks[i] not in "()[];,", "a field type")
            base = toks[i]
            i += 1
            if base in ("object", "simple", "table"):  # nested declarations: object T name
                need(i < len(toks), "a type name")
                i += 1
            if i < len(toks) and toks[i] == "(":
                depth = 0
                while i < len(toks):
                    depth += toks[i] == "("
                    depth -= toks[i] == ")"
                    i += 1
                    if depth == 0:
                        break
            if i < len(toks) and toks[i] == "[":
                need(i + 2 < len(toks) and toks[i + 2] == "]", "']'")
                i += 3
            type_toks = toks[start:i]
            need(i < len(toks) and toks[i] not in "()[];,", "a field name")
            fname = toks[i]
            i += 1
            # optional index / auto modifiers: primary, unique, index[N], auto
            while i < len(toks) and toks[i] != ";":
                need(toks[i] in ("primary", "unique", "index", "auto", "[", "]")
                     or toks[i].isdigit(), "';'")
                i += 1
            need(i < len(toks), "';'")
            i += 1
            fcomment = ""
            if i < len(toks) and toks[i].startswith('"'):
                fcomment = toks[i][1:-1]
                i += 1
            need(base in ALL_TYPES, f"a known autoSql type (got {base!r})")
            fields.append(Field(_join_type(type_toks), fname, fcomment))
        need(i < len(toks) and toks[i] == ")", "')'")
        if not fields:
            raise FormatError("autoSql: table without fields")
        return cls(name, comment, fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> "AutoSqlTable":
        """Parse NUL-terminated (or not) ``.as`` bytes as stored in a bigBed."""
        nul = data.find(b"\0")
        if nul >= 0:
            data = data[:nul]
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            raise FormatError(f"autoSql text is not UTF-8 ({exc.reason})") from None
        return cls.from_string(text)

    # -- printing --------------------------------------------------------------------------------
    def __str__(self) -> str:
        type_width = max(len(str(f.as_type)) for f in self)
        name_width = max(len(f.name) for f in self) + 1
        lines = [f"table {self.name}\n", f'"{self.comment}"\n', "(\n"]
        for f in self:
            name = f.name + ";"
            lines.append(f'   {f.as_type:<{type_width}} {name:<{name_width}}    "{f.comment}"\n')
        lines.append(")\n")
        return "".join(lines)

    def __bytes__(self) -> bytes:
        return str(self).encode() + b"\0"

    def __repr__(self) -> str:
        return f"AutoSqlTable({self.name!r}, {self.comment!r}, {list(self)!r})"

    def __getitem__(self, index):  # slices stay tables, as in Biopython
        if isinstance(index, slice):
            return AutoSqlTable(self.name, self.comment, list.__getitem__(self, index))
        return list.__getitem__(self, index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AutoSqlTable):
            return (self.name, self.comment, list(self)) == (other.name, other.comment, list(other))
        return list.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self]

    def index_of(self, name: str) -> int:
        for i, f in enumerate(self):
            if f.name == name:
                return i
        raise KeyError(name)


def _join_type(toks: list[str]) -> str:
    text = ""
    for t in toks:
        if t in ("[", "]", ")", ",") or text.endswith(("[", "(")) or text == "":
            text += t
        elif t == "(":
            text += t
        else:
            text += (" " if text.endswith(",") else " ") + t if not text.endswith("(") else t
    return text.replace("( ", "(").replace(" ,", ",")


def converter(field: Field) -> Callable[[str], Any]:
    """A function turning the raw column text of ``field`` into a Python value.

    int/uint/short/ushort/byte/ubyte/bigint -> int; float/double -> float; char[n], string,
    lstring, enum -> str; set -> list of str; arrays ``type[n]`` / ``type[field]`` -> list of the
    element type (UCSC writes them with a trailing comma; an empty column is an empty list).
    """
    base = field.base_type
    size = field.array_size
    if base in INT_TYPES:
        item: Callable[[str], Any] = int
    elif base in FLOAT_TYPES:
        item = float
    elif base == "set":
        return _split_list(str)
    elif base in STRING_TYPES or base == "enum" or base in ("object", "simple"):
        return str
    else:  # pragma: no cover - rejected at parse time
        raise FormatError(f"autoSql: unknown type {base!r}")
    if size is None:
        return item
    return _split_list(item)


def _split_list(item: Callable[[str], Any]) -> Callable[[str], list]:
    def convert(text: str) -> list:
        text = text.rstrip(",")
        if not text:
            return []
        return [item(v) for v in text.split(",")]

    return convert


_BED_FIELDS = [
    Field("string", "chrom", "Reference sequence chromosome or scaffold"),
    Field("uint", "chromStart", "Start position in chromosome"),
    Field("uint", "chromEnd", "End position in chromosome"),
    Field("string", "name", "Name of item."),
    Field("uint", "score", "Score (0-1000)"),
    Field("char[1]", "strand", "+ or - for strand"),
    Field("uint", "thickStart", "Start of where display should be thick (start codon)"),
    Field("uint", "thickEnd", "End of where display should be thick (stop codon)"),
    Field("uint", "reserved", "Used as itemRgb as of 2004-11-22"),
    Field("int", "blockCount", "Number of blocks"),
    Field("int[blockCount]", "blockSizes", "Comma separated list of block sizes"),
    Field("int[blockCount]", "chromStarts", "Start positions relative to chromStart"),
]

AutoSqlTable.default = AutoSqlTable("bed", "Browser Extensible Data", _BED_FIELDS)

#: Names of the standard BED columns, bed3 .. bed15 (bed15 adds the microarray columns).
BED_FIELD_NAMES = tuple(f.name for f in _BED_FIELDS) + ("expCount", "expIds", "expScores")


def bed_declaration(n: int = 12) -> AutoSqlTable:
    """The declaration UCSC / Biopython use for plain BED``n`` (3 <= n <= 12)."""
    if not 3 <= n <= 12:
        raise ValueError("bedN must be between 3 and 12")
    return AutoSqlTable.default[:n]


# Biopython's class name, so code written against Bio.Align.bigbed keeps working.
AutoSQLTable = AutoSqlTable
