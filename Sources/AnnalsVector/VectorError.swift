/// An error from a vector index, with a code a caller can act on and a message a person can read.
///
/// Modelled on NIO's `FileSystemError` (as `LogError` is): the code wraps a private enum so that codes can be added
/// without breaking callers that compare against the public constants.
public struct VectorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidDimension = "invalid_dimension"
            case dimensionMismatch = "dimension_mismatch"
            case nonFiniteValue = "non_finite_value"
            case capacityExceeded = "capacity_exceeded"
            case malformedSnapshot = "malformed_snapshot"
            case invalidConfiguration = "invalid_configuration"
            case storage
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The dimension given to an index is outside `1...ExactIndex.dimensionMax`. Fix the configuration.
        public static let invalidDimension = Code(.invalidDimension)
        /// A vector or query does not have the index's dimension: it comes from another embedder. Use the index built
        /// for that embedder.
        public static let dimensionMismatch = Code(.dimensionMismatch)
        /// A vector or query holds NaN or an infinity, which would poison every score. An embedder bug.
        public static let nonFiniteValue = Code(.nonFiniteValue)
        /// The index holds `ExactIndex.countMax` vectors already. Shard the data.
        public static let capacityExceeded = Code(.capacityExceeded)
        /// Serialised index bytes failed their checks (magic, version, lengths, checksum, duplicate ids, values,
        /// links). The snapshot is damaged, truncated or was not written by this code: rebuild the index from its
        /// source.
        public static let malformedSnapshot = Code(.malformedSnapshot)
        /// An index configuration is out of range (for example an HNSW `m` below 2 or an `efSearch` below 1). Fix
        /// the configuration.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A file-backed `VectorArena` could not create, grow, map or read its file (the message has `errno`'s
        /// text): the directory is missing or not writable, or the disk is full.
        public static let storage = Code(.storage)

        /// The code's stable name, for example `dimension_mismatch`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for a person.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message.
    public var description: String { "\(code): \(message)" }
}
