"""Columnar decoding of a run of BCF records: what makes reading BCF fast in pure Python.

A :class:`BcfBatch` holds one decompressed run of records and their offsets. The 32-byte fixed
prefixes are gathered with one numpy fancy index. The shared block's layout (where ID, alleles,
FILTER and every INFO entry start, their types and counts) is found for all records at once by
walking descriptor *columns* (one numpy step per allele / INFO entry position, not per record);
the FORMAT block likewise. Then ``info["DP"]`` or a sample's ``GT`` is one vectorised gather for
the whole batch the first time it is asked for, and a list lookup afterwards. Rows whose bytes
do not follow the simple pattern (corrupt, or values that need Number/Type checks) are left to
the per-record path, which raises the typed error naming that record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BcfBatch", "ABSENT", "LAZY"]

ABSENT = object()   # the key is not in this record
LAZY = object()     # decode this one with the per-record path

_TSIZE = np.array([0, 1, 2, 4, 8, 4, 0, 1] + [0] * 8, np.int64)
_PREFIX = np.dtype([("l_shared", "<u4"), ("l_indiv", "<u4"), ("tid", "<i4"), ("pos", "<i4"),
                    ("rlen", "<i4"), ("qual", "<u4"), ("n_info", "<u2"), ("n_allele", "<u2"),
                    ("nfs", "<u4")])
_VALID_T = np.zeros(16, bool)
_VALID_T[[0, 1, 2, 3, 5, 7]] = True


def _int_at(u8: np.ndarray, at: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Little-endian signed integers of byte width ``size`` (1, 2 or 4) at ``at``."""
    top = len(u8) - 1
    if len(size) and (size == 1).all():  # the usual case (small keys, depths, counts): one gather
        return u8[np.minimum(at, top)].view(np.int8).astype(np.int64)
    b0 = u8[np.minimum(at, top)].astype(np.int64)
    b1 = u8[np.minimum(at + 1, top)].astype(np.int64)
    b2 = u8[np.minimum(at + 2, top)].astype(np.int64)
    b3 = u8[np.minimum(at + 3, top)].astype(np.int64)
    v1 = np.where(b0 >= 128, b0 - 256, b0)
    v2 = b0 | (b1 << 8)
    v2 = np.where(v2 >= 32768, v2 - 65536, v2)
    v4 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
    v4 = np.where(v4 >= 1 << 31, v4 - (1 << 32), v4)
    return np.where(size == 1, v1, np.where(size == 2, v2, v4))


def _scatter(out: list, idx: np.ndarray, values: list) -> list:
    """``out[idx[k]] = values[k]``; when ``idx`` covers every record in order (the usual case:
    each record has the key) ``values`` simply becomes the column, with no Python loop."""
    n = len(out)
    if len(idx) == n and n and bool((idx == np.arange(n)).all()):
        return values
    for i, x in zip(idx.tolist(), values):
        out[i] = x
    return out


def _none_where(values: np.ndarray, missing: np.ndarray) -> list:
    """Python values of ``values`` with None where ``missing`` (converted in C, not per item)."""
    obj = values.astype(object)
    if missing.any():
        obj[missing] = None
    return obj.tolist()


