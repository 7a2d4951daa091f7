"""The optional fields (11th SAM column on) of a batch of lines, as BAM aux bytes: numpy per
column, for :func:`~bioformats_ext.bam.sam_batch.encode_lines`.

Two shapes:

- :class:`UniformTags`, the usual batch: every line has the same tags in the same order with
  the same types (``Z``, ``A``, ``i``; e.g. ``NM:i AS:i RG:Z`` from one aligner). Each tag is then
  a column of one entry per line: its 5-byte ``TG:T:`` prefix is checked for the whole column
  with one word compare, integers are parsed per column, and the output is written column by
  column (a constant head, the value, a NUL for ``Z``) — no per-tag arrays, no grouping.
- :class:`Tags`, anything else (tags varying from line to line, other types, malformed fields):
  one entry per tag, other types through :func:`~bioformats_ext.bam.sam_fields.encode_tag`.

Both apply htslib's rules (the smallest integer type holding the value; ``A`` is one
character) and give the same bytes; lines they cannot encode are left to the per-line encoder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .sam_fields import encode_tag
from .text_columns import _U, copy_ranges, parse_ints, words_ending

__all__ = ["Tags", "UniformTags"]

_COLON = 58
_INT_WIDTH = np.array([1, 2, 4, 0], np.int64)
_INT_TYPE = np.array([list(b"CSI\0"), list(b"csi\0")], np.uint8)  # [negative][size class]


def _int_words(tag: "int | np.ndarray", v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(words, widths, ok)`` of integer tag values ``v``: per value one little-endian word of
    the two tag letters (``tag``, or per value), htslib's type letter and the value's low bytes;
    ``widths`` is its byte count (1, 2, 4), ``ok`` false where no 32-bit type holds it."""
    neg = v < 0
    # size class 0/1/2 = 1/2/4 bytes, 3 = out of range; the type letter by sign and class
    k = np.where(neg, (v < -0x80).view(np.int8) + (v < -0x8000) + (v < -(1 << 31)),
                 (v > 0xFF).view(np.int8) + (v > 0xFFFF) + (v > 0xFFFFFFFF))
    type_byte = _INT_TYPE[neg.view(np.int8), k].astype("<u8")
    payload = v.astype("<i8").view("<u8") & _U(0xFFFFFFFF)  # the low bytes, LE
    words = np.asarray(tag, "<u8") | (type_byte << _U(16)) | (payload << _U(24))
    return words, _INT_WIDTH[k], k != 3


class UniformTags:
    """Tags of a batch whose lines all carry the same tags, in order, of types Z, A or i
    (:meth:`build` returns None otherwise). ``out_len``: aux bytes per line; :meth:`emit` writes
    them."""

    bad: np.ndarray
    out_len: np.ndarray

    def __init__(self, a: np.ndarray, columns: list, out_len: np.ndarray):
        self._a = a
        self._columns = columns
        self.out_len = out_len
        self.bad = np.zeros(len(out_len), bool)

    @classmethod
    def build(cls, a: np.ndarray, sep: np.ndarray, first: np.ndarray, nfields: np.ndarray,
              n: int) -> "UniformTags | None":
        c = int(nfields[0]) - 11
        if c <= 0 or (nfields != nfields[0]).any():
            return None
        j = first[:, None] + (11 + np.arange(c))   # the separator ending each tag field
        ts = sep[j - 1] + 1                         # (line, column)
        tl = sep[j] - ts
        if int(tl[0].min()) < 5:
            return None
        # the 5 bytes "TG:T:" of every field (a field shorter than 5 at the end of the text reads
        # the final newline there instead, so it cannot match line 0's), one column each
        prefix = words_ending(a, np.minimum(ts + 5, len(a)).reshape(-1)).reshape(n, c) >> _U(24)
        if (prefix != prefix[0]).any():
            return None   # equal to line 0's (separator-free) prefixes: every tl >= 5
        columns: list[tuple[str, Any, Any, Any]] = []   # (type, head or words, start, length)
        out_len = np.zeros(n, np.int64)
        ints: list[int] = []
        for k, p0 in enumerate(prefix[0].tolist()):
            if (p0 >> 16) & 0xFF != _COLON or (p0 >> 32) & 0xFF != _COLON:
                return None
            tag, kind = p0 & 0xFFFF, chr((p0 >> 24) & 0xFF)
            head = tag | ((p0 >> 24) & 0xFF) << 16   # tag letters + type, as stored
            if kind == "Z":
                columns.append(("Z", head, ts[:, k] + 5, tl[:, k] - 5))
                out_len += tl[:, k] - 1              # 3 + value + NUL
            elif kind == "A":
                if (tl[:, k] != 6).any():
                    return None
                columns.append(("A", head, ts[:, k] + 5, None))
                out_len += 4
            elif kind == "i":
                ints.append(k)
                columns.append(("i", tag, k, None))  # values below, all integer columns at once
            else:
                return None
        if ints:
            v, ok = parse_ints(a, (ts[:, ints] + 5).T.reshape(-1), (tl[:, ints] - 5).T.reshape(-1))
            tags = np.repeat(np.array([columns[k][1] for k in ints], np.uint64), n)
            words, width, fits = _int_words(tags, v)
            if not (ok & fits).all():
                return None
            for m, k in enumerate(ints):
                w = width[m * n:(m + 1) * n]
                columns[k] = ("i", words[m * n:(m + 1) * n], None, 3 + w)
                out_len += 3 + w
        return cls(a, columns, out_len)

    def emit(self, out: np.ndarray, at: np.ndarray) -> None:
        """Write every line's aux bytes into ``out``, line i's starting at ``at[i]``."""
        a = self._a
        n = len(at)
        three = np.dtype((np.void, 3))
        heads = np.ndarray((len(out) - 2,), three, buffer=out, strides=(1,))
        for kind, head, start, length in self._columns:
            if kind == "i":
                copy_ranges(out, head.view(np.uint8), 8 * np.arange(n), length, at)
                at = at + length
                continue
            heads[at] = np.frombuffer(int(head).to_bytes(3, "little"), three)[0]
            if kind == "Z":
                copy_ranges(out, a, start, length, at + 3)
                out[at + 3 + length] = 0
                at = at + 4 + length
            else:  # A: one character
                out[at + 3] = a[start]
                at = at + 4


