public import AnnalsEvents

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
    public var payload: [UInt8]

    /// Creates an encoded snapshot.
    public init(projection: String, version: UInt32, position: UInt64, payload: [UInt8]) {
        self.projection = projection
        self.version = version
        self.position = position
        self.payload = payload
    }
}
