/// The append-only event log: the seam between storage and everything above it.
///
/// Nothing above the storage layer may know which engine is underneath; the LMDB log is the default, and a
/// PostgreSQL log can stand in its place.
///
/// Implementation requirements: `append` returns only once every event of the batch is durable (fsynced) and
/// visible to readers; positions are consecutive from 1 with no gap; a batch is written whole or not at all; reads
/// check every record and throw `LogError.Code.corruptRecord` naming the position rather than return damaged data.
public protocol EventLog: Sendable {
    /// Appends `events` as one atomic batch and returns once they are durable.
    ///
    /// - Parameters:
    ///   - expectedVersions: per stream, the version it must be at before the batch is written.
    ///   - idempotencyKey: when a batch with the same key was appended before, nothing is written and the earlier
    ///     positions are returned with `deduplicated` set.
    /// - Throws: `.invalidArgument` (empty batch, oversized event or id; not retryable), `.wrongExpectedVersion`
    ///   (re-read and decide again), `.diskFull` and `.mapFull` (nothing was written; retry once resolved),
    ///   `.closed`, `.storage`.
    func append(_ events: [EventDraft], expectedVersions: [String: ExpectedVersion], idempotencyKey: String?)
        async throws -> AppendResult

    /// The position of the last durable event; 0 for an empty log.
    func head() throws -> UInt64

    /// Up to `limit` records from `position` on, in order.
    func read(from position: UInt64, limit: Int) throws -> [LogRecord]

    /// Calls `body` with each record from `position` through `last`, in order, until it returns false. Returns
    /// the position of the last record visited (or `position - 1` when none was). The view is valid only inside
    /// `body`.
    func scan(from position: UInt64, through last: UInt64, _ body: (RecordView) throws -> Bool) throws -> UInt64

    /// Up to `limit` records of one stream, from stream version `version` on.
    func readStream(_ streamId: String, fromVersion version: UInt64, limit: Int) throws -> [LogRecord]

    /// The batch appended earlier with this idempotency key (with `deduplicated` set), or nil when there is none.
    func earlierAppend(idempotencyKey: String) throws -> AppendResult?

    /// The version of a stream's last event; 0 when the stream does not exist.
    func streamVersion(_ streamId: String) throws -> UInt64

    /// The version and position of a stream's last event; nil when the stream does not exist.
    func streamHead(_ streamId: String) throws -> (version: UInt64, position: UInt64)?

    /// A stream of head positions, yielded after each commit (only the newest is kept when the reader lags).
    func subscribe() -> AsyncStream<UInt64>

    /// Lets go of the pages of the log this process has read through a memory map, if it reads through one: they
    /// stay in the page cache, but leave the process's resident set until read again. A tailer that reads every
    /// record once calls it now and then. Never changes what a read returns.
    func releaseMappedPages()

    /// Finishes pending appends, stops the writer and ends every subscription.
    func close() async
}

extension EventLog {
    /// Does nothing: a log that reads through no memory map holds no mapped pages.
    public func releaseMappedPages() {}

    /// Appends without expectations or idempotency key.
    public func append(_ events: [EventDraft]) async throws -> AppendResult {
        try await append(events, expectedVersions: [:], idempotencyKey: nil)
    }

    /// Appends one event.
    public func append(_ event: EventDraft, expectedVersion: ExpectedVersion? = nil, idempotencyKey: String? = nil)
        async throws -> AppendResult
    {
        let expected = expectedVersion.map { [event.streamId: $0] } ?? [:]
        return try await append([event], expectedVersions: expected, idempotencyKey: idempotencyKey)
    }

    /// Every record from `position` through the head.
    public func scan(from position: UInt64, _ body: (RecordView) throws -> Bool) throws -> UInt64 {
        try scan(from: position, through: .max, body)
    }

    /// The record at `position`, or nil when the log does not reach it.
    public func record(at position: UInt64) throws -> LogRecord? {
        try read(from: position, limit: 1).first { $0.position == position }
    }
}