class BcfBatch:
    """Records ``buf[offs[i]:offs[i] + sizes[i]]`` of one decompressed run."""

    def __init__(self, buf: bytes, offs: list[int], ctx: Any, first_number: int):
        self.buf = buf
        self.ctx = ctx
        self.first = first_number
        n = self.n = len(offs)
        self.u8 = np.frombuffer(buf, np.uint8)
        o = self.offs = np.asarray(offs, np.int64)
        raw = self.u8[o[:, None] + np.arange(32)].reshape(-1).view(_PREFIX) if n else \
            np.zeros(0, _PREFIX)
        self.fixed = raw
        self.off_list = offs
        self.tid = raw["tid"].tolist()
        self.pos = raw["pos"].tolist()
        self.rlen = raw["rlen"].tolist()
        self.shared_end = o + 8 + raw["l_shared"].astype(np.int64)
        self.end = self.shared_end + raw["l_indiv"].astype(np.int64)
        self._shared: tuple | None = None
        self.fields: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._indiv: tuple | None = None
        self._info_cols: dict[str, list] = {}
        self._gt_cols: dict[int, list] = {}

    # -- descriptor walking ---------------------------------------------------------------------
    def _desc(self, cur: np.ndarray, ok: np.ndarray, limit: np.ndarray):
        """Vectorised typed-value descriptor at ``cur``: (type, count, data offset, ok)."""
        u8 = self.u8
        top = len(u8) - 1
        b = u8[np.minimum(cur, top)].astype(np.int64)
        t = b & 15
        cnt = b >> 4
        long_ = cnt == 15
        data = cur + 1
        if long_.any():
            lb = u8[np.minimum(cur + 1, top)].astype(np.int64)
            lt = lb & 15
            lsize = _TSIZE[lt]
            good = (lb >> 4 == 1) & ((lt == 1) | (lt == 2) | (lt == 3))
            val = _int_at(u8, cur + 2, lsize)
            cnt = np.where(long_, val, cnt)
            data = np.where(long_, cur + 2 + lsize, data)
            ok = ok & (~long_ | good)
        ok = ok & _VALID_T[t] & (cnt >= 0) & (data <= limit)
        return t, cnt, data, ok

    def _key_values(self, cur: np.ndarray, ok: np.ndarray, n_keys: np.ndarray, per_value: Any,
                    limit: np.ndarray):
        """Walk the ``n_keys`` (key, typed value) pairs of each record from ``cur``: INFO
        (``per_value`` 1) and FORMAT (``per_value`` = samples) share the layout. Returns
        ``(keys, types, counts, offsets, ok)`` arrays (max n_keys, n); key -1 where absent."""
        mx = int(n_keys.max()) if self.n else 0
        keys = np.full((mx, self.n), -1, np.int64)
        types = np.zeros((mx, self.n), np.int64)
        counts = np.zeros((mx, self.n), np.int64)
        offsets = np.zeros((mx, self.n), np.int64)
        for k in range(mx):
            m = (k < n_keys) & ok
            kt, kc, kd, ok2 = self._desc(cur, ok, limit)
            ok2 &= ((kt == 1) | (kt == 2) | (kt == 3)) & (kc == 1)
            key = _int_at(self.u8, kd, _TSIZE[kt])
            vt, vc, vd, ok2 = self._desc(kd + _TSIZE[kt], ok2, limit)
            nxt = vd + vc * per_value * _TSIZE[vt]
            ok2 &= nxt <= limit
            ok = np.where(m, ok2, ok)
            m &= ok2
            keys[k] = np.where(m, key, -1)
            types[k], counts[k], offsets[k] = vt, vc, vd
            cur = np.where(m, nxt, cur)
        return keys, types, counts, offsets, ok

    def shared_layout(self):
        """``(info_start, keys, types, counts, offsets, ok)``; INFO arrays are (max_n_info, n).
        Also sets ``fields``: the ``(type, count, data offset)`` arrays of ID, each allele
        position (count 0 past a record's alleles) and FILTER, for the table decoder."""
        if self._shared is None:
            f = self.fixed
            limit = self.shared_end
            room = f["l_shared"].astype(np.int64) - 24
            # every allele takes >= 1 byte and every INFO entry >= 2: larger counts are corrupt
            # (left to the per-record path's typed error) and must not drive the column loops
            ok = (room >= 0) & (f["n_allele"] <= room) & (2 * f["n_info"].astype(np.int64) <= room)
            cur = self.offs + 32
            t, c, d, ok = self._desc(cur, ok, limit)  # ID
            fields = [(t, c, d)]
            cur = d + c * _TSIZE[t]
            n_allele = np.where(ok, f["n_allele"].astype(np.int64), 0)
            for k in range(int(n_allele.max()) if self.n else 0):
                m = k < n_allele
                t, c, d, ok2 = self._desc(cur, ok, limit)
                fields.append((t, np.where(m, c, 0), d))
                ok = np.where(m, ok2, ok)
                cur = np.where(m, d + c * _TSIZE[t], cur)
            t, c, d, ok = self._desc(cur, ok, limit)  # FILTER
            fields.append((t, c, d))
            self.fields = fields
            cur = d + c * _TSIZE[t]
            info_start = cur.copy()
            n_info = np.where(ok, f["n_info"].astype(np.int64), 0)
            keys, types, counts, offsets, ok = self._key_values(cur, ok, n_info, 1, limit)
            self._shared = (info_start, keys, types, counts, offsets, ok)
        return self._shared

    def indiv_layout(self):
        """``(keys, types, counts, offsets, ok)`` of FORMAT, arrays (max_n_fmt, n)."""
        if self._indiv is None:
            f = self.fixed
            limit = self.end
            ok = np.ones(self.n, bool)
            cur = self.shared_end.copy()
            n_fmt = (f["nfs"] >> 24).astype(np.int64)
            ns = (f["nfs"] & 0xFFFFFF).astype(np.int64)
            keys, types, counts, offsets, ok = self._key_values(cur, ok, n_fmt, ns, limit)
            self._indiv = (keys, types, counts, offsets, ok)
        return self._indiv

    # -- columns --------------------------------------------------------------------------------
    def info_column(self, key: str) -> list:
        """Per record: the typed value, ABSENT, or LAZY (per-record path decides)."""
        try:
            return self._info_cols[key]
        except KeyError:
            pass
        _, keys, types, counts, offsets, ok = self.shared_layout()
        out: list = [ABSENT] * self.n
        for i in np.flatnonzero(~ok).tolist():
            out[i] = LAZY
        idx = self.ctx.header._id_index.get(key)
        d = self.ctx.header.info.get(key)
        if idx is not None and d is not None:
            hit = keys == idx
            rows, recs = np.nonzero(hit)
            if len(recs):
                t = types[rows, recs]
                c = counts[rows, recs]
                at = offsets[rows, recs]
                if d.type == "Flag":
                    for i in recs.tolist():
                        out[i] = True
                else:
                    simple = (c == 1) & ((t == 1) | (t == 2) | (t == 3)) & (d.number == 1) & \
                        (d.type == "Integer")
                    if simple.any():
                        v = _int_at(self.u8, at[simple], _TSIZE[t[simple]])
                        miss = np.where(t[simple] == 1, -128, np.where(t[simple] == 2, -32768,
                                                                          -(1 << 31)))
                        out = _scatter(out, recs[simple], _none_where(v, v == miss))
                    fsimple = (c == 1) & (t == 5) & (d.number == 1) & (d.type == "Float")
                    if fsimple.any():
                        a = at[fsimple]
                        raw = self.u8[a[:, None] + np.arange(4)].reshape(-1).copy()
                        bits = raw.view("<u4")
                        vals = raw.view("<f4").astype(np.float64)
                        out = _scatter(out, recs[fsimple], _none_where(vals, bits == 0x7F800001))
                    for i in recs[~(simple | fsimple)].tolist():
                        out[i] = LAZY
        self._info_cols[key] = out
        return out

    def gt_column(self, sample: int) -> list:
        """Per record: the GT allele-index tuple, ABSENT or LAZY."""
        col = self._gt_cols.get(sample)
        if col is not None:
            return col
        keys, types, counts, offsets, ok = self.indiv_layout()
        out: list = [ABSENT] * self.n
        for i in np.flatnonzero(~ok).tolist():
            out[i] = LAZY
        idx = self.ctx.header._id_index.get("GT")
        if idx is not None:
            rows, recs = np.nonzero(keys == idx)
            if len(recs):
                t = types[rows, recs]
                c = counts[rows, recs]
                ns = (self.fixed["nfs"][recs] & 0xFFFFFF).astype(np.int64)
                base = offsets[rows, recs] + sample * c
                simple = (t == 1) & (c >= 1) & (c <= 8) & (sample < ns)
                for i in recs[~simple].tolist():
                    out[i] = LAZY
                if simple.any():
                    r = recs[simple]
                    cc = c[simple]
                    width = int(cc.max())
                    at = base[simple][:, None] + np.arange(width)
                    vals = self.u8[np.minimum(at, len(self.u8) - 1)].astype(np.int64)
                    vals = np.where(vals >= 128, vals - 256, vals)
                    present = (np.arange(width) < cc[:, None]) & (vals != -127)
                    allele = np.where((vals >> 1) == 0, -1, (vals >> 1) - 1)
                    if width == 2 and present.all():
                        a0, a1 = allele[:, 0], allele[:, 1]
                        pairs = list(zip(_none_where(a0, a0 < 0), _none_where(a1, a1 < 0)))
                        out = _scatter(out, r, pairs)
                    else:
                        for i, al, pr in zip(r.tolist(), allele.tolist(), present.tolist()):
                            tup = tuple(None if a < 0 else a for a, p in zip(al, pr) if p)
                            out[i] = tup if tup else (None,)
        self._gt_cols[sample] = out
        return out
