"""BAM records (``bioformats_ext.bam.columns.BamColumns``) → Arrow.

Columns (SAM names, SAM conventions): qname, flag (uint16), rname (dictionary over the header's
references; null when unplaced), pos (1-based, 0 when unplaced), end (1-based inclusive end =
pysam's ``reference_end``; null where pysam gives None), mapq (uint8), cigar ("*" when none),
rnext (dictionary; null when unplaced), pnext (1-based), tlen, seq (null when absent), qual
(phred+33 text; null when absent), and any ``tags`` asked for as typed columns. Names,
sequences and qualities are gathered from the record buffer by Arrow ``take`` over span
offsets; CIGAR text is built by Arrow kernels; tags come from a column-wise walk of the aux
fields. Per-record Python remains only for CG-tag CIGARs, B-array tags and corrupt aux data
(where the columns API names the record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import RecordError

from .arrow import (dictionary_column, gather_spans, require_pyarrow, select_columns,
                    span_buffers, string_array_from_buffers, string_array_from_spans, take_spans)

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

BAM_COLUMNS = ("qname", "flag", "rname", "pos", "end", "mapq", "cigar", "rnext", "pnext", "tlen",
               "seq", "qual")
_SEQ = np.frombuffer(b"=ACMGRSVTWYHKDBN", np.uint8)
_PAIRS16 = np.ascontiguousarray(np.stack([_SEQ[np.arange(256) >> 4], _SEQ[np.arange(256) & 15]],
                                         axis=1)).view("<u2").reshape(-1)
#: SAM aux type letter → Arrow type name
TAG_TYPES = {"c": "int64", "C": "int64", "s": "int64", "S": "int64", "i": "int64", "I": "int64",
             "f": "float64", "d": "float64", "A": "string", "Z": "string", "H": "string"}


def _tag_type(name: str) -> "pa.DataType":
    pa = require_pyarrow()
    if name.startswith("list<"):
        return pa.list_(_tag_type(name[5:-1]))
    return {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}[name]


def bam_schema(references: Sequence[str], columns: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None) -> "pa.Schema":
    pa = require_pyarrow()
    tags = dict(tags or {})
    names = select_columns(list(BAM_COLUMNS) + list(tags), columns, "BAM")
    dict_t = pa.dictionary(pa.int32(), pa.string())
    types = {"qname": pa.string(), "flag": pa.uint16(), "rname": dict_t, "pos": pa.int64(),
             "end": pa.int64(), "mapq": pa.uint8(), "cigar": pa.string(), "rnext": dict_t,
             "pnext": pa.int64(), "tlen": pa.int64(), "seq": pa.string(), "qual": pa.string()}
    types.update({t: _tag_type(v) for t, v in tags.items()})
    return pa.schema([(n, types[n]) for n in names])


def _ref_column(ids: np.ndarray, references: Sequence[str]) -> Any:
    pa = require_pyarrow()
    arr = dictionary_column(np.where(ids < 0, 0, ids), references)
    if (ids < 0).any():
        arr = pa.DictionaryArray.from_arrays(pa.array(np.where(ids < 0, 0, ids).astype(np.int32),
                                                      mask=ids < 0), arr.dictionary)
    return arr


def _sequences(cols: Any) -> Any:
    """SEQ letters for every record: the packed bytes gathered by Arrow, both nibbles of every
    byte turned into two letters by one uint16 lookup, and the pad nibble of odd-length
    sequences dropped by a second gather (no per-record Python)."""
    l_seq = cols.l_seq.astype(np.int64)
    half = (l_seq + 1) // 2
    packed, _ = gather_spans(cols._u8, cols.seq_start, cols.seq_start + half)
    letters = _PAIRS16[packed].view(np.uint8)  # 2 letters per packed byte
    if (l_seq % 2).any():
        starts = np.zeros(len(l_seq), np.int64)
        np.cumsum(2 * half[:-1], out=starts[1:])
        arr = take_spans(letters, starts, starts + l_seq)
        values, offsets = span_buffers(arr)
    else:
        values = letters
        offsets = np.zeros(len(l_seq) + 1, np.int64)
        np.cumsum(l_seq, out=offsets[1:])
    return string_array_from_buffers(values, offsets, l_seq > 0, validate=False)


_CIGAR_OPS = "MIDNSHP=X"


def _cigars(cols: Any) -> Any:
    """CIGAR text for every record, built by Arrow: op lengths cast to text, joined with their
    letters, joined per record. Records whose real CIGAR sits in a ``CG`` tag (``kSmN``
    placeholder) take the columns API's per-record restoration."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    n_cigar = cols.n_cigar
    raw, _ = gather_spans(cols._u8, cols.cigar_start, cols.cigar_start + 4 * n_cigar)
    words = raw.view("<u4") if len(raw) % 4 == 0 else np.zeros(0, "<u4")
    ops = (words & 15).astype(np.int64)
    if len(ops) and int(ops.max()) > 8:
        return pa.array(cols.cigar_strings(), pa.string())  # let the decoder name the fault
    lengths = pa.array((words >> 4).astype(np.uint32)).cast(pa.string())
    letters = pa.array(list(_CIGAR_OPS), pa.string()).take(pa.array(ops))
    items = pc.binary_join_element_wise(lengths, letters, "")
    offsets = np.zeros(len(n_cigar) + 1, np.int32)
    np.cumsum(n_cigar, out=offsets[1:])
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), "")
    text = pc.if_else(pa.array(n_cigar == 0), pa.scalar("*"), text)
    # the CG-tag placeholder: 2 ops, first a soft clip of the whole read, second N
    if len(ops):
        first = np.where(n_cigar == 2, offsets[:-1], 0)
        cand = np.flatnonzero((n_cigar == 2) & (ops[first] == 4)
                              & ((words[first] >> 4) == cols.l_seq) & (ops[first + 1] == 3))
        if len(cand):
            fixed = cols.take(cand).cigar_strings()
            values = text.to_pylist()
            for i, cig in zip(cand.tolist(), fixed):
                values[i] = cig
            text = pa.array(values, pa.string())
    return text


