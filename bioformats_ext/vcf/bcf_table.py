"""BCF records → the VCF table columns, decoded for a whole run of records at once.

A :class:`~.bcf_batch.BcfBatch` has already walked every record's shared block as columns
(descriptor positions of ID, each allele, FILTER and each INFO entry). From those this module
builds the same columns the VCF text path gives (CHROM, POS, ID, REF, ALT, QUAL, FILTER,
INFO text, typed ``INFO/key``): strings are gathered from the record buffer by Arrow, integers
are formatted by Arrow casts, and values are joined per record through list offsets. Floats
are written as htslib's ``%g`` does, once per distinct value (a dictionary, not a per-record
loop). FORMAT and sample columns, and batches with records the column walk could not follow
(corrupt ones), take the per-record path, which raises the typed error naming the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..tables.arrow import require_pyarrow, take_spans
from ..tables.vcf import FIXED, finish_table, vcf_schema
from .bcf_batch import _TSIZE, BcfBatch, _int_at
from .bcf_format import format_float

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["bcf_to_arrow"]

_FLOAT_MISSING = 0x7F800001
_FLOAT_END = 0x7F800002


def _strings(u8: np.ndarray, at: np.ndarray, length: np.ndarray, where: str) -> "pa.Array":
    """UTF-8 strings ``u8[at:at+length]`` (spans in buffer order), through Arrow."""
    pa = require_pyarrow()
    arr = take_spans(u8, at, at + length)
    try:
        return arr.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([b.decode(errors="replace") for b in arr.to_pylist()], pa.string())


def _join(values: "pa.Array", counts: np.ndarray, sep: str, empty: str = ".") -> "pa.Array":
    """Per row: its ``counts[i]`` consecutive ``values`` joined by ``sep`` (``empty`` if none)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), values), sep)
    return pc.if_else(pa.array(counts == 0), pa.scalar(empty), joined)


def _floats_text(bits: np.ndarray) -> "pa.Array":
    """``%g`` text of float32 bit patterns, formatted once per distinct value."""
    pa = require_pyarrow()
    uniq, inverse = np.unique(bits, return_inverse=True)
    with np.errstate(invalid="ignore"):  # the missing/end markers are signalling NaNs
        values = uniq.view("<f4").astype(np.float64).tolist()
    texts = [format_float(v) for v in values]
    return pa.array(texts, pa.string()).take(pa.array(inverse.astype(np.int64)))


