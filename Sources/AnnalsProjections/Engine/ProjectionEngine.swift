import AnnalsEvents
public import AnnalsLog
public import AnnalsVector
import Foundation
public import Logging
import Synchronization

/// Keeps a `ProjectionSet` up to date with the log, and serves consistent reads of it.
///
/// `run()` tails the log (woken after each commit) and applies new events; `waitUntilApplied(_:)` lets a write wait
/// until its events are applied before it answers (read your writes); `read(_:)` gives a consistent view across
/// projections. Catching up takes the write lock one batch (`catchUpBatchCountMax` events) at a time, so readers
/// wait for at most one batch, never for a whole replay.
///
/// `@unchecked Sendable` is sound: `set`, `skipped`, `failed` and `mappedBytesRead` are read only under a lock and
/// written only under the write lock of `lock`; every other stored property is immutable or a `Mutex`.
public final class ProjectionEngine: @unchecked Sendable {
    /// The most events applied under one hold of the write lock; bounds how long a reader can wait.
    public static let catchUpBatchCountMax = 4096

    /// The log's mapped pages, and the vector arenas', are let go of after this many bytes of records were read
    /// (`releaseMappedPages`), so that tailing a large ingest does not keep the whole log and every slot record in
    /// the resident set (they are page cache either way).
    static let releaseMappedBytes = 16 << 20

    private let log: any EventLog
    private let logger: Logger
    private let lock = ReadWriteLock()
    /// Serialises catch-ups (`run()`'s, recovery's, a replay's), so that batches are applied in order.
    private let catchUpLock = ReadWriteLock()
    /// Whether decoded events carry their record's attachment, and a `chunk.embedded` its document id and embedder:
    /// only the vectors projection reads them.
    private let keepsAttachments: Bool
    private var set: ProjectionSet
    private var skipped: UInt64 = 0
    /// Bytes of records read since the log's mapped pages were last released; under the write lock.
    private var mappedBytesRead = 0
    private var failed: (any Error)?
    private let waiters = Mutex(WaitState())
    /// The thread extending the vector graphs, once `startGraphBuilder()` ran.
    private let graphBuilder = Mutex<GraphBuilder?>(nil)

    private struct Waiter {
        var position: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct WaitState {
        /// The applied position waiters compare with; updated after each batch (it may lag `set` by one batch).
        var published: UInt64 = 0
        /// Whether `run()` ended; waiting for positions not reached is pointless then.
        var stopped = false
        var nextId = 0
        var waiting: [Int: Waiter] = [:]
    }

    /// An engine over `log`, with every projection empty at position 0 until `restore(_:)`, keeping vectors in
    /// `vectorBacking` (the service: a file, so that they need no memory of the process's own) and giving spaces
    /// of `vectorGraphThreshold` live vectors a graph. A `selection` of fewer projections than all (a replay that
    /// verifies some) maintains only those; without the vectors, records' attachments are not even copied.
    public init(
        log: any EventLog, logger: Logger, vectorBacking: VectorArena.Backing = .memory,
        vectorGraphThreshold: Int = VectorsProjection.exactThresholdDefault, selection: ProjectionSelection = .all
    ) {
        self.log = log
        self.logger = logger
        self.set = ProjectionSet(
            vectorBacking: vectorBacking, vectorGraphThreshold: vectorGraphThreshold, selection: selection)
        keepsAttachments = selection.contains(.vectors)
    }

