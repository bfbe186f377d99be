import AnnalsEvents

/// The lease a worker holds on a job while it runs one attempt.
public struct JobLease: Sendable, Hashable {
    /// The attempt being run, from 1.
    public var attempt: UInt32
    /// When the lease runs out, in microseconds since 1970-01-01 UTC (from `job.started`).
    public var expiresAt: Int64
    /// The process running the attempt.
    public var processId: String
    /// The worker running the attempt, within its process.
    public var workerId: String
    /// When the attempt started (the `job.started` event's time).
    public var startedAt: Int64
    /// The log position of the `job.started` event.
    public var position: UInt64

    /// Creates a lease.
    public init(
        attempt: UInt32, expiresAt: Int64, processId: String, workerId: String, startedAt: Int64, position: UInt64
    ) {
        self.attempt = attempt
        self.expiresAt = expiresAt
        self.processId = processId
        self.workerId = workerId
        self.startedAt = startedAt
        self.position = position
    }
}

/// The life of one document's processing job, as an explicit state machine driven only by events.
///
/// | phase | event | next phase |
/// |---|---|---|
/// | (none) | `upload.received` | pending (from the upload's time) |
/// | pending, retrying | `job.started` n | leased n |
/// | leased n | `document.completed` n | done |
/// | leased n | `job.failed` n with `retry_at` | retrying (from `retry_at`) |
/// | leased n | `job.failed` n without `retry_at` | awaitingDeadLetter |
/// | leased n | `job.abandoned` n | pending (from the abandon's time; attempt n stays used) |
/// | pending, leased, retrying, awaitingDeadLetter | `job.dead_lettered` | dead |
/// | retrying, awaitingDeadLetter, dead, done | `job.requeued` | pending (from the requeue's time) |
/// | pending | `job.requeued` | pending (keeps its place; may reset attempts) |
/// | any but deleted | `document.deleted` | deleted (final) |
///
/// Events that do not fit the current phase — a late outcome of an attempt other than the leased one, a start while
/// leased, anything after deletion — are ignored (`.ignored`), so that odd sequences (retries, duplicates, a worker
/// that outlived its lease) never corrupt the state. The queue, the document catalogue and the vector index all run
/// this machine, so they always agree on a job's phase and on which attempt is current.
public struct JobStateMachine: Sendable, Hashable {
    /// Where a job is in its life.
    public enum Phase: Sendable, Hashable {
        /// Waiting for a worker from `availableAt`; `position` is the event that made it available (the queue's
        /// tie-breaker, so that equal times keep log order).
        case pending(availableAt: Int64, position: UInt64)
        /// A worker runs an attempt.
        case leased(JobLease)
        /// The last attempt failed; the next one may start at `availableAt` (the failure's `retry_at`).
        case retrying(availableAt: Int64, position: UInt64)
        /// The last attempt failed for good; a `job.dead_lettered` is expected next (the worker appends both).
        case awaitingDeadLetter
        /// The job gave up; it waits for a requeue or a deletion.
        case dead
        /// An attempt completed; the document is searchable.
        case done
        /// The document was deleted; nothing happens to the job any more.
        case deleted
    }

    /// What an event did to the machine.
    public enum Transition: Sendable, Hashable {
        /// The event moved the machine (or updated it in place).
        case applied
        /// The event does not fit the current phase and changed nothing.
        case ignored
    }

    /// The current phase.
    public private(set) var phase: Phase
    /// The number of the latest attempt started, which counts as used whatever its outcome; 0 before the first and
    /// after a requeue that resets attempts. The next attempt is `attempts + 1`.
    public private(set) var attempts: UInt32
    /// The latest failure (failed, abandoned or dead-lettered attempt); kept after a later success, for the record.
    public var lastFailure: JobFailure? { failureBox?.failure }
    /// The latest failure, boxed: failures are rare and hold three strings, and every projection keeps a machine per
    /// document, so a box keeps those small (a pointer instead of some sixty bytes).
    private var failureBox: FailureBox?
    /// When the job last entered the queue from outside (upload or requeue); retries and abandons keep it, so the
    /// queue's oldest age measures how long a document has waited in all.
    public private(set) var enqueuedAt: Int64
    /// The log position of the event that set `enqueuedAt`.
    public private(set) var enqueuePosition: UInt64

    /// A job just uploaded (`upload.received` at `time`, `position`): pending from that time.
    public init(enqueuedAt time: Int64, position: UInt64) {
        phase = .pending(availableAt: time, position: position)
        attempts = 0
        failureBox = nil
        enqueuedAt = time
        enqueuePosition = position
    }