def _vector_text(u8: np.ndarray, t: np.ndarray, c: np.ndarray, at: np.ndarray) -> "pa.Array":
    """Text of numeric typed vectors (one per entry): values joined by ``,``, missing as
    ``.``, stopping at the vector-end value; ``.`` when nothing is left (htslib's rule)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    n = len(t)
    size = _TSIZE[t]
    ent = np.repeat(np.arange(n), c)
    first = np.zeros(n, np.int64)
    np.cumsum(c[:-1], out=first[1:])
    j = np.arange(len(ent), dtype=np.int64) - first[ent]
    addr = at[ent] + j * size[ent]
    te = t[ent]
    is_float = te == 5
    ints = _int_at(u8, addr, np.where(is_float, 4, size[ent]))
    bits = (ints & 0xFFFFFFFF).astype(np.uint32)
    miss = np.where(is_float, bits == _FLOAT_MISSING, ints == _miss_of(te))
    end = np.where(is_float, bits == _FLOAT_END, ints == _miss_of(te) + 1)
    # drop a vector end and everything after it in its entry
    after = np.cumsum(end)
    base = np.concatenate([[0], after])[first]
    keep = (after - base[ent]) == 0
    text = pc.cast(pa.array(ints), pa.string())
    if is_float.any():
        text = pc.replace_with_mask(text, pa.array(is_float), _floats_text(bits[is_float]))
    text = pc.if_else(pa.array(miss), pa.scalar("."), text)
    counts = np.bincount(ent[keep], minlength=n) if n else np.zeros(0, np.int64)
    return _join(text.filter(pa.array(keep)), counts, ",")


def _miss_of(t: np.ndarray) -> np.ndarray:
    return np.where(t == 1, -128, np.where(t == 2, -32768, -(1 << 31)))


def bcf_to_arrow(batch: BcfBatch, samples: Sequence[str], columns: Sequence[str] | None,
                 region: tuple[str, int, int] | None, name: str,
                 info: "dict[str, tuple[str, str]] | None" = None,
                 locus: "Sequence[str] | None" = None,
                 genotypes: Sequence[str] = ()) -> "pa.Table | None":
    """The table of ``batch``'s records, or None when the per-record path must decode it
    (FORMAT/sample columns asked for, or a record the column walk could not follow)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    schema = vcf_schema(samples, columns, info, genotypes)
    names = [nm for nm in schema.names if not nm.startswith(("INFO/", "GT/"))]
    if any(nm not in FIXED for nm in names):
        return None
    if locus is not None:
        schema = schema.append(pa.field("locus", pa.int64()))
    n = batch.n
    if n == 0:
        return schema.empty_table()
    info_start, keys, types, counts, offsets, ok = batch.shared_layout()
    if not ok.all():
        return None
    need = set(names) | ({"CHROM", "POS", "REF", "INFO"} if region is not None else set())
    need |= {"INFO"} if info else set()
    need |= {"CHROM", "POS"} if locus is not None else set()
    header = batch.ctx.header
    u8 = batch.u8
    f = batch.fixed
    cols: dict[str, Any] = {}
    if "CHROM" in need:
        contigs = header.contig_names
        tid = f["tid"].astype(np.int64)
        bad = (tid < 0) | (tid >= len(contigs))
        if bad.any() or any(contigs[i] is None for i in np.unique(tid).tolist()):
            return None
        cols["CHROM"] = pa.array(list(contigs), pa.string()).take(pa.array(tid))
    if "POS" in need:
        cols["POS"] = pa.array(f["pos"].astype(np.int64) + 1)
    fields = batch.fields
    if "ID" in need:
        t, c, d = fields[0]
        length = np.where(t == 7, c, 0)
        ident = _strings(u8, d, length, name)
        cols["ID"] = pc.if_else(pa.array(length == 0), pa.scalar("."), ident)
    if "REF" in need or "ALT" in need:
        n_allele = f["n_allele"].astype(np.int64)
        alleles = fields[1:-1]
        if any(((t != 7) & (c > 0)).any() for t, c, _ in alleles):
            return None
        if "REF" in need:
            cols["REF"] = (_strings(u8, alleles[0][2], alleles[0][1], name) if alleles
                           else pa.array([""] * n, pa.string()))
        if "ALT" in need:
            # allele k of record i, record-major: (i, k) pairs for k >= 1
            starts = np.stack([d for _, _, d in alleles[1:]], axis=1) if len(alleles) > 1 \
                else np.zeros((n, 0), np.int64)
            lens = np.stack([c for _, c, _ in alleles[1:]], axis=1) if len(alleles) > 1 \
                else np.zeros((n, 0), np.int64)
            present = np.arange(starts.shape[1]) < (n_allele - 1)[:, None]
            texts = _strings(u8, starts[present], lens[present], name)
            cols["ALT"] = _join(texts, np.maximum(n_allele - 1, 0), ",")
    if "QUAL" in need:
        bits = f["qual"].astype(np.uint32)
        missing = bits == _FLOAT_MISSING
        text = _floats_text(bits)
        cols["QUAL"] = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()),
                                  text).cast(pa.float64())
    if "FILTER" in need:
        t, c, d = fields[-1]
        if not np.isin(t[c > 0], (1, 2, 3)).all():
            return None
        ids = _ints(u8, t, c, d)
        filters = None if ids is None else _names(header.ids, ids[0])
        if ids is None or filters is None:
            return None
        cols["FILTER"] = _join(filters, ids[1], ";")
    if "INFO" in need:
        text = _info_text(batch, keys, types, counts, offsets)
        if text is None:
            return None
        cols["INFO"] = text
    for sample in genotypes:
        gt = _gt_text(batch, list(samples).index(sample))
        if gt is None:
            return None
        cols[f"GT/{sample}"] = gt
    return finish_table(cols, schema, region, name, info, locus)


