import Foundation
import Synchronization
import TestSupport

@testable import BankCore

/// A deterministic, in-memory file system that models what a crash does to unsynced data, in the
/// way SQLite's crash tests and FoundationDB's simulated files do.
///
/// Each file keeps the bytes that are durable and the writes made since the last sync. At a crash
/// every unsynced write is, independently, kept, dropped or torn (a prefix of it kept), in the
/// order written. Faults are drawn from a seeded generator: short writes, `ENOSPC`, `EIO` on
/// `fdatasync` and `fsync`, a crash at the Nth sync, and bit flips in synced data. A write of at
/// most 64 bytes inside one 512-byte sector (the close block) is atomic (never short, never
/// torn), as disks write sectors. `O_DIRECT` reads are refused, real, or served from the cache
/// (``DirectReads``), chosen per round.
///
/// Simplifications, stated: creating, renaming and unlinking files are durable at once (the real
/// backend fsyncs the directory after each, which is what makes them so); locks always succeed
/// (one process).
final class SimulatedFileSystem: FileSystem {
  struct Write {
    let offset: Int
    let bytes: [UInt8]
  }

  struct File {
    var durable: [UInt8] = []
    /// What reads see: the page cache.
    var current: [UInt8] = []
    var unsynced: [Write] = []
    /// Regions whose writeback failed, with the bytes the disk still holds there: the cache
    /// shows the failed writes until it is evicted, but no later sync ever persists them.
    var lost: [Write] = []
  }

  /// What `O_DIRECT` does on this file system.
  enum DirectReads: CaseIterable {
    /// Refused (`EINVAL`), as on tmpfs before Linux 6.6.
    case none
    /// Reads what the disk holds.
    case real
    /// Accepted but served from the cache, as ext4 does under `data=journal` or fs-verity.
    case fake
  }

  struct Faults {
    /// Probability (per mille) that a write is cut short.
    var shortWritePerMille: UInt64 = 0
    /// Probability (per mille) that a write fails with ENOSPC.
    var enospcPerMille: UInt64 = 0
    /// Probability (per mille) that an fdatasync fails with EIO.
    var eioPerMille: UInt64 = 0
    /// Crash when this many data syncs have been attempted (0: never).
    var crashAtSync: Int = 0
    /// Linux's behaviour after a failed writeback (ext4 since 4.13): the failed pages are marked
    /// clean, so they stay visible in the cache until evicted and a later sync succeeds without
    /// writing them. When false, they stay dirty and a crash decides their fate.
    var eioLosesPages = false
  }

  struct State {
    var files: [String: File] = [:]
    var fds: [Int32: String] = [:]
    var directoryFDs: Set<Int32> = []
    /// Descriptors from ``openDirect(_:)``: their reads see the disk, not the cache.
    var directFDs: Set<Int32> = []
    var direct = DirectReads.real
    /// Probability (per mille) that a direct read longer than one block returns a block-aligned
    /// prefix only (kept across crashes, like ``direct``).
    var shortDirectReadPerMille: UInt64 = 0
    /// Whether a write inside one 512-byte sector is atomic (never short, never torn by a
    /// crash), as disks promise; when false, even the close block's writes can be cut short
    /// and torn (a process killed in the middle of its `pwrite` loop, issue 17).
    var sectorsAtomic = true
    var nextFD: Int32 = 3
    var rng: SplitMix64
    var faults = Faults()
    var syncs = 0
    var crashed = false
    var log: [String] = []
    /// Everything that happened, for a failing seed's report.
    var trace: [String] = []
  }

  let state: Mutex<State>

  init(seed: UInt64) { state = Mutex(State(rng: SplitMix64(seed: seed))) }

  func configure(_ faults: Faults) { state.withLock { $0.faults = faults } }
  func configure(direct: DirectReads, shortReadsPerMille: UInt64 = 0, sectorsAtomic: Bool = true) {
    state.withLock {
      $0.direct = direct
      $0.shortDirectReadPerMille = shortReadsPerMille
      $0.sectorsAtomic = sectorsAtomic
    }
  }
  var crashed: Bool { state.withLock { $0.crashed } }
  var syncCount: Int { state.withLock { $0.syncs } }