    /// Restores a machine from its parts (snapshots).
    init(phase: Phase, attempts: UInt32, lastFailure: JobFailure?, enqueuedAt: Int64, enqueuePosition: UInt64) {
        self.phase = phase
        self.attempts = attempts
        self.failureBox = lastFailure.map(FailureBox.init)
        self.enqueuedAt = enqueuedAt
        self.enqueuePosition = enqueuePosition
    }

    /// The attempt a worker starting now would run.
    public var nextAttempt: UInt32 { attempts &+ 1 }

    /// The lease, while an attempt runs.
    public var lease: JobLease? {
        if case .leased(let lease) = phase { return lease }
        return nil
    }

    /// When and through which event the job is available to a worker, while it waits (pending or retrying).
    public var availability: (at: Int64, position: UInt64)? {
        switch phase {
        case .pending(let time, let position), .retrying(let time, let position): (time, position)
        default: nil
        }
    }

    /// A worker began attempt `lease.attempt` (`job.started`). Accepted while pending or retrying, even before a
    /// retry time (the worker decided).
    @discardableResult
    public mutating func start(_ lease: JobLease) -> Transition {
        guard lease.attempt >= 1 else { return .ignored }
        switch phase {
        case .pending, .retrying:
            phase = .leased(lease)
            attempts = lease.attempt
            return .applied
        default:
            return .ignored
        }
    }

    /// The leased attempt `attempt` failed (`job.failed`): it is retried at `retryAt`, or, without one, waits for
    /// its dead-lettering.
    @discardableResult
    public mutating func fail(
        attempt: UInt32, failure: JobFailure, retryAt: Int64?, position: UInt64
    ) -> Transition {
        guard lease?.attempt == attempt else { return .ignored }
        failureBox = FailureBox(failure)
        if let retryAt {
            phase = .retrying(availableAt: retryAt, position: position)
        } else {
            phase = .awaitingDeadLetter
        }
        return .applied
    }

    /// The leased attempt `attempt` completed (`document.completed`).
    @discardableResult
    public mutating func complete(attempt: UInt32) -> Transition {
        guard lease?.attempt == attempt else { return .ignored }
        phase = .done
        return .applied
    }

    /// The leased attempt `attempt` will never report back (`job.abandoned` at `time`): the job is pending again and
    /// the attempt counts as used.
    @discardableResult
    public mutating func abandon(
        attempt: UInt32, failure: JobFailure, at time: Int64, position: UInt64
    ) -> Transition {
        guard lease?.attempt == attempt else { return .ignored }
        failureBox = FailureBox(failure)
        phase = .pending(availableAt: time, position: position)
        return .applied
    }

    /// The job gave up (`job.dead_lettered`). Accepted from any phase but done, dead and deleted; `failure` replaces
    /// the last failure when it names a code.
    @discardableResult
    public mutating func deadLetter(failure: JobFailure) -> Transition {
        switch phase {
        case .pending, .leased, .retrying, .awaitingDeadLetter:
            if !failure.code.isEmpty { failureBox = FailureBox(failure) }
            phase = .dead
            return .applied
        case .dead, .done, .deleted:
            return .ignored
        }
    }

    /// Someone put the job back in the queue (`job.requeued` at `time`). From dead, done, a failed phase or
    /// retrying, the job becomes pending now; a job already pending keeps its place. Refused while an attempt runs
    /// (its lease must end first) and after deletion.
    @discardableResult
    public mutating func requeue(resetAttempts: Bool, at time: Int64, position: UInt64) -> Transition {
        switch phase {
        case .leased, .deleted:
            return .ignored
        case .pending:
            break
        case .retrying, .awaitingDeadLetter, .dead, .done:
            phase = .pending(availableAt: time, position: position)
            enqueuedAt = time
            enqueuePosition = position
        }
        if resetAttempts { attempts = 0 }
        return .applied
    }

    /// The document was deleted (`document.deleted`); final.
    @discardableResult
    public mutating func delete() -> Transition {
        guard phase != .deleted else { return .ignored }
        phase = .deleted
        return .applied
    }