def _gt_text(batch: BcfBatch, sample: int) -> "pa.Array | None":
    """One sample's GT as htslib writes it (``0/1``, ``1|0``, ``.``), null where the record
    has no GT first in FORMAT; None for what the per-record path must handle (VCF >= 4.4
    phasing prefixes, non-integer GT, missing-value codes)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    from .bcf_format import _v44

    header = batch.ctx.header
    if _v44(header.fileformat):
        return None
    keys, types, counts, offsets, ok = batch.indiv_layout()
    if not ok.all():
        return None
    n = batch.n
    gid = header._id_index.get("GT")
    out_valid = np.zeros(n, bool)
    if gid is None or not len(keys) or not (keys[0] == gid).any():
        return pa.nulls(n, pa.string())
    # GT counts only as the first FORMAT key (the spec's rule; the VCF text path's too)
    recs = np.flatnonzero(keys[0] == gid)
    rows = np.zeros(len(recs), np.int64)
    t = types[rows, recs]
    c = counts[rows, recs]
    ns = (batch.fixed["nfs"][recs] & 0xFFFFFF).astype(np.int64)
    if not np.isin(t, (1, 2, 3)).all() or (ns <= sample).any():
        return None
    size = _TSIZE[t]
    base = offsets[rows, recs] + sample * c * size
    width = int(c.max()) if len(c) else 0
    j = np.arange(width)
    inside = j < c[:, None]
    at = base[:, None] + j * size[:, None]
    v = _int_at(batch.u8, np.where(inside, at, base[:, None]).reshape(-1),
                np.repeat(size, width)).reshape(len(recs), width)
    miss = _miss_of(t)[:, None]
    if (inside & (v == miss)).any():
        return None
    ended = np.cumsum(inside & (v == miss + 1), axis=1) > 0
    keep = inside & ~ended
    allele = np.where((v >> 1) == 0, -1, (v >> 1) - 1)
    text = pc.cast(pa.array(allele[keep]), pa.string())
    text = pc.if_else(pa.array(allele[keep] < 0), pa.scalar("."), text)
    codes = np.where(j[None, :] == 0, 0, np.where(v & 1, 1, 2))[keep]
    sep = pa.array(["", "|", "/"], pa.string()).take(pa.array(codes.astype(np.int64)))
    pieces = pc.binary_join_element_wise(sep, text, "")
    per = keep.sum(axis=1)
    joined = _join(pieces, per, "")
    out = pa.nulls(n, pa.string())
    out_valid[recs] = True
    return pc.replace_with_mask(out, pa.array(out_valid), joined)


def _ints(u8: np.ndarray, t: np.ndarray, c: np.ndarray, d: np.ndarray
          ) -> "tuple[np.ndarray, np.ndarray] | None":
    """Flat integer values of one typed vector per record and the per-record counts (vector
    ends dropped); None if a value is missing (the per-record path names the fault)."""
    n = len(t)
    ent = np.repeat(np.arange(n), c)
    first = np.zeros(n, np.int64)
    np.cumsum(c[:-1], out=first[1:])
    j = np.arange(len(ent), dtype=np.int64) - first[ent]
    size = _TSIZE[t][ent]
    vals = _int_at(u8, d[ent] + j * size, size)
    miss = _miss_of(t[ent])
    end = vals == miss + 1
    after = np.cumsum(end)
    base = np.concatenate([[0], after])[first]
    keep = (after - base[ent]) == 0
    if (vals[keep] == miss[keep]).any():
        return None
    return vals[keep], np.bincount(ent[keep], minlength=n)


def _names(ids: list, idx: np.ndarray) -> "pa.Array | None":
    pa = require_pyarrow()
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(ids)
                     or any(ids[i] is None for i in np.unique(idx).tolist())):
        return None
    table = pa.array([x or "" for x in ids], pa.string())
    return table.take(pa.array(idx.astype(np.int64)))


def _info_text(batch: BcfBatch, keys: np.ndarray, types: np.ndarray, counts: np.ndarray,
               offsets: np.ndarray) -> "pa.Array | None":
    """INFO text per record: ``key`` or ``key=value`` entries joined by ``;`` (``.`` if none)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    u8 = batch.u8
    kt, ke = keys.T, types.T  # record-major
    present = kt >= 0
    key = kt[present]
    t = ke[present]
    c = counts.T[present]
    at = offsets.T[present]
    key_names = _names(batch.ctx.header.ids, key)
    if key_names is None:
        return None
    m = len(key)
    bare = (t == 0) | (c == 0)
    is_str = (t == 7) & ~bare
    is_num = np.isin(t, (1, 2, 3, 5)) & ~bare
    if not (bare | is_str | is_num).all():
        return None
    value = pa.nulls(m, pa.string())
    if is_str.any():
        idx = np.flatnonzero(is_str)
        s = pc.utf8_rtrim(_strings(u8, at[idx], c[idx], batch.ctx.name), characters="\0")
        value = pc.replace_with_mask(value, pa.array(is_str), s)
    if is_num.any():
        idx = np.flatnonzero(is_num)
        v = _vector_text(u8, t[idx], c[idx], at[idx])
        value = pc.replace_with_mask(value, pa.array(is_num), v)
    pieces = pc.if_else(pa.array(bare), key_names,
                        pc.binary_join_element_wise(key_names, value, "="))
    return _join(pieces, present.sum(axis=1), ";")
