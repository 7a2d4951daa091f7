"""Tabix column configurations (presets) and the rules that turn a text line into an interval.

The rules follow htslib's ``tbx_parse1``: VCF ``beg = POS-1``, ``end = beg + len(REF)``, extended
by ``INFO/END`` when larger; BED is 0-based half-open (``TBX_UCSC`` flag); GFF and SAM are 1-based;
SAM's end comes from the CIGAR's M/D/N operations. :func:`parse_lines` is the fast path for a
whole decompressed block of lines (``bytes.split`` and list work, no per-character Python).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from ..errors import RecordError
from .vcf_end import needs_rule, tabix_end

TBX_GENERIC, TBX_SAM, TBX_VCF, TBX_UCSC = 0, 1, 2, 0x10000


@dataclass(frozen=True)
class TabixConfig:
    """The six integers of a TBI header (``format`` includes the 0x10000 UCSC flag for BED)."""

    format: int
    col_seq: int
    col_beg: int
    col_end: int
    meta: str = "#"
    skip: int = 0

    @property
    def preset(self) -> int:
        return self.format & 0xFFFF

    @property
    def zero_based(self) -> bool:
        return bool(self.format & TBX_UCSC)

    def pack(self, l_nm: int = 0) -> bytes:
        """The 28 header bytes (format .. skip, l_nm) shared by TBI and tabix-style CSI aux."""
        return struct.pack("<7i", self.format, self.col_seq, self.col_beg, self.col_end,
                           ord(self.meta), self.skip, l_nm)

    @classmethod
    def unpack(cls, raw: bytes) -> "tuple[TabixConfig, int]":
        fmt, sc, bc, ec, meta, skip, l_nm = struct.unpack_from("<7i", raw)
        return cls(fmt, sc, bc, ec, chr(meta & 0xFF), skip), l_nm


PRESETS = {
    "vcf": TabixConfig(TBX_VCF, 1, 2, 0, "#", 0),
    "bed": TabixConfig(TBX_UCSC, 1, 2, 3, "#", 0),
    "gff": TabixConfig(TBX_GENERIC, 1, 4, 5, "#", 0),
    "sam": TabixConfig(TBX_SAM, 3, 4, 0, "@", 0),
}


def get_config(preset: "str | TabixConfig") -> TabixConfig:
    if isinstance(preset, TabixConfig):
        return preset
    try:
        return PRESETS[preset.lower()]
    except KeyError:
        raise ValueError(f"unknown tabix preset {preset!r}; choose from {sorted(PRESETS)}") from None


_CIGAR_REF = re.compile(rb"(\d+)([MDNmdn])")


def _int(field: bytes, what: str, lineno: int | None) -> int:
    try:
        return int(field)
    except ValueError:
        raise RecordError(f"line {lineno}: {what} {field[:40]!r} is not an integer", lineno) from None


def parse_line(conf: TabixConfig, line: "bytes | str", lineno: int | None = None) -> tuple[str, int, int]:
    """``(name, beg, end)`` (0-based half-open) of one data line, as tabix indexes it."""
    if isinstance(line, str):
        line = line.encode()
    line = line.rstrip(b"\r\n")
    fields = line.split(b"\t")
    need = max(conf.col_seq, conf.col_beg, conf.col_end)
    if conf.preset == TBX_VCF:
        need = max(need, 4)
    if len(fields) < need:
        raise RecordError(f"line {lineno}: {len(fields)} columns, need {need}", lineno)
    try:
        name = fields[conf.col_seq - 1].decode()
    except UnicodeDecodeError:
        raise RecordError(f"line {lineno}: sequence name is not UTF-8", lineno) from None
    raw_beg = _int(fields[conf.col_beg - 1], "start", lineno)
    if conf.zero_based:
        beg = raw_beg
        end = raw_beg + 1
    else:
        beg = raw_beg - 1
        end = raw_beg
    beg = max(beg, 0)
    end = max(end, 1)
    preset = conf.preset
    if preset == TBX_VCF:  # INFO/END, SVLEN, gVCF LEN: htslib 1.24's rule (vcf_end.py)
        end = tabix_end(fields, beg, end)
    elif preset == TBX_SAM:
        if len(fields) >= 6:
            length = sum(int(n) for n, _ in _CIGAR_REF.findall(fields[5]))
            end = beg + (length or 1)
    elif conf.col_end and conf.col_end != conf.col_beg:
        end = _int(fields[conf.col_end - 1], "end", lineno)
    return name, beg, end


def parse_lines(conf: TabixConfig, lines: "list[bytes]", first_lineno: int = 1
                ) -> tuple[list[str], list[int], list[int]]:
    """Vectorised-ish :func:`parse_line` over many data lines (no meta lines).

    BED/GFF take a fast path (one ``split`` per line, list comprehensions); VCF and SAM fall back
    to per-line rules because END/CIGAR need them.
    """
    sc, bc, ec = conf.col_seq - 1, conf.col_beg - 1, conf.col_end - 1
    preset = conf.preset
    if preset in (TBX_GENERIC,) or (conf.zero_based and preset == TBX_GENERIC):
        try:
            rows = [ln.split(b"\t", max(sc, bc, ec) + 1) for ln in lines]
            names = [r[sc].decode() for r in rows]
            begs = [int(r[bc]) for r in rows]
            ends = [int(r[ec]) for r in rows] if ec >= 0 and ec != bc else None
        except (IndexError, ValueError, UnicodeDecodeError):
            return _slow(conf, lines, first_lineno)
        if conf.zero_based:
            if ends is None:
                ends = [b + 1 for b in begs]
            begs = [b if b > 0 else 0 for b in begs]
        else:
            if ends is None:
                ends = list(begs)
            begs = [b - 1 if b > 1 else 0 for b in begs]
        ends = [e if e > 0 else 1 for e in ends]
        return names, begs, ends
    if preset == TBX_VCF and (sc, bc) == (0, 1):
        try:
            rows = [ln.split(b"\t", 8) for ln in lines]
            names = [r[0].decode() for r in rows]
            begs = [int(r[1]) - 1 for r in rows]
            ends = [b + len(r[3]) for b, r in zip(begs, rows)]
        except (IndexError, ValueError, UnicodeDecodeError):
            return _slow(conf, lines, first_lineno)
        for i, r in enumerate(rows):  # rare cases take the exact per-line rules
            if begs[i] < 0 or not r[3] or needs_rule(lines[i]):
                names[i], begs[i], ends[i] = parse_line(conf, lines[i], first_lineno + i)
        return names, begs, ends
    return _slow(conf, lines, first_lineno)


def _slow(conf, lines, first_lineno):
    names, begs, ends = [], [], []
    for i, ln in enumerate(lines):
        n, b, e = parse_line(conf, ln, first_lineno + i)
        names.append(n)
        begs.append(b)
        ends.append(e)
    return names, begs, ends
