"""Byte layout of BAI, TBI and CSI, written from a finished :class:`IndexBuilder`.

BAI is plain bytes; TBI and CSI are BGZF-compressed. Bins are written in ascending id (htslib
uses hash order; readers do not care). TBI — and CSI carrying tabix metadata — list only
references that hold records when the format is VCF (as htslib does); BAI and BAM-CSI list
every reference of the header, empty ones as ``n_bin = 0`` (and ``n_intv = 0``).
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Sequence

import numpy as np

from ..bgzf.writer import BgzfWriter
from ..errors import RecordError
from ..io.atomic import atomic_open
from .tabix_conf import TBX_VCF

_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")


def _ref_bytes(ref, csi: bool) -> bytes:
    if ref is None:
        return _I32.pack(0) if csi else b"\0" * 8
    parts = [_I32.pack(len(ref.bins))]
    for b in sorted(ref.bins):
        chunks = ref.bins[b]
        if csi:
            parts.append(struct.pack("<IQi", b, ref.loffsets.get(b, 0) & 0xFFFFFFFFFFFFFFFF, len(chunks)))
        else:
            parts.append(struct.pack("<Ii", b, len(chunks)))
        parts.append(np.array(chunks, dtype=np.uint64).reshape(-1).astype("<u8").tobytes())
    if not csi:
        parts.append(_I32.pack(len(ref.linear)))
        parts.append(np.array(ref.linear, dtype=np.int64).astype("<i8").tobytes())
    return b"".join(parts)


def _ref_order(builder, names: Sequence[str] | None, n_refs: int | None, tabix) -> tuple[list[int], list[str] | None]:
    refs = builder.refs
    if tabix is not None:
        names = list(names) if names is not None else builder.names
        if refs and max(refs) >= len(names):
            raise RecordError(f"index has reference id {max(refs)} but only {len(names)} names were given")
        if tabix.preset == TBX_VCF:
            tids = [t for t in range(len(names)) if t in refs]
        else:
            tids = list(range(len(names)))
        return tids, [names[t] for t in tids]
    n = n_refs if n_refs is not None else (max(refs) + 1 if refs else 0)
    if refs and max(refs) >= n:
        raise RecordError(f"index has reference id {max(refs)} but n_refs is {n}")
    return list(range(n)), None


def _body(builder, tids: list[int], csi: bool) -> bytes:
    refs = builder.refs
    parts = [_ref_bytes(refs.get(t), csi) for t in tids]
    parts.append(_U64.pack(builder.n_no_coor))
    return b"".join(parts)


def _names_blob(names: list[str]) -> bytes:
    return b"".join(n.encode() + b"\0" for n in names)


def write_bai(builder, stream: BinaryIO, n_refs: int | None) -> None:
    builder._need_finished()
    tids, _ = _ref_order(builder, None, n_refs, None)
    stream.write(b"BAI\1" + _I32.pack(len(tids)) + _body(builder, tids, csi=False))


def write_tbi(builder, stream: BinaryIO, names: Sequence[str] | None = None) -> None:
    builder._need_finished()
    conf = builder.tabix
    if conf is None:
        raise RecordError("TBI needs a tabix configuration (IndexBuilder.tbi(preset))")
    tids, out_names = _ref_order(builder, names, None, conf)
    blob = _names_blob(out_names)
    payload = b"TBI\1" + _I32.pack(len(tids)) + conf.pack(len(blob)) + blob + _body(builder, tids, csi=False)
    _bgzf(stream, payload)


def write_csi(builder, stream: BinaryIO, names: Sequence[str] | None = None,
              n_refs: int | None = None) -> None:
    builder._need_finished()
    conf = builder.tabix
    tids, out_names = _ref_order(builder, names, n_refs, conf)
    if conf is not None:
        blob = _names_blob(out_names)
        aux = conf.pack(len(blob)) + blob
    else:
        aux = b""
    head = b"CSI\1" + struct.pack("<iiI", builder.min_shift, builder.depth, len(aux)) + aux
    _bgzf(stream, head + _I32.pack(len(tids)) + _body(builder, tids, csi=True))


def _bgzf(stream: BinaryIO, payload: bytes) -> None:
    w = BgzfWriter(stream, backend="zlib")
    w.write(payload)
    w.close()


def save(builder, path: str, names=None, n_refs=None) -> str:
    """Write ``path`` atomically in the builder's format; returns ``path``."""
    path = os.fspath(path)
    with atomic_open(path) as fh:
        if builder.fmt == "bai":
            write_bai(builder, fh, n_refs if n_refs is not None else builder.n_refs)
        elif builder.fmt == "tbi":
            write_tbi(builder, fh, names)
        else:
            write_csi(builder, fh, names, n_refs if n_refs is not None else builder.n_refs)
    return path
