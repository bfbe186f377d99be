import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import Foundation
import Logging

/// What start-up found and did.
public struct RecoveryReport: Sendable {
    /// The checkpoint position the projections were restored from (0: replayed from the start).
    public var restoredFrom: UInt64 = 0
    /// Events replayed after the checkpoint.
    public var replayedEvents: UInt64 = 0
    /// Attempts of a dead process that were requeued with `job.abandoned`.
    public var abandonedJobs = 0
    /// Snapshots that failed their checks, with the reason; an older checkpoint (or position 0) was used.
    public var rejectedSnapshots: [(file: String, reason: String)] = []
    /// How long recovery took.
    public var duration: Duration = .zero
    /// The admin key's secret when it was created by this start (print it once), else nil.
    public var adminSecret: String?
}

extension AnnalsCore {
    /// Brings the projections up to date and makes the log consistent with this process being the only one:
    /// restores the newest valid checkpoint, replays the tail, requeues the attempts a dead process left in flight
    /// (`job.abandoned`), creates the admin key on a new data directory, and appends `service.started`.
    ///
    /// A snapshot that fails its checks is reported (log line, and in `service.started`), and an older checkpoint
    /// or position 0 is used instead: recovery never fails because of a snapshot.
    public func recover() async throws -> RecoveryReport {
        let start = ContinuousClock.now
        var report = RecoveryReport()
        for (_, checkpoint) in try Checkpoints.newestFirst(in: log) {
            do {
                let set = try snapshots.load(
                    position: checkpoint.position,
                    expected: checkpoint.snapshots.map { SnapshotFile(checkpointSnapshot: $0) })
                engine.restore(set)
                report.restoredFrom = checkpoint.position
                break
            } catch {
                let files = checkpoint.snapshots.map(\.file).joined(separator: ", ")
                report.rejectedSnapshots.append((files, "\(error)"))
                logger.warning(
                    "snapshot refused; trying an older checkpoint",
                    metadata: ["checkpoint.position": "\(checkpoint.position)", "error": "\(error)"])
            }
        }
        let before = engine.appliedPosition
        let head = try engine.catchUp()
        report.replayedEvents = head - before

        // Every attempt still in flight belongs to a process that is gone: this one holds the data directory's
        // lock, and it has started none yet.
        for job in engine.read({ $0.queue.inFlight() }) {
            var abandoned = Annals_Events_V1_JobAbandoned()
            abandoned.documentID = job.documentId
            abandoned.attempt = UInt32(job.attempt)
            abandoned.previousProcessID = job.processId
            abandoned.reason = .processGone
            abandoned.leaseExpiredAtMicros = job.leaseExpiresAt
            abandoned.detectedByProcessID = processId
            try await append(.jobAbandoned(abandoned))
            report.abandonedJobs += 1
        }
        // A last attempt that failed without a `job.dead_lettered` would wait forever. This process appends the two
        // in one atomic batch, but a log written by another writer may hold them apart: finish such jobs.
        for job in engine.read({ $0.queue.awaitingDeadLetter() }) {
            var dead = Annals_Events_V1_JobDeadLettered()
            dead.documentID = job.documentId
            dead.attempts = job.attempts
            dead.lastCode = job.lastCode
            dead.lastMessage = job.lastMessage
            try await append(.jobDeadLettered(dead))
        }
        report.adminSecret = try await KeyManager.ensureAdminKey(core: self)

        report.duration = ContinuousClock.now - start
        var started = Annals_Events_V1_ServiceStarted()
        started.processID = processId
        started.version = AnnalsCore.version
        started.host = ProcessInfo.processInfo.hostName
        started.recoveredFromPosition = report.restoredFrom
        started.replayedEvents = report.replayedEvents
        started.abandonedJobs = UInt32(report.abandonedJobs)
        started.recoveryDurationMicros = report.duration.wholeMicroseconds
        started.rejectedSnapshots = report.rejectedSnapshots.map { rejected in
            var snapshot = Annals_Events_V1_ServiceStarted.RejectedSnapshot()
            snapshot.file = rejected.file
            snapshot.reason = String(rejected.reason.prefix(500))
            return snapshot
        }
        try await append(.serviceStarted(started))
        logger.info(
            "recovered",
            metadata: [
                "recovery.from": "\(report.restoredFrom)", "recovery.replayed": "\(report.replayedEvents)",
                "recovery.abandoned": "\(report.abandonedJobs)", "recovery.seconds": "\(report.duration)",
            ])
        return report
    }

    /// The version recorded in `service.started`.
    public static let version = "0.1.0"
}
