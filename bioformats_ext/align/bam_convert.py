"""BAM columns → ``Bio.Align.Alignment`` objects, a batch at a time, without SAM text.

Semantics are those of Biopython's ``"sam"`` parser (so a BAM parses exactly as its
``samtools view`` text does there): coordinates from the CIGAR with leading soft clips moving the
query start, reverse-strand query coordinates counted from the end and the sequence
reverse-complemented, ``hard_clip_left/right``, ``flag``, ``mapq`` (not when 255), ``rnext``,
``pnext``, ``tlen``, ``score`` from ``AS``, the target rebuilt from the read and ``MD``, and
``operations`` when the CIGAR has ``=``, ``X`` or ``N``. Where that parser fails we are correct
instead: ``B`` arrays become numpy arrays of the element type, ``H`` tags bytes, ``P`` is a no-op,
tags may contain spaces, long CIGARs come from the ``CG`` tag. An unmapped read is written
back at its mate's position (``rnext``/``pnext``, SAM's convention); only when its placement
differs from that is it kept in ``rname``/``pos`` attributes, so writing keeps files sorted.

The CIGAR → coordinates step is vectorised over the batch: all operations are flattened, the
per-operation target/query advances are cumulatively summed per record, and each record's
coordinate block is a slice of two arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from Bio.Align import Alignment
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from ..bam.columns import _PAIRS, BamColumns, parse_aux
from ..errors import FormatError

__all__ = ["columns_to_alignments"]

_OP_LETTERS = np.frombuffer(b"MIDNSHP=X??????", np.uint8)
_T_OPS = np.zeros(16, bool)
_T_OPS[[0, 2, 3, 7, 8]] = True       # consume the reference
_Q_OPS = np.zeros(16, bool)
_Q_OPS[[0, 1, 4, 7, 8]] = True       # consume the query
_COL_OPS = np.zeros(16, bool)
_COL_OPS[[0, 1, 2, 3, 7, 8]] = True  # make a coordinate column
_STORE_OPS = np.zeros(16, bool)
_STORE_OPS[[3, 7, 8]] = True         # N = X: Biopython keeps ``operations``
_B_DTYPES = {"c": np.int8, "C": np.uint8, "s": np.int16, "S": np.uint16, "i": np.int32,
             "I": np.uint32, "f": np.float32}
_INT_KINDS = frozenset("cCsSiI")

_from_validated: Any = getattr(SeqRecord, "_from_validated", None)  # absent in old Biopython
_LETTERS = b"=ACMGRSVTWYHKDBN"
#: reverse-complement table for BAM's 16 letters, taken from Biopython itself
_COMPLEMENT = bytes.maketrans(_LETTERS, bytes(Seq(_LETTERS.decode()).complement()))


def _fast_objects_ok() -> bool:
    """Seq/SeqRecord built from their attributes (3x cheaper than the constructors, whose
    type checks dominate a parse) must be indistinguishable from constructed ones: checked
    once against this Biopython."""
    try:
        from Bio.SeqRecord import _RestrictedDict  # noqa: F401

        made = Seq("ACGT")
        fast = Seq.__new__(Seq)
        fast._data = b"ACGT"
        if vars(made) != vars(fast) or str(fast) != "ACGT":
            return False
        rec = _from_validated(made, "q", "<unknown name>", "",
                              letter_annotations={"phred_quality": [1, 2, 3, 4]})
        keys = {"_seq", "id", "name", "description", "dbxrefs", "features", "annotations",
                "_per_letter_annotations"}
        return set(vars(rec)) == keys and Seq("AC=N").reverse_complement() == "N=GT"
    except Exception:  # noqa: BLE001 - any surprise: use the constructors
        return False


_FAST = _from_validated is not None and _fast_objects_ok()


def _alignment_fast_ok() -> bool:
    try:
        made = Alignment([None, None], np.zeros((2, 2), np.intp))
        return set(vars(made)) == {"sequences", "coordinates"}
    except Exception:  # noqa: BLE001
        return False


_ALIGNMENT_FAST = _alignment_fast_ok()
if _FAST:
    from Bio.SeqRecord import _RestrictedDict


def _seq(data: bytes, reverse: bool) -> Seq:
    if reverse:
        data = data.translate(_COMPLEMENT)[::-1]
    if _FAST:
        seq = Seq.__new__(Seq)
        seq._data = data
        return seq
    return Seq(data)


def _query_record(seq: Any, qname: str, phred: list[int] | None) -> SeqRecord:
    if _FAST:
        rec = SeqRecord.__new__(SeqRecord)
        letters = None
        if phred is not None:
            letters = _RestrictedDict.__new__(_RestrictedDict)
            letters._length = len(seq)
            dict.__setitem__(letters, "phred_quality", phred)
        rec.__dict__.update(_seq=seq, id=qname, name="<unknown name>", description="",
                            dbxrefs=[], features=[], annotations={},
                            _per_letter_annotations=letters)
        return rec
    if _from_validated is not None:
        return _from_validated(seq, qname, "<unknown name>", "", letter_annotations=(
            {"phred_quality": phred} if phred is not None else None))
    rec = SeqRecord(seq, id=qname, description="")
    if phred is not None:
        rec.letter_annotations["phred_quality"] = phred
    return rec


def _tag_value(kind: str, value: Any) -> Any:
    if kind in _INT_KINDS or kind == "A" or kind == "Z":
        return value
    if kind == "f":
        return float("%g" % value)  # what the SAM text (and so Biopython) says
    if kind == "d":
        return float(value)
    if kind == "H":
        try:
            return bytes.fromhex(value)
        except ValueError:
            return value
    sub, items = value  # B
    return np.array(items, dtype=_B_DTYPES[sub])


_TAG_CACHE = 4096


def _read_tags(raw: bytes, number: int, has_cg: bool) -> tuple[Any, Any, dict[str, Any], bool]:
    """``(score, MD, annotations, has_arrays)`` of one record's aux bytes (cached per batch:
    reads with identical tags, the common case, parse once)."""
    score = None
    md = None
    annotations: dict[str, Any] = {}
    arrays = False
    if raw:
        for tag, kind, value in parse_aux(raw, f"BAM record {number}"):
            if tag == "AS" and kind in _INT_KINDS:
                score = value
            elif tag == "MD" and kind == "Z":
                md = value
            elif tag == "CG" and has_cg:
                continue
            else:
                annotations[tag] = _tag_value(kind, value)
                arrays = arrays or kind == "B"
    return score, md, annotations, arrays


def columns_to_alignments(cols: BamColumns, names: list[str], targets: list[SeqRecord],
                          target_indices: dict[str, int]) -> list[Alignment]:
    """One ``Alignment`` per record of ``cols`` (see the module docstring)."""
    n = len(cols)
    if n == 0:
        return []
    cg = cols._cg_overrides()
    if cg:
        arrays = cols.cigar_arrays()
        counts = np.array([len(a) for a in arrays], np.int64)
        flat = np.concatenate(arrays).astype(np.int64) if counts.sum() else np.zeros(0, np.int64)
    else:
        counts = cols.n_cigar
        raw, _ = cols._gather(cols.cigar_start, 4 * counts)
        flat = raw.view("<u4").astype(np.int64) if len(raw) else np.zeros(0, np.int64)
    flags = cols.flag
    mapped = (flags & 4) == 0
    reverse = (flags & 16) != 0
    ops = flat & 15
    lens = flat >> 4
    owner = np.repeat(np.arange(n), counts)
    t_adv = np.where(_T_OPS[ops], lens, 0)
    q_adv = np.where(_Q_OPS[ops], lens, 0)
    first_op = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=first_op[1:])
    cum_t = np.cumsum(t_adv)
    cum_q = np.cumsum(q_adv)
    if len(flat):
        base_t = np.concatenate(([0], cum_t))[first_op[:-1]]
        base_q = np.concatenate(([0], cum_q))[first_op[:-1]]
        cum_t = cum_t - np.repeat(base_t, counts)
        cum_q = cum_q - np.repeat(base_q, counts)
    q_before = cum_q - q_adv
    lead_s = np.bincount(owner, weights=np.where((ops == 4) & (q_before == 0), lens, 0),
                         minlength=n).astype(np.int64)
    q_total = np.bincount(owner, weights=q_adv, minlength=n).astype(np.int64)
    store = np.bincount(owner, weights=_STORE_OPS[ops], minlength=n) > 0
    is_col = _COL_OPS[ops]
    col_owner = owner[is_col]
    n_cols = np.bincount(col_owner, minlength=n)
    block = n_cols + 1
    block_start = np.zeros(n + 1, np.int64)
    np.cumsum(block, out=block_start[1:])
    total = int(block_start[-1])
    pos = cols.pos
    tcoord = np.empty(total, np.intp)
    qcoord = np.empty(total, np.intp)
    tcoord[block_start[:-1]] = pos
    qcoord[block_start[:-1]] = lead_s
    col_first = np.zeros(n + 1, np.int64)
    np.cumsum(n_cols, out=col_first[1:])
    rank = np.arange(len(col_owner)) - col_first[:-1][col_owner]
    slot = block_start[:-1][col_owner] + 1 + rank
    tcoord[slot] = pos[col_owner] + cum_t[is_col]
    qcoord[slot] = cum_q[is_col]
    rev_slots = np.repeat(reverse, block)
    qcoord[rev_slots] = np.repeat(q_total, block)[rev_slots] - qcoord[rev_slots]
    col_letters = _OP_LETTERS[ops[is_col]].tobytes()
    # hard clips: left when nothing of the query came before, else right (last one wins)
    hard: dict[int, list[int | None]] = {}
    for k in np.flatnonzero(ops == 5).tolist():
        r = int(owner[k])
        pair = hard.setdefault(r, [None, None])
        pair[0 if q_before[k] == 0 else 1] = int(lens[k])

    qnames = cols.query_names()
    # sequences as one bytes object (nibble pairs) and qualities as one list, sliced per record
    l_seq = cols.l_seq.tolist()
    half = (cols.l_seq + 1) // 2
    packed, seq_cuts = cols._gather(cols.seq_start, half)
    seq_blob = _PAIRS[packed].tobytes() if len(packed) else b""
    seq_at = (2 * seq_cuts[:-1]).tolist()
    qual_flat, qual_cuts = cols._gather(cols.qual_start, cols.l_seq)
    qual_list = qual_flat.tolist()
    qual_at = qual_cuts[:-1].tolist()
    ref_ids = cols.ref_id.tolist()
    next_ids = cols.next_ref_id.tolist()
    next_pos = cols.next_pos.tolist()
    tlens = cols.tlen.tolist()
    mapqs = cols.mapq.tolist()
    flag_list = flags.tolist()
    pos_list = pos.tolist()
    mapped_list = mapped.tolist()
    rev_list = reverse.tolist()
    q_totals = q_total.tolist()
    store_list = store.tolist()
    bs = block_start.tolist()
    cf = col_first.tolist()
    aux_start = cols.aux_start.tolist()
    stops = cols.stop.tolist()
    u8 = cols._u8

    new_alignment = Alignment.__new__
    tag_cache: dict[bytes, tuple[Any, Any, dict[str, Any], bool]] = {}
    out: list[Alignment] = []
    coords2 = np.stack([tcoord, qcoord])  # each record's coordinates: a view of its columns
    blob = cols.buffer if isinstance(cols.buffer, bytes) else u8.tobytes()
    first_record = cols.first_record
    for i in range(n):
        flag = flag_list[i]
        tid = ref_ids[i]
        rname = names[tid] if tid >= 0 else "*"
        length = l_seq[i]
        if length:
            at = seq_at[i]
            seq_raw: bytes | None = seq_blob[at:at + length]
            qa = qual_at[i]
            phred = None if qual_list[qa] == 0xFF else qual_list[qa:qa + length]
        else:
            seq_raw = phred = None
        # tags
        raw_aux = blob[aux_start[i]:stops[i]]
        in_cg = cg and i in cg
        hit = None if in_cg else tag_cache.get(raw_aux)
        if hit is None:
            hit = _read_tags(raw_aux, first_record + i + 1, bool(in_cg))
            if len(tag_cache) < _TAG_CACHE and not in_cg:
                tag_cache[raw_aux] = hit
        score, md, cached, has_arrays = hit
        if has_arrays:  # arrays are mutable: each alignment gets its own
            annotations = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                           for k, v in cached.items()}
        else:
            annotations = dict(cached)
        hclip: list[int | None] = [None, None]
        operations = None
        if mapped_list[i]:
            a, b = bs[i], bs[i + 1]
            coordinates = coords2[:, a:b]
            if seq_raw is not None and length != q_totals[i]:
                raise FormatError(f"BAM record {cols.first_record + i + 1} ({qnames[i]}): SEQ length "
                                  f"{length} does not match its CIGAR ({q_totals[i]})")
            if md is not None and seq_raw is not None:
                target = _target_from_md(seq_raw.decode("ascii"), md, pos_list[i], cols, i, cg, targets,
                                         target_indices, rname)
            else:
                index = target_indices.get(rname)
                if index is None:
                    target = SeqRecord(None, id=rname, description="")
                else:
                    target = targets[index]
                if md is not None:
                    annotations["MD"] = md
            if i in hard:
                hclip = hard[i]
            if store_list[i]:
                operations = bytearray(col_letters[cf[i]:cf[i + 1]])
            qlen = q_totals[i]
        else:
            coordinates = None
            target = None
            if md is not None:
                annotations["MD"] = md
            qlen = 0
        if seq_raw is None:
            sequence = Seq(None, length=qlen)
        else:
            sequence = _seq(seq_raw, mapped_list[i] and rev_list[i])
        query = _query_record(sequence, qnames[i], phred)
        if rev_list[i]:
            hclip = [hclip[1], hclip[0]]
        if hclip[0] is not None:
            query.annotations["hard_clip_left"] = hclip[0]
        if hclip[1] is not None:
            query.annotations["hard_clip_right"] = hclip[1]
        # the attributes Biopython's SAM parser sets, in its order (Alignment.__init__ with
        # coordinates only stores these two: checked at import, see _ALIGNMENT_FAST)
        attrs: dict[str, Any] = {"sequences": [target, query], "coordinates": coordinates,
                                 "flag": flag}
        if mapqs[i] != 255:
            attrs["mapq"] = mapqs[i]
        ntid = next_ids[i]
        if ntid >= 0:
            attrs["rnext"] = rname if ntid == tid else names[ntid]
        if next_pos[i] >= 0:
            attrs["pnext"] = next_pos[i]
        if tlens[i] != 0:
            attrs["tlen"] = tlens[i]
        if score is not None:
            attrs["score"] = score
        if annotations:
            attrs["annotations"] = annotations
        if hclip[0] is not None:
            attrs["hard_clip_left"] = hclip[0]
        if hclip[1] is not None:
            attrs["hard_clip_right"] = hclip[1]
        if operations is not None:
            attrs["operations"] = operations
        if not mapped_list[i]:
            # an unmapped read is placed at its mate (SAM's convention, which the writer
            # follows); only a placement that breaks the convention is kept explicitly
            mate = (rname if ntid == tid else names[ntid]) if ntid >= 0 else "*"
            if (mate, next_pos[i] if ntid >= 0 else -1) != (rname, pos_list[i] if tid >= 0 else -1):
                attrs["rname"] = rname
                attrs["pos"] = pos_list[i]
        if _ALIGNMENT_FAST:
            alignment = new_alignment(Alignment)
            alignment.__dict__.update(attrs)
        else:
            alignment = Alignment([target, query], coordinates)
            for key, value in attrs.items():
                setattr(alignment, key, value)
        out.append(alignment)
    return out


def _target_from_md(seq: str, md: str, pos: int, cols: BamColumns, i: int,
                    cg: dict[int, np.ndarray], targets: list[SeqRecord],
                    target_indices: dict[str, int], rname: str) -> SeqRecord:
    """The reference under the read, rebuilt from the read and its MD tag (as Biopython does):
    blocks of known reference letters keyed by their start, in a partially defined Seq."""
    ops = cg[i] if i in cg else np.frombuffer(
        cols._u8[int(cols.cigar_start[i]):int(cols.cigar_start[i]) + 4 * int(cols.n_cigar[i])]
        .tobytes(), "<u4")
    aligned = []      # read letters at M = X
    starts = [pos]
    sizes = []
    size = 0
    qpos = 0
    tpos = pos
    for c in ops.tolist():
        op, length = c & 15, c >> 4
        if op in (0, 7, 8):
            aligned.append(seq[qpos:qpos + length])
            qpos += length
            tpos += length
            size += length
        elif op in (1, 4):
            qpos += length
        elif op == 2:
            tpos += length
            size += length
            starts.append(tpos)
            sizes.append(size)
            size = 0
        elif op == 3:
            tpos += length
            starts.append(tpos)
            sizes.append(size)
            size = 0
    sizes.append(size)
    read = "".join(aligned)
    # walk the MD string: numbers copy read letters, letters replace one, ^letters insert
    out = []
    k = 0
    j = 0
    number = 0
    while j < len(md):
        ch = md[j]
        if ch.isdigit():
            number = number * 10 + ord(ch) - 48
            j += 1
            continue
        out.append(read[k:k + number])
        k += number
        number = 0
        if ch == "^":
            j += 1
            while j < len(md) and md[j].isalpha():
                out.append(md[j])
                j += 1
        else:
            out.append(ch)
            k += 1
            j += 1
    if number:
        out.append(read[k:k + number])
    reference = "".join(out)
    index = target_indices.get(rname)
    if index is None:
        raise FormatError(f"BAM record {cols.first_record + i + 1}: reference {rname!r} not in header")
    base = targets[index]
    data = {}
    at = 0
    for start, size in zip(starts, sizes):
        data[start] = reference[at:at + size]
        at += size
    try:
        sequence = Seq(data, length=len(base.seq))  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise FormatError(f"BAM record {cols.first_record + i + 1}: MD tag {md!r} does not fit "
                          f"its CIGAR: {exc}") from None
    return SeqRecord._from_validated(sequence, base.id, base.name, base.description,
                                     annotations={key: (list(v) if isinstance(v, list) else v)
                                                  for key, v in base.annotations.items()})
