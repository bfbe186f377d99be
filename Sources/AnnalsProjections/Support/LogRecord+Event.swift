public import AnnalsEvents
public import AnnalsLog

extension LogRecord {
    /// The event this record holds, decoded.
    ///
    /// - Throws: `EventCodingError` for a type or schema version this build cannot read, or a malformed payload.
    public func event() throws(EventCodingError) -> Event {
        try Event(type: type, schemaVersion: schemaVersion, payload: payload)
    }
}

/// Finding checkpoints in the log.
public enum Checkpoints {
    /// The `checkpoint.written` events of the log, newest first (the newest `limit` of them), with the position of
    /// the event itself.
    ///
    /// Reads the end of the `checkpoint` stream; an event that does not decode is skipped.
    public static func newestFirst(in log: any EventLog, limit: Int = .max) throws -> [(
        position: UInt64, checkpoint: Annals_Events_V1_CheckpointWritten
    )] {
        var found: [(UInt64, Annals_Events_V1_CheckpointWritten)] = []
        let version = try log.streamVersion(EventStreamID.checkpoint)
        guard version > 0, limit > 0 else { return [] }
        let first = limit >= Int(version) ? 1 : version - UInt64(limit) + 1
        let stream = try log.readStream(EventStreamID.checkpoint, fromVersion: first, limit: .max)
        for record in stream.reversed() {
            if case .checkpointWritten(let checkpoint) = try? record.event() {
                found.append((record.position, checkpoint))
            }
        }
        return found
    }
}
