public import AnnalsEvents
import Crypto

/// One event as projections see it: what the log record carries, decoded.
///
/// Projections read nothing else — no clock, no randomness, no network — so replaying the same events always gives
/// the same state (the "replay is deterministic" contract).
public struct ProjectedEvent: Sendable {
    /// The record's log position, from 1.
    public var position: UInt64
    /// When the event happened, in microseconds since 1970-01-01 UTC: the record header's commit time.
    public var timestamp: Int64
    /// The decoded event. A `chunk.embedded` replayed from the log comes without its `text`: no projection reads it,
    /// and skipping it is most of a replay's speed (search reads the text from the log by position). When the engine
    /// maintains no vectors projection, it also comes without its document id and embedder.
    public var event: Event
    /// The record's attachment: the vector of a `chunk.embedded`, empty for every other type (and for every event
    /// when the engine maintains no vectors projection).
    public var attachment: [UInt8]

    /// Creates an event as read from the log (or built by a test).
    public init(position: UInt64, timestamp: Int64, event: Event, attachment: [UInt8] = []) {
        self.position = position
        self.timestamp = timestamp
        self.event = event
        self.attachment = attachment
    }

    /// The stream the event belongs to (for example `doc-<id>`): the one every writer appends it to. Derived
    /// rather than stored, so that a replay does not allocate a string per event that no projection reads.
    public var streamId: String { event.streamID }
}

/// A value computed from the log by applying its events in order: the document catalogue, the queue, the vector index,
/// the metrics, the API keys.
///
/// Implementation requirements: `apply` is a pure function of the state and the event — it reads no clock, no
/// randomness and no I/O — and never throws or traps, whatever the sequence (events for unknown documents, duplicates
/// after a retry, events of a stale attempt): it ignores or records them, the same way every time. `snapshot()`
/// returns canonical bytes (equal states give equal bytes: sort what comes from dictionaries and sets; derived indexes
/// are rebuilt by `init(snapshot:)`, not stored) in a binary encoding (not JSON: restore speed matters), and
/// `init(snapshot:)` reads them back into a state that behaves exactly like the original under every later event.
/// Bump `version` whenever `apply` changes what it computes, so that snapshots of the old logic are ignored.
public protocol Projection: Sendable {
    /// The projection's stable name, used in snapshot file names and `checkpoint.written` (for example `queue`).
    static var name: String { get }
    /// The version of the projection's logic; snapshots written by another version are ignored.
    static var version: UInt32 { get }

    /// The state before any event.
    init()

    /// Applies the next event of the log.
    mutating func apply(_ event: ProjectedEvent)

    /// The state as canonical bytes.
    ///
    /// - Throws: only if the state cannot be encoded, which is a bug.
    func snapshot() throws -> [UInt8]

    /// Restores a state from `snapshot()` bytes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` for bytes of another version, `.malformedSnapshot`
    ///   for bytes that do not decode.
    init(snapshot: [UInt8]) throws

    /// The state's digest: lowercase hex SHA-256 of the canonical snapshot bytes.
    var digest: String { get }
}

extension Projection {
    /// The lowercase hex SHA-256 of `snapshot()`.
    public var digest: String {
        do {
            return SHA256Hex.of(try snapshot())
        } catch {
            // The in-memory state of a projection can always be encoded; failing to is a programmer error.
            preconditionFailure("projection \(Self.name) cannot encode its state: \(error)")
        }
    }
}

/// Lowercase hex SHA-256, the form every digest in Annals takes.
enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
