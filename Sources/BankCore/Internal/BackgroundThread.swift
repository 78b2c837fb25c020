#if canImport(Glibc)
  import Glibc
#endif

/// A detached POSIX thread for work that must not run on a caller's thread (the bank's automatic
/// snapshots). The package has no dependencies, so no Foundation `Thread`.
enum BackgroundThread {
  private final class Box: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }

  /// Starts `body` on a new detached thread.
  ///
  /// - Returns: `false` when no thread could be created (the caller runs `body` itself).
  static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
      &thread, nil,
      { arg in
        guard let arg else { return nil }
        Unmanaged<Box>.fromOpaque(arg).takeRetainedValue().body()
        return nil
      }, box)
    if rc != 0 {
      Unmanaged<Box>.fromOpaque(box).release()
      return false
    }
    pthread_detach(thread)
    return true
  }

  static func sleep(microseconds: UInt32) { usleep(microseconds) }
}