  /// Applies a crash: each unsynced write is kept, dropped or torn; every open descriptor dies.
  func crash() {
    state.withLock { s in
      for (path, var f) in s.files {
        var image = f.durable
        for w in f.unsynced {
          let fate = s.rng.next() % 3
          // Disks write a sector atomically: a write inside one 512-byte sector (the journal's
          // close block, rewritten in place) is kept or dropped, never torn. PostgreSQL keeps
          // pg_control within 512 bytes for the same reason.
          let atomic = s.sectorsAtomic && Self.withinOneSector(w.offset, w.bytes.count)
          let keep =
            fate == 0 || (atomic && fate == 2)
            ? w.bytes.count : fate == 1 ? 0 : Int(s.rng.next() % UInt64(w.bytes.count + 1))
          if keep == 0 { continue }
          if image.count < w.offset + keep {
            image += [UInt8](repeating: 0, count: w.offset + keep - image.count)
          }
          image.replaceSubrange(w.offset..<(w.offset + keep), with: w.bytes[0..<keep])
        }
        s.trace.append("crash: \(path.suffix(8)) durable \(f.durable.count) -> \(image.count)")
        for l in f.lost { Self.overlay(&image, l) }
        f.durable = image
        f.current = image
        f.unsynced = []
        f.lost = []
        s.files[path] = f
      }
      s.fds = [:]
      s.directoryFDs = []
      s.directFDs = []
      s.crashed = false
      s.faults = Faults()
    }
  }

  /// Flips one bit of a file's durable bytes at or after `from`; returns the byte offset.
  func flipDurableBit(_ path: String, from: Int) -> Int? {
    state.withLock { s -> Int? in
      guard var f = s.files[path], f.durable.count > from else { return nil }
      let off = from + Int(s.rng.next() % UInt64(f.durable.count - from))
      let bit = UInt8(1 << (s.rng.next() % 8))
      f.durable[off] ^= bit
      // A region whose writeback failed says what the disk holds there: the flip is in it too.
      f.lost = f.lost.map { w in
        guard (w.offset..<(w.offset + w.bytes.count)).contains(off) else { return w }
        var bytes = w.bytes
        bytes[off - w.offset] ^= bit
        return Write(offset: w.offset, bytes: bytes)
      }
      f.current = f.durable
      f.unsynced = []
      s.files[path] = f
      return off
    }
  }

  func bytes(_ path: String) -> [UInt8] { state.withLock { $0.files[path]?.current ?? [] } }
  /// What the disk holds for a file.
  func durableBytes(_ path: String) -> [UInt8] {
    state.withLock { $0.files[path]?.durable ?? [] }
  }

  /// Whether a write is one of the small in-place writes a disk makes atomically: at most 64
  /// bytes (the journal's close block), inside one 512-byte sector. Larger writes (frames) can
  /// still be cut short and torn anywhere.
  static func withinOneSector(_ offset: Int, _ count: Int) -> Bool {
    count > 0 && count <= 64 && offset / 512 == (offset + count - 1) / 512
  }

  /// Removes `range` from the failed writes (their bytes there are gone or written anew).
  private static func forget(_ lost: inout [Write], _ range: Range<Int>) {
    lost = lost.flatMap { w -> [Write] in
      let end = w.offset + w.bytes.count
      guard w.offset < range.upperBound, range.lowerBound < end else { return [w] }
      var kept: [Write] = []
      if w.offset < range.lowerBound {
        kept.append(
          Write(offset: w.offset, bytes: Array(w.bytes[0..<(range.lowerBound - w.offset)])))
      }
      if range.upperBound < end {
        kept.append(
          Write(offset: range.upperBound, bytes: Array(w.bytes[(range.upperBound - w.offset)...])))
      }
      return kept
    }
  }

  /// Writes `w` over `image` where it overlaps (never extending it).
  private static func overlay(_ image: inout [UInt8], _ w: Write) {
    let end = min(image.count, w.offset + w.bytes.count)
    guard w.offset < end else { return }
    image.replaceSubrange(w.offset..<end, with: w.bytes[0..<(end - w.offset)])
  }

  /// What a read that bypasses the cache sees: the disk, after the kernel wrote back the dirty
  /// pages of the range (as Linux does before an `O_DIRECT` read); never a failed write.
  private static func diskImage(_ f: File) -> [UInt8] {
    var image = f.durable
    for w in f.unsynced {
      if w.bytes.isEmpty {
        if image.count > w.offset { image.removeLast(image.count - w.offset) }
        continue
      }
      if image.count < w.offset + w.bytes.count {
        image += [UInt8](repeating: 0, count: w.offset + w.bytes.count - image.count)
      }
      image.replaceSubrange(w.offset..<(w.offset + w.bytes.count), with: w.bytes)
    }
    return image
  }

