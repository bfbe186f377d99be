/// An error from the projections, their snapshots or the engine, with a code a caller can act on.
///
/// Modelled on NIO's `FileSystemError` (as `LogError` is): the code wraps a private enum so that codes can be added
/// without breaking callers that compare against the public constants.
public struct ProjectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to decide what to do about it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case versionMismatch = "version_mismatch"
            case digestMismatch = "digest_mismatch"
            case malformedSnapshot = "malformed_snapshot"
            case missingSnapshot = "missing_snapshot"
            case positionMismatch = "position_mismatch"
            case invalidArgument = "invalid_argument"
            case storage = "storage"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A snapshot was written by another version of the projection's logic (or is recorded as such). Ignore it:
        /// rebuild the projection by replaying from an older checkpoint or from position 0.
        public static let versionMismatch = Code(.versionMismatch)
        /// A snapshot file's bytes do not match the digest recorded for them (in `checkpoint.written` or in the
        /// file's own header): the file is damaged. Fall back to an older checkpoint or to position 0.
        public static let digestMismatch = Code(.digestMismatch)
        /// A snapshot's bytes do not hold what they should (bad magic, lengths that do not add up, a truncated
        /// payload, an impossible value). Fall back to an older checkpoint or to position 0.
        public static let malformedSnapshot = Code(.malformedSnapshot)
        /// A snapshot file named by a checkpoint is not on disk, or the checkpoint lists no file for a projection.
        /// Fall back to an older checkpoint or to position 0.
        public static let missingSnapshot = Code(.missingSnapshot)
        /// A snapshot file holds the state at another position, or of another projection, than the checkpoint says.
        /// Fall back to an older checkpoint or to position 0.
        public static let positionMismatch = Code(.positionMismatch)
        /// The caller passed something unusable (a file name with a path in it, a negative count). Not retryable.
        public static let invalidArgument = Code(.invalidArgument)
        /// The file system refused an operation (permissions, a full disk, an I/O error); `systemCode` has `errno`.
        public static let storage = Code(.storage)

        /// The code's stable name, for example `digest_mismatch`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for a person.
    public var message: String
    /// The snapshot file concerned (a name inside the snapshot directory), when there is one.
    public var file: String?
    /// The `errno` behind a `.storage` error, when there is one.
    public var systemCode: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String? = nil, systemCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.systemCode = systemCode
    }

    /// The code and the message.
    public var description: String { "\(code): \(message)" }
}
