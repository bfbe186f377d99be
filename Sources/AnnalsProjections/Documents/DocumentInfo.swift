/// Where a document is in its life, as clients see it.
public enum DocumentStatus: String, Sendable, Hashable, CaseIterable {
    /// Uploaded and waiting for a worker (first time, after an abandoned attempt, or after a requeue).
    case queued
    /// A worker runs an attempt.
    case processing
    /// An attempt completed; the document's chunks are searchable.
    case completed
    /// The last attempt failed; it is retried later, or is about to be dead-lettered.
    case failed
    /// The job gave up after its last attempt; it waits for a requeue or a deletion.
    case dead
    /// The document was deleted.
    case deleted
    /// The upload was refused (`upload.rejected`); no document was stored.
    case rejected
}

/// One document as the catalogue knows it.
public struct DocumentInfo: Sendable, Hashable {
    /// The document id.
    public internal(set) var id: String
    /// The tenant that owns it.
    public internal(set) var tenantId: String
    /// The sanitised file name the client gave.
    public internal(set) var filename: String
    /// The media type Annals detected (the one extraction uses); for a refused upload, what was detected, if anything.
    public internal(set) var contentType: String
    /// The media type the client declared, verbatim.
    public internal(set) var declaredContentType: String
    /// `gzip` when the upload was compressed, else empty.
    public internal(set) var contentEncoding: String
    /// The number of bytes stored (for a refused upload, received).
    public internal(set) var size: UInt64
    /// SHA-256 of the stored bytes, lowercase hex; empty for a refused upload.
    public internal(set) var sha256: String
    /// The key of the blob in the blob store; empty for a refused upload.
    public internal(set) var blobKey: String
    /// The API key that made the upload.
    public internal(set) var apiKeyId: String
    /// The idempotency key the client sent, or empty.
    public internal(set) var idempotencyKey: String
    /// The number of chunks of the completed attempt (0 until one completes).
    public internal(set) var chunkCount: UInt32
    /// The length of the extracted text of the completed attempt, in Unicode scalar values.
    public internal(set) var extractedChars: UInt64
    /// The number of pages of the completed attempt, for formats with pages.
    public internal(set) var pageCount: UInt32?
    /// When the upload was received (or refused), in microseconds since 1970-01-01 UTC.
    public internal(set) var createdAt: Int64
    /// When an event last changed the document.
    public internal(set) var updatedAt: Int64
    /// When an attempt last completed.
    public internal(set) var completedAt: Int64?
    /// The log position of the `upload.received` (or `upload.rejected`) event: the document's place in listings.
    public internal(set) var position: UInt64
    /// The job's state machine; nil for a refused upload, which has no job.
    public internal(set) var job: JobStateMachine?
    /// Why the upload was refused, for `rejected` documents.
    public internal(set) var rejection: JobFailure?

    /// The status, derived from the job's phase.
    public var status: DocumentStatus {
        guard let job else { return .rejected }
        switch job.phase {
        case .pending: return .queued
        case .leased: return .processing
        case .retrying, .awaitingDeadLetter: return .failed
        case .dead: return .dead
        case .done: return .completed
        case .deleted: return .deleted
        }
    }

    /// The number of attempts started so far (the latest attempt's number; a requeue may reset it to 0).
    public var attempts: UInt32 { job?.attempts ?? 0 }

    /// The latest failure: of an attempt (failed, abandoned, dead-lettered), or the upload's refusal.
    public var lastError: JobFailure? { job?.lastFailure ?? rejection }
}
