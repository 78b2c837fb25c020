#!/usr/bin/env python3
"""An independent reader of BankCore journals, written from Docs/FileFormat.md alone.

    Tools/read_journal.py PATH [--records]

Checks the header, every frame's salted header CRC32C, body CRC32C, sequence number, link and
flags, and the SHA-256 hash chain; prints the record and batch counts and the head hash (the same
figures `bankctl verify` prints), or exits 65 naming the byte offset of the first problem.
With --records it also decodes and prints every record.
"""
import hashlib
import struct
import sys

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def fail(offset, seq, why):
    print(f"corrupt at byte offset {offset} (sequence {seq}): {why}", file=sys.stderr)
    sys.exit(65)


def decode(rec):
    tag, version = rec[0], rec[1]
    if tag == 1:
        id_, number, kind = struct.unpack_from("<IQB", rec, 2)
        code = rec[15:18].decode()
        digits, overdraft, ts, nlen = struct.unpack_from("<BqqH", rec, 18)
        name = rec[37:37 + nlen].decode()
        return f"account_opened id={id_} number={number} kind={kind} currency={code}/{digits} overdraft={overdraft} name={name!r}"
    if tag == 2:
        flags, kind, number, debit, credit, amount, ts = struct.unpack_from("<BBQIIqq", rec, 2)
        return f"transfer #{number} kind={kind} debit={debit} credit={credit} amount={amount} hold={bool(flags & 1)}"
    if tag == 3:
        number, hold, outcome, amount, ts = struct.unpack_from("<QQBqq", rec, 2)
        return f"hold_resolved #{number} hold=#{hold} outcome={outcome} amount={amount}"
    if tag == 4:
        id_, status, limit, ts = struct.unpack_from("<IBqq", rec, 2)
        return f"account_changed id={id_} status={status} overdraft={limit}"
    return f"unknown tag {tag} version {version}"


MAX_BODY = 1 << 24
MAX_UNSYNCED = 64 << 20


def frame_header(data, off, salt):
    """The fields of the frame header at off if its salted CRC holds, else None."""
    if off + 40 > len(data):
        return None
    h = data[off:off + 40]
    fields = struct.unpack("<IIQIHHIIQ", h)
    if crc32c(h[4:], salt) != fields[0]:
        return None
    return fields


def snapshot_floor(path, store_id):
    """The sequence an intact snapshot header of this store claims durable (0 if none)."""
    try:
        with open(path + ".snapshot", "rb") as f:
            head = f.read(96)
    except OSError:
        return 0
    if len(head) < 96 or head[:8] != b"BCSNAP01" or head[12:28] != store_id:
        return 0
    if crc32c(head[:92]) != struct.unpack_from("<I", head, 92)[0]:
        return 0
    return struct.unpack_from("<Q", head, 28)[0]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    path = sys.argv[1]
    data = open(path, "rb").read()
    show = "--records" in sys.argv
    if len(data) < 64 or data[:8] != b"BANKCORE":
        fail(0, 0, "not a BankCore journal")
    version, hsize = struct.unpack_from("<II", data, 8)
    store_id = data[16:32]
    (hcrc,) = struct.unpack_from("<I", data, 60)
    if crc32c(data[:60]) != hcrc or version not in (1, 2) or hsize != (64 if version == 1 else 128):
        fail(0, 0, "bad file header")
    close = None
    if version == 2:
        block = data[64:128]
        if len(block) < 64 or block[:8] != b"BCCLOSE1" or crc32c(block[:60]) != struct.unpack_from("<I", block, 60)[0]:
            fail(64, 0, "bad close block")
        flags, cseq, cend, ccrc = struct.unpack_from("<IQQI", block, 8)
        close = (flags == 1, cseq, cend, ccrc)
    salt = crc32c(store_id)
    head = hashlib.sha256(data[:64]).digest()
    batch = hashlib.sha256(head)
    off, seq, prev = hsize, 1, hcrc
    records = batches = 0
    pending = 0
    end_off, end_prev = off, prev  # just after the last whole batch
    damaged = None
    while off < len(data):
        if off + 40 > len(data):
            damaged = "truncated frame header"
            break
        h = data[off:off + 40]
        stored, body_crc, fseq, length, flags, _r1, link, _r2, _durable = struct.unpack("<IIQIHHIIQ", h)
        if crc32c(h[4:], salt) != stored:
            damaged = "frame header checksum mismatch"
            break
        minimum = 33 if flags & 1 else 1
        if fseq != seq or link != prev or flags & ~1 or length > MAX_BODY or length < minimum:
            fail(off, seq, "frame out of place")
        body = data[off + 40:off + 40 + length]
        if len(body) != length:
            damaged = "frame body runs past the end of the file"
            break
        if crc32c(body) != body_crc:
            damaged = "frame body checksum mismatch"
            break
        end = flags & 1
        rec = body[:-32] if end else body
        batch.update(struct.pack("<QI", fseq, len(rec)) + rec)
        if show:
            print(f"{fseq}: {decode(rec)}")
        pending += 1
        off += 40 + length
        seq += 1
        prev = stored
        if end:
            head = batch.digest()
            if head != body[-32:]:
                fail(off - 40 - length, fseq, "hash chain mismatch")
            batch = hashlib.sha256(head)
            records += pending
            batches += 1
            pending = 0
            end_off, end_prev = off, prev
    next_seq = records + 1
    if damaged:
        # Damage is proven when a later frame was written after this sequence was durable.
        for o in range(off + 1, len(data) - 39):
            length = struct.unpack_from("<I", data, o + 16)[0]
            if length == 0 or length > MAX_BODY:
                continue
            f = frame_header(data, o, salt)
            if f and f[8] >= seq:
                fail(off, seq, f"{damaged}; the frame at offset {o} was written after sequence {seq} was durable")
    floor = max(close[1] if close else 0, snapshot_floor(path, store_id))
    if records < floor:
        fail(end_off, next_seq, f"records up to sequence {floor} were durable but only {records} remain")
    if close and close[0]:
        if records != close[1] or end_off != close[2] or end_prev != close[3] or len(data) != close[2]:
            fail(end_off, next_seq, f"closed cleanly at sequence {close[1]} (offset {close[2]}) but the file does not end there")
    tail = len(data) - end_off
    if tail > MAX_UNSYNCED:
        fail(end_off, next_seq, f"{tail} bytes follow the last valid batch, more than one write")
    if tail:
        print(f"warning: torn tail of {tail} bytes at offset {end_off} from sequence {next_seq}, never acknowledged", file=sys.stderr)
    print(f"records {records} batches {batches} head_hash {head.hex()}")


main()
