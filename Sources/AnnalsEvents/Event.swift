public import SwiftProtobuf

/// An event of any type with its payload, for code that switches over events (projections, the audit command).
///
/// Appending: build the case, then hand `streamID`, `type.rawValue`, `schemaVersion` and `serializedPayload()` to
/// the log (with the vector attachment for `chunkEmbedded`). Reading: `Event(type:schemaVersion:payload:)` on what a
/// record holds. When an event type gets a schema version 2, its case will carry the newest message and reading an
/// older version will convert ("upcast") it there, so that switches keep one case per type; see `docs/EVENTS.md`.
public enum Event: Hashable, Sendable {
    /// `upload.received` (code 1).
    case uploadReceived(Annals_Events_V1_UploadReceived)
    /// `upload.rejected` (code 2).
    case uploadRejected(Annals_Events_V1_UploadRejected)
    /// `job.started` (code 3).
    case jobStarted(Annals_Events_V1_JobStarted)
    /// `chunk.embedded` (code 4); the vector is the record's attachment, see `EmbeddingAttachment`.
    case chunkEmbedded(Annals_Events_V1_ChunkEmbedded)
    /// `document.completed` (code 5).
    case documentCompleted(Annals_Events_V1_DocumentCompleted)
    /// `job.failed` (code 6).
    case jobFailed(Annals_Events_V1_JobFailed)
    /// `job.dead_lettered` (code 7).
    case jobDeadLettered(Annals_Events_V1_JobDeadLettered)
    /// `job.abandoned` (code 8).
    case jobAbandoned(Annals_Events_V1_JobAbandoned)
    /// `job.requeued` (code 9).
    case jobRequeued(Annals_Events_V1_JobRequeued)
    /// `document.deleted` (code 10).
    case documentDeleted(Annals_Events_V1_DocumentDeleted)
    /// `checkpoint.written` (code 11).
    case checkpointWritten(Annals_Events_V1_CheckpointWritten)
    /// `apikey.created` (code 12).
    case apiKeyCreated(Annals_Events_V1_ApiKeyCreated)
    /// `apikey.revoked` (code 13).
    case apiKeyRevoked(Annals_Events_V1_ApiKeyRevoked)
    /// `service.started` (code 14).
    case serviceStarted(Annals_Events_V1_ServiceStarted)
    /// `service.stopped` (code 15).
    case serviceStopped(Annals_Events_V1_ServiceStopped)
}

extension Event {
    /// Decodes the event a log record holds.
    ///
    /// - Throws: `EventCodingError` with code `.unknownEventType`, `.unsupportedSchemaVersion` or
    ///   `.malformedPayload`, as `EventCatalog.decode(type:schemaVersion:payload:)` does.
    public init(type: UInt16, schemaVersion: UInt16, payload: some Collection<UInt8>) throws(EventCodingError) {
        try self.init(decoding: payload, type: type, schemaVersion: schemaVersion)
    }

    /// Decodes the event a log record holds, from the record's memory (a replay's case).
    ///
    /// The three events of every document's lifecycle go through `WireDecoders` first, which returns exactly what
    /// SwiftProtobuf would, or nil for the payloads it leaves to SwiftProtobuf. This overload is not generic, so
    /// that a replay pays no generic dispatch per event.
    ///
    /// - Throws: as `init(type:schemaVersion:payload:)` for any collection.
    public init(type: UInt16, schemaVersion: UInt16, payload: UnsafeRawBufferPointer) throws(EventCodingError) {
        if schemaVersion == 1 {
            let decoded: Event? =
                switch type {
                case EventType.uploadReceived.rawValue: WireDecoders.uploadReceived(payload).map { .uploadReceived($0) }
                case EventType.jobStarted.rawValue: WireDecoders.jobStarted(payload).map { .jobStarted($0) }
                case EventType.documentCompleted.rawValue:
                    WireDecoders.documentCompleted(payload).map { .documentCompleted($0) }
                default: nil
                }
            if let decoded {
                self = decoded
                return
            }
        }
        try self.init(decoding: payload, type: type, schemaVersion: schemaVersion)
    }

