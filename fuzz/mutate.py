"""Mutators: generic byte-level ones and field-aware ones per format.

Every mutator is ``(rng, data) -> bytes`` and deterministic given the rng. Field-aware mutators
know where a format keeps counts, offsets, sizes and type bytes and overwrite exactly those with
"interesting" values (0, 1, -1, 2**31-1, 2**32-1, the file size, an offset pointing back at the
structure itself -- cycles); container-aware ones edit the *decompressed* payload of a BGZF or
zstd file and compress it again, so the edit reaches the record parser instead of failing a CRC.
"""

from __future__ import annotations

import functools
import random
import struct
import zlib
from typing import Callable, Literal

Mutator = Callable[[random.Random, bytes], bytes]
Order = Literal["little", "big"]

INTERESTING32 = [0, 1, 2, 7, 8, 12, 255, 256, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                 0xFFFFFFFE, 0xFFFFFFFF]
INTERESTING64 = INTERESTING32 + [1 << 32, 1 << 40, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


# ----------------------------------------------------------------------------- generic

def flip_bits(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def set_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buf[rng.randrange(len(buf))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    return bytes(buf)


def set_int(rng: random.Random, data: bytes) -> bytes:
    """An interesting 32- or 64-bit value at a random (often aligned) offset, either endianness."""
    width = rng.choice([4, 4, 8, 2])
    if len(data) < width:
        return data
    pos = rng.randrange(len(data) - width + 1)
    if rng.random() < 0.7:
        pos -= pos % width
    values = INTERESTING64 if width == 8 else INTERESTING32
    value = rng.choice(values + [len(data), len(data) + 1, pos]) % (1 << (8 * width))
    order: Order = "little" if rng.random() < 0.8 else "big"
    return data[:pos] + value.to_bytes(width, order) + data[pos + width:]


def truncate(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    return data[:rng.randrange(len(data))]


def chop_tail(rng: random.Random, data: bytes) -> bytes:
    return data[:max(0, len(data) - rng.randint(1, 64))]


def delete_chunk(rng: random.Random, data: bytes) -> bytes:
    if len(data) < 2:
        return data
    a = rng.randrange(len(data))
    return data[:a] + data[a + rng.randint(1, min(256, len(data) - a)):]


def insert_chunk(rng: random.Random, data: bytes) -> bytes:
    a = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return data[:a] + junk + data[a:]


def duplicate_chunk(rng: random.Random, data: bytes) -> bytes:
    if len(data) < 2:
        return data
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, 512))
    c = rng.randrange(len(data))
    return data[:c] + data[a:b] + data[c:]


def overwrite_chunk(rng: random.Random, data: bytes) -> bytes:
    """Copy bytes from one place over another (moves offsets onto other structures)."""
    if len(data) < 8:
        return data
    n = rng.randint(1, 64)
    a, c = rng.randrange(len(data)), rng.randrange(len(data))
    piece = data[a:a + n]
    return data[:c] + piece + data[c + len(piece):]


GENERIC: list[Mutator] = [flip_bits, flip_bits, set_bytes, set_int, set_int, truncate, chop_tail,
                          delete_chunk, insert_chunk, duplicate_chunk, overwrite_chunk]


def generic(rng: random.Random, data: bytes) -> bytes:
    return rng.choice(GENERIC)(rng, data)


def stack(rng: random.Random, data: bytes, mutators: list[Mutator]) -> bytes:
    """One to three mutations in a row."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutator = rng.choice(mutators)
        try:
            data = mutator(rng, data)
        except (struct.error, IndexError, ValueError, OverflowError):
            data = flip_bits(rng, data)  # a field-aware edit that no longer fits the data
    return data


# ----------------------------------------------------------------------------- BGZF containers

def bgzf_decompress(data: bytes) -> bytes | None:
    out = []
    pos = 0
    while pos + 18 <= len(data):
        if data[pos:pos + 4] != b"\x1f\x8b\x08\x04":
            return None
        bsize = struct.unpack_from("<H", data, pos + 16)[0] + 1
        try:
            out.append(zlib.decompress(data[pos + 18:pos + bsize - 8], -15))
        except zlib.error:
            return None
        pos += bsize
    return b"".join(out)


def bgzf_compress(payload: bytes, block: int = 0xFF00, eof: bool = True) -> bytes:
    out = []
    for i in range(0, len(payload), block):
        chunk = payload[i:i + block]
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        cdata = c.compress(chunk) + c.flush()
        size = 18 + len(cdata) + 8
        out.append(struct.pack("<4sIBBHHHH", b"\x1f\x8b\x08\x04", 0, 0, 0xFF, 6, 0x4342, 2,
                               size - 1) + cdata
                   + struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk)))
    if eof:
        out.append(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    return b"".join(out)


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    while pos + 18 <= len(data) and data[pos:pos + 4] == b"\x1f\x8b\x08\x04":
        size = struct.unpack_from("<H", data, pos + 16)[0] + 1
        spans.append((pos, size))
        pos += size
    return spans


def bgzf_cut_at_block(rng: random.Random, data: bytes) -> bytes:
    """Truncate at a block boundary (often: just drop the EOF block) -- looks complete."""
    spans = bgzf_blocks(data)
    if not spans:
        return data[:0]
    pos, _ = rng.choice(spans[1:] or spans) if rng.random() < 0.5 else spans[-1]
    return data[:pos]


def bgzf_header_field(rng: random.Random, data: bytes) -> bytes:
    """BSIZE, XLEN, ISIZE or CRC of one block set to an interesting value."""
    spans = bgzf_blocks(data)
    if not spans:
        return data
    pos, size = rng.choice(spans)
    field = rng.choice(["bsize", "xlen", "isize", "crc", "flg"])
    buf = bytearray(data)
    if field == "bsize":
        struct.pack_into("<H", buf, pos + 16, rng.choice([0, 1, 17, 25, 0xFFFF, size]) & 0xFFFF)
    elif field == "xlen":
        struct.pack_into("<H", buf, pos + 10, rng.choice([0, 2, 4, 8, 0xFFFF]))
    elif field == "isize" and size >= 8:
        struct.pack_into("<I", buf, pos + size - 4, rng.choice(INTERESTING32))
    elif field == "crc" and size >= 8:
        struct.pack_into("<I", buf, pos + size - 8, rng.choice(INTERESTING32))
    else:
        buf[pos + 3] ^= 1 << rng.randrange(8)
    return bytes(buf)


def in_payload(edit: Mutator, eof: bool = True) -> Mutator:
    """Apply ``edit`` to the decompressed BGZF payload and compress again."""
    def mutator(rng: random.Random, data: bytes) -> bytes:
        payload = bgzf_decompress(data)
        if payload is None:
            return generic(rng, data)
        return bgzf_compress(edit(rng, payload), block=rng.choice([0xFF00, 0xFF00, 997]),
                             eof=eof and rng.random() < 0.95)
    return mutator


BGZF: list[Mutator] = [bgzf_cut_at_block, bgzf_header_field, bgzf_header_field]


# ----------------------------------------------------------------------------- index payloads

def index_fields(payload: bytes) -> list[tuple[int, int]]:
    """(offset, width) of every count / id / offset field of a BAI, TBI or CSI payload."""
    fields: list[tuple[int, int]] = []
    magic = payload[:4]
    pos = 4
    u32 = lambda p: struct.unpack_from("<i", payload, p)[0]  # noqa: E731
    try:
        if magic == b"CSI\1":
            fields += [(4, 4), (8, 4), (12, 4)]
            l_aux = u32(12)
            pos = 16 + l_aux
            csi = True
        else:
            csi = False
        if magic == b"TBI\1":
            fields += [(4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4), (32, 4)]
            pos = 36 + u32(32)
        fields.append((pos, 4))
        n_ref = u32(pos)
        pos += 4
        for _ in range(min(n_ref, 64)):
            fields.append((pos, 4))
            n_bin = u32(pos)
            pos += 4
            for _ in range(min(n_bin, 4096)):
                fields.append((pos, 4))
                pos += 4
                if csi:
                    fields.append((pos, 8))
                    pos += 8
                fields.append((pos, 4))
                n_chunk = u32(pos)
                pos += 4
                for _ in range(min(n_chunk, 4096)):
                    fields += [(pos, 8), (pos + 8, 8)]
                    pos += 16
            if not csi:
                fields.append((pos, 4))
                n_intv = u32(pos)
                pos += 4
                for _ in range(min(n_intv, 4096)):
                    fields.append((pos, 8))
                    pos += 8
    except struct.error:
        pass
    return [(p, w) for p, w in fields if p + w <= len(payload)]


def index_field_edit(rng: random.Random, payload: bytes) -> bytes:
    fields = index_fields(payload)
    if not fields:
        return generic(rng, payload)
    buf = bytearray(payload)
    for _ in range(rng.choice([1, 1, 2])):
        pos, width = rng.choice(fields)
        values = INTERESTING64 if width == 8 else INTERESTING32 + [0xFFFFFFF0, 3, 4, 5, 14]
        value = rng.choice(values)
        if width == 8 and rng.random() < 0.5:  # a plausible virtual offset, out of order
            value = rng.randrange(1 << 40)
        buf[pos:pos + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(buf)


INDEX: list[Mutator] = [in_payload(index_field_edit), in_payload(index_field_edit),
                        in_payload(generic)] + BGZF + GENERIC


def bai_field_edit(rng: random.Random, data: bytes) -> bytes:
    """A BAI is not compressed: edit its fields directly."""
    return index_field_edit(rng, data)


# ----------------------------------------------------------------------------- BAM payload

def bam_fields(payload: bytes) -> list[tuple[int, int]]:
    fields: list[tuple[int, int]] = []
    try:
        l_text = struct.unpack_from("<i", payload, 4)[0]
        fields.append((4, 4))
        pos = 8 + l_text
        n_ref = struct.unpack_from("<i", payload, pos)[0]
        fields.append((pos, 4))
        pos += 4
        for _ in range(min(n_ref, 256)):
            l_name = struct.unpack_from("<i", payload, pos)[0]
            fields += [(pos, 4), (pos + 4 + l_name, 4)]
            pos += 8 + l_name
        for _ in range(200):
            bs = struct.unpack_from("<i", payload, pos)[0]
            # block_size, refID, pos, l_read_name(1), mapq(1), bin(2), n_cigar(2), flag(2),
            # l_seq, next_refID, next_pos, tlen
            fields += [(pos, 4), (pos + 4, 4), (pos + 8, 4), (pos + 12, 1), (pos + 13, 1),
                       (pos + 14, 2), (pos + 16, 2), (pos + 18, 2), (pos + 20, 4), (pos + 24, 4),
                       (pos + 28, 4), (pos + 32, 4)]
            l_rn = payload[pos + 12]
            n_cig = struct.unpack_from("<H", payload, pos + 16)[0]
            cig = pos + 36 + l_rn
            fields += [(cig + 4 * k, 4) for k in range(min(n_cig, 8))]
            l_seq = struct.unpack_from("<i", payload, pos + 20)[0]
            aux = cig + 4 * n_cig + (l_seq + 1) // 2 + l_seq
            if aux + 3 <= pos + 4 + bs:
                fields += [(aux + 2, 1)]  # the first tag's type byte
            pos += 4 + bs
            if pos >= len(payload):
                break
    except (struct.error, IndexError):
        pass
    return [(p, w) for p, w in fields if p + w <= len(payload)]


def bam_field_edit(rng: random.Random, payload: bytes) -> bytes:
    fields = bam_fields(payload)
    if not fields:
        return generic(rng, payload)
    buf = bytearray(payload)
    for _ in range(rng.choice([1, 1, 2])):
        pos, width = rng.choice(fields)
        if width == 1:
            buf[pos] = rng.choice([0, 1, 2, 0x7F, 0xFF, ord("A"), ord("B"), ord("Z"), ord("H"),
                                   ord("f"), ord("c"), ord("i"), rng.randrange(256)])
            continue
        if width == 4 and rng.random() < 0.3:  # a CIGAR op: change the operator or the length
            old = struct.unpack_from("<I", buf, pos)[0]
            value = (old & ~0xF) | rng.randrange(16) if rng.random() < 0.5 else \
                (rng.choice([0, 1, 1 << 27, (1 << 28) - 1]) << 4) | (old & 0xF)
        else:
            value = rng.choice(INTERESTING32 + [0xFFFFFFFF, 1 << 29, 200_001])
        buf[pos:pos + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(buf)


def text_header_edit(rng: random.Random, payload: bytes) -> bytes:
    """Header-text edits: non-UTF-8 bytes, a malformed @SQ LN, a renamed reference."""
    choice = rng.randrange(4)
    if choice == 0:
        return payload.replace(b"LN:", rng.choice([b"LN:1x", b"LN:-", b"LN:99999999999", b"LN:"]),
                               1)
    if choice == 1:
        return payload.replace(b"chr1", b"chr\xff", rng.choice([1, 2, 3]))
    if choice == 2:
        return payload.replace(b"SN:chr2", b"SN:chrX", 1)
    return payload.replace(b"chr2", b"chr1", 1)


BAM: list[Mutator] = [in_payload(bam_field_edit), in_payload(bam_field_edit),
                      in_payload(bam_field_edit), in_payload(text_header_edit),
                      in_payload(generic)] + BGZF + GENERIC


# ----------------------------------------------------------------------------- text (VCF / SAM)

def text_line_edit(rng: random.Random, text: bytes) -> bytes:
    """Field-aware edits of one tab-separated data line."""
    lines = text.split(b"\n")
    data_rows = [i for i, ln in enumerate(lines) if ln and not ln.startswith((b"#", b"@"))]
    if not data_rows:
        return generic(rng, text)
    i = rng.choice(data_rows)
    cols = lines[i].split(b"\t")
    kind = rng.randrange(9)
    j = rng.randrange(len(cols))
    if kind == 0:
        cols[1 if len(cols) > 1 else 0] = rng.choice(
            [b"99999999999999999999", b"-5", b"0", b"", b"1e5", b"2147483648", b"536870913",
             b"4294967296", b"x"])
    elif kind == 1 and len(cols) > 3:
        cols[3] = rng.choice([b"", b"N" * rng.randint(1, 3000), b"\xff"])
    elif kind == 2:
        cols = cols[:rng.randint(1, 7)]
    elif kind == 3 and len(cols) > 7:
        cols[7] = rng.choice([b"END=x", b"END=-1", b"END=99999999999999999999", b"END=",
                              b"DP=1;END=1", b"END=.", b"END=2147483648"])
    elif kind == 4:
        cols[0] = rng.choice([b"chrUnknown", b"", b"chr\xff", b"*"])
    elif kind == 5:
        cols[j] = cols[j] * rng.randint(2, 50)
    elif kind == 6 and len(cols) > 5:
        cols[5] = rng.choice([b"10M5D", b"3P5M", b"*", b"5X", b"99999999999M", b"M", b"1M1M"])
    elif kind == 7:
        lines.insert(i, lines[i])  # a duplicate / unsorted line
    else:
        lines[i], lines[data_rows[0]] = lines[data_rows[0]], lines[i]
    if kind != 7:
        lines[i] = b"\t".join(cols)
    return b"\n".join(lines)


TEXT: list[Mutator] = [text_line_edit, text_line_edit, text_line_edit, text_header_edit,
                       generic]
VCF_GZ: list[Mutator] = [in_payload(text_line_edit), in_payload(text_line_edit),
                         in_payload(generic)] + BGZF + GENERIC


# ----------------------------------------------------------------------------- bigBed

def bigbed_fields(data: bytes) -> list[tuple[int, int, Order]]:
    """(offset, width, byte order) of header, zoom, R-tree and B+ tree count/offset fields."""
    if len(data) < 64:
        return []
    magic = struct.unpack_from("<I", data, 0)[0]
    bo = "<" if magic == 0x8789F2EB else ">"
    order: Order = "little" if bo == "<" else "big"
    out = [(4, 2, order), (6, 2, order), (8, 8, order), (16, 8, order), (24, 8, order),
           (32, 2, order), (34, 2, order), (36, 8, order), (44, 8, order), (52, 4, order),
           (56, 8, order)]
    n_zoom = struct.unpack_from(bo + "H", data, 6)[0]
    for z in range(min(n_zoom, 10)):
        base = 64 + 24 * z
        out += [(base, 4, order), (base + 8, 8, order), (base + 16, 8, order)]
    for field in (8, 24):   # chromosome B+ tree, R-tree
        off = struct.unpack_from(bo + "Q", data, field)[0]
        if off + 48 < len(data):
            out += [(off + k, w, order) for k, w in ((4, 4), (8, 4), (12, 4), (16, 8))]
            if field == 24:
                out += [(off + 28, 4, order), (off + 40, 8, order), (off + 44, 4, order)]
                node = off + 48
                count = struct.unpack_from(bo + "H", data, node + 2)[0] if node + 4 <= len(data) else 0
                out += [(node, 1, order), (node + 2, 2, order)]
                for k in range(min(count, 64)):
                    item = node + 4 + 32 * k
                    out += [(item + 4, 4, order), (item + 12, 4, order), (item + 16, 8, order),
                            (item + 24, 8, order)]
            else:
                node = off + 32
                out += [(node, 1, order), (node + 2, 2, order)]
    return [(p, w, o) for p, w, o in out if p + w <= len(data)]


def bigbed_field_edit(rng: random.Random, data: bytes) -> bytes:
    fields = bigbed_fields(data)
    if not fields:
        return generic(rng, data)
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 2])):
        pos, width, order = rng.choice(fields)
        values = (INTERESTING64 if width == 8 else INTERESTING32) + [len(data), pos, pos - 48,
                                                                      pos - 4]
        value = rng.choice(values) % (1 << (8 * width))
        buf[pos:pos + width] = value.to_bytes(width, order)
    return bytes(buf)


@functools.lru_cache(maxsize=None)
def _bomb(mib: int, zeros: bool, bo: str) -> bytes:
    """A zlib stream of ``mib`` MiB of zeros or of repeated tiny records: one fully flushed
    deflate segment of 1 MiB repeated (identical input after a full flush compresses to
    identical bytes), then the Adler-32 of the whole -- milliseconds instead of seconds."""
    unit = b"\0" * 4096 if zeros else struct.pack(bo + "III", 0, 10, 50) + b"x\0"
    chunk = unit * max(1, (1 << 20) // len(unit))
    c = zlib.compressobj(9)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(chunk, adler)
    return first + again * (mib - 1) + tail[:-4] + adler.to_bytes(4, "big")


def bigbed_bomb(rng: random.Random, data: bytes) -> bytes:
    """Issue 11's memory bomb: uncompressBufSize = 0xFFFFFFFF and the first R-tree leaf item
    pointed at an appended deflate stream that inflates ~1000-fold (zeros or repeated records)."""
    if len(data) < 64:
        return data
    bo = "<" if struct.unpack_from("<I", data, 0)[0] == 0x8789F2EB else ">"
    order: Order = "little" if bo == "<" else "big"
    bomb = _bomb(rng.choice([1, 16, 64, 300]), rng.random() < 0.5, bo)
    buf = bytearray(data)
    buf[52:56] = (0xFFFFFFFF).to_bytes(4, order)
    node = struct.unpack_from(bo + "Q", data, 24)[0] + 48
    if node + 4 + 32 <= len(data) and data[node] == 1:
        item = node + 4
        buf[item + 16:item + 24] = len(data).to_bytes(8, order)
        buf[item + 24:item + 32] = len(bomb).to_bytes(8, order)
    return bytes(buf) + bomb


def bigbed_block_edit(rng: random.Random, data: bytes) -> bytes:
    """Inflate a data block the root leaf points at, edit its records (start > end, bad chromId,
    missing NUL), deflate it again, append it and point the leaf item at it."""
    if len(data) < 64:
        return data
    bo = "<" if struct.unpack_from("<I", data, 0)[0] == 0x8789F2EB else ">"
    order: Order = "little" if bo == "<" else "big"
    rtree = struct.unpack_from(bo + "Q", data, 24)[0]
    node = rtree + 48
    if node + 4 + 32 > len(data) or data[node] != 1:
        return bigbed_field_edit(rng, data)
    count = struct.unpack_from(bo + "H", data, node + 2)[0]
    k = rng.randrange(max(1, min(count, 64)))
    item = node + 4 + 32 * k
    if item + 32 > len(data):
        return data
    off, size = struct.unpack_from(bo + "QQ", data, item + 16)
    if off + size > len(data):
        return data
    compressed = struct.unpack_from(bo + "I", data, 52)[0] != 0
    raw = data[off:off + size]
    try:
        block = bytearray(zlib.decompress(raw) if compressed else raw)
    except zlib.error:
        return data
    if len(block) < 12:
        return data
    kind = rng.randrange(4)
    if kind == 0:    # start > end
        block[4:8] = (5000).to_bytes(4, order)
        block[8:12] = (50).to_bytes(4, order)
    elif kind == 1:  # unknown chromosome id
        block[0:4] = rng.choice([1 << 20, 0xFFFFFFFF, 3]).to_bytes(4, order)
    elif kind == 2:  # lose the terminator
        block = block[:-1] + b"x"
    else:
        block = bytearray(bytes(block) + bytes(block))
    new = zlib.compress(bytes(block)) if compressed else bytes(block)
    buf = bytearray(data) + bytearray(new)  # appended: nothing after the old block moves
    buf[item + 16:item + 24] = len(data).to_bytes(8, order)
    buf[item + 24:item + 32] = len(new).to_bytes(8, order)
    return bytes(buf)


BIGBED: list[Mutator] = [bigbed_field_edit, bigbed_field_edit, bigbed_field_edit,
                         bigbed_block_edit, bigbed_block_edit, bigbed_bomb] + GENERIC


# ----------------------------------------------------------------------------- BGZF2

def bgzf2_seek_edit(rng: random.Random, data: bytes) -> bytes:
    """Edit one seek-table entry (compressed / decompressed size, checksum) or its footer."""
    if len(data) < 9 or struct.unpack_from("<I", data, len(data) - 4)[0] != 0x8F92EAB1:
        return generic(rng, data)
    n, desc = struct.unpack_from("<IB", data, len(data) - 9)
    width = 12 if desc & 0x80 else 8
    start = len(data) - 9 - n * width
    if start < 8 or not n:
        return generic(rng, data)
    buf = bytearray(data)
    if rng.random() < 0.15:
        struct.pack_into("<I", buf, len(data) - 9, rng.choice(INTERESTING32))
        return bytes(buf)
    i = rng.randrange(n)
    col = rng.randrange(width // 4)
    pos = start + i * width + 4 * col
    value = rng.choice([0, 0, 1, 9, 12, 0xFFFFFFFF, 1 << 30, struct.unpack_from("<I", buf, pos)[0] + 1])
    struct.pack_into("<I", buf, pos, value % (1 << 32))
    return bytes(buf)


def bgzf2_index_edit(rng: random.Random, data: bytes) -> bytes:
    """Edit the index frame's footer distance or a byte of the index frame."""
    if len(data) < 30:
        return data
    n, desc = struct.unpack_from("<IB", data, len(data) - 9)
    width = 12 if desc & 0x80 else 8
    table = 8 + n * width + 9
    foot = len(data) - table - 8
    if foot < 0:
        return generic(rng, data)
    buf = bytearray(data)
    if rng.random() < 0.4:
        struct.pack_into("<I", buf, foot, rng.choice(INTERESTING32 + [len(data)]))
    else:
        back = struct.unpack_from("<I", data, foot)[0]
        lo = max(0, foot + 8 - back)
        if lo < foot:
            p = rng.randrange(lo, foot)
            buf[p] = rng.randrange(256)
    return bytes(buf)


BGZF2: list[Mutator] = [bgzf2_seek_edit, bgzf2_seek_edit, bgzf2_seek_edit, bgzf2_index_edit,
                        bgzf2_index_edit] + GENERIC
