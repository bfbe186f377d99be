/// An error from the event log, with a code a caller can act on and a message a person can read.
///
/// Modelled on NIO's `FileSystemError`: the code is a struct wrapping a private enum so that new codes can be added
/// without breaking callers that switch over the public constants.
public struct LogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to decide what to do about it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case notALog = "not_a_log"
            case newerFormat = "newer_format"
            case permissionDenied = "permission_denied"
            case corruptRecord = "corrupt_record"
            case diskFull = "disk_full"
            case mapFull = "map_full"
            case invalidArgument = "invalid_argument"
            case wrongExpectedVersion = "wrong_expected_version"
            case closed = "closed"
            case storage = "storage"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The directory holds no Annals log, or something that is not one. Check `--data`.
        public static let notALog = Code(.notALog)
        /// The log was written by a newer Annals with a format this build cannot read. Upgrade Annals.
        public static let newerFormat = Code(.newerFormat)
        /// The operating system refused access to the log's files. Check ownership and modes.
        public static let permissionDenied = Code(.permissionDenied)
        /// A stored record failed its checks (magic, version, length or checksum). `annals audit verify` finds the
        /// first one; restore from a backup.
        public static let corruptRecord = Code(.corruptRecord)
        /// The file system is full (or a file-size limit was hit). Nothing was written; free space and retry.
        public static let diskFull = Code(.diskFull)
        /// The memory map reached its configured maximum. Raise the maximum map size.
        public static let mapFull = Code(.mapFull)
        /// The caller passed something the log does not accept (too large, empty, malformed). Not retryable.
        public static let invalidArgument = Code(.invalidArgument)
        /// An expected stream version did not match: another writer appended first. Re-read and decide again.
        public static let wrongExpectedVersion = Code(.wrongExpectedVersion)
        /// The log was closed before the operation could run.
        public static let closed = Code(.closed)
        /// Any other failure of the storage engine or the operating system; the message carries the detail.
        public static let storage = Code(.storage)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for a person.
    public var message: String
    /// The log position the error concerns, when there is one (a damaged record, say).
    public var position: UInt64?
    /// The `errno` or LMDB return code behind the error, when there is one.
    public var systemCode: Int32?

    public init(_ code: Code, _ message: String, position: UInt64? = nil, systemCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.position = position
        self.systemCode = systemCode
    }

    public var description: String { message }
}