    private init(decoding payload: some Collection<UInt8>, type: UInt16, schemaVersion: UInt16)
        throws(EventCodingError)
    {
        let eventType = try EventCatalog.eventType(code: type, schemaVersion: schemaVersion)
        guard schemaVersion == 1 else {
            self.init(try EventCatalog.decode(type: type, schemaVersion: schemaVersion, payload: payload))
            return
        }
        // Version 1, the catalogue's first line for every type, straight into its case: going through `any
        // EventPayload` boxed each message and found its case by a chain of dynamic casts, a fifth of the cost of
        // decoding a small event in replay profiles.
        func decode<Payload: EventPayload>(_: Payload.Type) throws(EventCodingError) -> Payload {
            try EventCatalog.decode(Payload.self, payload: payload, schemaVersion: 1)
        }
        switch eventType {
        case .uploadReceived: self = .uploadReceived(try decode(Annals_Events_V1_UploadReceived.self))
        case .uploadRejected: self = .uploadRejected(try decode(Annals_Events_V1_UploadRejected.self))
        case .jobStarted: self = .jobStarted(try decode(Annals_Events_V1_JobStarted.self))
        case .chunkEmbedded: self = .chunkEmbedded(try decode(Annals_Events_V1_ChunkEmbedded.self))
        case .documentCompleted: self = .documentCompleted(try decode(Annals_Events_V1_DocumentCompleted.self))
        case .jobFailed: self = .jobFailed(try decode(Annals_Events_V1_JobFailed.self))
        case .jobDeadLettered: self = .jobDeadLettered(try decode(Annals_Events_V1_JobDeadLettered.self))
        case .jobAbandoned: self = .jobAbandoned(try decode(Annals_Events_V1_JobAbandoned.self))
        case .jobRequeued: self = .jobRequeued(try decode(Annals_Events_V1_JobRequeued.self))
        case .documentDeleted: self = .documentDeleted(try decode(Annals_Events_V1_DocumentDeleted.self))
        case .checkpointWritten: self = .checkpointWritten(try decode(Annals_Events_V1_CheckpointWritten.self))
        case .apiKeyCreated: self = .apiKeyCreated(try decode(Annals_Events_V1_ApiKeyCreated.self))
        case .apiKeyRevoked: self = .apiKeyRevoked(try decode(Annals_Events_V1_ApiKeyRevoked.self))
        case .serviceStarted: self = .serviceStarted(try decode(Annals_Events_V1_ServiceStarted.self))
        case .serviceStopped: self = .serviceStopped(try decode(Annals_Events_V1_ServiceStopped.self))
        }
    }

    /// Wraps a payload in its case.
    ///
    /// `payload` must be one of the messages `EventCatalog` lists; any other conforming type is a programmer error
    /// and stops the process.
    public init(_ payload: any EventPayload) {
        switch payload {
        case let payload as Annals_Events_V1_UploadReceived: self = .uploadReceived(payload)
        case let payload as Annals_Events_V1_UploadRejected: self = .uploadRejected(payload)
        case let payload as Annals_Events_V1_JobStarted: self = .jobStarted(payload)
        case let payload as Annals_Events_V1_ChunkEmbedded: self = .chunkEmbedded(payload)
        case let payload as Annals_Events_V1_DocumentCompleted: self = .documentCompleted(payload)
        case let payload as Annals_Events_V1_JobFailed: self = .jobFailed(payload)
        case let payload as Annals_Events_V1_JobDeadLettered: self = .jobDeadLettered(payload)
        case let payload as Annals_Events_V1_JobAbandoned: self = .jobAbandoned(payload)
        case let payload as Annals_Events_V1_JobRequeued: self = .jobRequeued(payload)
        case let payload as Annals_Events_V1_DocumentDeleted: self = .documentDeleted(payload)
        case let payload as Annals_Events_V1_CheckpointWritten: self = .checkpointWritten(payload)
        case let payload as Annals_Events_V1_ApiKeyCreated: self = .apiKeyCreated(payload)
        case let payload as Annals_Events_V1_ApiKeyRevoked: self = .apiKeyRevoked(payload)
        case let payload as Annals_Events_V1_ServiceStarted: self = .serviceStarted(payload)
        case let payload as Annals_Events_V1_ServiceStopped: self = .serviceStopped(payload)
        default: preconditionFailure("\(Swift.type(of: payload)) conforms to EventPayload but has no Event case")
        }
    }

    /// The payload message.
    public var payload: any EventPayload {
        switch self {
        case .uploadReceived(let payload): payload
        case .uploadRejected(let payload): payload
        case .jobStarted(let payload): payload
        case .chunkEmbedded(let payload): payload
        case .documentCompleted(let payload): payload
        case .jobFailed(let payload): payload
        case .jobDeadLettered(let payload): payload
        case .jobAbandoned(let payload): payload
        case .jobRequeued(let payload): payload
        case .documentDeleted(let payload): payload
        case .checkpointWritten(let payload): payload
        case .apiKeyCreated(let payload): payload
        case .apiKeyRevoked(let payload): payload
        case .serviceStarted(let payload): payload
        case .serviceStopped(let payload): payload
        }
    }

    /// The event's type, whose `rawValue` goes into the record header.
    public var type: EventType { Swift.type(of: payload).eventType }

    /// The schema version of the payload, which goes into the record header.
    public var schemaVersion: UInt16 { Swift.type(of: payload).schemaVersion }

    /// The id of the stream the event is appended to.
    public var streamID: String { payload.streamID }

    /// The payload in protobuf binary, as stored in a log record.
    ///
    /// - Throws: `EventCodingError` with code `.encodingFailed`; cannot happen with the v1 messages.
    public func serializedPayload() throws(EventCodingError) -> [UInt8] {
        try EventCatalog.serializedBytes(payload)
    }

    /// The payload as the protobuf JSON mapping, one compact line.
    ///
    /// - Throws: `EventCodingError` with code `.encodingFailed` if the message cannot be written as JSON.
    public func jsonString(options: JSONEncodingOptions = JSONEncodingOptions()) throws(EventCodingError) -> String {
        try EventCatalog.jsonString(payload, options: options)
    }
}
