internal import CAnnalsKernels
import Foundation
import Logging

/// Keeps zeroed, allocated space in the data file ahead of the log's last page, so that commits overwrite blocks
/// instead of extending the file.
///
/// Why: when a write extends a file or lands on blocks not yet allocated, `fdatasync` must also write the inode (the
/// file's size and block map) and wait for it, one more device round trip on every commit. LMDB's pages for new
/// records always go past the end of the file, so without this every commit paid it. On this project's ext4
/// machine, two `fdatasync`s after a 72 KiB write took 325–390 µs when the write extended the file and 230–260 µs
/// when it overwrote zeros written before (`fallocate` does not help: its unwritten extents need the same
/// metadata update when first written). PostgreSQL zero-fills its WAL segments for the same reason.
///
/// How it stays safe:
/// - Zeros are written only by the writer thread, inside its own write transaction and before that transaction's
///   first write, and only at or past the file's current end. LMDB's write lock keeps every other writer (in any
///   process) out meanwhile, LMDB has put nothing at or past the end of the file, and whatever this transaction
///   writes there later lands on top of the zeros. Pages past the last one LMDB uses are never read.
/// - The zeros' write-back starts as soon as they are written, and a helper thread then syncs the file, so that the
///   file's new size and blocks are written by that sync and not by the next commit's. Both go through a descriptor
///   of the preallocator's own. That matters: Linux reports a failed write-back once per open file description, and
///   a sync through LMDB's descriptor could take an error that LMDB's own commit then would not see.
/// - Failing to write or sync zeros (a full disk, say) is not an error of the append; it only costs the old speed.
///   After a failure the preallocator rests for `retryDelay` before it tries again. It also writes nothing while
///   less than `freeBytesMin` is free on the file system, so as not to take the last space from other writers.
/// - The cost: every byte of the log is written to the device twice, once as zeros.
///
/// `@unchecked Sendable` is sound because `reserve` runs only on the writer thread, and the state it shares with
/// the sync thread (`pending`, `syncFailed`, `stopping`, `running`) is guarded by `condition`.
final class Preallocator: @unchecked Sendable {
    /// Zeros written per transaction at most. A quarter MiB (about 60 µs to write here) is written back before the
    /// commit after it syncs; 128 KiB, 512 KiB and 1 MiB steps measured slower commits.
    static let stepBytesMax = 256 << 10
    static let retryDelay: Duration = .seconds(1)
    /// No zeros are written while less than this is free for unprivileged writers on the log's file system.
    static let freeBytesMin = 32 << 20

    private let descriptor: Int32
    private let aheadBytes: Int
    private let logger: Logger
    private let zeros: UnsafeMutableRawPointer
    private var resumeAt: ContinuousClock.Instant?
    private let condition = NSCondition()
    private var pending = false
    private var syncFailed = false
    private var stopping = false
    private var running = true

    /// Opens its own descriptor of `dataFile` and starts the sync thread; nil (and a log line) when the file cannot
    /// be opened for writing, in which case the log works as before.
    init?(dataFile: String, aheadBytes: Int, logger: Logger) {
        let descriptor = open(dataFile, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            logger.notice(
                "log preallocation off: cannot open the data file",
                metadata: ["error": "\(String(cString: strerror(errno)))"])
            return nil
        }
        self.descriptor = descriptor
        self.aheadBytes = aheadBytes
        self.logger = logger
        zeros = calloc(1, Self.stepBytesMax)!
        let thread = Thread { [self] in self.syncLoop() }
        thread.name = "annals-log-prealloc"
        thread.start()
    }

    deinit {
        free(zeros)
    }

    /// Writes `stepBytesMax` zeros at the end of the data file when fewer than `aheadBytes` lie past
    /// `usedBytes` (the end of LMDB's last page), never past `limitBytes` (the map), and only while `freeBytes`
    /// (asked only when a step is due) leaves `freeBytesMin`. Call only on the writer thread, inside a write
    /// transaction, before it writes anything.
    func reserve(usedBytes: Int, limitBytes: Int, freeBytes: () -> Int?) {
        condition.lock()
        if syncFailed {
            syncFailed = false
            resumeAt = ContinuousClock.now + Self.retryDelay
        }
        condition.unlock()
        if let resumeAt {
            guard ContinuousClock.now >= resumeAt else { return }
            self.resumeAt = nil
        }
        let size = lseek(descriptor, 0, SEEK_END)
        guard size >= 0 else { return }
        let end = Int(size)
        // Topped up a whole step at a time, so that the sync thread syncs a step now and then rather than a
        // commit's worth every time: the lead stays between `aheadBytes` and a step more.
        guard end - usedBytes < aheadBytes else { return }
        let length = min(Self.stepBytesMax, limitBytes - end)
        guard length > 0 else { return }
        if let free = freeBytes(), free < Self.freeBytesMin + length {
            resumeAt = ContinuousClock.now + Self.retryDelay
            return
        }
        var written = 0
        while written < length {
            let count = pwrite(descriptor, zeros, length - written, off_t(end + written))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                // What was written stays: zeros past LMDB's pages are harmless, and LMDB writes over them.
                logger.notice(
                    "log preallocation paused",
                    metadata: [
                        "error": "\(count < 0 ? String(cString: strerror(errno)) : "no progress")",
                        "log.file_bytes": "\(end + written)",
                    ])
                resumeAt = ContinuousClock.now + Self.retryDelay
                break
            }
            written += count
        }
        if written > 0 {
            // Starting the zeros' write-back at once, rather than leaving it all to the sync thread, lets it finish
            // before this transaction's commit syncs the file (which would wait for it).
            _ = annals_writeback_window(descriptor, Int64(end), Int64(end), Int64(written))
            condition.lock()
            pending = true
            condition.signal()
            condition.unlock()
        }
    }

    /// Ends the sync thread once its current sync is done, and with it the descriptor. Call after the writer's
    /// last transaction.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while running { condition.wait() }
        condition.unlock()
    }

    private func syncLoop() {
        condition.lock()
        while true {
            while !pending && !stopping { condition.wait() }
            if stopping { break }
            pending = false
            condition.unlock()
            let failed = fdatasync(descriptor) != 0
            if failed {
                // LMDB's own commits sync through their descriptor and see a failed write-back themselves.
                logger.warning(
                    "log preallocation paused: fdatasync failed",
                    metadata: ["error": "\(String(cString: strerror(errno)))"])
            }
            condition.lock()
            if failed { syncFailed = true }
        }
        // The thread ends once, after the writer's last transaction (see `stop`): the descriptor's last user.
        close(descriptor)
        running = false
        condition.broadcast()
        condition.unlock()
    }
}
