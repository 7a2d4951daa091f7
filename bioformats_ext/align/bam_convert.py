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

Why it is fast: everything that can be done for a whole batch is done with numpy first
(:class:`~bioformats_ext.align.bam_batch.AlignmentBatch`: coordinates, SEQ letters, per-record
lists). Then the alignments are made one at a time (:func:`iter_alignments`, a generator): a
loop that drops them keeps the heap, and so the garbage collector's work, small (building a
whole batch first made the collector walk every object of it). Common records take a short path
that stores attributes on ``__new__`` objects in Biopython's order; anything unusual takes
:func:`_alignment`.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np
from Bio.Align import Alignment
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from ..bam.columns import BamColumns, parse_aux
from ..errors import FormatError
from .bam_batch import COMPLEMENT as _COMPLEMENT, AlignmentBatch

__all__ = ["columns_to_alignments", "iter_alignments"]

_B_DTYPES = {"c": np.int8, "C": np.uint8, "s": np.int16, "S": np.uint16, "i": np.int32,
             "I": np.uint32, "f": np.float32}
_INT_KINDS = frozenset("cCsSiI")

_from_validated: Any = getattr(SeqRecord, "_from_validated", None)  # absent in old Biopython


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


def _seq(data: bytes) -> Seq:
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


def iter_alignments(batches: Iterable[BamColumns], names: list[str], targets: list[SeqRecord],
                    target_indices: dict[str, int]) -> Iterator[Alignment]:
    """One ``Alignment`` per record of every batch (see the module docstring), made one at a
    time so that a consumer that drops them keeps the heap (and the collector's work) small.

    The short path sets the query ``SeqRecord``'s attributes inline, as ``align/bigbed.py``'s hot
    loops do and for the same reason (a helper call per record costs more than the stores);
    ``_FAST``/``_ALIGNMENT_FAST`` fall back to the public constructors if Biopython's objects
    change shape, and the tests compare both paths with Biopython's own parser."""
    if not (_FAST and _ALIGNMENT_FAST):
        for cols in batches:
            if len(cols):
                batch = AlignmentBatch(cols, names, targets, target_indices)
                for i in range(len(cols)):
                    yield _alignment(batch, i, {})
        return
    new_alignment = Alignment.__new__
    new_seq = Seq.__new__
    new_record = SeqRecord.__new__
    new_letters = _RestrictedDict.__new__
    set_item = dict.__setitem__
    for cols in batches:
        if not len(cols):
            continue
        batch = AlignmentBatch(cols, names, targets, target_indices)
        blob = batch.blob
        first = cols.first_record + 1
        tag_cache: dict[bytes, tuple[Any, Any, dict[str, Any], bool]] = {}
        for i, (target, qname, data, length, qa, aux_a, aux_b, coordinates, flag, mapq, rnext,
                pnext, tlen) in enumerate(zip(
                    batch.short_targets, batch.qnames, batch.query_seqs, batch.l_seq,
                    batch.qual_start, batch.aux_start, batch.stops, batch.coordinates,
                    batch.flags, batch.mapqs, batch.rnexts, batch.next_pos, batch.tlens)):
            raw_aux = blob[aux_a:aux_b]
            hit = tag_cache.get(raw_aux)
            if hit is None:
                hit = _read_tags(raw_aux, first + i, i in batch.cg)
                if len(tag_cache) < _TAG_CACHE and i not in batch.cg:
                    tag_cache[raw_aux] = hit
            if target is None or hit[1] is not None:  # anything else: the general path
                yield _alignment(batch, i, tag_cache)
                continue
            sequence = new_seq(Seq)
            sequence._data = data
            query = new_record(SeqRecord)
            query._seq = sequence
            query.id = qname
            query.name = "<unknown name>"
            query.description = ""
            query.dbxrefs = []
            query.annotations = {}
            if qa < 0:
                query._per_letter_annotations = None
            else:
                letters = new_letters(_RestrictedDict)
                letters._length = length
                set_item(letters, "phred_quality", [*blob[qa:qa + length]])
                query._per_letter_annotations = letters
            query.features = []
            alignment = new_alignment(Alignment)
            alignment.sequences = [target, query]
            alignment.coordinates = coordinates
            alignment.flag = flag
            if mapq != 255:
                alignment.mapq = mapq
            if rnext is not None:
                alignment.rnext = rnext
            if pnext >= 0:
                alignment.pnext = pnext
            if tlen:
                alignment.tlen = tlen
            score, _md, annotations, has_arrays = hit
            if score is not None:
                alignment.score = score
            if annotations:
                alignment.annotations = (_copy_arrays(annotations) if has_arrays
                                         else annotations.copy())
            yield alignment


