import AnnalsEvents

/// The job queue: one `JobStateMachine` per document, with indexes that make the workers' questions cheap.
///
/// `nextReady(now:)` answers from a heap ordered by (available time, position of the event that made the job
/// available) in O(1) when no excluded id is on top; applying an event costs O(log n). Times are always passed by the
/// caller (`now`): the projection never reads a clock.
///
/// Deleted jobs are dropped (their ids kept as tombstones, so a late event cannot bring them back); completed and
/// dead jobs stay, so that they can be requeued.
public struct QueueProjection: Projection {
    /// `queue`.
    public static let name = "queue"
    /// Version 2 (jobs in the order of their enqueue position in snapshots; version 1 sorted them by document id).
    public static let version: UInt32 = 2

    /// Stale heap entries allowed per live one before a heap is rebuilt; bounds the memory lazy deletion costs.
    static let staleEntriesPerLiveMax = 2
    /// Heap sizes below which stale entries are never worth a rebuild.
    static let heapRebuildCountMin = 1024

    struct Slot {
        var documentId: String
        var tenantId: String
        var job: JobStateMachine
    }

    /// The kinds of phase, for counters and index membership.
    enum Kind: Int {
        case pending, leased, retrying, awaitingDeadLetter, dead, done, deleted

        init(_ phase: JobStateMachine.Phase) {
            switch phase {
            case .pending: self = .pending
            case .leased: self = .leased
            case .retrying: self = .retrying
            case .awaitingDeadLetter: self = .awaitingDeadLetter
            case .dead: self = .dead
            case .done: self = .done
            case .deleted: self = .deleted
            }
        }
    }

    /// What bookkeeping needs to know about a job before and after an event.
    struct Summary {
        var kind: Kind
        var availability: (at: Int64, position: UInt64)?
        var enqueuedAt: Int64
        var enqueuePosition: UInt64

        init(_ job: JobStateMachine) {
            kind = Kind(job.phase)
            availability = job.availability
            enqueuedAt = job.enqueuedAt
            enqueuePosition = job.enqueuePosition
        }

        var isWaiting: Bool { kind == .pending || kind == .retrying }
    }

    private var slots: [Slot?] = []
    private var freeSlots: [Int32] = []
    private var slotOf: [HashedKey: Int32] = [:]
    /// Ids of deleted documents, so that a late or duplicated `upload.received` cannot bring a job back.
    private var tombstones: Set<String> = []
    /// Waiting jobs by (available time, position).
    private var readyHeap = QueueHeap()
    /// Waiting jobs by (enqueue time, position), for the oldest age.
    private var ageHeap = QueueHeap()
    private var counts = [Int](repeating: 0, count: 7)
    private var leasedSlots: Set<Int32> = []
    private var deadSlots: Set<Int32> = []
    private var awaitingSlots: Set<Int32> = []
    /// The number of events that named a job but did not apply (unknown job, stale attempt, wrong phase, duplicate).
    public private(set) var ignoredEvents: UInt64 = 0

    /// An empty queue.
    public init() {}

    /// The number of jobs known (deleted ones excluded).
    public var count: Int { slotOf.count }

    /// The job of `documentId`, or nil when there is none (never uploaded, or deleted).
    public func job(_ documentId: String) -> QueueJob? {
        guard let slot = slotOf[HashedKey(documentId)], let entry = slots[Int(slot)] else { return nil }
        return QueueJob(documentId: entry.documentId, tenantId: entry.tenantId, job: entry.job)
    }

    /// The job a worker should take next at `now`: the waiting job available earliest (ties in log order), if its
    /// time has come.
    public func nextReady(now: Int64) -> (documentId: String, nextAttempt: UInt32)? {
        guard let job = nextReady(now: now, excluding: []) else { return nil }
        return (job.documentId, job.nextAttempt)
    }

