"""The BAM header: SAM header text plus the binary reference list.

Writers accept the header in the three shapes users already have (SAM text, a pysam-style dict,
a list of ``(name, length)``); everything is normalised to one :class:`BamHeader` whose text and
reference list agree, because htslib readers take the references from the binary list while
humans (and ``samtools view -H``) read the text.
"""

from __future__ import annotations

import struct
from typing import Any, Iterable, Mapping, Sequence

from ..errors import FormatError, TruncatedFileError

BAM_MAGIC = b"BAM\x01"
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")

HeaderLike = "str | bytes | Mapping[str, Any] | Sequence[tuple[str, int]] | BamHeader"


class BamHeader:
    """SAM header text and the (name, length) references it declares, in order."""

    __slots__ = ("text", "names", "lengths", "_tids")

    def __init__(self, text: str, names: Sequence[str], lengths: Sequence[int]):
        self.text = text
        self.names = list(names)
        self.lengths = [int(n) for n in lengths]
        self._tids = {name: tid for tid, name in enumerate(self.names)}

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_any(cls, header: Any) -> "BamHeader":
        """Build from SAM text, a pysam-style dict, ``[(name, length), ...]`` or a pysam header."""
        if isinstance(header, BamHeader):
            return header
        if isinstance(getattr(header, "bam_header", None), BamHeader):
            return header.bam_header  # our AlignmentHeader (bioformats_ext.bam.open)
        if isinstance(header, (bytes, bytearray, memoryview)):
            try:
                header = bytes(header).decode()
            except UnicodeDecodeError as exc:
                raise FormatError(f"SAM header is not UTF-8 (byte {exc.start})") from None
        if isinstance(header, str):
            return cls.from_text(header)
        if hasattr(header, "to_dict") and not isinstance(header, Mapping):
            header = header.to_dict()  # pysam.AlignmentHeader
        if isinstance(header, Mapping):
            return cls.from_text(_dict_to_text(header))
        if isinstance(header, Iterable):
            refs = [(str(name), int(length)) for name, length in header]
            text = "".join(f"@SQ\tSN:{name}\tLN:{length}\n" for name, length in refs)
            return cls(text, [n for n, _ in refs], [n for _, n in refs])
        raise TypeError(f"cannot make a BAM header from {type(header).__name__}")

    @classmethod
    def from_text(cls, text: str) -> "BamHeader":
        names: list[str] = []
        lengths: list[int] = []
        lines = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line:
                continue
            if not line.startswith("@"):
                raise FormatError(f"SAM header line {number} does not start with '@': {line[:60]!r}")
            lines.append(line)
            if line.startswith("@SQ\t"):
                fields = dict(f.split(":", 1) for f in line.split("\t")[1:] if ":" in f)
                if "SN" not in fields or "LN" not in fields:
                    raise FormatError(f"SAM header line {number}: @SQ needs SN and LN")
                try:
                    length = int(fields["LN"])
                except ValueError:
                    raise FormatError(f"SAM header line {number}: bad LN {fields['LN']!r}") from None
                names.append(fields["SN"])
                lengths.append(length)
        body = "\n".join(lines)
        return cls(body + "\n" if body else "", names, lengths)

    # -- lookups ------------------------------------------------------------------------
    def tid(self, name: str) -> int:
        """Reference index of ``name``; -1 for ``*``."""
        if name == "*":
            return -1
        return self._tids[name]

    def get_tid(self, name: str, default: int | None = None) -> int | None:
        return self._tids.get(name, default)

    @property
    def tids(self) -> dict[str, int]:
        return dict(self._tids)

    @property
    def references(self) -> list[tuple[str, int]]:
        return list(zip(self.names, self.lengths))

    @property
    def max_length(self) -> int:
        return max(self.lengths, default=0)

    def to_dict(self) -> dict[str, Any]:
        """pysam-style dict of the text header."""
        result: dict[str, Any] = {}
        for line in self.text.splitlines():
            line = line.rstrip()  # as pysam: trailing blanks are not part of the last value
            if not line:
                continue
            tag, *fields = line[1:].split("\t")
            if tag == "CO":
                result.setdefault("CO", []).append("\t".join(fields))
                continue
            values: dict[str, Any] = {}
            for field in fields:
                key, _, value = field.partition(":")
                values[key] = int(value) if key == "LN" else value
            if tag == "HD":
                result["HD"] = values
            else:
                result.setdefault(tag, []).append(values)
        return result

    # -- binary form --------------------------------------------------------------------
    def encode(self) -> bytes:
        """The uncompressed BAM header block (magic, text, references)."""
        text = self.text.encode()
        parts = [BAM_MAGIC, _I32.pack(len(text)), text, _I32.pack(len(self.names))]
        for name, length in zip(self.names, self.lengths):
            raw = name.encode() + b"\0"
            if not 0 <= length < 1 << 32:
                raise FormatError(f"reference {name!r}: length {length} does not fit a BAM "
                                  "header")
            parts += [_I32.pack(len(raw)), raw, struct.pack("<I", length)]
        return b"".join(parts)

    @classmethod
    def decode(cls, read) -> "BamHeader":
        """Parse a header from ``read(n) -> bytes`` (a BGZF reader's read)."""

        def need(n: int, what: str) -> bytes:
            data = read(n)
            if len(data) != n:
                raise TruncatedFileError(f"BAM file ends inside the header ({what})")
            return data

        if need(4, "magic") != BAM_MAGIC:
            raise FormatError("not a BAM file (bad magic)", 0)
        (l_text,) = _I32.unpack(need(4, "l_text"))
        if l_text < 0 or l_text > 1 << 30:
            raise FormatError(f"BAM header text length {l_text} is absurd")
        text = need(l_text, "text").rstrip(b"\0").decode(errors="replace")
        (n_ref,) = _I32.unpack(need(4, "n_ref"))
        if n_ref < 0 or n_ref > 1 << 24:
            raise FormatError(f"BAM reference count {n_ref} is absurd")
        names, lengths = [], []
        for _ in range(n_ref):
            (l_name,) = _I32.unpack(need(4, "l_name"))
            if l_name <= 0 or l_name > 1 << 16:
                raise FormatError(f"BAM reference name length {l_name} is absurd")
            raw = need(l_name, "name").rstrip(b"\0")
            try:
                names.append(raw.decode())
            except UnicodeDecodeError:
                raise FormatError(f"BAM reference {len(names)}: name {raw[:60]!r} is not "
                                  "UTF-8") from None
            lengths.append(_U32.unpack(need(4, "l_ref"))[0])  # unsigned: 3 Gbp fits
        return cls(text, names, lengths)

    def __repr__(self) -> str:
        return f"BamHeader({len(self.names)} references)"


