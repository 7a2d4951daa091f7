"""Byte layout of BAI, TBI and CSI, written from a finished :class:`IndexBuilder`.

BAI is plain bytes; TBI and CSI are BGZF-compressed. Bins are written in ascending id (htslib
uses hash order; readers do not care). TBI — and CSI carrying tabix metadata — list only
references that hold records when the format is VCF (as htslib does); BAI and BAM-CSI list
every reference of the header, empty ones as ``n_bin = 0`` (and ``n_intv = 0``).
"""

from __future__ import annotations

import os
import struct
from itertools import chain
from typing import BinaryIO, Sequence

import numpy as np

from ..bgzf.blocks import MAX_BLOCK_DATA
from ..bgzf.writer import BgzfWriter
from ..errors import RecordError
from ..io.atomic import atomic_open
from .tabix_conf import TBX_VCF

_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")


def _ref_parts(ref, csi: bool) -> list:
    """One reference's bins (and BAI/TBI linear index), laid out as one array of u64 words;
    returned as buffers (bytes and arrays) for one join of the whole index.

    After ``n_bin`` every field pair lines up on 8 bytes: a BAI/TBI bin header is
    ``bin | n_chunk << 32`` (one word), a CSI one ``bin | loffset << 32`` and
    ``loffset >> 32 | n_chunk << 32`` (two words), each chunk two words. So the bins are
    gathered into numpy once and laid out with two scatters: no per-bin array, bytes or pack.
    """
    if ref is None:
        return [_I32.pack(0) if csi else b"\0" * 8]
    if ref.arrays is not None:  # a builder's reference: straight from its arrays
        a_bins, counts, beg, end, a_loff = ref.arrays
        nb = len(a_bins)
        bins = a_bins.astype(np.uint64)
        flat = np.empty(2 * len(beg), np.uint64)
        flat[0::2] = beg
        flat[1::2] = end
        loffsets = a_loff.astype(np.int64)
    else:
        items = sorted(ref.bins.items())
        nb = len(items)
        bins = np.fromiter((b for b, _ in items), dtype=np.uint64, count=nb)
        counts = np.fromiter((len(c) for _, c in items), dtype=np.int64, count=nb)
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(c for _, c in items)),
                           dtype=np.uint64, count=2 * int(counts.sum()))
        loffsets = np.fromiter((ref.loffsets.get(b, 0) for b, _ in items), dtype=np.int64,
                               count=nb) if csi else None
    head = 2 if csi else 1
    size = head + 2 * counts                   # words per bin
    at = np.cumsum(size) - size                # first word of each bin
    words = np.empty(int(size.sum()), dtype="<u8")
    is_chunk = np.ones(len(words), dtype=bool)
    n32 = counts.astype(np.uint64) << np.uint64(32)
    if csi:
        loff = loffsets.astype(np.uint64)  # type: ignore[union-attr]
        words[at] = bins | (loff << np.uint64(32))
        words[at + 1] = (loff >> np.uint64(32)) | n32
        is_chunk[at + 1] = False
    else:
        words[at] = bins | n32
    is_chunk[at] = False
    words[is_chunk] = flat
    parts = [_I32.pack(nb), words]
    if not csi:
        linear = np.ascontiguousarray(ref.linear_array())
        parts += (_I32.pack(len(linear)), linear)
    return parts


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


def _body(builder, tids: list[int], csi: bool) -> list:
    """Every reference's buffers and the n_no_coor trailer (joined once by the caller)."""
    refs = builder.refs
    parts = [part for t in tids for part in _ref_parts(refs.get(t), csi)]
    parts.append(_U64.pack(builder.n_no_coor))
    return parts


def _names_blob(names: list[str]) -> bytes:
    return b"".join(n.encode() + b"\0" for n in names)


def write_bai(builder, stream: BinaryIO, n_refs: int | None) -> None:
    builder.require_finished()
    tids, _ = _ref_order(builder, None, n_refs, None)
    stream.write(b"".join([b"BAI\1", _I32.pack(len(tids)), *_body(builder, tids, csi=False)]))


def write_tbi(builder, stream: BinaryIO, names: Sequence[str] | None = None) -> None:
    builder.require_finished()
    conf = builder.tabix
    if conf is None:
        raise RecordError("TBI needs a tabix configuration (IndexBuilder.tbi(preset))")
    tids, out_names = _ref_order(builder, names, None, conf)
    blob = _names_blob(out_names or [])
    _bgzf(stream, b"".join([b"TBI\1", _I32.pack(len(tids)), conf.pack(len(blob)), blob,
                            *_body(builder, tids, csi=False)]))


def write_csi(builder, stream: BinaryIO, names: Sequence[str] | None = None,
              n_refs: int | None = None) -> None:
    builder.require_finished()
    conf = builder.tabix
    tids, out_names = _ref_order(builder, names, n_refs, conf)
    if conf is not None:
        blob = _names_blob(out_names or [])
        aux = conf.pack(len(blob)) + blob
    else:
        aux = b""
    head = b"CSI\1" + struct.pack("<iiI", builder.min_shift, builder.depth, len(aux)) + aux
    _bgzf(stream, b"".join([head, _I32.pack(len(tids)), *_body(builder, tids, csi=True)]))


def _bgzf(stream: BinaryIO, payload: bytes) -> None:
    """TBI/CSI bytes as BGZF. An index of one block is deflated as htslib does (level 6: the
    index of an empty or tiny file comes out byte-identical to tabix's and bcftools', which
    the tests check); a larger one, whose bytes differ from htslib's anyway (bin order,
    deflate), with ISA-L when installed: at its best level it packs the u64 words
    within 2% of libdeflate-6's size in under a third of the time (a 1M-line VCF's TBI:
    352,401 vs 348,878 bytes, 2.4 vs 9.1 ms; CSI 300,801 vs 295,391)."""
    try:
        w = BgzfWriter(stream, backend="isal" if len(payload) > MAX_BLOCK_DATA else "auto")
    except ImportError:  # ISA-L is optional: the fastest installed deflate then
        w = BgzfWriter(stream)
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