    /// The first job in line at `now` whose id is not in `excluding` (jobs the caller has claimed but whose
    /// `job.started` is not applied yet).
    public func nextReady(now: Int64, excluding: Set<String>) -> ReadyJob? {
        if excluding.isEmpty, let top = readyHeap.top {
            // The top is always live (stale entries are popped after each event).
            guard top.time <= now else { return nil }
            return readyJob(top)
        }
        return ready(now: now, limit: 1, excluding: excluding).first
    }

    /// Up to `limit` jobs whose time has come at `now`, in queue order, skipping ids in `excluding`.
    public func ready(now: Int64, limit: Int, excluding: Set<String> = []) -> [ReadyJob] {
        guard limit > 0 else { return [] }
        var jobs: [ReadyJob] = []
        readyHeap.visitInOrder { entry in
            guard entry.time <= now else { return false }
            if isLive(entry, in: .ready), let job = readyJob(entry), !excluding.contains(job.documentId) {
                jobs.append(job)
            }
            return jobs.count < limit
        }
        return jobs
    }

    /// The queue's counters at `now`.
    ///
    /// Cost: O(1) but for `ready`, which visits the waiting jobs available at or before `now`.
    public func stats(now: Int64) -> QueueStats {
        var ready = 0
        readyHeap.visit(atOrBefore: now) { entry in
            if isLive(entry, in: .ready) { ready += 1 }
        }
        let oldest = ageHeap.top.map { max(0, now - $0.time) } ?? 0
        return QueueStats(
            depth: counts[Kind.pending.rawValue] + counts[Kind.retrying.rawValue], ready: ready,
            inFlight: counts[Kind.leased.rawValue], retrying: counts[Kind.retrying.rawValue],
            pending: counts[Kind.pending.rawValue], awaitingDeadLetter: counts[Kind.awaitingDeadLetter.rawValue],
            dead: counts[Kind.dead.rawValue], done: counts[Kind.done.rawValue], oldestAgeMicros: oldest)
    }

    /// Every attempt in flight, by document id. Start-up recovery abandons those of earlier processes.
    public func inFlight() -> [InFlightJob] {
        leasedSlots.compactMap { slot -> InFlightJob? in
            guard let entry = slots[Int(slot)], let lease = entry.job.lease else { return nil }
            return InFlightJob(
                documentId: entry.documentId, attempt: lease.attempt, processId: lease.processId,
                workerId: lease.workerId, leaseExpiresAt: lease.expiresAt)
        }.sorted { $0.documentId < $1.documentId }
    }

    /// The attempts in flight whose lease ran out at or before `now`.
    public func expiredLeases(now: Int64) -> [InFlightJob] {
        inFlight().filter { $0.leaseExpiresAt <= now }
    }

    /// The dead-lettered jobs of `tenant` (of every tenant when nil), by document id, each with its last failure.
    public func deadLettered(tenant: String? = nil) -> [QueueJob] { jobs(in: deadSlots, tenant: tenant) }

    /// The jobs whose last attempt failed for good but whose `job.dead_lettered` was never appended (the worker died
    /// between the two appends): recovery dead-letters them.
    public func awaitingDeadLetter() -> [QueueJob] { jobs(in: awaitingSlots, tenant: nil) }

    private func jobs(in set: Set<Int32>, tenant: String?) -> [QueueJob] {
        set.compactMap { slot -> QueueJob? in
            guard let entry = slots[Int(slot)], tenant == nil || entry.tenantId == tenant else { return nil }
            return QueueJob(documentId: entry.documentId, tenantId: entry.tenantId, job: entry.job)
        }.sorted { $0.documentId < $1.documentId }
    }

    private func readyJob(_ entry: QueueHeap.Entry) -> ReadyJob? {
        guard let slot = slots[Int(entry.slot)] else { return nil }
        return ReadyJob(documentId: slot.documentId, nextAttempt: slot.job.nextAttempt, availableAt: entry.time)
    }

    private enum HeapKind { case ready, age }

