/// The kinds of stream that events are appended to.
///
/// A stream groups the events of one entity so that its history is one range read in the log, and so that an
/// append can state the version of the stream it expects (optimistic concurrency per entity).
public enum EventStreamKind: String, CaseIterable, Sendable {
    /// One stream per document, `doc-<document id>`: its upload, job, chunks, completion and deletion.
    case document
    /// One stream per API key, `key-<key id>`: its creation and revocation.
    case apiKey
    /// The single stream `service`: process starts and stops.
    case service
    /// The single stream `checkpoint`: checkpoints written.
    case checkpoint
}

/// How stream ids are spelled; the only place that knows the prefixes.
public enum EventStreamID {
    /// The stream id of the document `documentID`: `doc-<documentID>`.
    public static func document(_ documentID: String) -> String { documentPrefix + documentID }

    /// The stream id of the API key `keyID`: `key-<keyID>`.
    public static func apiKey(_ keyID: String) -> String { apiKeyPrefix + keyID }

    /// The id of the stream of process starts and stops.
    public static let service = "service"

    /// The id of the stream of checkpoints.
    public static let checkpoint = "checkpoint"

    /// The kind of the stream `streamID`, or nil when it follows none of the spellings above.
    public static func kind(of streamID: String) -> EventStreamKind? {
        if streamID == service { return .service }
        if streamID == checkpoint { return .checkpoint }
        if streamID.hasPrefix(documentPrefix), streamID.count > documentPrefix.count { return .document }
        if streamID.hasPrefix(apiKeyPrefix), streamID.count > apiKeyPrefix.count { return .apiKey }
        return nil
    }

    /// The document id in the stream id `streamID`, or nil when it is not a document stream.
    public static func documentID(in streamID: String) -> String? {
        guard kind(of: streamID) == .document else { return nil }
        return String(streamID.dropFirst(documentPrefix.count))
    }

    /// The key id in the stream id `streamID`, or nil when it is not an API key stream.
    public static func apiKeyID(in streamID: String) -> String? {
        guard kind(of: streamID) == .apiKey else { return nil }
        return String(streamID.dropFirst(apiKeyPrefix.count))
    }

    private static let documentPrefix = "doc-"
    private static let apiKeyPrefix = "key-"
}
