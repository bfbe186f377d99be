public import AnnalsEvents
public import AnnalsVector
import Crypto

/// One projection's snapshot file on disk, as recorded in `checkpoint.written`.
public struct SnapshotFile: Sendable, Hashable {
    /// The projection's name (for example `queue`).
    public var projection: String
    /// The version of the projection's logic that wrote it.
    public var version: UInt32
    /// The file's name inside the snapshot directory (for example `queue-1200.snap`); a name, never a path.
    public var file: String
    /// SHA-256 of the whole file's bytes (header and payload), lowercase hex.
    public var digest: String
    /// The file's size in bytes.
    public var bytes: UInt64
    /// The projection's state digest at the snapshot's position (SHA-256 of the canonical payload), lowercase hex;
    /// `annals replay --verify` compares it with the digest of a state rebuilt from the log.
    public var stateDigest: String

    /// Creates a file description.
    public init(projection: String, version: UInt32, file: String, digest: String, bytes: UInt64, stateDigest: String) {
        self.projection = projection
        self.version = version
        self.file = file
        self.digest = digest
        self.bytes = bytes
        self.stateDigest = stateDigest
    }

    /// The file as a `checkpoint.written` event lists it.
    public init(checkpointSnapshot snapshot: Annals_Events_V1_CheckpointWritten.Snapshot) {
        self.init(
            projection: snapshot.projection, version: snapshot.version, file: snapshot.file, digest: snapshot.digest,
            bytes: snapshot.bytes, stateDigest: snapshot.stateDigest)
    }

    /// The entry for this file in a `checkpoint.written` event.
    public var checkpointSnapshot: Annals_Events_V1_CheckpointWritten.Snapshot {
        var snapshot = Annals_Events_V1_CheckpointWritten.Snapshot()
        snapshot.projection = projection
        snapshot.version = version
        snapshot.file = file
        snapshot.digest = digest
        snapshot.bytes = bytes
        snapshot.stateDigest = stateDigest
        return snapshot
    }
}

/// One projection's snapshot encoded in memory, not yet written: lets the checkpointer encode under the engine's
/// read lock (CPU only) and do the slow file writes and fsyncs after releasing it.
public struct EncodedSnapshot: Sendable {
    /// The projection's name.
    public var projection: String
    /// The version of its logic.
    public var version: UInt32
    /// The log position the state reflects.
    public var position: UInt64
    /// The canonical state bytes.
    public var payload: SnapshotPayload

    /// Creates an encoded snapshot.
    public init(projection: String, version: UInt32, position: UInt64, payload: SnapshotPayload) {
        self.projection = projection
        self.version = version
        self.position = position
        self.payload = payload
    }

    /// Creates an encoded snapshot of bytes in memory.
    public init(projection: String, version: UInt32, position: UInt64, payload: [UInt8]) {
        self.init(projection: projection, version: version, position: position, payload: SnapshotPayload(payload))
    }
}

/// A projection's canonical snapshot bytes: a head in memory, then vectors read from arenas as they are written.
///
/// The vectors projection's state is mostly vectors, held in `VectorArena`s outside the heap; copying them into one
/// array to write a snapshot would need memory for all of them at once. A payload instead refers to the arenas'
/// prefixes (append-only, so they do not change while the file is written after the engine's lock is released).
public struct SnapshotPayload: Sendable {
    /// The bytes in memory (every projection's whole state but the vectors).
    public var head: [UInt8]
    /// The vectors that follow the head, arena after arena.
    public var tail: [VectorArena.Prefix]

    /// A payload of bytes in memory only.
    public init(_ bytes: [UInt8]) {
        head = bytes
        tail = []
    }

    /// A payload of a head and arena prefixes.
    public init(head: [UInt8], tail: [VectorArena.Prefix]) {
        self.head = head
        self.tail = tail
    }

    /// The payload's length in bytes.
    public var count: Int { tail.reduce(head.count) { $0 + $1.byteCount } }

    /// Calls `body` with the payload's bytes, in order, in blocks.
    ///
    /// - Throws: `ProjectionError` with code `.storage` when an arena's file cannot be read; what `body` throws.
    public func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try head.withUnsafeBytes { try body($0) }
        for prefix in tail {
            do {
                try prefix.forEachBlock(body)
            } catch let error as VectorError {
                throw ProjectionError(.storage, "reading vectors for a snapshot: \(error.message)")
            }
        }
    }

    /// The lowercase hex SHA-256 of the payload (the state digest).
    public func sha256Hex() throws -> String {
        var hasher = SHA256()
        try forEachBlock { hasher.update(bufferPointer: $0) }
        return SHA256Hex.hex(hasher.finalize())
    }

    /// The whole payload in one array (tests, digests of small states).
    public func bytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        try forEachBlock { bytes.append(contentsOf: $0) }
        return bytes
    }
}