    /// Whether a heap entry still describes its job: the slot holds a waiting job made available (or enqueued) by
    /// the entry's event. Positions are unique, so a reused slot never matches an old entry.
    private func isLive(_ entry: QueueHeap.Entry, in heap: HeapKind) -> Bool {
        guard let job = slots[Int(entry.slot)]?.job else { return false }
        switch heap {
        case .ready: return job.availability?.position == entry.position
        case .age: return job.availability != nil && job.enqueuePosition == entry.position
        }
    }

    // MARK: Applying

    /// Applies the next event.
    public mutating func apply(_ event: ProjectedEvent) {
        let documentId: String
        switch event.event {
        case .uploadReceived(let upload):
            // The tombstone check first (free while nothing was deleted), so that a refused id is never inserted.
            let slot = nextSlot
            guard !upload.documentID.isEmpty, tombstones.isEmpty || !tombstones.contains(upload.documentID),
                insertIfAbsent(&slotOf, HashedKey(upload.documentID), { slot })
            else {
                ignoredEvents += 1
                return
            }
            insert(
                upload.documentID, tenantId: upload.tenantID,
                JobStateMachine(enqueuedAt: event.timestamp, position: event.position))
            return
        case .jobStarted(let started): documentId = started.documentID
        case .jobFailed(let failed): documentId = failed.documentID
        case .documentCompleted(let completed): documentId = completed.documentID
        case .jobAbandoned(let abandoned): documentId = abandoned.documentID
        case .jobDeadLettered(let dead): documentId = dead.documentID
        case .jobRequeued(let requeued): documentId = requeued.documentID
        case .documentDeleted(let deleted): documentId = deleted.documentID
        case .uploadRejected, .chunkEmbedded, .checkpointWritten, .apiKeyCreated, .apiKeyRevoked, .serviceStarted,
            .serviceStopped:
            return
        }
        guard let slot = slotOf[HashedKey(documentId)] else {
            ignoredEvents += 1
            return
        }
        let index = Int(slot)
        let before = Summary(slots[index]!.job)
        guard slots[index]!.job.apply(event) == .applied else {
            ignoredEvents += 1
            return
        }
        let after = Summary(slots[index]!.job)
        if after.kind == .deleted {
            remove(slot, documentId: documentId, before: before)
        } else {
            account(slot, from: before, to: after)
        }
    }

    /// The slot the next inserted job takes.
    private var nextSlot: Int32 { freeSlots.last ?? Int32(slots.count) }

    /// Stores a new job in `nextSlot`; `slotOf` already maps its id there.
    private mutating func insert(_ documentId: String, tenantId: String, _ job: JobStateMachine) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = Slot(documentId: documentId, tenantId: tenantId, job: job)
        } else {
            slot = Int32(slots.count)
            slots.append(Slot(documentId: documentId, tenantId: tenantId, job: job))
        }
        account(slot, from: nil, to: Summary(job))
    }

    private mutating func remove(_ slot: Int32, documentId: String, before: Summary) {
        counts[before.kind.rawValue] -= 1
        leasedSlots.remove(slot)
        deadSlots.remove(slot)
        awaitingSlots.remove(slot)
        slots[Int(slot)] = nil
        freeSlots.append(slot)
        slotOf[HashedKey(documentId)] = nil
        tombstones.insert(documentId)
        cleanHeaps()
    }

    /// Updates counters, membership sets and heaps for a job that went from `before` to `after`.
    private mutating func account(_ slot: Int32, from before: Summary?, to after: Summary) {
        if let before { counts[before.kind.rawValue] -= 1 }
        counts[after.kind.rawValue] += 1
        if before?.kind != after.kind {
            update(&leasedSlots, slot, member: after.kind == .leased)
            update(&deadSlots, slot, member: after.kind == .dead)
            update(&awaitingSlots, slot, member: after.kind == .awaitingDeadLetter)
        }
        if let available = after.availability, before?.availability?.position != available.position {
            readyHeap.push(QueueHeap.Entry(time: available.at, position: available.position, slot: slot))
        }
        if after.isWaiting, before?.isWaiting != true || before?.enqueuePosition != after.enqueuePosition {
            ageHeap.push(QueueHeap.Entry(time: after.enqueuedAt, position: after.enqueuePosition, slot: slot))
        }
        cleanHeaps()
    }

    private func update(_ set: inout Set<Int32>, _ slot: Int32, member: Bool) {
        if member { set.insert(slot) } else { set.remove(slot) }
    }

    /// Pops stale entries off both heaps so their tops are live, and rebuilds a heap when stale entries dominate.
    private mutating func cleanHeaps() {
        while let top = readyHeap.top, !isLive(top, in: .ready) { readyHeap.popTop() }
        while let top = ageHeap.top, !isLive(top, in: .age) { ageHeap.popTop() }
        let waiting = counts[Kind.pending.rawValue] + counts[Kind.retrying.rawValue]
        let limit = max(Self.heapRebuildCountMin, waiting * (1 + Self.staleEntriesPerLiveMax))
        if readyHeap.count > limit || ageHeap.count > limit { rebuildHeaps() }
    }

    /// Rebuilds both heaps from the jobs, dropping every stale entry.
    private mutating func rebuildHeaps() {
        var ready: [QueueHeap.Entry] = []
        var age: [QueueHeap.Entry] = []
        for (index, entry) in slots.enumerated() {
            guard let job = entry?.job, let available = job.availability else { continue }
            ready.append(QueueHeap.Entry(time: available.at, position: available.position, slot: Int32(index)))
            age.append(QueueHeap.Entry(time: job.enqueuedAt, position: job.enqueuePosition, slot: Int32(index)))
        }
        readyHeap.rebuild(ready)
        ageHeap.rebuild(age)
    }
}

