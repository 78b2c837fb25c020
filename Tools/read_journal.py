#!/usr/bin/env python3
"""An independent reader of BankCore journals, written from Docs/FileFormat.md alone.

    Tools/read_journal.py PATH [--records]

Checks the header, the close block (format versions 2 to 4), every frame's salted header CRC32C, body
CRC32C, sequence number, link and flags, and the SHA-256 hash chain, and applies the recovery rules
(a torn tail is at most one write, never below a floor: a clean close, a dirty close block's
sequence, a stale snapshot's sequence, a later frame's durable watermark). Prints the record and
batch counts and the head hash (the same figures `bankctl verify` prints) and exits 0, with a
"warning:" line on stderr for a torn tail (never acknowledged, which a writer would cut); or exits
65 naming the byte offset of the first problem. It only reads: nothing is cut or written.
With --records it also decodes and prints every record.
"""
import hashlib
import os
import stat
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


SNAP_HEADER = 96


def read_snapshot(path, store_id, journal_size):
    """The snapshot beside the journal if it is acceptable (Docs/FileFormat.md, "Snapshot file"):
    (sequence, frame offset, frame header CRC, chain hash), else None. It is untrusted input:
    opened without blocking, only a regular file, its declared payload length checked against
    the file size and the journal's size before the payload is read."""
    try:
        fd = os.open(path + ".snapshot", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size < SNAP_HEADER:
            return None
        head = os.pread(fd, SNAP_HEADER, 0)
        if len(head) != SNAP_HEADER or head[:8] != b"BCSNAP01":
            return None
        (declared,) = struct.unpack_from("<Q", head, 80)
        if declared != st.st_size - SNAP_HEADER:
            return None
        if st.st_size > journal_size + (1 << 20) + SNAP_HEADER:
            return None
        (version,) = struct.unpack_from("<I", head, 8)
        if version != 1 or head[12:28] != store_id:
            return None
        if crc32c(head[:92]) != struct.unpack_from("<I", head, 92)[0]:
            return None
        payload = os.pread(fd, declared, SNAP_HEADER) if declared else b""
        if len(payload) != declared or crc32c(payload) != struct.unpack_from("<I", head, 88)[0]:
            return None
        seq, frame_off, frame_crc = struct.unpack_from("<QQI", head, 28)
        return seq, frame_off, frame_crc, head[48:80]
    except OSError:
        return None
    finally:
        os.close(fd)


def snapshot_holds(data, snap, salt, frames_start):
    """Whether the journal still holds, unchanged, the end frame a snapshot names."""
    seq, frame_off, frame_crc, chain = snap
    if frame_off < frames_start:
        return False
    f = frame_header(data, frame_off, salt)
    if not f or f[2] != seq or f[0] != frame_crc or not f[4] & 1 or f[3] <= 32:
        return False
    body = data[frame_off + 40:frame_off + 40 + f[3]]
    return len(body) == f[3] and crc32c(body) == f[1] and body[-32:] == chain


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    path = sys.argv[1]
    data = open(path, "rb").read()
    show = "--records" in sys.argv
    if len(data) < 64 and (not any(data) or b"BANKCORE".startswith(data[:8])):
        # A store whose creation did not complete before its header was synced: nothing was ever
        # written to it, so it is empty. (bankctl verify then prints the hash of a placeholder
        # header, which this reader does not reproduce.)
        print("warning: the file is shorter than a header: a store whose creation did not complete", file=sys.stderr)
        print("records 0 batches 0 head_hash none")
        return
    if len(data) < 64 or data[:8] != b"BANKCORE":
        fail(0, 0, "not a BankCore journal")
    version, hsize = struct.unpack_from("<II", data, 8)
    store_id = data[16:32]
    (hcrc,) = struct.unpack_from("<I", data, 60)
    # Version 4 from version 3: bytes 40..<44 hold the patch that keeps the checksum; the chain
    # starts from the version-3 form (version 3, those bytes zero), which has the same checksum.
    as_created = data[:8] + struct.pack("<I", 3) + data[12:40] + bytes(20)
    genesis = data[:64]
    if crc32c(data[:60]) != hcrc and version in (3, 4) and hsize == 128 and crc32c(as_created) == hcrc:
        version = 3  # an upgrade cut short: still version 3, its chain from the version-3 form
        genesis = as_created + data[60:64]
    elif crc32c(data[:60]) != hcrc or version not in (1, 2, 3, 4) or hsize != (64 if version == 1 else 128):
        fail(0, 0, "bad file header")
    elif version == 4 and any(data[40:44]):
        genesis = as_created + data[60:64]
    if version >= 2 and len(data) < 128:
        print("warning: the journal's creation was never completed: an empty store", file=sys.stderr)
        print("records 0 batches 0 head_hash none")
        return
    close = None
    if version == 2:
        block = data[64:128]
        flags, cseq, cend, ccrc = struct.unpack_from("<IQQI", block, 8)
        if block[:8] == b"BCCLOSE1" and crc32c(block[:60]) == struct.unpack_from("<I", block, 60)[0] \
                and flags <= 1 and cend < 1 << 63:
            close = (flags == 1, cseq, cend, ccrc)
    elif version >= 3:
        # Two 32-byte copies written alternately; the valid one with the newer generation wins.
        best = None
        for slot in (data[64:96], data[96:128]):
            gen, flags, cseq, cend, ccrc, crc = struct.unpack_from("<IIQQII", slot, 0)
            if crc32c(slot[:28]) != crc or flags > 1 or cend >= 1 << 63:
                continue
            if best is None or ((gen - best[0]) & 0xFFFFFFFF) < 0x80000000 and gen != best[0]:
                best = (gen, (flags == 1, cseq, cend, ccrc))
        close = best[1] if best else None
    if version >= 2 and close is None:
        # A torn write of the close block: fall back to the frames' own checksums.
        print("warning: the close block could not be used: recovered from the frames' own checksums", file=sys.stderr)
    salt = crc32c(store_id)
    head = hashlib.sha256(genesis).digest()
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
    # Version 4, not closed cleanly: the zeros after the last byte that is not zero are space a
    # writer reserved, not a tail.
    data_end = len(data)
    if version == 4 and not (close and close[0]):
        data_end = max(len(data.rstrip(b"\0")), end_off)
    snap = read_snapshot(path, store_id, len(data))
    snap_valid = snap is not None and snapshot_holds(data, snap, salt, hsize)
    if damaged and off < data_end:
        if snap_valid and off < snap[1]:
            # The snapshot vouches for this prefix, but its bytes are damaged.
            fail(off, seq, f"{damaged}, before the end frame of the snapshot (offset {snap[1]})")
        # Damage is proven when a later frame was written after this sequence was durable.
        for o in range(off + 1, data_end - 39):
            length = struct.unpack_from("<I", data, o + 16)[0]
            if length == 0 or length > MAX_BODY:
                continue
            f = frame_header(data, o, salt)
            if f and f[8] >= seq:
                fail(off, seq, f"{damaged}; the frame at offset {o} was written after sequence {seq} was durable")
    # A stale snapshot (intact, but the journal no longer holds its frame) is a floor too.
    floor = max(close[1] if close else 0, snap[0] if snap and not snap_valid else 0)
    if records < floor:
        fail(end_off, next_seq, f"records up to sequence {floor} were durable but only {records} remain")
    if close and close[0]:
        if records != close[1] or end_off != close[2] or end_prev != close[3] or len(data) != close[2]:
            fail(end_off, next_seq, f"closed cleanly at sequence {close[1]} (offset {close[2]}) but the file does not end there")
    tail = data_end - end_off
    if tail > MAX_UNSYNCED:
        fail(end_off, next_seq, f"{tail} bytes follow the last valid batch, more than one write")
    if tail:
        print(f"warning: torn tail of {tail} bytes at offset {end_off} from sequence {next_seq}, never acknowledged", file=sys.stderr)
    print(f"records {records} batches {batches} head_hash {head.hex()}")


main()
