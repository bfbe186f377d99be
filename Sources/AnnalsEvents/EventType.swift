/// The kind of an event, with the stable numeric code stored in every log record's header.
///
/// Codes are part of the log format: a code, once released, keeps its meaning for as long as any log holding it
/// exists. Never renumber a case, never reuse the code of a removed type (leave a gap and a comment instead), and
/// add new types with the next unused code. `docs/EVENTS.md` lists them all.
public enum EventType: UInt16, CaseIterable, Sendable {
    /// `upload.received`: an upload was validated, stored and queued.
    case uploadReceived = 1
    /// `upload.rejected`: an authenticated upload was refused.
    case uploadRejected = 2
    /// `job.started`: a worker leased a document's job and begins an attempt.
    case jobStarted = 3
    /// `chunk.embedded`: one chunk of a document's text, with its vector as the record's attachment.
    case chunkEmbedded = 4
    /// `document.completed`: an attempt finished and all its chunks are in the log.
    case documentCompleted = 5
    /// `job.failed`: an attempt failed, maybe to be retried.
    case jobFailed = 6
    /// `job.dead_lettered`: a job gave up after its last attempt.
    case jobDeadLettered = 7
    /// `job.abandoned`: an in-flight attempt will never report back (dead process or expired lease).
    case jobAbandoned = 8
    /// `job.requeued`: a job was put back in the queue by request.
    case jobRequeued = 9
    /// `document.deleted`: a document is gone for every reader.
    case documentDeleted = 10
    /// `checkpoint.written`: snapshots of every projection at one position are on disk.
    case checkpointWritten = 11
    /// `apikey.created`: an API key was created.
    case apiKeyCreated = 12
    /// `apikey.revoked`: an API key was revoked.
    case apiKeyRevoked = 13
    /// `service.started`: a process finished recovery and is ready.
    case serviceStarted = 14
    /// `service.stopped`: a process is shutting down.
    case serviceStopped = 15
}

extension EventType {
    /// The event's dotted name, as shown by `annals audit` and used in `docs/EVENTS.md` (for example
    /// `upload.received`); as stable as the code.
    public var name: String {
        switch self {
        case .uploadReceived: "upload.received"
        case .uploadRejected: "upload.rejected"
        case .jobStarted: "job.started"
        case .chunkEmbedded: "chunk.embedded"
        case .documentCompleted: "document.completed"
        case .jobFailed: "job.failed"
        case .jobDeadLettered: "job.dead_lettered"
        case .jobAbandoned: "job.abandoned"
        case .jobRequeued: "job.requeued"
        case .documentDeleted: "document.deleted"
        case .checkpointWritten: "checkpoint.written"
        case .apiKeyCreated: "apikey.created"
        case .apiKeyRevoked: "apikey.revoked"
        case .serviceStarted: "service.started"
        case .serviceStopped: "service.stopped"
        }
    }

    /// Creates the type with the dotted name `name` (for example `job.failed`), or nil when no type has that name.
    public init?(name: String) {
        guard let type = Self.typesByName[name] else { return nil }
        self = type
    }

    /// The schema version writers use for this type today; readers accept every version from 1 up to it.
    ///
    /// Bump it only together with a new case in `EventCatalog.payloadType(for:schemaVersion:)` and a new line in
    /// `docs/EVENTS.md`: old records keep their version in their header and must stay readable.
    public var currentSchemaVersion: UInt16 {
        switch self {
        // Every type is at its first version.
        case .uploadReceived, .uploadRejected, .jobStarted, .chunkEmbedded, .documentCompleted, .jobFailed,
            .jobDeadLettered, .jobAbandoned, .jobRequeued, .documentDeleted, .checkpointWritten, .apiKeyCreated,
            .apiKeyRevoked, .serviceStarted, .serviceStopped:
            1
        }
    }

    /// The schema versions a reader of this build can decode: all of them, since no version is ever retired.
    public var supportedSchemaVersions: ClosedRange<UInt16> {
        1...currentSchemaVersion
    }

    /// The kind of stream events of this type are appended to.
    public var streamKind: EventStreamKind {
        switch self {
        case .uploadReceived, .uploadRejected, .jobStarted, .chunkEmbedded, .documentCompleted, .jobFailed,
            .jobDeadLettered, .jobAbandoned, .jobRequeued, .documentDeleted:
            .document
        case .checkpointWritten: .checkpoint
        case .apiKeyCreated, .apiKeyRevoked: .apiKey
        case .serviceStarted, .serviceStopped: .service
        }
    }

    // A dictionary rather than a scan of `allCases`, because the audit command looks names up once per filter.
    private static let typesByName: [String: EventType] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.name, $0) }
    )
}

extension EventType: CustomStringConvertible {
    /// The dotted name followed by the code, for example `upload.received(1)`.
    public var description: String { "\(name)(\(rawValue))" }
}