  func openDirect(_ path: String) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      if s.direct == .none { return -EINVAL }
      guard s.files[path] != nil else { return -ENOENT }
      let fd = s.nextFD
      s.nextFD += 1
      s.fds[fd] = path
      s.directFDs.insert(fd)
      return fd
    }
  }

  func dropCache(_ fd: Int32, offset: Int64, length: Int64) {
    state.withLock { s in
      guard let path = s.fds[fd], var f = s.files[path] else { return }
      // Clean pages of the range are dropped and read again from the disk; dirty ones stay.
      let disk = Self.diskImage(f)
      let lo = Int(offset)
      let hi = min(Int(offset + length), f.current.count, disk.count)
      guard lo < hi else { return }
      s.trace.append("drop \(path.suffix(8)) \(lo)..<\(hi)")
      f.current.replaceSubrange(lo..<hi, with: disk[lo..<hi])
      Self.forget(&f.lost, lo..<hi)
      s.files[path] = f
    }
  }

  func evictCache(_ fd: Int32) {
    state.withLock { s in
      guard let path = s.fds[fd], var f = s.files[path] else { return }
      // Clean pages are dropped and read again from the disk; dirty ones stay.
      let image = Self.diskImage(f)
      s.trace.append("evict \(path.suffix(8)) cache \(f.current.count) -> \(image.count)")
      f.current = image
      f.lost = []
      s.files[path] = f
    }
  }

  private func dead(_ s: State) -> Bool { s.crashed }

  func open(_ path: String, flags: Int32, mode: UInt32) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      if flags & O_DIRECTORY != 0 {
        let fd = s.nextFD
        s.nextFD += 1
        s.directoryFDs.insert(fd)
        return fd
      }
      if s.files[path] == nil {
        guard flags & O_CREAT != 0 else { return -ENOENT }
        s.files[path] = File()
      }
      if flags & O_TRUNC != 0 {
        s.files[path]?.current = []
        s.files[path]?.durable = []
        s.files[path]?.unsynced = []
      }
      let fd = s.nextFD
      s.nextFD += 1
      s.fds[fd] = path
      return fd
    }
  }

  func close(_ fd: Int32) {
    state.withLock {
      $0.fds.removeValue(forKey: fd)
      $0.directoryFDs.remove(fd)
      $0.directFDs.remove(fd)
    }
  }

  func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int {
    state.withLock { s -> Int in
      if s.crashed { return -Int(EIO) }
      guard let path = s.fds[fd], let f = s.files[path] else { return -Int(EBADF) }
      let o = Int(offset)
      let isDirect = s.directFDs.contains(fd)
      // `O_DIRECT` refuses a transfer not aligned to the logical block size in offset, length or
      // buffer, as Linux does, wherever the descriptor was accepted.
      if isDirect && (o % 512 != 0 || count % 512 != 0 || Int(bitPattern: buffer) % 512 != 0) {
        s.trace.append("pread direct unaligned \(o) \(count): EINVAL")
        return -Int(EINVAL)
      }
      let seen = isDirect && s.direct == .real ? Self.diskImage(f) : f.current
      guard o < seen.count else { return 0 }
      var n = min(count, seen.count - o)
      // A direct read may come back short on a block boundary (a device's request size).
      if isDirect && n > 4096 && s.shortDirectReadPerMille > 0
        && s.rng.next() % 1000 < s.shortDirectReadPerMille
      {
        n = 4096 * (1 + Int(s.rng.next() % UInt64((n - 1) / 4096)))
      }
      seen.withUnsafeBytes { src in
        if let base = src.baseAddress { buffer.copyMemory(from: base + o, byteCount: n) }
      }
      return n
    }
  }

  func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int {
    state.withLock { s -> Int in
      if s.crashed { return -Int(EIO) }
      guard let path = s.fds[fd], var f = s.files[path] else { return -Int(EBADF) }
      if s.faults.enospcPerMille > 0 && s.rng.next() % 1000 < s.faults.enospcPerMille {
        s.log.append("ENOSPC")
        return -Int(ENOSPC)
      }
      var n = count
      // A write inside one 512-byte sector is written whole or not at all (see ``crash()``).
      if count > 1 && (!s.sectorsAtomic || !Self.withinOneSector(Int(offset), count))
        && s.faults.shortWritePerMille > 0
        && s.rng.next() % 1000 < s.faults.shortWritePerMille
      {
        n = 1 + Int(s.rng.next() % UInt64(count - 1))
      }
      let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: n))
      let o = Int(offset)
      s.trace.append("pwrite \(path.suffix(8)) @\(o) +\(n)")
      if f.current.count < o + n {
        f.current += [UInt8](repeating: 0, count: o + n - f.current.count)
      }
      f.current.replaceSubrange(o..<(o + n), with: bytes)
      f.unsynced.append(Write(offset: o, bytes: bytes))
      // Written again, those bytes are dirty again: the next sync writes them.
      Self.forget(&f.lost, o..<(o + n))
      s.files[path] = f
      return n
    }
  }

  private func sync(_ fd: Int32) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      guard let path = s.fds[fd], var f = s.files[path] else { return -EBADF }
      // fsync and fdatasync fail and crash alike.
      s.syncs += 1
      if s.faults.crashAtSync > 0 && s.syncs >= s.faults.crashAtSync {
        s.crashed = true
        s.log.append("crash at sync \(s.syncs)")
        return -EIO
      }
      if s.faults.eioPerMille > 0 && s.rng.next() % 1000 < s.faults.eioPerMille {
        s.log.append("EIO on sync \(s.syncs)")
        if s.faults.eioLosesPages {
          for w in f.unsynced where !w.bytes.isEmpty {
            var old = [UInt8](repeating: 0, count: w.bytes.count)
            for i in 0..<w.bytes.count where w.offset + i < f.durable.count {
              old[i] = f.durable[w.offset + i]
            }
            f.lost.append(Write(offset: w.offset, bytes: old))
          }
          f.unsynced = []
          s.files[path] = f
        }
        // Otherwise the kernel keeps the pages dirty: leave them unsynced, so a crash decides.
        return -EIO
      }
      f.durable = f.current
      for l in f.lost { Self.overlay(&f.durable, l) }
      f.unsynced = []
      s.files[path] = f
      s.trace.append("sync \(path.suffix(8)) size \(f.current.count)")
      return 0
    }
  }

  func fdatasync(_ fd: Int32) -> Int32 { sync(fd) }
  func fsync(_ fd: Int32) -> Int32 {
    // Directory syncs arrive as fsync on a directory descriptor: nothing to do in this model.
    let isDir = state.withLock { $0.directoryFDs.contains(fd) }
    return isDir ? 0 : sync(fd)
  }

  func ftruncate(_ fd: Int32, _ length: Int64) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      guard let path = s.fds[fd], var f = s.files[path] else { return -EBADF }
      let n = Int(length)
      s.trace.append("truncate \(path.suffix(8)) to \(n)")
      if f.current.count > n {
        f.current.removeLast(f.current.count - n)
      } else {
        f.current += [UInt8](repeating: 0, count: n - f.current.count)
      }
      // Truncation is applied to the durable image too once synced; model it as a write.
      f.unsynced.append(Write(offset: n, bytes: []))
      Self.forget(&f.lost, n..<Int.max)
      s.files[path] = f
      return 0
    }
  }

  /// `fallocate`: the file grows to cover the range with zeros, as an unsynced write of zeros
  /// past the old end (a crash keeps, drops or tears it like any write); `ENOSPC` as writes do.
  func reserve(_ fd: Int32, offset: Int64, length: Int64) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      guard let path = s.fds[fd], var f = s.files[path] else { return -EBADF }
      if s.faults.enospcPerMille > 0 && s.rng.next() % 1000 < s.faults.enospcPerMille {
        s.log.append("ENOSPC (reserve)")
        return -ENOSPC
      }
      let end = Int(offset + length)
      guard end > f.current.count else { return 0 }
      let from = f.current.count
      s.trace.append("reserve \(path.suffix(8)) \(from)..<\(end)")
      s.log.append("reserve")
      let zeros = [UInt8](repeating: 0, count: end - from)
      f.current += zeros
      f.unsynced.append(Write(offset: from, bytes: zeros))
      s.files[path] = f
      return 0
    }
  }

  func size(_ fd: Int32) -> Int64 {
    state.withLock { s -> Int64 in
      guard let path = s.fds[fd], let f = s.files[path] else { return -Int64(EBADF) }
      return Int64(f.current.count)
    }
  }

  func rename(_ from: String, _ to: String) -> Int32 {
    state.withLock { s -> Int32 in
      if s.crashed { return -EIO }
      guard let f = s.files.removeValue(forKey: from) else { return -ENOENT }
      s.files[to] = f
      return 0
    }
  }

  func unlink(_ path: String) -> Int32 {
    state.withLock { s -> Int32 in s.files.removeValue(forKey: path) == nil ? -ENOENT : 0 }
  }

  func tryLock(_ fd: Int32) -> Int32 { 0 }
  func isDirectory(_ path: String) -> Bool { false }
}
