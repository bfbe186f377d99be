import AnnalsEvents
import AnnalsProjections
import Foundation
import Logging

extension AnnalsCore {
    /// Writes a snapshot of every projection at the applied position and appends `checkpoint.written`; a projection
    /// whose state has not changed since the newest checkpoint keeps that checkpoint's file (see
    /// `SnapshotStore.write(_:reusing:)`).
    ///
    /// Returns the checkpoint's position, or nil when nothing happened since the last one.
    @discardableResult
    public func checkpoint(after last: UInt64 = 0) async throws -> UInt64? {
        try await writeCheckpoint(after: last)?.position
    }

    /// Writes a checkpoint as `checkpoint(after:)` does; returns its position and the bytes of its snapshot files
    /// (kept ones included: every one is hashed again, so they pace checkpoints as before).
    func writeCheckpoint(after last: UInt64) async throws -> (position: UInt64, bytes: UInt64)? {
        let start = ContinuousClock.now
        // Encode under the read lock: copying the set out would make the engine's next write duplicate every
        // large table (copy on write).
        let (encoded, position) = engine.read { set in
            set.appliedPosition > last ? (SnapshotStore.encode(set), set.appliedPosition) : ([], set.appliedPosition)
        }
        guard position > last, !encoded.isEmpty else { return nil }
        // The newest checkpoints: the first one's files may be kept where a projection did not change, and the
        // files of those that stay (with the new one, `checkpointsKept`) must survive the pruning below.
        let recent = try Checkpoints.newestFirst(in: log, limit: configuration.checkpointsKept)
        let previous = recent.first?.checkpoint.snapshots.map { SnapshotFile(checkpointSnapshot: $0) } ?? []
        let files = try snapshots.write(encoded, reusing: previous)
        let reused = files.filter { previous.contains($0) }.count
        var event = Annals_Events_V1_CheckpointWritten()
        event.position = position
        event.processID = processId
        event.snapshots = files.map { file in
            var snapshot = Annals_Events_V1_CheckpointWritten.Snapshot()
            snapshot.projection = file.projection
            snapshot.version = file.version
            snapshot.file = file.file
            snapshot.digest = file.digest
            snapshot.bytes = file.bytes
            snapshot.stateDigest = file.stateDigest
            return snapshot
        }
        event.durationMicros = (ContinuousClock.now - start).wholeMicroseconds
        try await append(.checkpointWritten(event))
        do {
            var referenced = Set(files.map(\.file))
            for (_, older) in recent.prefix(configuration.checkpointsKept - 1) {
                referenced.formUnion(older.snapshots.map(\.file))
            }
            _ = try snapshots.prune(keep: configuration.checkpointsKept, referenced: referenced)
        } catch {
            logger.warning("old snapshots not removed", metadata: ["error": "\(error)"])
        }
        saveGraphs()
        logger.info(
            "checkpoint written",
            metadata: [
                "checkpoint.position": "\(position)", "checkpoint.files": "\(files.count)",
                "checkpoint.files_kept": "\(reused)",
            ])
        return (position, files.reduce(0) { $0 + $1.bytes })
    }

    /// Saves the vector graphs that grew since they were last saved (see `GraphFiles`). They are a cache beside the
    /// checkpoints: a failure is logged and costs a rebuild after the next restart, no data.
    func saveGraphs() {
        do {
            let saved = try engine.saveGraphs(to: graphFiles)
            if saved.files > 0 {
                logger.info(
                    "vector graphs saved",
                    metadata: ["graphs.files": "\(saved.files)", "graphs.bytes": "\(saved.bytes)"])
            }
        } catch {
            logger.warning("vector graphs not saved", metadata: ["error": "\(error)"])
        }
    }

    /// Snapshot bytes per event of spacing between checkpoints: the next checkpoint waits for at least the last
    /// snapshot set's size divided by this many events.
    ///
    /// A snapshot holds the whole state, so checkpoints every fixed number of events cost quadratic time and disk
    /// while a large corpus is ingested (every vector written again at each checkpoint: 54 GB of snapshot writes
    /// for a 1.6 GB text). Spacing them by the state's size keeps the total written a small multiple of the final
    /// state, and the replay after a crash no longer than about the time the snapshot takes to load (a chunk event
    /// is about 3 KiB in the log).
    static let snapshotBytesPerCheckpointEvent: UInt64 = 4096

    /// Writes checkpoints every `checkpointEvents` events (more when the state is large: see
    /// `snapshotBytesPerCheckpointEvent`) or `checkpointInterval`, until cancelled.
    func runCheckpointer() async {
        var last = engine.appliedPosition
        var lastTime = ContinuousClock.now
        var spacing = UInt64(configuration.checkpointEvents)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let applied = engine.appliedPosition
            let intervalOver = ContinuousClock.now - lastTime >= configuration.checkpointInterval
            let due = applied >= last + spacing || (intervalOver && applied > last)
            if intervalOver && !due && !Task.isCancelled {
                // Nothing to checkpoint, but the graphs may have caught up since.
                saveGraphs()
                lastTime = .now
            }
            guard due, !Task.isCancelled else { continue }
            do {
                if let written = try await writeCheckpoint(after: last) {
                    last = written.position
                    spacing = max(
                        UInt64(configuration.checkpointEvents), written.bytes / Self.snapshotBytesPerCheckpointEvent)
                }
                lastTime = .now
            } catch {
                logger.error("checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Requeues attempts whose lease ran out (a worker that hangs, or another process that died), until cancelled.
    func runLeaseJanitor() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            let now = AnnalsCore.nowMicros()
            for job in engine.read({ $0.queue.expiredLeases(now: now) }) {
                var abandoned = Annals_Events_V1_JobAbandoned()
                abandoned.documentID = job.documentId
                abandoned.attempt = UInt32(job.attempt)
                abandoned.previousProcessID = job.processId
                abandoned.reason = .leaseExpired
                abandoned.leaseExpiredAtMicros = job.leaseExpiresAt
                abandoned.detectedByProcessID = processId
                do {
                    try await append(.jobAbandoned(abandoned))
                } catch {
                    logger.error("could not requeue an expired lease", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