def _qualities(cols: Any) -> Any:
    """Phred+33 text; null where the record has no qualities (l_seq 0 or 0xFF): gathered by
    Arrow, 33 added over the one values buffer."""
    raw = cols._u8
    starts, lens = cols.qual_start, cols.l_seq.astype(np.int64)
    first = raw[np.minimum(starts, len(raw) - 1)] if len(raw) else np.zeros(0, np.uint8)
    present = (lens > 0) & (first != 0xFF)
    values, offsets = gather_spans(raw, starts, starts + np.where(present, lens, 0))
    return string_array_from_buffers(values + np.uint8(33), offsets, present, validate=False)


def columns_to_arrow(cols: Any, references: Sequence[str], columns: Sequence[str] | None = None,
                     tags: Mapping[str, str] | None = None, sel: Any = None) -> "pa.Table":
    """A table of the records in ``cols`` (a ``BamColumns``; ``sel``: a subset mask/indices)."""
    pa = require_pyarrow()
    if sel is not None:
        cols = cols.take(sel)
    schema = bam_schema(references, columns, tags)
    want = schema.names
    out: dict[str, Any] = {}
    n = len(cols)
    wanted_tags = [nm for nm in want if nm not in BAM_COLUMNS]
    aux = _aux_walk(cols, wanted_tags) if wanted_tags and n else None
    for name in want:
        if name == "qname":
            out[name] = string_array_from_spans(cols._u8, cols.name_start,
                                                cols.name_start + np.maximum(cols.l_read_name - 1, 0),
                                                "BAM read names")
        elif name == "flag":
            out[name] = pa.array(cols.flag.astype(np.uint16))
        elif name == "rname":
            out[name] = _ref_column(cols.ref_id, references)
        elif name == "rnext":
            out[name] = _ref_column(cols.next_ref_id, references)
        elif name == "pos":
            out[name] = pa.array(cols.pos + 1)
        elif name == "pnext":
            out[name] = pa.array(cols.next_pos + 1)
        elif name == "end":
            ends = cols.reference_ends()
            out[name] = pa.array(ends, mask=ends < 0)
        elif name == "mapq":
            out[name] = pa.array(cols.mapq.astype(np.uint8))
        elif name == "tlen":
            out[name] = pa.array(cols.tlen)
        elif name == "cigar":
            out[name] = _cigars(cols) if n else pa.array([], pa.string())
        elif name == "seq":
            out[name] = _sequences(cols) if n else pa.array([], pa.string())
        elif name == "qual":
            out[name] = _qualities(cols) if n else pa.array([], pa.string())
        else:  # a tag
            want_type = schema.field(name).type
            fast = aux.get(name) if aux is not None else None
            col = _tag_column(cols, fast, want_type) if fast is not None else None
            if col is not None:
                out[name] = col
                continue
            values = cols.tag_values(name) if n else []
            first = next((v for v in values if v is not None), None)
            if isinstance(first, tuple):  # (subtype, values)
                values = [None if v is None else list(v[1]) for v in values]
            elif first is not None and not isinstance(first, (str, int, float)):
                values = [None if v is None else list(v) for v in values]  # B: array.array
            try:
                arr = pa.array(values)
                out[name] = arr if arr.type == want_type else arr.cast(want_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise RecordError(f"BAM tag {name}: values do not fit {want_type} ({exc})") \
                    from None
    return pa.Table.from_arrays([out[nm] for nm in want], schema=schema)


_AUX_SIZE = np.zeros(256, np.int64)
for _code, _size in {"A": 1, "c": 1, "C": 1, "s": 2, "S": 2, "i": 4, "I": 4, "f": 4}.items():
    _AUX_SIZE[ord(_code)] = _size
_AUX_INT = {ord("c"): "<i1", ord("C"): "<u1", ord("s"): "<i2", ord("S"): "<u2", ord("i"): "<i4",
            ord("I"): "<u4"}
_MAX_AUX_FIELDS = 4096


def _aux_walk(cols: Any, tags: Sequence[str]) -> "dict[str, tuple] | None":
    """Where each wanted tag's value is, for all records at once: the aux fields are walked as
    columns (step k moves every record past its k-th field). ``{tag: (records, type byte,
    value offset, count)}`` (count: array length for B, text length for Z/H). None when a
    record's aux bytes do not follow the layout: the per-record path names the fault."""
    u8 = cols._u8
    top = len(u8)
    keys = {t: (ord(t[0]) << 8) | ord(t[1]) for t in tags if len(t) == 2 and t.isascii()}
    found: dict[str, list[list[np.ndarray]]] = {t: [[], [], [], []] for t in keys}
    rec = np.arange(len(cols))
    cur = cols.aux_start.astype(np.int64)
    end = cols.stop.astype(np.int64)
    if (end > top).any():
        return None
    zeros: np.ndarray | None = None
    seen = {t: np.zeros(len(cols), bool) for t in keys}
    for _ in range(_MAX_AUX_FIELDS):
        live = cur < end
        if not live.all():
            rec, cur, end = rec[live], cur[live], end[live]
        if not len(rec):
            break
        if (cur + 3 > end).any():
            return None
        code = (u8[cur].astype(np.int64) << 8) | u8[cur + 1]
        typ = u8[cur + 2].astype(np.int64)
        size = _AUX_SIZE[typ]
        at = cur + 3
        count = np.ones(len(rec), np.int64)
        nxt = at + size
        text = (typ == ord("Z")) | (typ == ord("H"))
        arr = typ == ord("B")
        if text.any():
            if zeros is None:
                zeros = np.flatnonzero(u8 == 0)
            k = np.searchsorted(zeros, at[text])
            if (k >= len(zeros)).any():
                return None
            nul = zeros[k]
            count[text] = nul - at[text]
            nxt[text] = nul + 1
        if arr.any():
            sub = u8[np.minimum(at[arr], top - 1)].astype(np.int64)
            n_items = np.zeros(int(arr.sum()), np.int64)
            base = at[arr] + 1
            for j in range(4):
                n_items |= u8[np.minimum(base + j, top - 1)].astype(np.int64) << (8 * j)
            if not (_AUX_SIZE[sub] > 0).all() or (sub == ord("A")).any():
                return None
            count[arr] = n_items
            nxt[arr] = base + 4 + n_items * _AUX_SIZE[sub]
        if ((size == 0) & ~text & ~arr).any() or (nxt > end).any():
            return None
        for t, key in keys.items():
            hit = (code == key)
            if hit.any():
                hit &= ~seen[t][rec]  # the first field with the tag counts
                seen[t][rec[hit]] = True
                for lst, v in zip(found[t], (rec[hit], typ[hit], at[hit], count[hit])):
                    lst.append(v)
        cur = nxt
    else:
        return None
    out = {}
    for t, parts in found.items():
        r, ty, a, c = (np.concatenate(p) if p else np.zeros(0, np.int64) for p in parts)
        order = np.argsort(r, kind="stable")
        out[t] = (r[order], ty[order], a[order], c[order])
    return out


def _tag_column(cols: Any, where: tuple, want: "pa.DataType") -> "pa.Array | None":
    """A tag's typed column from :func:`_aux_walk`'s positions (null where absent); None
    when its values do not fit ``want`` simply (the per-record path then decides)."""
    pa = require_pyarrow()
    u8 = cols._u8
    n = len(cols)
    rec, typ, at, count = where
    valid = np.zeros(n, bool)
    valid[rec] = True
    kinds = set(np.unique(typ).tolist())
    if not kinds:
        return pa.nulls(n, want)
    if pa.types.is_integer(want) and kinds <= set(_AUX_INT):
        vals = np.zeros(n, np.int64)
        for k in kinds:
            m = typ == k
            dt = np.dtype(_AUX_INT[k])
            idx = at[m][:, None] + np.arange(dt.itemsize)
            vals[rec[m]] = u8[idx].reshape(-1).view(dt).astype(np.int64)
        return pa.array(vals, mask=~valid).cast(want)
    if pa.types.is_floating(want) and kinds == {ord("f")}:
        vals = np.zeros(n, np.float64)
        idx = at[:, None] + np.arange(4)
        vals[rec] = u8[idx].reshape(-1).view("<f4").astype(np.float64)
        return pa.array(vals, mask=~valid).cast(want)
    if pa.types.is_string(want) and kinds <= {ord("Z"), ord("H"), ord("A")}:
        length = np.where(typ == ord("A"), 1, count)
        texts = take_spans(u8, at, at + length)
        try:
            texts = texts.cast(pa.string())
        except pa.ArrowInvalid:
            return None
        full = np.full(n, -1, np.int64)
        full[rec] = np.arange(len(rec))
        return texts.take(pa.array(full, mask=full < 0))
    return None


def tag_types(cols: Any, tags: Sequence[str]) -> dict[str, str]:
    """Arrow type names of ``tags`` from the first records that carry them (string if none)."""
    out = {}
    for tag in tags:
        kind = "string"
        for i in range(min(len(cols), 10000)):
            found = [t for t in cols.aux(i) if t[0] == tag]
            if found:
                _tag, code, value = found[0]
                kind = (f"list<{'float64' if value[0] == 'f' else 'int64'}>" if code == "B"
                        else TAG_TYPES[code])
                break
        out[tag] = kind
    return out
