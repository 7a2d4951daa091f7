"""VCF column values from Python values (shared by the text and BCF writers)."""

from __future__ import annotations

from typing import Any


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