// MARK: Snapshot

extension QueueProjection {
    /// The state as canonical bytes: the version, the ignored-event count, the tombstones sorted, then every job
    /// (document id, tenant, state machine) in the order of its enqueue position. Slots and heaps are derived and
    /// rebuilt on restore.
    ///
    /// Each job's enqueue position is the position of the event that enqueued it, so no two jobs share one and the
    /// order depends on the state alone (ids break a tie that cannot happen). Jobs mostly sit in their slots in that
    /// order already, so the sort is nearly linear; sorting every id string, as version 1 did, was most of the time
    /// a snapshot took (and so of every checkpoint and of `annals replay` after its replay).
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 64 + slotOf.count * 96)
        writer.u32(Self.version)
        writer.u64(ignoredEvents)
        writer.count(tombstones.count)
        for id in tombstones.sorted() { writer.string(id) }
        var order: [(position: UInt64, slot: Int)] = []
        order.reserveCapacity(slotOf.count)
        for (index, slot) in slots.enumerated() {
            if let slot { order.append((slot.job.enqueuePosition, index)) }
        }
        order.sort { a, b in
            a.position != b.position
                ? a.position < b.position : slots[a.slot]!.documentId < slots[b.slot]!.documentId
        }
        writer.count(order.count)
        for (_, index) in order {
            let slot = slots[index]!
            writer.string(slot.documentId)
            writer.string(slot.tenantId)
            slot.job.encode(into: &writer)
        }
        return writer.bytes
    }

    /// Restores a queue from `snapshot()` bytes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`.
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        try reader.expectVersion(Self.version)
        ignoredEvents = try reader.u64()
        let tombstoneCount = try reader.count(elementBytes: 4)
        tombstones.reserveCapacity(tombstoneCount)
        for _ in 0..<tombstoneCount { tombstones.insert(try reader.string()) }
        let jobCount = try reader.count(elementBytes: 30)
        slots.reserveCapacity(jobCount)
        slotOf.reserveCapacity(jobCount)
        for _ in 0..<jobCount {
            let id = try reader.string()
            let tenant = try reader.string()
            let job = try JobStateMachine(from: &reader)
            let slot = nextSlot
            guard job.phase != .deleted, insertIfAbsent(&slotOf, HashedKey(id), { slot }) else {
                throw reader.malformed("job \(id) is invalid")
            }
            insert(id, tenantId: tenant, job)
        }
        try reader.finish()
    }
}