def columns_to_alignments(cols: BamColumns, names: list[str], targets: list[SeqRecord],
                          target_indices: dict[str, int]) -> list[Alignment]:
    """One ``Alignment`` per record of ``cols`` (see the module docstring)."""
    return list(iter_alignments([cols], names, targets, target_indices))


def _copy_arrays(annotations: dict[str, Any]) -> dict[str, Any]:
    """A copy of cached annotations in which arrays (mutable) are each alignment's own."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in annotations.items()}


def _alignment(batch: AlignmentBatch, i: int, tag_cache: dict[bytes, Any]) -> Alignment:
    """Record ``i`` of a batch, whatever it holds (unmapped, MD, hard clips, ...)."""
    cols = batch.cols
    names = batch.names
    cg = batch.cg
    flag = batch.flags[i]
    tid = int(cols.ref_id[i])
    rname = names[tid] if tid >= 0 else "*"
    length = batch.l_seq[i]
    qa = batch.qual_start[i]
    mapped = bool(batch.mapped[i])
    seq_raw = batch.query_seqs[i] if length else None
    if seq_raw is not None and mapped and batch.reverse[i]:  # as stored (MD is on it)
        seq_raw = seq_raw.translate(_COMPLEMENT)[::-1]
    phred = [*batch.blob[qa:qa + length]] if qa >= 0 else None
    raw_aux = batch.blob[batch.aux_start[i]:batch.stops[i]]
    in_cg = i in cg
    hit = None if in_cg else tag_cache.get(raw_aux)
    if hit is None:
        hit = _read_tags(raw_aux, cols.first_record + i + 1, in_cg)
    score, md, cached, has_arrays = hit
    annotations = _copy_arrays(cached) if has_arrays else dict(cached)
    hclip: list[int | None] = [None, None]
    operations = None
    if mapped:
        coordinates = batch.coordinates[i]
        q_total = int(batch.q_totals[i])
        if seq_raw is not None and length != q_total:
            raise FormatError(f"BAM record {cols.first_record + i + 1} ({batch.qnames[i]}): SEQ "
                              f"length {length} does not match its CIGAR ({q_total})")
        if md is not None and seq_raw is not None:
            target = _target_from_md(seq_raw.decode("ascii"), md, int(batch.pos[i]), cols, i, cg,
                                     batch.targets, batch.target_indices, rname)
        else:
            index = batch.target_indices.get(rname)
            if index is None:
                target = SeqRecord(None, id=rname, description="")
            else:
                target = batch.targets[index]
            if md is not None:
                annotations["MD"] = md
        if i in batch.hard:
            hclip = batch.hard[i]
        if batch.store[i]:
            a, b = int(batch.col_first[i]), int(batch.col_first[i + 1])
            operations = bytearray(batch.col_letters[a:b])
        qlen = q_total
    else:
        coordinates = None
        target = None
        if md is not None:
            annotations["MD"] = md
        qlen = 0
    sequence = Seq(None, length=qlen) if seq_raw is None else _seq(batch.query_seqs[i])
    query = _query_record(sequence, batch.qnames[i], phred)
    if batch.reverse[i]:
        hclip = [hclip[1], hclip[0]]
    if hclip[0] is not None:
        query.annotations["hard_clip_left"] = hclip[0]
    if hclip[1] is not None:
        query.annotations["hard_clip_right"] = hclip[1]
    # the attributes Biopython's SAM parser sets, in its order (Alignment.__init__ with
    # coordinates only stores these two: checked at import, see _ALIGNMENT_FAST)
    attrs: dict[str, Any] = {"sequences": [target, query], "coordinates": coordinates,
                             "flag": flag}
    mapq = batch.mapqs[i]
    if mapq != 255:
        attrs["mapq"] = mapq
    ntid = int(cols.next_ref_id[i])
    if ntid >= 0:
        attrs["rnext"] = names[ntid]
    next_pos = batch.next_pos[i]
    if next_pos >= 0:
        attrs["pnext"] = next_pos
    if batch.tlens[i] != 0:
        attrs["tlen"] = batch.tlens[i]
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
    if not mapped:
        # an unmapped read is placed at its mate (SAM's convention, which the writer
        # follows); only a placement that breaks the convention is kept explicitly
        mate = names[ntid] if ntid >= 0 else "*"
        pos = int(batch.pos[i])
        if (mate, next_pos if ntid >= 0 else -1) != (rname, pos if tid >= 0 else -1):
            attrs["rname"] = rname
            attrs["pos"] = pos
    if _ALIGNMENT_FAST:
        alignment = Alignment.__new__(Alignment)
        alignment.__dict__.update(attrs)
    else:
        alignment = Alignment([target, query], coordinates)
        for key, value in attrs.items():
            setattr(alignment, key, value)
    return alignment


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
