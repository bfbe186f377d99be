internal import CLMDB
import Foundation
import Logging
import Synchronization

/// The one thread that writes to the log, with group commit.
///
/// LMDB write transactions must begin and end on one OS thread, and Swift tasks hop threads, so every write goes
/// through this thread. Appenders enqueue prepared batches and suspend; the thread opens a transaction, writes
/// every batch queued (up to `commitBytesMax`) and those that arrive during a short gather, commits once (LMDB
/// fsyncs data, then meta), and resumes every waiter. Under load, one commit carries the batches of many
/// appenders: that is where the throughput comes from.
///
/// `@unchecked Sendable` is sound because the queue and flags are guarded by `condition`, the chain state is
/// touched only on the writer thread, and `head` is a `Mutex`.
final class Writer: @unchecked Sendable {
    struct Batch: Sendable {
        var records: [PreparedRecord]
        var expectations: [([UInt8], ExpectedVersion)]
        var idempotencyKey: [UInt8]
        var bytes: Int
        /// When the appender submitted it: the gather window runs from the latest submission (see `gather`). A
        /// monotonic instant, so that a step of the wall clock cannot stretch a wait.
        var submitted: ContinuousClock.Instant
        var continuation: UnsafeContinuation<AppendResult, any Error>
    }

    private unowned let log: LMDBEventLog
    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var stopping = false
    private var finished = false
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    /// Chain state as of the last commit; only the writer thread reads or writes it.
    private var chain: LMDBEventLog.ChainState
    private var lastTimestamp: Int64 = 0
    private let head: Mutex<UInt64>
    /// Batches in the last group; the writer waits for about as many before the next commit, unless they trickle in
    /// (see `trickling`).
    private var lastGroupCount = 0
    /// How many queued batches make `submit` wake the writer: one while it idles, a few while it gathers (one, at a
    /// gather's start after a group that trickled in).
    /// Guarded by `condition`.
    private var wakeAt = 1
    private let gatherWindow: Duration
    /// How long commits take, from the end of a group's writing to durable: a moving average, nil before the first.
    /// Only the writer thread reads or writes it.
    private var commitTime: Duration?
    /// Whether the last group that had batches was closed because they trickled in (see `trickling`). Only the
    /// writer thread reads or writes it.
    private var trickled = false
    /// While the writer sleeps in a gather: what `submit` needs to tell that the group's batches trickle in (see
    /// `trickling`), so that it wakes the writer then and only then. Guarded by `condition`, as is `paceWoke`.
    private var paceCheck: PaceCheck?
    private var paceWoke = false

    private struct PaceCheck {
        /// When the group's first batch was submitted, if the writer has taken one.
        var since: ContinuousClock.Instant?
        /// Batches the writer has taken into the group.
        var taken: Int
        /// The fewest batches whose pace is judged.
        var judgeFrom: Int
        /// The commit time the pace is measured against (`trickleBase`).
        var base: Duration
        /// Whether the group follows one that trickled in (see `Writer.trickles`).
        var settled: Bool

        /// Whether the group's batches, with those in `queue`, trickle in as of `now`.
        func trickles(_ queue: [Batch], at now: ContinuousClock.Instant) -> Bool {
            let count = taken + queue.count
            guard count >= judgeFrom, let first = since ?? queue.first?.submitted else { return false }
            return Writer.trickles(count: count, elapsed: first.duration(to: now), base: base, settled: settled)
        }
    }
    /// Zeros ahead of the data file's end; nil when turned off.
    private let preallocator: Preallocator?

    init(log: LMDBEventLog, chain: LMDBEventLog.ChainState, lastTimestamp: Int64) {
        self.log = log
        self.chain = chain
        self.lastTimestamp = lastTimestamp
        self.gatherWindow = log.configuration.gatherWindow
        self.head = Mutex(chain.head)
        let ahead = log.configuration.preallocateAheadBytes
        preallocator =
            ahead > 0
            ? Preallocator(dataFile: log.environment.dataFilePath, aheadBytes: ahead, logger: log.logger) : nil
        let thread = Thread { [self] in self.run() }
        thread.name = "annals-log-writer"
        thread.start()
    }

    /// The position of the last committed event.
    var committedHead: UInt64 { head.withLock { $0 } }

