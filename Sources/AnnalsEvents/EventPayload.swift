public import SwiftProtobuf

/// A protobuf message that is the payload of one event type at one schema version.
///
/// Implementation requirements: conform only the generated messages listed in `EventCatalog`; each message is the
/// payload of exactly one (type, schema version) pair, and `streamID` must derive from the message's own fields so
/// that appending needs nothing else.
public protocol EventPayload: SwiftProtobuf.Message, Hashable {
    /// The event type this message is the payload of.
    static var eventType: EventType { get }
    /// The schema version of `eventType` this message is the payload of.
    static var schemaVersion: UInt16 { get }
    /// The id of the stream an event with this payload is appended to.
    var streamID: String { get }
}

extension Annals_Events_V1_UploadReceived: EventPayload {
    /// `upload.received`.
    public static var eventType: EventType { .uploadReceived }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_UploadRejected: EventPayload {
    /// `upload.rejected`.
    public static var eventType: EventType { .uploadRejected }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The stream of the document id the refused upload was given.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_JobStarted: EventPayload {
    /// `job.started`.
    public static var eventType: EventType { .jobStarted }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_ChunkEmbedded: EventPayload {
    /// `chunk.embedded`.
    public static var eventType: EventType { .chunkEmbedded }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_DocumentCompleted: EventPayload {
    /// `document.completed`.
    public static var eventType: EventType { .documentCompleted }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_JobFailed: EventPayload {
    /// `job.failed`.
    public static var eventType: EventType { .jobFailed }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_JobDeadLettered: EventPayload {
    /// `job.dead_lettered`.
    public static var eventType: EventType { .jobDeadLettered }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_JobAbandoned: EventPayload {
    /// `job.abandoned`.
    public static var eventType: EventType { .jobAbandoned }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_JobRequeued: EventPayload {
    /// `job.requeued`.
    public static var eventType: EventType { .jobRequeued }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_DocumentDeleted: EventPayload {
    /// `document.deleted`.
    public static var eventType: EventType { .documentDeleted }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The document's stream.
    public var streamID: String { EventStreamID.document(documentID) }
}

extension Annals_Events_V1_CheckpointWritten: EventPayload {
    /// `checkpoint.written`.
    public static var eventType: EventType { .checkpointWritten }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The checkpoint stream.
    public var streamID: String { EventStreamID.checkpoint }
}

extension Annals_Events_V1_ApiKeyCreated: EventPayload {
    /// `apikey.created`.
    public static var eventType: EventType { .apiKeyCreated }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The key's stream.
    public var streamID: String { EventStreamID.apiKey(keyID) }
}

extension Annals_Events_V1_ApiKeyRevoked: EventPayload {
    /// `apikey.revoked`.
    public static var eventType: EventType { .apiKeyRevoked }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The key's stream.
    public var streamID: String { EventStreamID.apiKey(keyID) }
}

extension Annals_Events_V1_ServiceStarted: EventPayload {
    /// `service.started`.
    public static var eventType: EventType { .serviceStarted }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The service stream.
    public var streamID: String { EventStreamID.service }
}

extension Annals_Events_V1_ServiceStopped: EventPayload {
    /// `service.stopped`.
    public static var eventType: EventType { .serviceStopped }
    /// Version 1.
    public static var schemaVersion: UInt16 { 1 }
    /// The service stream.
    public var streamID: String { EventStreamID.service }
}