def _dict_to_text(header: Mapping[str, Any]) -> str:
    lines = []
    order = ["HD", "SQ", "RG", "PG"]
    keys = [k for k in order if k in header] + [k for k in header if k not in order and k != "CO"]
    for tag in keys:
        value = header[tag]
        rows = [value] if isinstance(value, Mapping) else list(value)
        for row in rows:
            items = list(row.items())
            if tag == "HD":
                items.sort(key=lambda kv: kv[0] != "VN")
            lines.append("\t".join([f"@{tag}"] + [f"{k}:{v}" for k, v in items]))
    for comment in header.get("CO", []):
        lines.append(f"@CO\t{comment}")
    return "".join(line + "\n" for line in lines)


def sq_lengths(header: bytes) -> list[tuple[str, int]]:
    """``(SN, LN)`` of the well-formed ``@SQ`` lines of SAM header text (others are skipped:
    the tabix SAM preset only needs lengths for the CSI depth, never rejects a header)."""
    out = []
    for line in header.splitlines():
        if line.startswith(b"@SQ\t"):
            fields = dict(f.split(b":", 1) for f in line.split(b"\t")[1:] if b":" in f)
            if b"SN" in fields and fields.get(b"LN", b"").isdigit():
                out.append((fields[b"SN"].decode(), int(fields[b"LN"])))
    return out