    /// Applies a job event of the document's stream; other events (and `upload.received`, which creates the machine)
    /// are ignored.
    @discardableResult
    public mutating func apply(_ event: ProjectedEvent) -> Transition {
        switch event.event {
        case .jobStarted(let started):
            return start(
                JobLease(
                    attempt: started.attempt, expiresAt: started.leaseExpiresAtMicros, processId: started.processID,
                    workerId: started.workerID, startedAt: event.timestamp, position: event.position))
        case .jobFailed(let failed):
            return fail(
                attempt: failed.attempt, failure: JobFailure(failed, at: event.timestamp),
                retryAt: failed.hasRetryAtMicros ? failed.retryAtMicros : nil, position: event.position)
        case .documentCompleted(let completed):
            return complete(attempt: completed.attempt)
        case .jobAbandoned(let abandoned):
            return abandon(
                attempt: abandoned.attempt, failure: JobFailure(abandoned, at: event.timestamp), at: event.timestamp,
                position: event.position)
        case .jobDeadLettered(let dead):
            return deadLetter(failure: JobFailure(dead, at: event.timestamp))
        case .jobRequeued(let requeued):
            return requeue(resetAttempts: requeued.resetAttempts, at: event.timestamp, position: event.position)
        case .documentDeleted:
            return delete()
        default:
            return .ignored
        }
    }
}

extension JobStateMachine {
    /// Equal when every part is, the failure compared by value.
    public static func == (a: JobStateMachine, b: JobStateMachine) -> Bool {
        a.phase == b.phase && a.attempts == b.attempts && a.enqueuedAt == b.enqueuedAt
            && a.enqueuePosition == b.enqueuePosition && a.lastFailure == b.lastFailure
    }

    /// Hashes every part, the failure by value.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(phase)
        hasher.combine(attempts)
        hasher.combine(enqueuedAt)
        hasher.combine(enqueuePosition)
        hasher.combine(lastFailure)
    }
}

/// An immutable failure on the heap (see `JobStateMachine.failureBox`); `Sendable` because it never changes.
final class FailureBox: Sendable {
    let failure: JobFailure

    init(_ failure: JobFailure) { self.failure = failure }
}

extension JobStateMachine {
    /// Encodes the machine into a snapshot.
    func encode(into writer: inout SnapshotWriter) {
        switch phase {
        case .pending(let time, let position):
            writer.u8(0)
            writer.i64(time)
            writer.u64(position)
        case .leased(let lease):
            writer.u8(1)
            writer.u32(lease.attempt)
            writer.i64(lease.expiresAt)
            writer.string(lease.processId)
            writer.string(lease.workerId)
            writer.i64(lease.startedAt)
            writer.u64(lease.position)
        case .retrying(let time, let position):
            writer.u8(2)
            writer.i64(time)
            writer.u64(position)
        case .awaitingDeadLetter: writer.u8(3)
        case .dead: writer.u8(4)
        case .done: writer.u8(5)
        case .deleted: writer.u8(6)
        }
        writer.u32(attempts)
        writer.i64(enqueuedAt)
        writer.u64(enqueuePosition)
        writer.bool(lastFailure != nil)
        if let lastFailure { lastFailure.encode(into: &writer) }
    }

    /// Decodes a machine written by `encode(into:)`.
    init(from reader: inout SnapshotReader) throws(ProjectionError) {
        let phase: Phase
        switch try reader.u8() {
        case 0: phase = .pending(availableAt: try reader.i64(), position: try reader.u64())
        case 1:
            phase = .leased(
                JobLease(
                    attempt: try reader.u32(), expiresAt: try reader.i64(), processId: try reader.string(),
                    workerId: try reader.string(), startedAt: try reader.i64(), position: try reader.u64()))
        case 2: phase = .retrying(availableAt: try reader.i64(), position: try reader.u64())
        case 3: phase = .awaitingDeadLetter
        case 4: phase = .dead
        case 5: phase = .done
        case 6: phase = .deleted
        case let other: throw reader.malformed("job phase \(other)")
        }
        let attempts = try reader.u32()
        let enqueuedAt = try reader.i64()
        let enqueuePosition = try reader.u64()
        let failure = try reader.bool() ? try JobFailure(from: &reader) : nil
        self.init(
            phase: phase, attempts: attempts, lastFailure: failure, enqueuedAt: enqueuedAt,
            enqueuePosition: enqueuePosition)
    }
}

extension JobFailure {
    func encode(into writer: inout SnapshotWriter) {
        writer.string(stage)
        writer.string(code)
        writer.string(message)
        writer.u32(attempt)
        writer.i64(failedAt)
    }

    init(from reader: inout SnapshotReader) throws(ProjectionError) {
        self.init(
            stage: try reader.string(), code: try reader.string(), message: try reader.string(),
            attempt: try reader.u32(), failedAt: try reader.i64())
    }
}