    /// Queues a batch; its continuation is resumed once the batch is durable or has failed.
    func submit(_ batch: Batch) {
        condition.lock()
        if stopping {
            condition.unlock()
            batch.continuation.resume(throwing: LogError(.closed, "the log is closed"))
            return
        }
        queue.append(batch)
        // Wake the writer only when it has something new to decide on (see `wakeAt`), or when its group's batches
        // trickle in (see `paceCheck`). Signalling on every submit cost a futex wake-up per appender and showed as
        // task switching in profiles.
        if queue.count >= wakeAt {
            condition.signal()
        } else if let paceCheck, !paceWoke, paceCheck.trickles(queue, at: batch.submitted) {
            paceWoke = true
            condition.signal()
        }
        condition.unlock()
    }

    /// Lets the queued batches commit, then ends the thread.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if finished {
                condition.unlock()
                continuation.resume()
                return
            }
            stopWaiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    private func run() {
        var openEarly = false
        while true {
            if openEarly {
                condition.lock()
                let stop = stopping
                condition.unlock()
                if !stop {
                    // Under load the appenders of the last group were resumed a moment ago: open their transaction
                    // now, so that its set-up (and the zeros ahead of the file) is done while they prepare.
                    openEarly = commit([])
                    continue
                }
                openEarly = false
            }
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                preallocator?.stop()
                condition.lock()
                finished = true
                let waiters = stopWaiters
                stopWaiters.removeAll()
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            // At least one batch, whatever its size, and as many more as fit the commit limit.
            let first = takeLocked(bytesLeft: max(log.configuration.commitBytesMax, queue[0].bytes))
            condition.unlock()
            openEarly = commit(first)
        }
    }

    /// Takes queued batches in order while their bytes fit `bytesLeft`. The caller holds `condition`.
    private func takeLocked(bytesLeft: Int) -> [Batch] {
        var taken = 0
        var bytes = 0
        while taken < queue.count && bytes + queue[taken].bytes <= bytesLeft {
            bytes += queue[taken].bytes
            taken += 1
        }
        let batches = Array(queue.prefix(taken))
        queue.removeFirst(taken)
        return batches
    }

    /// Writes a group that starts with `first` in one transaction and resumes its appenders once it is durable.
    ///
    /// Gathering overlaps with writing: the transaction is open while the appenders of the last group, resumed a
    /// moment ago, submit again, and each batch is written (encoded into its page, hashed, indexed) as it arrives.
    /// What is left for the moment the group is complete is the commit alone. The group closes when it is as large
    /// as the last one, when its batches trickle in (see `trickling`), when `gatherWindow` has passed, at the gather
    /// limit, or at `commitBytesMax` (see `gather`). When the map is full, the transaction is aborted, the map grows,
    /// and the same group is written again, as often as needed.
    ///
    /// `first` may be empty: the transaction is then opened before any batch has arrived, and is aborted if none
    /// arrives within `gatherWindow`. Returns whether the next transaction should be opened the same way: after a
    /// group of several batches, when more are surely on their way.
    private func commit(_ first: [Batch]) -> Bool {
        var group = first
        var gathering = gatherWindow > .zero
        var written: ContinuousClock.Instant?
        while true {
            do {
                let (results, newChain, timestamp) = try log.environment.withTransaction(write: true) { txn in
                    // Before anything is written in this transaction (see `Preallocator`).
                    if let preallocator {
                        let extent = log.environment.extent
                        preallocator.reserve(
                            usedBytes: extent.usedBytes, limitBytes: extent.mapBytes,
                            freeBytes: { self.log.environment.freeBytes })
                    }
                    // The group's time is taken when its first batch is written, so that it is never earlier than
                    // a batch's submission by more than the gather limit (`gatherLimitWindows`).
                    var pending: PendingGroup?
                    func take(_ batches: [Batch]) throws {
                        if pending == nil {
                            pending = PendingGroup(
                                chain: chain, timestamp: max(lastTimestamp, Self.nowMicros()),
                                expected: max(group.count, lastGroupCount))
                        }
                        try write(batches, into: &pending!, txn: txn)
                    }
                    if !group.isEmpty { try take(group) }
                    if gathering {
                        gathering = false
                        try gather(after: group) { more in
                            group += more
                            try take(more)
                        }
                    }
                    // Throwing aborts the transaction, which has written nothing.
                    guard let pending else { throw NothingGathered() }
                    let newChain = try finish(pending, txn: txn)
                    written = ContinuousClock.now
                    return (pending.results, newChain, pending.timestamp)
                }
                if let written {
                    let took = written.duration(to: ContinuousClock.now)
                    commitTime = commitTime.map { $0 * 0.875 + took * 0.125 } ?? took
                }
                lastGroupCount = group.count
                chain = newChain
                lastTimestamp = timestamp
                head.withLock { $0 = newChain.head }
                for (batch, result) in zip(group, results) { batch.continuation.resume(with: result) }
                log.publish(head: newChain.head)
                return gatherWindow > .zero && group.count > 1
            } catch is NothingGathered {
                return false
            } catch let error as LogError where error.code == .mapFull {
                gathering = false
                let current = log.environment.mapSize
                let limit = log.configuration.mapSizeMaxBytes
                let needed = group.reduce(0) { $0 + $1.bytes } * 2
                guard current < limit else {
                    fail(
                        group,
                        LogError(
                            .mapFull,
                            "the log's map is at its maximum of \(limit) bytes; raise the maximum map size"))
                    return false
                }
                let next = min(limit, max(current * 2, current + needed))
                do {
                    try log.environment.grow(to: next)
                    log.logger.info("log map grown", metadata: ["log.map_bytes": "\(next)"])
                } catch {
                    fail(group, error)
                    return false
                }
            } catch var error as LogError where error.code == .storage {
                // LMDB reports a short write as EIO, which is what a full disk usually causes: tell the two apart by
                // looking at the free space, so that the caller gets the error it can act on.
                let groupBytes = group.reduce(0) { $0 + $1.bytes }
                if let free = log.environment.freeBytes, free < 2 * groupBytes + (1 << 20) {
                    error = LogError(
                        .diskFull,
                        "\(error.message): the log's file system has only \(free) bytes "
                            + "free; nothing of this append was written, free space and retry",
                        systemCode: error.systemCode)
                }
                log.logger.error("log commit failed", metadata: ["error": "\(error)"])
                fail(group, error)
                return false
            } catch {
                // The transaction was aborted, so the log is as it was after the previous commit; the chain state
                // kept in memory is that one too.
                log.logger.error("log commit failed", metadata: ["error": "\(error)"])
                fail(group, error)
                return false
            }
        }
    }

    /// Thrown inside a transaction opened ahead of its first batch when no batch came.
    private struct NothingGathered: Error {}

    /// The writer sleeps during a gather until this many batches are queued (or the window ends, or `submit` finds
    /// that they trickle in; after a group that trickled in, the first batch wakes it): waking it for every single
    /// submit costs a futex wake-up each, waking it only for the whole group leaves its writing for the end. A few
    /// batches at a time keeps it writing alongside the appenders.
    static let gatherWakeBatches = 16

    /// A group is gathered for at most this many gather windows after its first batch was submitted.
    static let gatherLimitWindows = 8

    /// Hands `write` the batches submitted while the group that starts with `group` is open, until the group is
    /// as large as the last one, no batch has been submitted for `gatherWindow`, `gatherLimitWindows` windows have
    /// passed since the group's first batch was submitted, batches come too slowly to be worth waiting for (see
    /// `trickling`), the log stops, or the commit limit is reached. An empty `group` (a transaction opened ahead of
    /// its batches) waits one window for a first batch.
    ///
    /// The window runs from the latest submission rather than the first: 64 appenders resumed together come back
    /// over 0.1–0.3 ms depending on the machine, and a window counted from the first of them cut the group in
    /// two on a slow stretch (40 batches per group instead of 64, a third less throughput).
    private func gather(after group: [Batch], _ write: ([Batch]) throws -> Void) throws {
        var count = group.count
        var bytes = group.reduce(0) { $0 + $1.bytes }
        let window = gatherWindow
        let now = ContinuousClock.now
        var limit = (group.first?.submitted ?? now) + window * Self.gatherLimitWindows
        var deadline = min((group.last?.submitted ?? now) + window, limit)
        var firstSubmitted = group.first?.submitted
        // After a group that trickled in, the pace is judged from the first batch on: the batches still come one
        // by one, and a last few must not wait out the window for company.
        let settled = trickled
        let judgeFrom = settled ? 1 : Self.trickleCountMin
        if count > 0 { trickled = false }
        while count < lastGroupCount {
            if let firstSubmitted, count >= judgeFrom,
                trickling(count: count, since: firstSubmitted, settled: settled)
            {
                trickled = true
                return
            }
            // Woken every `gatherWakeBatches` batches (or when the group is as large as the last), at the window's end,
            // at a stop, when a submit finds that the batches trickle in, and when those taken would count as
            // trickling if no other came. After a group that trickled in, the first batch wakes it too: alone, it
            // cannot show a pace to `submit`. (Batches queued but fewer than `judgeFrom` are judged only as more
            // come: if none does, they wait for the window, 200 µs by default.)
            let base = trickleBase
            var wakeBy = deadline
            if let firstSubmitted, let base, count >= judgeFrom {
                let paced = base * count / Self.tricklePaceBatches
                wakeBy = min(wakeBy, firstSubmitted + (settled ? paced : max(paced, base / 2)))
            }
            condition.lock()
            wakeAt = min(lastGroupCount - count, count == 0 && settled ? 1 : Self.gatherWakeBatches)
            paceCheck = base.map {
                PaceCheck(since: firstSubmitted, taken: count, judgeFrom: judgeFrom, base: $0, settled: settled)
            }
            while queue.count < wakeAt && !stopping && !paceWoke {
                // NSCondition waits for a wall-clock date: it is made from the time left just before each wait.
                let left = ContinuousClock.now.duration(to: wakeBy)
                let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                if left <= .zero || !condition.wait(until: Date(timeIntervalSinceNow: seconds)) { break }
            }
            wakeAt = 1
            paceCheck = nil
            paceWoke = false
            let more = takeLocked(bytesLeft: log.configuration.commitBytesMax - bytes)
            let full = !queue.isEmpty
            let stopped = stopping
            condition.unlock()
            if let first = more.first, let last = more.last {
                if count == 0 {
                    limit = first.submitted + window * Self.gatherLimitWindows
                    firstSubmitted = first.submitted
                }
                deadline = min(max(deadline, last.submitted + window), limit)
                trickled = false
                try write(more)
                count += more.count
                bytes += more.reduce(0) { $0 + $1.bytes }
            }
            if stopped || full || ContinuousClock.now >= deadline { return }
        }
    }

    /// See `trickling`.
    static let tricklePaceBatches = 32
    /// The batches a group needs before their pace is judged, unless the group before it trickled in (then one).
    static let trickleCountMin = 4

    /// Whether the `count` batches of a group, the first submitted at `since`, came so slowly that
    /// `tricklePaceBatches` of them at that pace would take longer than a commit (`trickleBase`): the group then
    /// commits without waiting to be as large as the last one. Unless `settled` (after a group that trickled in),
    /// only once the group has been coming for half a commit time: a closed loop's refill held up for a moment by
    /// the machine looks slow at first.
    ///
    /// Under a closed loop the appenders of the last group come back a few microseconds apart, and the group waits
    /// for all of them: that is where the throughput comes from. At a steady rate below what the log can take they
    /// come tens of microseconds apart, and waiting for as many as last time only added latency: at 48,000 events/s
    /// from 64 appenders, groups of about 40 and a median of 1.21 ms, against groups of 19–25 and 0.87 ms when they
    /// close once the pace shows. A backlog still commits at once: the writer takes every batch queued.
    ///
    /// The pace is judged up to now, not up to the last submission, so that a timed wake with nothing new can end
    /// the group. A writer that wakes late does not make a burst look slow when judging four batches or more: the
    /// batches that came meanwhile are taken, and counted, first. A single batch after a trickle may close alone
    /// that way, which costs one more commit, not a wait.
    private func trickling(count: Int, since: ContinuousClock.Instant, settled: Bool) -> Bool {
        guard let base = trickleBase else { return false }
        let elapsed = since.duration(to: ContinuousClock.now)
        return Self.trickles(count: count, elapsed: elapsed, base: base, settled: settled)
    }

    /// The trickle rule itself, for the writer (`trickling`) and for `submit` (`PaceCheck`): `count` batches, the
    /// first submitted `elapsed` ago, trickle in against a commit time of `base`.
    static func trickles(count: Int, elapsed: Duration, base: Duration, settled: Bool) -> Bool {
        count > 0 && (settled || elapsed >= base / 2) && elapsed / count * tricklePaceBatches > base
    }

    /// The commit time the trickle rule measures pace against: the moving average of commits, but never less than
    /// `trickleBaseMin`. On a disk that commits in tens of microseconds, a closed loop's own refill (64 batches over
    /// 0.1–0.3 ms) would otherwise look like a trickle and be cut into groups of a few batches, each paying a
    /// commit's CPU. Nil before the first commit.
    private var trickleBase: Duration? { commitTime.map { max($0, Self.trickleBaseMin) } }

    /// See `trickleBase`: batches 6 µs or less apart on average never count as trickling.
    static let trickleBaseMin: Duration = .microseconds(200)

    private func fail(_ group: [Batch], _ error: any Error) {
        for batch in group { batch.continuation.resume(throwing: error) }
    }

    private struct StreamState {
        var version: UInt64
        var position: UInt64
    }

    /// A stream id as a dictionary key, hashed as one buffer: `[UInt8]`'s own hashing feeds the hasher a byte at a
    /// time, which showed in profiles of the writer.
    private struct StreamKey: Hashable {
        let bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// A group being written: where its next record goes, and what it has touched.
    private struct PendingGroup {
        let startHead: UInt64
        let timestamp: Int64
        var sequence: UInt64
        var previous: ChainHash
        var streams: [StreamKey: StreamState] = [:]
        var results: [Result<AppendResult, any Error>] = []

        /// `expected` batches are likely (the size of the last group): reserving for them spares the tables their
        /// growth while the group is written.
        init(chain: LMDBEventLog.ChainState, timestamp: Int64, expected: Int) {
            startHead = chain.head
            sequence = chain.head
            previous = chain.hash
            self.timestamp = timestamp
            streams.reserveCapacity(expected)
            results.reserveCapacity(expected)
        }
    }

    /// Writes `batches` inside `txn`, after what `pending` already holds. A batch whose idempotency key was used
    /// before, or whose expectations fail, is answered without writing; the others are written in order.
    private func write(_ batches: [Batch], into pending: inout PendingGroup, txn: OpaquePointer) throws {
        let databases = log.databases

        func stateIndex(_ id: StreamKey) throws -> Dictionary<StreamKey, StreamState>.Index {
            if let index = pending.streams.index(forKey: id) { return index }
            let stored = try LMDBEventLog.streamState(txn, databases.streams, id.bytes)
            pending.streams[id] = StreamState(version: stored?.version ?? 0, position: stored?.position ?? 0)
            return pending.streams.index(forKey: id)!
        }

        batches: for batch in batches {
            if !batch.idempotencyKey.isEmpty, let earlier = try lookUpKey(batch.idempotencyKey, txn) {
                pending.results.append(
                    .success(AppendResult(firstPosition: earlier.0, count: earlier.1, deduplicated: true)))
                continue
            }
            for (id, expected) in batch.expectations {
                let current = pending.streams.values[try stateIndex(StreamKey(bytes: id))].version
                let matches: Bool
                switch expected {
                case .noStream: matches = current == 0
                case .exact(let version): matches = current == version
                }
                if !matches {
                    let want = if case .exact(let version) = expected { "version \(version)" } else { "no stream" }
                    pending.results.append(
                        .failure(
                            LogError(
                                .wrongExpectedVersion,
                                "stream \(String(decoding: id, as: UTF8.self)) is at version \(current), expected \(want)"
                            )))
                    continue batches
                }
            }
            let first = pending.sequence + 1
            for record in batch.records {
                pending.sequence += 1
                let index = try stateIndex(StreamKey(bytes: record.streamId))
                let previousInStream = pending.streams.values[index].position
                pending.streams.values[index].version += 1
                pending.streams.values[index].position = pending.sequence
                pending.previous = try put(
                    record, sequence: pending.sequence, timestamp: pending.timestamp,
                    streamVersion: pending.streams.values[index].version, previousInStream: previousInStream,
                    previous: pending.previous, txn: txn)
            }
            if !batch.idempotencyKey.isEmpty {
                try storeKey(batch.idempotencyKey, first: first, count: batch.records.count, txn)
            }
            pending.results.append(
                .success(AppendResult(firstPosition: first, count: batch.records.count, deduplicated: false)))
        }
    }

    /// Stores the versions of the streams the group touched and the new chain head; returns the chain state the
    /// commit will make durable.
    private func finish(_ pending: PendingGroup, txn: OpaquePointer) throws -> LMDBEventLog.ChainState {
        let databases = log.databases
        try withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { value in
            for (id, stream) in pending.streams {
                value.storeLE(stream.version, at: 0)
                value.storeLE(stream.position, at: 8)
                try id.bytes.withUnsafeBytes { idBytes in
                    var key = MDB_val(idBytes)
                    var data = MDB_val(UnsafeRawBufferPointer(value))
                    try lmdbCheck(mdb_put(txn, databases.streams, &key, &data, 0), "writing a stream's version")
                }
            }
        }
        let newChain = LMDBEventLog.ChainState(head: pending.sequence, hash: pending.previous)
        if pending.sequence != pending.startHead {
            try LMDBEventLog.putValue(
                txn, databases.meta, key: LMDBEventLog.metaChainHeadKey,
                value: LMDBEventLog.encodeChain(newChain))
        }
        return newChain
    }

    /// Writes one record at `sequence`; returns the record's hash.
    private func put(
        _ record: PreparedRecord, sequence: UInt64, timestamp: Int64, streamVersion: UInt64,
        previousInStream: UInt64, previous: ChainHash, txn: OpaquePointer
    ) throws -> ChainHash {
        let databases = log.databases
        var value = MDB_val(mv_size: record.bytes.count, mv_data: nil)
        // MDB_APPEND proves the sequence has no gap and skips the tree search; MDB_RESERVE lets the record be
        // sealed in place in LMDB's page instead of being copied twice.
        let rc = withPositionKey(sequence) { key in
            mdb_put(txn, databases.events, &key, &value, UInt32(MDB_APPEND | MDB_RESERVE))
        }
        if rc == MDB_KEYEXIST {
            throw LogError(.storage, "position \(sequence) is already taken: the log's head is not what it claims")
        }
        try lmdbCheck(rc, "appending event \(sequence)")
        let out = UnsafeMutableRawBufferPointer(start: value.mv_data, count: record.bytes.count)
        record.bytes.withUnsafeBytes { out.copyMemory(from: $0) }
        return RecordCodec.seal(
            out, sequence: sequence, timestamp: timestamp, streamVersion: streamVersion,
            previousInStream: previousInStream, previous: previous)
    }

    private func lookUpKey(_ key: [UInt8], _ txn: OpaquePointer) throws -> (UInt64, Int)? {
        try key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(keyBytes)
            var value = MDB_val()
            let rc = mdb_get(txn, log.databases.idempotency, &keyValue, &value)
            if rc == MDB_NOTFOUND { return nil }
            try lmdbCheck(rc, "reading an idempotency key")
            return try IdempotencyEntry.decode(value.bytes)
        }
    }

    private func storeKey(_ key: [UInt8], first: UInt64, count: Int, _ txn: OpaquePointer) throws {
        var entry = IdempotencyEntry.encode(first: first, count: count)
        try key.withUnsafeBytes { keyBytes in
            try entry.withUnsafeMutableBytes { entryBytes in
                var keyValue = MDB_val(keyBytes)
                var value = MDB_val(UnsafeRawBufferPointer(entryBytes))
                try lmdbCheck(
                    mdb_put(txn, log.databases.idempotency, &keyValue, &value, UInt32(MDB_NOOVERWRITE)),
                    "storing an idempotency key")
            }
        }
    }

    static func nowMicros() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

/// The value of an idempotency entry: the first position (u64, big-endian) and the count (u32, big-endian).
enum IdempotencyEntry {
    static func encode(first: UInt64, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: first.bigEndian, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: UInt32(count).bigEndian, toByteOffset: 8, as: UInt32.self)
        }
        return bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (UInt64, Int) {
        guard bytes.count == 12 else {
            throw LogError(.corruptRecord, "the idempotency database holds a value of \(bytes.count) bytes")
        }
        return (
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        )
    }
}
