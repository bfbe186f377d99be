/// An event to append: what the caller decides. The log adds the position, the time, the stream version and the
/// hash chain when it writes it.
public struct EventDraft: Sendable, Equatable {
    /// The stream the event belongs to (for example `doc-<id>`); at most `RecordLayout.streamIdBytesMax` bytes.
    public var streamId: String
    /// The event type's stable numeric code (see `AnnalsEvents.EventType`).
    public var type: UInt16
    /// The version of the payload's schema, so that old versions stay readable after a change.
    public var schemaVersion: UInt16
    /// The serialised payload (protobuf).
    public var payload: [UInt8]
    /// Optional raw bytes stored beside the payload and never compressed (an embedding vector, say).
    public var attachment: [UInt8]

    public init(
        streamId: String, type: UInt16, schemaVersion: UInt16 = 1, payload: [UInt8],
        attachment: [UInt8] = []
    ) {
        self.streamId = streamId
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.attachment = attachment
    }
}

/// What an append expects of a stream before it writes, for optimistic concurrency.
public enum ExpectedVersion: Sendable, Equatable {
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have exactly this version (versions start at 1).
    case exact(UInt64)
}

/// The outcome of an append.
public struct AppendResult: Sendable, Equatable {
    /// The position of the first event of the batch.
    public var firstPosition: UInt64
    /// How many events the batch holds.
    public var count: Int
    /// True when the idempotency key had been used before: nothing was written and the positions are those of the
    /// earlier append.
    public var deduplicated: Bool

    public init(firstPosition: UInt64, count: Int, deduplicated: Bool) {
        self.firstPosition = firstPosition
        self.count = count
        self.deduplicated = deduplicated
    }

    /// The position of the last event of the batch.
    public var lastPosition: UInt64 { firstPosition + UInt64(count) - 1 }
    /// Every position of the batch.
    public var positions: ClosedRange<UInt64> { firstPosition...lastPosition }
}
