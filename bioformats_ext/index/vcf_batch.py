"""The tabix VCF interval rule over a whole batch of lines, with numpy.

One scan of a batch (:class:`VcfScan`: the first tabs of every line, POS, len(REF), CHROM
runs, the lines that mention ``END=``/``LEN=``/gVCF alleles) serves both the VCF writer's
validation (:mod:`bioformats_ext.vcf.validate`) and its co-index, and the second-pass
``index_tabix`` (a lower layer, hence this module's home). Equal to tabix's rule for every
line; lines that need more than POS and REF (INFO/END, SVLEN, gVCF LEN) or look unusual go
through the exact per-line rule (:func:`~bioformats_ext.index.tabix_conf.parse_line`, which
also raises the numbered error).
"""

from __future__ import annotations

import numpy as np

from ..errors import RecordError
from .tabix_conf import TabixConfig, get_config, parse_line

_VCF = get_config("vcf")
_MAX_POS = 1 << 62  # beyond int64 arithmetic; the index builder refuses far less anyway
#: POS has at most this many digits (below 2**63, so every later int64 step is safe).
MAX_POS_DIGITS = 18
_NAME_MATRIX_WIDTH = 64  # longer CHROM names are compared as bytes, one line at a time


def _rows_of(stops: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Line index of each byte offset ``at`` (``stops``: where each line ends, exclusive),
    sorted, once each (``np.unique`` costs 100x more on these few thousand rows)."""
    rows = np.sort(np.searchsorted(stops, at, side="right"))
    return rows[np.concatenate(([True], rows[1:] != rows[:-1]))] if len(rows) else rows


def sparse_positions(buf: np.ndarray, byte: int) -> np.ndarray:
    """``np.flatnonzero(buf == byte)`` for a byte that is rare in ``buf`` (``<`` in VCF text):
    the zero test runs on 8-byte words, then only words holding a hit are looked into; a third
    of the cost of ``flatnonzero`` over every byte of a batch."""
    hit = buf == byte
    whole = len(hit) - len(hit) % 8
    packed = hit[:whole].view(np.uint64)
    words = np.flatnonzero(packed != 0)  # (numpy's nonzero is fast on bool arrays only)
    j = np.flatnonzero(packed[words].view(np.bool_))
    return np.concatenate((words[j >> 3] * 8 + (j & 7), np.flatnonzero(hit[whole:]) + whole))


class VcfScan:
    """Column positions of a batch of VCF lines, found once with numpy over the joined bytes.

    ``data``: the lines joined (each ending with its newline, or not: only tabs matter);
    ``sizes``: each line's length in ``data``. Attributes (arrays of one entry per line):
    ``starts``/``stops`` (byte span), ``t0``..``t3`` (offsets of the first four tabs; clipped
    to the batch's last tab when a line has fewer), ``ntabs_ok`` (at least 7 tabs: 8 columns),
    ``pos`` and ``pos_ok`` (POS of 1-18 plain digits), ``reflen``; ``end_rows`` (lines with
    ``END=``) and ``rule_rows`` (lines the full end rule must see: ``END=``, ``LEN=``, ``<*>``,
    ``<NO...``), both sorted supersets found by gathering around ``=`` and ``<`` bytes.
    """

    def __init__(self, data: bytes, sizes: np.ndarray):
        self.data = data
        self.sizes = sizes
        self.n = n = len(sizes)
        self.buf = buf = np.frombuffer(data, np.uint8)
        stops = np.cumsum(sizes, dtype=np.int64)
        self.stops = stops
        self.starts = starts = stops - sizes
        last_byte = max(len(buf) - 1, 0)
        tabs = np.flatnonzero(buf == 9)
        top = len(tabs) - 1
        self._tabs: np.ndarray | None = None
        if top < 0 or not n:
            zero = np.zeros(n, np.int64)
            self.t0 = self.t1 = self.t2 = self.t3 = starts
            self.ntabs_ok = self.cols_ok = np.zeros(n, bool)
            self.pos, self.pos_ok, self.reflen = zero, np.zeros(n, bool), zero
        else:
            k = np.searchsorted(tabs, starts)
            self._tabs, self._k = tabs, k  # (rule_rows finds each line's ALT column with them)
            t0, t1, t2, t3, t6 = (tabs[np.minimum(k + j, top)] for j in (0, 1, 2, 3, 6))
            self.t0, self.t1, self.t2, self.t3 = t0, t1, t2, t3
            self.cols_ok = (k + 3 <= top) & (t3 < stops)            # >= 4 columns
            self.ntabs_ok = (k + 6 <= top) & (t6 < stops)           # >= 8 columns
            plen = t1 - t0 - 1
            pos_ok = self.cols_ok & (plen >= 1) & (plen <= MAX_POS_DIGITS)
            pos = np.zeros(n, np.int64)
            # POS digit by digit from its end (the tab at t1), a few vector steps over the
            # batch with no n x width temporaries; uint8 wrap-around makes non-digits > 9
            place = 1
            for j in range(1, (int(plen[pos_ok].max()) if pos_ok.any() else 0) + 1):
                digit = buf[np.maximum(t1 - j, 0)] - np.uint8(48)
                digit[j > plen] = 0
                pos_ok &= digit <= 9
                pos += digit.astype(np.int64) * place
                place *= 10
            self.pos, self.pos_ok = pos, pos_ok
            self.reflen = t3 - t2 - 1
        eq = np.flatnonzero(buf == 61)  # '=': END= and (SV)LEN=
        eq = eq[eq >= 3]
        b3, b2, b1 = buf[eq - 3], buf[eq - 2], buf[eq - 1]
        end_key = (b3 == 69) & (b2 == 78) & (b1 == 68)
        len_key = (b3 == 76) & (b2 == 69) & (b1 == 78)
        self.end_rows = _rows_of(stops, eq[end_key])
        self._keys = eq[end_key | len_key]
        self._rule_rows: np.ndarray | None = None
        #: every line has 8+ columns, a POS of digits and a non-empty REF: set by a caller
        #: that checked so (the VCF writer's validation), for :func:`scan_intervals`
        self.well_formed = False
        self._name_runs: tuple[list[bytes], np.ndarray] | None = None

    @property
    def rule_rows(self) -> np.ndarray:
        """Lines the full end rule must see (only the co-index asks: found on first use)."""
        if self._rule_rows is None:
            buf, last_byte = self.buf, max(len(self.buf) - 1, 0)
            lt = self._alt_angles()  # '<': gVCF <*> and <NON_REF>
            c1 = buf[np.minimum(lt + 1, last_byte)]
            c2 = buf[np.minimum(lt + 2, last_byte)]
            gvcf = ((c1 == 42) & (c2 == 62)) | ((c1 == 78) & (c2 == 79))
            self._rule_rows = _rows_of(self.stops, np.concatenate((self._keys, lt[gvcf])))
        return self._rule_rows

    def _alt_angles(self) -> np.ndarray:
        """Offsets of ``<`` in ALT columns, where gVCF alleles are. Gathered from the ALT
        spans (4th to 5th tab) of lines whose ALT has 3+ bytes, so many samples per line
        cost nothing here; a scan of the whole batch when those spans are long."""
        buf = self.buf
        if self._tabs is None:
            return sparse_positions(buf, 60)
        tabs = self._tabs
        first = self.t3 + 1
        fifth = self._k + 4  # each line's 5th tab ends its ALT
        if int(fifth[-1]) >= len(tabs):  # (k ascends: only the last lines may lack one)
            np.minimum(fifth, len(tabs) - 1, out=fifth)
        size = tabs[fifth]
        if not self.well_formed:  # (a validated line has 8+ columns: its 5th tab is its own)
            np.minimum(size, self.stops, out=size)
        size -= first
        rows = np.flatnonzero(size >= 3)  # '<*>' needs three
        size = size[rows]
        total = int(size.sum())
        if 8 * total > len(buf):  # (index arrays of 8 bytes per byte gathered)
            return sparse_positions(buf, 60)
        at = np.repeat(first[rows] - (np.cumsum(size) - size), size) + np.arange(total)
        return at[buf[at] == 60]

    @classmethod
    def of_lines(cls, lines: list[bytes]) -> "VcfScan":
        return cls(b"".join(lines), np.fromiter(map(len, lines), np.int64, len(lines)))

    def name_runs(self, rows: "np.ndarray | None" = None) -> tuple[list[bytes], np.ndarray]:
        """CHROM of ``rows`` (default: every line) as runs: ``(names, run_lengths)``, one
        ``bytes`` per run of equal names (a sorted VCF changes CHROM rarely). Compared as a
        small byte matrix, not a slice per line. Every line's runs are kept: the writer's
        validation and its co-index both ask."""
        if rows is None:
            if self._name_runs is None:
                self._name_runs = self._runs_of(None)
            return self._name_runs
        return self._runs_of(rows)

    def _runs_of(self, rows: "np.ndarray | None") -> tuple[list[bytes], np.ndarray]:
        begin = self.starts if rows is None else self.starts[rows]
        stop = np.where(self.t0 < self.stops, self.t0, self.stops)
        stop = stop if rows is None else stop[rows]
        n = len(begin)
        if not n:
            return [], np.zeros(0, np.int64)
        lengths = stop - begin
        width = int(lengths.max())
        data = self.data
        if width > _NAME_MATRIX_WIDTH:
            change = np.ones(n, bool)
            names = [data[a:b] for a, b in zip(begin.tolist(), stop.tolist())]
            change[1:] = [x != y for x, y in zip(names[1:], names[:-1])]
        else:
            cols = np.arange(max(width, 1))
            mat = self.buf[np.minimum(begin[:, None] + cols, max(len(self.buf) - 1, 0))]
            mat[cols >= lengths[:, None]] = 0
            change = np.ones(n, bool)
            change[1:] = (lengths[1:] != lengths[:-1]) | (mat[1:] != mat[:-1]).any(axis=1)
        heads = np.flatnonzero(change)
        counts = np.diff(np.append(heads, n))
        return [data[a:b] for a, b in zip(begin[heads].tolist(), stop[heads].tolist())], counts


class NameRuns(tuple):
    """``(names, run_lengths)``: the CHROM of consecutive lines, one entry per run."""

    def expand(self) -> list[bytes]:
        names: list[bytes] = []
        for name, count in zip(self[0], self[1].tolist()):
            names += [name] * count
        return names


def scan_intervals(scan: VcfScan, first_lineno: int, lines: "list[bytes] | None" = None
                   ) -> tuple[NameRuns, np.ndarray, np.ndarray]:
    """``(CHROM runs, beg, end)`` of every line of ``scan`` by tabix's VCF rule.

    ``beg = POS-1`` and ``end = beg + len(REF)`` come from the scan; lines that mention
    ``END=``/``LEN=``/a gVCF allele or look unusual (few columns, odd POS) go through the exact
    per-line rule, which also raises the typed, numbered error for bad lines. ``lines`` (the
    batch's lines, for those) is optional: they are cut from the scan's bytes otherwise.
    """
    beg = np.maximum(scan.pos - 1, 0)
    end = beg + scan.reflen
    if scan.well_formed:  # validated: no odd line, no empty REF
        special = scan.rule_rows
    else:
        odd = np.flatnonzero(~(scan.cols_ok & scan.pos_ok))
        short = np.flatnonzero(scan.reflen <= 0)
        if len(short):
            end[short] = np.maximum(scan.pos[short], 1)
        special = np.union1d(odd, scan.rule_rows) if len(odd) else scan.rule_rows
    runs = NameRuns(scan.name_runs())
    _check_names(runs, first_lineno)
    if len(special):
        names = None
        starts, stops, t0 = scan.starts, scan.stops, scan.t0
        for i in special.tolist():
            line = lines[i] if lines is not None else scan.data[int(starts[i]):int(stops[i])]
            name, b, e = parse_line(_VCF, line, first_lineno + i)
            if not (0 <= b <= _MAX_POS and 0 <= e <= _MAX_POS):
                raise RecordError(f"line {first_lineno + i}: interval {b}..{e} is out of range "
                                  f"(positions must be below 2**62)", first_lineno + i)
            beg[i] = b
            end[i] = e
            raw = name.encode()  # CHROM as the scan saw it, unless the line is odd
            if raw != scan.data[int(starts[i]):int(min(t0[i], stops[i]))]:
                if names is None:
                    names = runs.expand()
                names[i] = raw
        if names is not None:
            runs = NameRuns(_runs_of_list(names))
    return runs, beg, end


def _check_names(runs: NameRuns, first_lineno: int) -> None:
    """The per-line rule's UTF-8 check (:func:`parse_line`), once per CHROM run: a name that
    is not UTF-8 is a numbered :class:`RecordError`, never a decode error from the builder."""
    line = first_lineno
    for name, count in zip(runs[0], runs[1].tolist()):
        try:
            name.decode()
        except UnicodeDecodeError:
            raise RecordError(f"line {line}: sequence name is not UTF-8", line) from None
        line += count


def _runs_of_list(names: list[bytes]) -> tuple[list[bytes], np.ndarray]:
    heads = [0] + [i for i in range(1, len(names)) if names[i] != names[i - 1]]
    counts = np.diff(np.append(np.asarray(heads, np.int64), len(names)))
    return [names[h] for h in heads], counts


def vcf_intervals(conf: TabixConfig, data: bytes, sizes: np.ndarray, lines: list[bytes],
                  first_lineno: int) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """VCF intervals of a batch, computed on the joined bytes with numpy: ``(names, beg,
    end)`` with one ``bytes`` name per line (see :func:`scan_intervals`)."""
    runs, beg, end = scan_intervals(VcfScan(data, sizes), first_lineno, lines)
    return runs.expand(), beg, end
