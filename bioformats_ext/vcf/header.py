"""The VCF header as htslib models it: ordered header records, the shared ID dictionary
(INFO/FILTER/FORMAT, ``PASS`` first) and the contig dictionary, with BCF's ``IDX``.

BCF stores dictionary *indices* instead of names, so a BCF writer must number IDs exactly as
htslib does (order of first appearance, ``PASS`` = 0, an explicit ``IDX=`` wins, the first
definition of an ID per kind wins) and write the header text as ``bcf_hdr_format`` formats it
(``##key=<k=v,...,IDX=n>``). :meth:`VcfHeader.text` gives that text for VCF (no IDX) or BCF.
The parsed definitions are exposed with pysam's vocabulary: ``contigs``, ``info``,
``formats``, ``filters``, ``samples``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..errors import FormatError

__all__ = ["HeaderRecord", "FieldDef", "VcfHeader"]

_PASS = '##FILTER=<ID=PASS,Description="All filters passed">'
_TYPES = {"Integer", "Float", "String", "Character", "Flag"}


@dataclass
class HeaderRecord:
    """One ``##`` line. Structured lines have ``items`` (values keep their quotes, as htslib
    stores them); generic ones have ``value``."""

    key: str
    value: str | None = None
    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.items:
            if k == name:
                return v[1:-1] if len(v) >= 2 and v[0] == '"' and v[-1] == '"' else v
        return default

    def set(self, name: str, value: str) -> None:
        for i, (k, _) in enumerate(self.items):
            if k == name:
                self.items[i] = (k, value)
                return
        self.items.append((name, value))

    def line(self, bcf: bool = False) -> str:
        if self.value is not None:
            return f"##{self.key}={self.value}"
        body = ",".join(f"{k}={v}" for k, v in self.items if bcf or k != "IDX")
        return f"##{self.key}=<{body}>"


@dataclass(frozen=True)
class FieldDef:
    """An INFO/FORMAT/FILTER definition: ``number`` is ``int`` or one of ``A R G . P LA LR LG M``."""

    id: str
    number: "int | str | None"
    type: str | None
    description: str
    idx: int

    # pysam spells these with capitals in header records; allow both
    def __getitem__(self, key: str):
        return {"ID": self.id, "Number": self.number, "Type": self.type,
                "Description": self.description, "IDX": self.idx}[key]


def _parse_structured(body: str, line: str) -> list[tuple[str, str]]:
    """``ID=x,Description="a, b"`` → pairs; quoted values keep their quotes (htslib's hrec)."""
    items: list[tuple[str, str]] = []
    i, n = 0, len(body)
    while i < n:
        while i < n and body[i] == " ":
            i += 1
        eq = body.find("=", i)
        if eq < 0:
            raise FormatError(f"malformed header line {line[:120]!r}")
        key = body[i:eq].strip()
        if not key:
            raise FormatError(f"malformed header line {line[:120]!r}")
        j = eq + 1
        while j < n and body[j] == " ":
            j += 1
        if j < n and body[j] == '"':
            k = j + 1
            while k < n and not (body[k] == '"' and body[k - 1] != "\\"):
                k += 1
            value = '"' + body[j + 1:k] + '"'
            k += 1
            while k < n and body[k] != ",":
                k += 1
        else:
            depth, k = 0, j
            while k < n:
                c = body[k]
                if c == "<":
                    depth += 1
                elif c == ">":
                    depth -= 1
                elif c == "," and depth <= 0:
                    break
                k += 1
            value = body[j:k].rstrip(" ")
        items.append((key, value))
        i = k + 1
    return items


def _parse_line(line: str) -> HeaderRecord | None:
    body = line[2:]
    key, eq, value = body.partition("=")
    if not eq or not key:
        return None
    if value.startswith("<"):
        inner = value[1:]
        if inner.endswith(">"):
            inner = inner[:-1]
        return HeaderRecord(key, None, _parse_structured(inner, line))
    return HeaderRecord(key, value)


def _number(raw: str | None) -> "int | str | None":
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


class VcfHeader:
    """A parsed VCF header (from text ending with the ``#CHROM`` line)."""

    def __init__(self, text: "str | bytes"):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        self.source_text = text
        lines = [ln.rstrip("\r") for ln in text.split("\n")]
        chrom = next((i for i, ln in enumerate(lines) if ln.startswith("#CHROM")), None)
        if chrom is None:
            raise FormatError("VCF header has no #CHROM line")
        columns = lines[chrom].split("\t")
        self.samples: list[str] = columns[9:]
        self.records: list[HeaderRecord] = []
        self.ids: list[str | None] = []                 # shared dictionary: idx -> ID
        self._id_index: dict[str, int] = {}
        self.contig_names: list[str | None] = []         # contig dictionary: idx -> name
        self._contig_index: dict[str, int] = {}
        self.contigs: dict[str, int | None] = {}
        self.info: dict[str, FieldDef] = {}
        self.formats: dict[str, FieldDef] = {}
        self.filters: dict[str, FieldDef] = {}
        self._generic: set[str] = set()
        self._str_ids: set[tuple[str, str]] = set()
        meta = [ln for ln in lines[:chrom] if ln.startswith("##")]
        if meta:
            self._add(meta[0])
        self._add(_PASS)
        for ln in meta:
            self._add(ln)
        self.fileformat = next((r.value for r in self.records if r.key == "fileformat"), None)

    # -- building the dictionaries like bcf_hdr_add_hrec ---------------------------------------
    def _add(self, line: str) -> None:
        rec = _parse_line(line)
        if rec is None:
            return
        if rec.value is not None:
            text = f"##{rec.key}={rec.value}"
            if text in self._generic:
                return
            self._generic.add(text)
            self.records.append(rec)
            return
        kind = rec.key
        ident = rec.get("ID")
        if kind == "contig":
            self._add_contig(rec, ident)
            return
        if kind not in ("INFO", "FILTER", "FORMAT"):
            if ident is not None:
                if (kind, ident) in self._str_ids:
                    return
                self._str_ids.add((kind, ident))
            self.records.append(rec)
            return
        if ident is None:
            return
        table = {"INFO": self.info, "FILTER": self.filters, "FORMAT": self.formats}[kind]
        if ident in table:
            return
        explicit = rec.get("IDX")
        idx = self._id_index.get(ident)
        if idx is None:
            idx = self._claim(self.ids, self._id_index, ident, explicit, line)
            if explicit is None:
                rec.items.append(("IDX", str(idx)))
        elif explicit is None:
            rec.items.append(("IDX", str(idx)))
        type_ = rec.get("Type")
        number = _number(rec.get("Number"))
        if kind != "FILTER":
            if type_ not in _TYPES:
                type_ = "String"
            if number is None:
                number = "."
            if type_ == "Flag":
                number = 0
        table[ident] = FieldDef(ident, number if kind != "FILTER" else None,
                                type_ if kind != "FILTER" else None,
                                rec.get("Description", "") or "", idx)
        self.records.append(rec)

    def _claim(self, names: list, index: dict, ident: str, explicit: str | None, line: str) -> int:
        if explicit is not None:
            try:
                idx = int(explicit)
            except ValueError:
                raise FormatError(f"bad IDX in header line {line[:120]!r}") from None
            if idx < 0 or idx > 1 << 24:
                raise FormatError(f"bad IDX in header line {line[:120]!r}")
            if idx < len(names) and names[idx] is not None:
                raise FormatError(f"conflicting IDX={idx} in header line {line[:120]!r}")
            names.extend([None] * (idx + 1 - len(names)))
        else:
            idx = len(names)
            names.append(None)
        names[idx] = ident
        index[ident] = idx
        return idx

    def _add_contig(self, rec: HeaderRecord, ident: str | None) -> None:
        if ident is None:
            return
        raw = rec.get("length")
        length: int | None = None
        if raw is not None:
            try:
                length = int(raw)
            except ValueError:
                return
            if length < 0:
                return
        if ident in self._contig_index:
            return
        explicit = rec.get("IDX")
        idx = self._claim(self.contig_names, self._contig_index, ident, explicit, rec.line())
        if explicit is None:
            rec.items.append(("IDX", str(idx)))
        self.contigs[ident] = length
        self.records.append(rec)

    def add_line(self, line: str) -> None:
        """Add a ``##`` line (e.g. a contig or INFO definition) as htslib's ``bcf_hdr_append``."""
        if not line.startswith("##"):
            raise FormatError(f"header lines start with '##': {line[:80]!r}")
        self._add(line.rstrip("\n"))

    # -- lookups --------------------------------------------------------------------------------
    def id_index(self, ident: str) -> int:
        """Dictionary index of an INFO/FILTER/FORMAT ID (KeyError when undeclared)."""
        return self._id_index[ident]

    def contig_index(self, name: str) -> int:
        return self._contig_index[name]

    @property
    def version(self) -> str | None:
        return self.fileformat

    # -- text -------------------------------------------------------------------------------------
    def column_line(self) -> str:
        cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
        if self.samples:
            cols += ["FORMAT", *self.samples]
        return "\t".join(cols)

    def text(self, bcf: bool = False) -> str:
        """The header as htslib writes it (``bcf=True``: with ``IDX`` keys, as in BCF)."""
        return "".join(r.line(bcf) + "\n" for r in self.records) + self.column_line() + "\n"

    def __str__(self) -> str:
        return self.text()

    def __iter__(self) -> Iterator[HeaderRecord]:
        return iter(self.records)

    def max_contig_length(self) -> int:
        return max((n or 0 for n in self.contigs.values()), default=0)
