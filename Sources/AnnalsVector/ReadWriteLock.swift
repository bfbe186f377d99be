#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A reader-writer lock over `pthread_rwlock_t`: many readers at once, or one writer.
///
/// Used by the projection engine and by `SlotGraph`. Searches hold the read lock for milliseconds; with a plain
/// mutex they would queue behind each other and behind every lookup. On Linux the lock prefers writers, so a stream of overlapping searches cannot starve the engine's
/// catch-up (and with it every read-your-writes wait). Not reentrant: never take it again on the same thread.
///
/// `@unchecked Sendable` is sound: the pthread lock is built for use from many threads, and it is allocated once
/// (a stable address, as pthread requires) and freed only in `deinit`, when no thread can hold it.
public final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// A lock that prefers writers (on Linux).
    public init() {
        lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            // PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (2): glibc's only kind in which waiting writers block new
            // readers. Spelled as its value because the Swift importer does not see the GNU-only enum.
            pthread_rwlockattr_setkind_np(&attributes, 2)
        #endif
        let rc = pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the lock shared.
    public func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the lock alone.
    public func withWriteLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
