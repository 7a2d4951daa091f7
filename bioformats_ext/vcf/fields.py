"""VCF column values from Python values (shared by the text and BCF writers)."""

from __future__ import annotations

from typing import Any

from ..errors import RecordError


def format_field(value: Any) -> str:
    """A VCF column value: ``None`` -> ``.``, lists comma-joined, an INFO dict ``k=v;flag``."""
    if value is None:
        return "."
    if isinstance(value, (list, tuple)):
        return ",".join(format_field(v) for v in value) if value else "."
    if isinstance(value, dict):  # INFO as a dict
        if not value:
            return "."
        return ";".join(k if v is True else f"{k}={format_field(v)}" for k, v in value.items())
    return str(value)


def tuple_line(record: tuple) -> str:
    """A VCF data line (no newline) from a tuple: the 8 fixed fields, then FORMAT and samples
    either inline or as one list/tuple; non-str values go through :func:`format_field`."""
    if len(record) < 8:
        raise RecordError("a VCF record tuple needs the 8 fixed fields")
    fixed = [format_field(v) for v in record[:8]]
    rest = record[8:]
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        rest = tuple(rest[0])
    return "\t".join(fixed + [v if isinstance(v, str) else format_field(v) for v in rest])