    /// Replaces the projections with `set` (restored from snapshots); the next catch-up continues after
    /// `set.appliedPosition`.
    public func restore(_ set: ProjectionSet) {
        // A set of more projections than the engine decodes for would miss the attachments its vectors need.
        precondition(
            keepsAttachments || !set.selection.contains(.vectors), "restoring vectors into an engine without them")
        lock.withWriteLock { self.set = set }
        let ready = waiters.withLock { state in
            state.published = set.appliedPosition
            return Self.takeReady(&state)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// The position of the last event applied.
    public var appliedPosition: UInt64 { lock.withReadLock { set.appliedPosition } }

    /// The number of events skipped because this build cannot decode them (unknown type or version, malformed
    /// payload), since the engine was created.
    public var skippedEvents: UInt64 { lock.withReadLock { skipped } }

    /// Calls `body` with the projections as they are now: a consistent view across projections at one position.
    ///
    /// Many reads run at once; the engine waits for them before applying more events, so keep `body` short (a lookup,
    /// a search). Never call `read`, `appliedPosition`, `skippedEvents` or `failure` from inside `body`: the lock
    /// prefers writers, so a nested read waits behind a waiting catch-up that waits for the outer read (a deadlock).
    /// To snapshot, encode inside (`read { SnapshotStore.encode($0) }`) rather than copy the set out: a copy makes
    /// the engine's next write duplicate every large table (copy on write).
    public func read<R>(_ body: (ProjectionSet) throws -> R) rethrows -> R {
        try lock.withReadLock { try body(set) }
    }

    /// Applies every event after `appliedPosition` up to the log's head as it is now; returns the applied position.
    ///
    /// Records are read as zero-copy views; an event this build cannot decode (a newer writer's type or version) is
    /// logged and skipped, never fatal.
    ///
    /// - Throws: what `EventLog.head()` and `scan` throw: `.corruptRecord` for a damaged record (events before it
    ///   stay applied; run `annals audit verify`), `.closed`, `.storage`.
    @discardableResult
    public func catchUp() throws -> UInt64 {
        try catchUp(through: .max)
    }

    /// Applies every event after `appliedPosition` up to `last` or the log's head, whichever comes first; returns the
    /// applied position (`annals replay` stops at a checkpoint's position this way).
    ///
    /// Records are read and decoded without the engine's lock, and applied under it one batch at a time. A long
    /// catch-up (a replay) decodes the next batch on a thread of its own while the current one is applied, so that
    /// reading the log and applying events overlap. Catch-ups are serialised: a second caller waits for the first.
    ///
    /// - Throws: as `catchUp()`.
    @discardableResult
    public func catchUp(through last: UInt64) throws -> UInt64 {
        try catchUpLock.withWriteLock { () throws -> UInt64 in
            let target = min(last, try log.head())
            let first = appliedPosition + 1
            guard first <= target else { return first - 1 }
            let batchMax = UInt64(Self.catchUpBatchCountMax)
            if target - first < batchMax {
                // One batch (tailing a live log): no thread to start.
                let batch = try decodeBatch(from: first, through: target)
                return apply(batch, target: target).applied
            }
            return try pipelinedCatchUp(from: first, through: target)
        }
    }

    /// Decodes batches on a thread of its own, at most `DecodedBatches.depth` ahead, and applies them here in order.
    private func pipelinedCatchUp(from first: UInt64, through target: UInt64) throws -> UInt64 {
        let batchMax = UInt64(Self.catchUpBatchCountMax)
        let batches = DecodedBatches()
        let decoder = Thread { [self] in
            var next = first
            while next <= target {
                let through = min(target, next + batchMax - 1)
                let outcome = Result {
                    try decodeBatch(from: next, through: through, into: batches.spareEvents())
                }
                let complete = (try? outcome.get())?.visited == through
                // Consumed, so that once applied the batch's array is the applier's alone and can be reused: a copy
                // kept here made emptying it allocate a new one.
                guard batches.put(consume outcome), complete else { break }
                next = through + 1
            }
            batches.finish()
        }
        decoder.name = "annals-decode"
        decoder.start()
        // Whatever ends the applying (the end, a damaged record, a gap), the decoder is stopped and waited for.
        defer { batches.cancelAndWait() }
        var applied = first - 1
        while var batch = try batches.take() {
            let (position, complete) = apply(batch, target: target)
            applied = position
            if !complete { break }
            // The batch's array goes back to the decoder: a fresh one per batch cost page faults for its memory.
            batches.recycle(batch.takeEvents())
        }
        return applied
    }

    /// Reads and decodes the records from `first` through `last` (without the engine's lock).
    private func decodeBatch(
        from first: UInt64, through last: UInt64, into events: [ProjectedEvent] = []
    ) throws -> DecodedBatch {
        var batch = DecodedBatch(first: first, last: last, events: events)
        batch.events.reserveCapacity(Int(last - first + 1))
        batch.visited = try log.scan(from: first, through: last) { view in
            batch.bytesRead += view.storedPayload.count + view.attachment.count
            if let event = try decode(view, skipped: &batch.skipped) { batch.events.append(event) }
            return true
        }
        return batch
    }

    /// Applies `batch` under the write lock, then wakes waiters and the graph builder; returns the applied position,
    /// and whether the batch held every record it asked for (false: the log ends before `batch.last`, although its
    /// head said otherwise, which is logged).
    private func apply(_ batch: DecodedBatch, target: UInt64) -> (applied: UInt64, complete: Bool) {
        let (before, after, release) = lock.withWriteLock { () -> (UInt64, UInt64, Bool) in
            let before = set.appliedPosition
            // Batches follow one another: a batch that starts past the applied position would leave a gap.
            guard batch.first <= before + 1 else { return (before, before, false) }
            set.apply(contentsOf: batch.events)
            // Undecodable events at the end of the batch are passed too.
            set.skip(to: batch.visited)
            skipped += batch.skipped
            mappedBytesRead += batch.bytesRead
            // Every record is read once here: its pages need not stay in this process's resident set.
            let release = mappedBytesRead >= Self.releaseMappedBytes
            if release { mappedBytesRead = 0 }
            return (before, set.appliedPosition, release)
        }
        if after > before {
            publish()
            graphBuilder.withLock { $0 }?.nudge()
        }
        if release {
            log.releaseMappedPages()
            // Safe under the read lock: advice only, and the arenas' segments do not change meanwhile.
            lock.withReadLock { set.vectors.releaseMappedPages() }
        }
        guard after >= batch.last || after >= target else {
            // The log said its head is further on but holds no record after `after`: a gap, which the log's
            // contract excludes. Stop here rather than spin; the next catch-up tries again.
            logger.error(
                "the log's head is past the last record found",
                metadata: ["log.head": "\(target)", "projection.applied_position": "\(after)"])
            return (after, false)
        }
        return (after, true)
    }

    /// Tails the log, applying new events after each commit, until the task is cancelled or the log closes.
    ///
    /// A failed catch-up (a damaged record: nothing after it can be applied) is logged, kept in `failure`, and ends
    /// the tailing. When it ends for any reason, pending `waitUntilApplied` calls return false.
    public func run() async {
        waiters.withLock { $0.stopped = false }
        do {
            for await _ in log.subscribe() {
                try catchUp()
            }
        } catch {
            logger.error(
                "projection engine stopped: \(error)", metadata: ["projection.applied_position": "\(appliedPosition)"])
            lock.withWriteLock { failed = error }
        }
        stop()
    }

    /// The error that stopped `run()`, if one did.
    public var failure: (any Error)? { lock.withReadLock { failed } }

    /// Returns once every event up to `position` is applied (true), at once if it already is; or returns false when
    /// the task is cancelled or `run()` ends first.
    ///
    /// No polling: `catchUp()` resumes waiters after each batch.
    @discardableResult
    public func waitUntilApplied(_ position: UInt64) async -> Bool {
        let id: Int? = waiters.withLock { state in
            if state.published >= position { return nil }
            state.nextId += 1
            return state.nextId
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let outcome: Bool? = waiters.withLock { state in
                    if state.published >= position { return true }
                    if state.stopped || Task.isCancelled { return false }
                    state.waiting[id] = Waiter(position: position, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            let continuation = waiters.withLock { $0.waiting.removeValue(forKey: id)?.continuation }
            continuation?.resume(returning: false)
        }
    }

    /// Starts extending the vector graphs on a thread of their own (see `GraphBuilder`), which first restores the
    /// graphs saved in `files`; searches of spaces whose graph lags scan the slots it has not reached. A second
    /// call does nothing.
    public func startGraphBuilder(restoringFrom files: GraphFiles? = nil) {
        let builder = graphBuilder.withLock { builder in
            if builder == nil {
                builder = GraphBuilder(
                    prepare: { [weak self] in
                        guard let self, let files else { return }
                        self.restoreGraphs(from: files)
                    },
                    work: { [weak self] in
                        guard let self else { return [] }
                        return self.lock.withReadLock { self.set.vectors.graphWork() }
                    })
            }
            return builder!
        }
        builder.start()
    }

    /// Restores the vector graphs saved in `files` into the graphs that are still empty (see `GraphFiles`), and
    /// logs what it did; returns the graphs restored and the slots they hold.
    @discardableResult
    public func restoreGraphs(from files: GraphFiles) -> (graphs: Int, slots: Int) {
        let targets = lock.withReadLock { set.vectors.graphTargets() }
        guard !targets.isEmpty else { return (0, 0) }
        let started = ContinuousClock.now
        let result = files.restore(targets)
        for reason in result.skipped {
            logger.warning("a saved vector graph was skipped; it is built again", metadata: ["reason": "\(reason)"])
        }
        logger.info(
            "vector graphs restored",
            metadata: [
                "graphs.restored": "\(result.graphs)", "graphs.slots": "\(result.slots)",
                "graphs.seconds": "\(ContinuousClock.now - started)",
            ])
        return (result.graphs, result.slots)
    }

    /// Saves the vector graphs that grew since they were last saved to `files`; the graphs are read without the
    /// engine's lock. Returns the files written and their bytes.
    ///
    /// - Throws: what `GraphFiles.save` throws.
    @discardableResult
    public func saveGraphs(to files: GraphFiles) throws(ProjectionError) -> (files: Int, bytes: Int) {
        try files.save(lock.withReadLock { set.vectors.graphTargets() })
    }

    /// Stops the graph builder after the insertion it is making, and waits for it.
    public func stopGraphBuilder() {
        graphBuilder.withLock { $0 }?.stop()
    }

    /// The slots the graph builder inserted since it started.
    public var graphSlotsInserted: Int { graphBuilder.withLock { $0 }?.insertedSlots ?? 0 }

    // MARK: Internals

    /// Decodes one record into an event; nil (logged and counted in `skipped`) for an event this build cannot read.
    private func decode(_ view: RecordView, skipped: inout UInt64) throws -> ProjectedEvent? {
        // A payload that does not inflate is damage (the checksum passed, so the writer stored it so): it stops the
        // catch-up like any corrupt record, unlike an event this build merely cannot read.
        let inflated = view.isDeflated ? try view.payload() : nil
        let event: Event
        do {
            var fast: Annals_Events_V1_ChunkEmbedded?
            if view.type == EventType.chunkEmbedded.rawValue && view.schemaVersion == 1 {
                // Only the vectors projection reads a chunk's strings.
                if let inflated {
                    fast = inflated.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0, strings: keepsAttachments) }
                } else {
                    fast = ChunkEmbeddedDecoder.decode(view.storedPayload, strings: keepsAttachments)
                }
            }
            if let fast {
                event = .chunkEmbedded(fast)
            } else if let inflated {
                event = try Event(type: view.type, schemaVersion: view.schemaVersion, payload: inflated)
            } else {
                event = try Event(type: view.type, schemaVersion: view.schemaVersion, payload: view.storedPayload)
            }
        } catch {
            skipped += 1
            logger.warning(
                "skipping an event this build cannot read",
                metadata: [
                    "event.position": "\(view.position)", "event.type": "\(view.type)",
                    "event.schema_version": "\(view.schemaVersion)", "error.code": "\(error.code)",
                    "error.message": "\(error.message)",
                ])
            return nil
        }
        let attachment = view.attachment.isEmpty || !keepsAttachments ? [] : Array(view.attachment)
        return ProjectedEvent(
            position: view.position, timestamp: view.timestamp, event: event,
            attachment: attachment)
    }

    /// Publishes the applied position to waiters and resumes those it satisfies.
    private func publish() {
        let applied = appliedPosition
        let ready = waiters.withLock { state in
            state.published = max(state.published, applied)
            return Self.takeReady(&state)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    private func stop() {
        let stranded = waiters.withLock { state in
            state.stopped = true
            defer { state.waiting.removeAll() }
            return state.waiting.values.map(\.continuation)
        }
        for continuation in stranded { continuation.resume(returning: false) }
    }

    private static func takeReady(_ state: inout WaitState) -> [CheckedContinuation<Bool, Never>] {
        let published = state.published
        let ready = state.waiting.filter { $0.value.position <= published }
        for id in ready.keys { state.waiting[id] = nil }
        return ready.values.map(\.continuation)
    }
}

/// A batch of records decoded for `ProjectionEngine.catchUp`.
private struct DecodedBatch: Sendable {
    /// The positions asked for.
    var first: UInt64
    var last: UInt64
    /// The events decoded, in log order (undecodable ones left out).
    var events: [ProjectedEvent] = []
    /// The last position read, undecodable records included (`first - 1` when none was found).
    var visited: UInt64
    /// Records this build cannot decode.
    var skipped: UInt64 = 0
    /// Bytes of mapped records read.
    var bytesRead = 0

    /// A batch of `first` through `last`, its events to be appended to `events` (an empty array, perhaps with
    /// capacity).
    init(first: UInt64, last: UInt64, events: [ProjectedEvent] = []) {
        self.first = first
        self.last = last
        self.events = events
        visited = first - 1
    }

    /// Moves the events out, leaving none.
    mutating func takeEvents() -> [ProjectedEvent] {
        var taken: [ProjectedEvent] = []
        swap(&taken, &events)
        return taken
    }
}

/// The decoder thread's hand-over to the applier: at most `depth` batches waiting, in order.
///
/// `@unchecked Sendable` is sound: every stored property is read and written only while `condition` is locked.
private final class DecodedBatches: @unchecked Sendable {
    /// Batches decoded ahead of the one being applied: enough to keep both threads busy, few enough that a replay
    /// holds a bounded number of decoded events.
    static let depth = 2

    private let condition = NSCondition()
    private var waiting: [Result<DecodedBatch, any Error>] = []
    /// Emptied event arrays, their capacity kept, for the decoder to fill again.
    private var spare: [[ProjectedEvent]] = []
    /// Set by the decoder thread as its last act.
    private var finished = false
    private var cancelled = false

    /// Hands over one outcome, waiting while `depth` are waiting; false when the applier stopped taking them.
    func put(_ outcome: Result<DecodedBatch, any Error>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= Self.depth && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        waiting.append(outcome)
        condition.broadcast()
        return true
    }

    /// The next batch in order, waiting for it; nil once the decoder finished and every batch was taken.
    ///
    /// - Throws: what decoding that batch threw.
    func take() throws -> DecodedBatch? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !finished { condition.wait() }
        guard !waiting.isEmpty else { return nil }
        condition.broadcast()
        return try waiting.removeFirst().get()
    }

    /// Keeps `events`' memory for a later batch (the elements are released here).
    func recycle(_ events: consuming [ProjectedEvent]) {
        var events = events
        events.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        if spare.count < Self.depth + 1 { spare.append(events) }
    }

    /// An empty event array, with the capacity of an earlier batch's when one was recycled.
    func spareEvents() -> [ProjectedEvent] {
        condition.lock()
        defer { condition.unlock() }
        return spare.popLast() ?? []
    }

    /// Called by the decoder thread as its last act.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Tells the decoder to stop and waits until its thread has finished.
    func cancelAndWait() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
