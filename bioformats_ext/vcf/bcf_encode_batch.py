"""VCF text → BCF 2.2 for a whole batch of lines at once: columns, not records.

:class:`~bioformats_ext.vcf.bcf_encode.BcfEncoder` encodes one line at a time; at ~3 µs a
record that is slower than htslib. Here a batch is split into columns with one ``bytes.split``,
every distinct INFO item / ALT / QUAL / FILTER / genotype string is encoded once (through the
per-record encoder, so the rules live in one place) and looked up with C-level ``map``, FORMAT
values become numpy matrices whose per-record width and int8/int16/int32 type are chosen with
vectorised max/min (htslib's ``bcf_enc_vint`` rule, sentinels included), and the records are
assembled by placing every piece at its computed position and joining once.

POS and integer QUALs are parsed from the text in numpy; a record with an Integer
``END``/``SVLEN`` or a gVCF ``FORMAT/LEN`` gets its ``rlen`` from those values (the one
per-record step, only for such records). A record whose shape the columns do not cover is
handed to the per-record encoder, which also raises or warns exactly as before: an unknown
contig or name, a value that is not a plain number ('+' signs, trailing junk, nan, empty), a
sample cell with more fields than FORMAT. Output bytes are identical either way (tests compare
both paths and ``bcftools view -Ou``).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from ..errors import RecordError
from .bcf_encode import (FLOAT_MISSING, I32_END, I32_MISSING, BcfEncoder, enc_size,
                         enc_vint, _declared)
from .end_rule import rlen_from_values
from .bcf_columns import (
    _BAD,
    _CACHE_MAX,
    _DESCS,
    _DESC_MAX,
    _GVCF,
    _INTS,
    _NONE,
    _QUAL,
    _assemble,
    _constant,
    _desc_len,
    _digits,
    _flag,
    _float_column,
    _int_rows,
    _lookup,
    _parse_vectors,
    _row_sums,
    _scatter,
    _string_column)

__all__ = ["BatchEncoder"]



class BatchEncoder:
    """Encode lists of VCF data lines for ``encoder``'s header (sharing its caches and rules)."""

    def __init__(self, encoder: BcfEncoder):
        self.enc = encoder
        ns = encoder.n_samples
        self.n_columns = 9 + ns if ns else 8
        self._alt_enc: dict[bytes, Any] = {}
        self._items: dict[bytes, Any] = {}
        self._end_items: dict[bytes, tuple[bytes, list[int]]] = {}
        self._gt_index: dict[bytes, int] = {}
        self._gt_one: dict[bytes, Any] = {}
        self._gt_rows: list[list[int]] = []
        self._gt_width: list[int] = []
        self._gt_tables: tuple[np.ndarray, np.ndarray] | None = None
        #: records handed to the per-record encoder so far (tests check the batch path is used)
        self.n_fallback = 0

    # -- entry ----------------------------------------------------------------------------------
    def encode(self, lines: list[bytes], first: int) -> tuple[bytes, np.ndarray, np.ndarray,
                                                               np.ndarray, np.ndarray]:
        """``(data, sizes, tid, beg, end)`` for ``lines`` (record numbers from ``first``)."""
        n = len(lines)
        if not n:
            empty = np.zeros(0, np.int64)
            return b"", empty, empty, empty, empty
        blob = b"".join(lines) if lines[0][-1:] == b"\n" else b"\n".join(lines) + b"\n"
        if b"\r" in blob:
            lines = [line.rstrip(b"\r\n") + b"\n" for line in lines]
            blob = b"".join(lines)
        return self.encode_text(blob, first, lines)

    def encode_text(self, blob: bytes, first: int, lines: list[bytes] | None = None
                    ) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`encode` for VCF text: whole lines, each ending with a newline, no CR."""
        arr = np.frombuffer(blob, np.uint8)
        seps = np.flatnonzero((arr == 9) | (arr == 10))  # bytes' own count/find are slower
        newline = seps[arr[seps] == 10]
        n = len(newline)
        if not n or arr[-1] != 10 or (lines is not None and len(lines) != n):
            # a list whose lines are not one per newline: each line on its own
            n = len(lines) if lines is not None else n
            return self._per_record(_LazyLines(blob, n) if lines is None else lines, first,
                                    np.ones(n, bool), None)
        heads = arr[newline[:-1] + 1] == 35
        if arr[0] == 35 or heads.any():
            i = 0 if arr[0] == 35 else int(np.argmax(heads)) + 1
            raise RecordError(f"record {first + i}: header line among records", first + i)
        every: list[bytes] | _LazyLines = _LazyLines(blob, n) if lines is None else lines
        k = self.n_columns
        if not self.enc.n_samples:  # columns after INFO (an empty FORMAT) are ignored
            k = max(int(np.searchsorted(seps, newline[0])) + 1, 8)
        if len(seps) != n * k or not (arr[seps[k - 1::k]] == 10).all():
            return self._per_record(every, first, np.ones(n, bool), None)
        ends = seps.reshape(n, k)
        flen = np.diff(np.concatenate(([-1], seps))).reshape(n, k) - 1
        fields = blob.replace(b"\n", b"\t").split(b"\t")
        cols = [fields[j:n * k:k] for j in range(k)]
        return self._columns(every, first, cols, flen, ends, arr)

    def _per_record(self, lines: "list[bytes] | _LazyLines", first: int, bad: np.ndarray,
                    good: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                    np.ndarray] | None):
        """Records flagged ``bad`` through the per-record encoder, merged with ``good``
        (per-row pieces/sizes for the rest)."""
        n = len(lines)
        sizes = np.zeros(n, np.int64)
        tid = np.zeros(n, np.int64)
        beg = np.zeros(n, np.int64)
        end = np.zeros(n, np.int64)
        out: list[bytes] = []
        encode = self.enc.encode
        self.n_fallback += int(bad.sum())
        for i in np.flatnonzero(bad).tolist():
            rec, t, p, r = encode(lines[i], first + i)
            out.append(rec)
            sizes[i], tid[i], beg[i], end[i] = len(rec), t, p, p + r
        if good is None:
            return b"".join(out), sizes, tid, beg, end
        pieces, slots, g_sizes, g_tid, g_beg, g_end = good
        keep = ~bad
        sizes[keep], tid[keep], beg[keep], end[keep] = g_sizes[keep], g_tid[keep], g_beg[keep], \
            g_end[keep]
        pieces[slots[bad]] = out  # each bad row's one slot: its whole record
        return b"".join(pieces.tolist()), sizes, tid, beg, end

    # -- the columns ----------------------------------------------------------------------------
    def _columns(self, lines, first, cols, flen, ends, arr):
        enc = self.enc
        n = len(lines)
        if len(self._end_items) > _CACHE_MAX:  # the two are cleared together
            self._end_items.clear()
            self._items.clear()
        bad = np.zeros(n, bool)
        # CHROM, POS
        tids_l = list(map(enc._contigs.get, cols[0]))
        if None in tids_l:
            _flag(bad, [i for i, t in enumerate(tids_l) if t is None])
            tids_l = [0 if t is None else t for t in tids_l]
        tid = np.array(tids_l, np.int64)
        pos0 = _digits(arr, ends[:, 1], flen[:, 1])
        if pos0 is not None:
            pos0 -= 1
        else:
            ok = [p.isdigit() for p in cols[1]]
            bad |= ~np.array(ok, bool)
            pos0 = np.array([int(p) if o else 1 for p, o in zip(cols[1], ok)], np.int64) - 1
        bad |= pos0 >= 0x7FFFFFFF
        # ID, REF, ALT
        id_len = flen[:, 2].copy()
        ids = cols[2]
        if b"." in ids:
            ids = list(map({b".": b""}.get, ids, ids))
            id_len[id_len == 1] = np.fromiter(map(len, ids), np.int64, n)[id_len == 1]
        ref_len = flen[:, 3]
        if id_len.max() >= _DESC_MAX or ref_len.max() >= _DESC_MAX:
            bad |= (id_len >= _DESC_MAX) | (ref_len >= _DESC_MAX)
            id_len = np.where(id_len >= _DESC_MAX, 0, id_len)
            ref_len = np.where(ref_len >= _DESC_MAX, 0, ref_len)
        alts = cols[4]
        alt_enc, bad_alt = _lookup(self._alt_enc, alts, self._alt_miss)
        commas = np.flatnonzero(arr == 44)
        n_allele = 2 + np.searchsorted(commas, ends[:, 4]) - np.searchsorted(commas, ends[:, 3])
        no_alt = (flen[:, 4] == 1) & (arr[ends[:, 3] + 1] == 46)  # ALT '.'
        n_allele[no_alt] = 1
        # typed ALT alleles: a descriptor byte replaces each comma while alleles are short
        alt_len = flen[:, 4] + 1
        alt_len[no_alt] = 0
        long_alt = np.flatnonzero(flen[:, 4] >= 15)
        if len(long_alt):
            alt_len[long_alt] = [len(alt_enc[i]) for i in long_alt.tolist()]
        whole = _digits(arr, ends[:, 5], flen[:, 5], 7)  # integer QUALs: exact as float32
        if whole is not None:
            quals, bad_qual = None, False
        else:
            quals, bad_qual = _lookup(enc._qual_cache, cols[5], self._qual_miss)
        same_flt = _constant(arr, ends, flen, 6)
        flts, bad_flt = _lookup(enc._flt_cache, cols[6], self._flt_miss, same_flt)
        if bad_alt or bad_qual or bad_flt:
            for values in (alt_enc, quals, flts):
                _flag(bad, [i for i, v in enumerate(values) if v is _BAD])
            if quals is not None:
                quals = [FLOAT_MISSING if v is _BAD else v for v in quals]
            alt_enc = [b"" if v is _BAD else v for v in alt_enc]
            flts = [b"" if v is _BAD else v for v in flts]
        if quals is None:
            qual_bits = whole.astype("<f4").view("<u4")
        else:
            qual_bits = np.frombuffer(b"".join(quals), "<u4")
        # INFO
        infos = cols[7]
        if b"." in infos:
            infos = list(map({b".": b""}.get, infos, infos))
        joined = b";".join(infos)
        items = joined.split(b";")
        item_enc, bad_item = _lookup(self._items, items, self._item_miss)
        end_rule: dict[int, list] = {}  # row -> [END, SVLEN, FORMAT/LEN] when any is given
        if self._end_items and (b"END=" in joined or b"SVLEN=" in joined):
            self._end_values(items, cols[7], end_rule)
        n_items = np.ones(n, np.int64)
        if len(items) != n:
            semi = np.flatnonzero(arr == 59)
            n_items += np.searchsorted(semi, ends[:, 7]) - np.searchsorted(semi, ends[:, 6])
        item_row = None
        if bad_item:
            item_row = np.repeat(np.arange(n), n_items)
            which = [i for i, v in enumerate(item_enc) if v is _BAD]
            bad[item_row[which]] = True
            item_enc = [b"" if v is _BAD else v for v in item_enc]
        item_len = np.fromiter(map(len, item_enc), np.int64, len(item_enc))
        n_info = n_items
        if (item_len == 0).any():
            if item_row is None:
                item_row = np.repeat(np.arange(n), n_items)
            n_info = n_items - np.bincount(item_row[item_len == 0], minlength=n)
        bad |= n_info > 0xFFFF
        info_len = _row_sums(item_len, n_items)
        l_shared = (24 + id_len + ref_len + _desc_len(id_len) + _desc_len(ref_len)
                    + alt_len
                    + (len(flts[0]) if same_flt else np.fromiter(map(len, flts), np.int64, n))
                    + info_len)
        columns: list[tuple[list, np.ndarray | None, np.ndarray | None]] = [
            (_DESCS[id_len].tolist(), None, None), (ids, None, None),
            (_DESCS[ref_len].tolist(), None, None), (cols[3], None, None),
            (alt_enc, None, None), (flts, None, None), (item_enc, None, n_items)]
        # FORMAT and samples
        l_indiv = np.zeros(n, np.int64)
        n_fmt = np.zeros(n, np.int64)
        if enc.n_samples:
            self._format(cols, alts, bad, l_indiv, n_fmt, columns,
                         _constant(arr, ends, flen, 8), end_rule)
        rlen = np.maximum(flen[:, 3], 1)
        for r, (end_v, svlen, fmt_len) in end_rule.items():
            alt = alts[r]
            names = [] if alt == b"." else [a.decode(errors="replace") for a in alt.split(b",")]
            rlen[r] = rlen_from_values(int(pos0[r]), int(flen[r, 3]), names, end_v, svlen,
                                       fmt_len)
        heads = np.empty((n, 8), "<u4")
        heads[:, 0] = l_shared
        heads[:, 1] = l_indiv
        heads[:, 2] = tid
        heads[:, 3] = pos0 & 0xFFFFFFFF
        heads[:, 4] = rlen
        heads[:, 5] = qual_bits
        heads[:, 6] = n_info | (n_allele << 16)
        heads[:, 7] = (n_fmt << 24) | enc.n_samples
        pieces, slots = _assemble(n, heads.view("V32").ravel().tolist(), columns, bad)
        sizes = 8 + l_shared + l_indiv
        end = pos0 + rlen
        if bad.any():
            return self._per_record(lines, first, bad, (pieces, slots, sizes, tid, pos0, end))
        return b"".join(pieces.tolist()), sizes, tid, pos0, end

    # -- cache misses (each distinct value once, through the per-record rules) ------------------
    def _probe(self, func, *args):
        enc = self.enc
        enc.probing = True
        try:
            return func(*args)
        except RecordError:
            return _BAD
        finally:
            enc.probing = False

    def _alt_miss(self, alt: bytes) -> Any:
        alts = [] if alt == b"." else alt.split(b",")
        if len(alts) + 1 > 0xFFFF:
            return _BAD
        return b"".join(enc_size(len(a), 7) + a for a in alts)

    def _qual_miss(self, q: bytes) -> Any:
        if _QUAL.fullmatch(q) is None:
            return _BAD
        return self._probe(self.enc._float, q, "QUAL", None, True)

    def _flt_miss(self, flt: bytes) -> Any:
        names = (flt[:-1] if flt.endswith(b";") else flt).split(b";")
        return self._probe(lambda: enc_vint(_declared(self.enc._flt, names, "FILTER", None)))

    def _item_miss(self, item: bytes) -> Any:
        key, eq, val = item.partition(b"=")
        if not key:
            return b""
        got = self._probe(self.enc.info_item, key, eq, val, None)
        if got is _BAD:
            return _BAD
        if got[1] is not None:  # an Integer END/SVLEN: its values also set the record's rlen
            self._end_items[item] = (key, got[1])
        return got[0]

    def _gt_piece(self, v: bytes, kbytes: bytes) -> Any:
        """A one-sample record's GT bytes for the cell ``v``."""
        if v == _NONE:
            return kbytes + enc_vint([I32_MISSING])
        row = self._probe(self.enc._gt_one, v, None)
        if row is _BAD:
            return _BAD
        g = 1 + v.count(b"/") + v.count(b"|")
        return kbytes + enc_vint(row + [I32_END] * (g - len(row)), g)

    def _gt_miss(self, v: bytes) -> Any:
        if v == _NONE:
            row, g = [I32_MISSING], 1
        else:
            row = self._probe(self.enc._gt_one, v, None)
            if row is _BAD:
                return -1
            g = 1 + v.count(b"/") + v.count(b"|")
        self._gt_rows.append(row)
        self._gt_width.append(g)
        self._gt_tables = None
        return len(self._gt_rows) - 1

    def _end_values(self, items: list[bytes], infos: list[bytes],
                    end_rule: dict[int, list]) -> None:
        """Each record's Integer END and SVLEN values (the last one given wins, as per record)."""
        known = self._end_items
        hit = np.flatnonzero(np.fromiter(map(known.__contains__, items), bool, len(items)))
        if not len(hit):
            return
        counts = np.fromiter(map(bytes.count, infos, repeat(b";")), np.int64, len(infos)) + 1
        row = np.repeat(np.arange(len(infos)), counts)[hit].tolist()
        for i, r in zip(hit.tolist(), row):
            key, ints = known[items[i]]
            slot = end_rule.setdefault(r, [None, None, None])
            if key == b"END":
                slot[0] = 0 if ints[0] == I32_MISSING else ints[0]
            else:
                slot[1] = [None if v == I32_MISSING else v for v in ints]

    # -- FORMAT ---------------------------------------------------------------------------------
    def _format(self, cols, alts, bad, l_indiv, n_fmt, columns, constant: bool,
                end_rule: dict[int, list]) -> None:
        enc = self.enc
        ns = enc.n_samples
        fmts = cols[8]
        plan: list[tuple[bytes, np.ndarray | None]]
        if constant:
            plan = [(fmts[0], None)]
        else:
            code = {f: i for i, f in enumerate(dict.fromkeys(fmts))}
            codes = np.fromiter(map(code.__getitem__, fmts), np.int64, len(fmts))
            plan = [(f, np.flatnonzero(codes == i)) for f, i in code.items()]
        for fmt, rows in plan:
            if fmt == b".":
                continue
            keys = fmt.split(b":")
            try:
                if len(keys) > 255 or len(set(keys)) != len(keys):
                    raise RecordError("FORMAT keys")
                specs = _declared(enc._fmt, keys, "FORMAT", None)
            except RecordError:
                _flag(bad, rows if rows is not None else np.arange(len(fmts)))
                continue
            self._group(cols, alts, bad, l_indiv, n_fmt, columns, keys, specs, rows, end_rule)

    def _group(self, cols, alts, bad, l_indiv, n_fmt, columns, keys, specs, rows,
               end_rule: dict[int, list]) -> None:
        enc = self.enc
        ns = enc.n_samples
        nk = len(keys)
        n_all = len(cols[0])
        idx = np.arange(n_all) if rows is None else rows
        m = len(idx)
        if rows is None:
            per_sample = cols[9:9 + ns]
        else:
            take = rows.tolist()
            per_sample = [[c[i] for i in take] for c in cols[9:9 + ns]]
        if ns == 1:
            cells = per_sample[0]
        else:
            cells = [b""] * (m * ns)
            for s in range(ns):
                cells[s::ns] = per_sample[s]
        if nk == 1:
            colon = [i for i, c in enumerate(cells) if b":" in c] if b":" in b"".join(cells) else []
            vals_by_key = [cells]
        else:
            joined = b":".join(cells)
            flat = joined.split(b":")
            colon = []
            if len(flat) != len(cells) * nk:
                counts = np.fromiter(map(bytes.count, cells, repeat(b":")), np.int64, len(cells))
                colon = np.flatnonzero(counts > nk - 1).tolist()
                fill = [(b":" + _NONE) * (nk - 1 - c) for c in range(nk)]
                dummy = b":".join([_NONE] * nk)
                cells = [cell + fill[c] if c < nk else dummy
                         for cell, c in zip(cells, counts.tolist())]
                flat = b":".join(cells).split(b":")
            vals_by_key = [flat[j::nk] for j in range(nk)]
        if colon:
            bad[idx[np.unique(np.array(colon, np.int64) // ns)]] = True
        if b"LEN" in keys and enc._len_is_int:  # a gVCF block's FORMAT/LEN sets its rlen
            j = keys.index(b"LEN")
            for at, r in enumerate(idx.tolist()):
                if b"<" in alts[r] and any(a in _GVCF for a in alts[r].split(b",")):
                    cells = vals_by_key[j][at * ns:(at + 1) * ns]
                    try:
                        lens = [0 if v in (b".", _NONE) else int(v)
                                for c in cells for v in c.split(b",")]
                    except ValueError:  # the LEN column will send the record back anyway
                        lens = [0]
                    end_rule.setdefault(r, [None, None, None])[2] = lens
        n_fmt[idx] = nk
        lengths = np.zeros(m, np.int64)
        for j, key in enumerate(keys):
            kbytes, type_ = specs[j]
            vals = vals_by_key[j]
            if type_ in ("String", "Character") and key == b"GT":
                got = self._gt_column(vals, m, ns, kbytes)
            elif type_ in ("String", "Character", "Flag"):
                got = _string_column(vals, m, ns, kbytes, j)
            elif type_ == "Integer":
                got = self._int_column(vals, m, ns, kbytes)
            else:
                got = _float_column(vals, m, ns, kbytes)
            if got is None:  # something the per-record encoder must judge
                bad[idx] = True
                return
            pieces, counts, piece_len = got
            rowbad = None
            if isinstance(pieces, tuple):  # (pieces, rows the column could not encode)
                pieces, rowbad = pieces
                bad[idx[rowbad]] = True
            lengths += piece_len
            columns.append((pieces, None if rows is None else rows, counts))
        l_indiv[idx] = lengths

    def _gt_column(self, vals: list[bytes], m: int, ns: int, kbytes: bytes):
        if ns == 1:  # a record's GT bytes depend on its one cell: one lookup per record
            pieces, some_bad = _lookup(self._gt_one, vals, lambda v: self._gt_piece(v, kbytes))
            if some_bad:
                rowbad = np.array([v is _BAD for v in pieces], bool)
                pieces = [b"" if v is _BAD else v for v in pieces]
                return (pieces, rowbad), None, np.fromiter(map(len, pieces), np.int64, m)
            return pieces, None, np.fromiter(map(len, pieces), np.int64, m)
        index = self._gt_index
        try:
            ids_l = list(map(index.__getitem__, vals))
        except KeyError:
            for v in dict.fromkeys(vals):
                if v not in index:
                    index[v] = self._gt_miss(v)
            ids_l = list(map(index.__getitem__, vals))
        ids = np.array(ids_l, np.int64).reshape(m, ns)
        rowbad = np.asarray((ids < 0).any(axis=1))
        ids[ids < 0] = 0
        if not self._gt_rows:
            return None
        if self._gt_tables is None:
            width = max(self._gt_width)
            table = np.full((len(self._gt_rows), width), I32_END, np.int64)
            for i, r in enumerate(self._gt_rows):
                table[i, :len(r)] = r
            self._gt_tables = (np.array(self._gt_width, np.int64), table)
        widths, table = self._gt_tables
        w_row = widths[ids].max(axis=1)
        values = table[ids]  # (m, ns, max width)
        pieces, lens = _int_rows(values, w_row, kbytes)
        return ((pieces, rowbad) if rowbad.any() else pieces), None, lens

    def _int_column(self, vals: list[bytes], m: int, ns: int, kbytes: bytes):
        parsed = _parse_vectors(vals, _INTS, m, ns)
        if parsed is None:
            return None
        flat, counts, width = parsed
        text = [I32_MISSING if v == b"." else int(v) for v in flat] if b"." in flat \
            else list(map(int, flat))
        values = _scatter(np.array(text, np.int64), counts, width, I32_END).reshape(m, ns, width)
        pieces, lens = _int_rows(values, counts.reshape(m, ns).max(axis=1), kbytes)
        return pieces, None, lens


class _LazyLines:
    """The lines of a text batch, split only if some record needs the per-record encoder."""

    def __init__(self, blob: bytes, n: int):
        self.blob = blob
        self.n = n
        self._lines: list[bytes] | None = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> bytes:
        if self._lines is None:
            self._lines = self.blob.split(b"\n")
        return self._lines[i]
