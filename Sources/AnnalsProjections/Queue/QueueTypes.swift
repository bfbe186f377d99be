/// The queue's counters at one moment.
public struct QueueStats: Sendable, Hashable {
    /// Jobs waiting for a worker: pending plus retrying.
    public var depth: Int
    /// Waiting jobs whose time has come (available at or before `now`).
    public var ready: Int
    /// Jobs with a running attempt (leased).
    public var inFlight: Int
    /// Jobs waiting for a retry (their last attempt failed), whether or not their retry time has come.
    public var retrying: Int
    /// Jobs pending (uploaded, requeued or abandoned, never failed since).
    public var pending: Int
    /// Jobs whose last attempt failed for good and whose dead-lettering has not been seen yet.
    public var awaitingDeadLetter: Int
    /// Dead-lettered jobs.
    public var dead: Int
    /// Completed jobs.
    public var done: Int
    /// How long the oldest waiting job (pending or retrying) has waited since it was enqueued (uploaded or requeued),
    /// in microseconds; 0 when none waits.
    public var oldestAgeMicros: Int64

    /// Creates stats.
    public init(
        depth: Int, ready: Int, inFlight: Int, retrying: Int, pending: Int, awaitingDeadLetter: Int, dead: Int,
        done: Int, oldestAgeMicros: Int64
    ) {
        self.depth = depth
        self.ready = ready
        self.inFlight = inFlight
        self.retrying = retrying
        self.pending = pending
        self.awaitingDeadLetter = awaitingDeadLetter
        self.dead = dead
        self.done = done
        self.oldestAgeMicros = oldestAgeMicros
    }
}

/// One job as the queue knows it.
public struct QueueJob: Sendable, Hashable {
    /// The document the job processes.
    public var documentId: String
    /// The tenant that owns the document.
    public var tenantId: String
    /// The job's state.
    public var job: JobStateMachine

    /// Creates a job description.
    public init(documentId: String, tenantId: String, job: JobStateMachine) {
        self.documentId = documentId
        self.tenantId = tenantId
        self.job = job
    }

    /// The job's phase.
    public var phase: JobStateMachine.Phase { job.phase }
    /// The attempts used so far.
    public var attempts: UInt32 { job.attempts }
    /// The attempt a worker starting now would run.
    public var nextAttempt: UInt32 { job.nextAttempt }
    /// The latest failure, if any.
    public var lastFailure: JobFailure? { job.lastFailure }
    /// The latest failure's code, or empty.
    public var lastCode: String { job.lastFailure?.code ?? "" }
    /// The latest failure's message, or empty.
    public var lastMessage: String { job.lastFailure?.message ?? "" }
}

/// An attempt in flight: what recovery and the lease reaper need to abandon it.
public struct InFlightJob: Sendable, Hashable {
    /// The document the job processes.
    public var documentId: String
    /// The running attempt.
    public var attempt: UInt32
    /// The process running it (from `job.started`).
    public var processId: String
    /// The worker running it.
    public var workerId: String
    /// When its lease runs out, in microseconds since 1970-01-01 UTC.
    public var leaseExpiresAt: Int64

    /// Creates an in-flight attempt.
    public init(documentId: String, attempt: UInt32, processId: String, workerId: String, leaseExpiresAt: Int64) {
        self.documentId = documentId
        self.attempt = attempt
        self.processId = processId
        self.workerId = workerId
        self.leaseExpiresAt = leaseExpiresAt
    }
}

/// A job a worker may start now.
public struct ReadyJob: Sendable, Hashable {
    /// The document to process.
    public var documentId: String
    /// The attempt to start (`job.started.attempt`).
    public var nextAttempt: UInt32
    /// When it became available.
    public var availableAt: Int64

    /// Creates a ready job.
    public init(documentId: String, nextAttempt: UInt32, availableAt: Int64) {
        self.documentId = documentId
        self.nextAttempt = nextAttempt
        self.availableAt = availableAt
    }
}
