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


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    data = open(sys.argv[1], "rb").read()
    show = "--records" in sys.argv
    if len(data) < 64 or data[:8] != b"BANKCORE":
        fail(0, 0, "not a BankCore journal")
    version, hsize = struct.unpack_from("<II", data, 8)
    store_id = data[16:32]
    (hcrc,) = struct.unpack_from("<I", data, 60)
    if crc32c(data[:60]) != hcrc or version != 1 or hsize != 64:
        fail(0, 0, "bad file header")
    salt = crc32c(store_id)
    head = hashlib.sha256(data[:64]).digest()
    batch = hashlib.sha256(head)
    off, seq, prev = 64, 1, hcrc
    records = batches = 0
    pending = 0
    while off < len(data):
        if off + 40 > len(data):
            fail(off, seq, "truncated frame header")
        h = data[off:off + 40]
        stored, body_crc, fseq, length, flags, _r1, link, _r2, _durable = struct.unpack("<IIQIHHIIQ", h)
        if crc32c(h[4:], salt) != stored:
            fail(off, seq, "frame header checksum mismatch")
        if fseq != seq or link != prev or flags & ~1:
            fail(off, seq, "frame out of place")
        body = data[off + 40:off + 40 + length]
        if len(body) != length or crc32c(body) != body_crc:
            fail(off, seq, "frame body checksum mismatch")
        end = flags & 1
        rec = body[:-32] if end else body
        batch.update(struct.pack("<QI", fseq, len(rec)) + rec)
        if show:
            print(f"{fseq}: {decode(rec)}")
        pending += 1
        if end:
            head = batch.digest()
            if head != body[-32:]:
                fail(off, seq, "hash chain mismatch")
            batch = hashlib.sha256(head)
            records += pending
            batches += 1
            pending = 0
        off += 40 + length
        seq += 1
        prev = stored
    if pending:
        fail(off, seq, "the file ends inside a batch (a torn tail that bankctl would truncate)")
    print(f"records {records} batches {batches} head_hash {head.hex()}")


main()