class Tags:
    """The optional fields (11th column on) of every line of a batch, as output segments.

    Each tag becomes two segments: ``ext_len`` bytes of its row in ``ext`` (tag, type and, for
    ``i``, the little-endian value), and ``body_len`` bytes at ``body`` in the input text (``Z``,
    ``A``; plus ``nul``, 1 for ``Z``, whose NUL the caller puts in its copy of the text) or in
    ``blob`` (other types, encoded by :func:`encode_tag`). ``bad`` marks lines left to the
    per-line encoder (None: leave the whole batch to it).
    """

    def __init__(self, joined: bytes, a: np.ndarray, sep: np.ndarray, first: np.ndarray,
                 nfields: np.ndarray, n: int):
        count = np.maximum(nfields - 11, 0)
        self.bad: np.ndarray | None = np.zeros(n, bool)
        # a 12th field that is empty (a trailing tab) means no tags, as for the per-line encoder
        has = count > 0
        if has.any():
            lone = has & (count == 1)
            e = sep[np.minimum(first + 11, len(sep) - 1)]
            empty = lone & (e - sep[np.minimum(first + 10, len(sep) - 1)] - 1 == 0)
            count = np.where(empty, 0, count)
        self.count = count
        total = int(count.sum())
        self.line = np.repeat(np.arange(n), count)
        tag_first = np.cumsum(count) - count
        self.rank = np.arange(total) - tag_first[self.line]
        j = first[self.line] + 11 + self.rank      # the separator ending each tag field
        ts = sep[j - 1] + 1
        tl = sep[j] - ts
        self.ext = np.zeros((total, 8), np.uint8)
        self.ext_len = np.zeros(total, np.int64)
        self.body = np.zeros(total, np.int64)
        self.body_len = np.zeros(total, np.int64)
        self.nul = np.zeros(total, np.int64)
        self.from_blob = np.zeros(total, bool)
        self.blob = np.zeros(0, np.uint8)
        self.out_len = np.zeros(n, np.int64)
        if total == 0:
            return
        shape_ok = tl >= 5
        tsc = np.minimum(ts, len(a) - 5)
        shape_ok &= (a[tsc + 2] == _COLON) & (a[tsc + 4] == _COLON)
        kind = np.where(shape_ok, a[tsc + 3], 0)
        type_byte = kind.astype("<u8")
        payload = np.zeros(total, "<u8")
        self.ext_len[:] = 3
        zt = kind == ord("Z")
        self.body[zt] = ts[zt] + 5
        self.body_len[zt] = tl[zt] - 5
        self.nul[zt] = 1
        at = kind == ord("A")
        self.body[at] = ts[at] + 5
        self.body_len[at] = 1
        bad_tag = ~shape_ok | (at & (tl != 6))
        it = np.flatnonzero(kind == ord("i"))
        if len(it):
            v, ok = parse_ints(a, ts[it] + 5, tl[it] - 5)
            words, width, fits = _int_words(0, v)
            bad_tag[it] |= ~ok | ~fits
            type_byte[it] = (words >> _U(16)) & _U(0xFF)
            payload[it] = words >> _U(24)
            self.ext_len[it] = 3 + width
        # one little-endian word per tag: 2 tag letters, type, value
        words = (a[tsc].astype("<u8") | (a[tsc + 1].astype("<u8") << _U(8))
                 | (type_byte << _U(16)) | (payload << _U(24)))
        self.ext = words.view(np.uint8).reshape(total, 8)
        other = np.flatnonzero(shape_ok & ~zt & ~at & (kind != ord("i")))
        if len(other):  # f, H, B (and unknown types): the per-tag encoder, checked there
            pieces = []
            try:
                for s, ln in zip(ts[other].tolist(), tl[other].tolist()):
                    pieces.append(encode_tag(joined[s:s + ln]))
            except (ValueError, OverflowError):
                self.bad = None
                return
            plen = np.fromiter(map(len, pieces), np.int64, len(pieces))
            self.blob = np.frombuffer(b"".join(pieces), np.uint8)
            self.ext_len[other] = 0
            self.from_blob[other] = True
            self.body[other] = np.cumsum(plen) - plen
            self.body_len[other] = plen
        if bad_tag.any():
            self.bad |= np.bincount(self.line, bad_tag, minlength=n) > 0
        self.out_len = np.bincount(self.line, self.ext_len + self.body_len + self.nul,
                                   minlength=n).astype(np.int64)
