"""Comparing Bio.Align alignments by value (for parsers checked against Biopython's)."""

from __future__ import annotations

import numpy as np
from Bio.Seq import UndefinedSequenceError


def _seq_key(seq):
    try:
        return bytes(seq)
    except UndefinedSequenceError:
        return ("undefined", len(seq))


def _record_key(rec):
    if rec is None:
        return None
    return (rec.id, rec.name, rec.description, _seq_key(rec.seq), repr(sorted(rec.annotations.items())),
            repr(sorted((k, list(v)) for k, v in rec.letter_annotations.items())))


def alignment_key(alignment) -> dict:
    """Every attribute of a Bio.Align Alignment as comparable plain values (sequences by
    content or undefined length, numpy arrays as lists)."""
    out = {}
    for name, value in vars(alignment).items():
        if name == "sequences":
            out[name] = [_record_key(r) for r in value]
        elif name == "coordinates":
            out[name] = None if value is None else np.asarray(value).tolist()
        elif name == "annotations":
            out[name] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in value.items()}
        elif isinstance(value, (np.ndarray, bytearray)):
            out[name] = bytes(value) if isinstance(value, bytearray) else value.tolist()
        else:
            out[name] = value
    return out
