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
    /// Every `checkpoint.written` event of the log, newest first, with the position of the event itself.
    ///
    /// Walks the `checkpoint` stream backwards; an event that does not decode is skipped.
    public static func newestFirst(in log: any EventLog) throws -> [(
        position: UInt64, checkpoint: Annals_Events_V1_CheckpointWritten
    )] {
        var found: [(UInt64, Annals_Events_V1_CheckpointWritten)] = []
        let stream = try log.readStream(EventStreamID.checkpoint, fromVersion: 1, limit: .max)
        for record in stream.reversed() {
            if case .checkpointWritten(let checkpoint) = try? record.event() {
                found.append((record.position, checkpoint))
            }
        }
        return found
    }
}
