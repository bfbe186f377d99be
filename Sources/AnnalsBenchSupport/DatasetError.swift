/// An error reading or writing a benchmark data set, with a code a caller can act on and a message a person can read.
///
/// Modelled on NIO's `FileSystemError` (as `LogError` and `VectorError` are): the code wraps a private enum so that
/// codes can be added without breaking callers that compare against the public constants.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case malformedFile = "malformed_file"
            case io = "io"
            case invalidArgument = "invalid_argument"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file is not in the format it was read as (a length that is not whole records, dimensions that differ
        /// between records, a dimension or count past the limits). Check the file and the format its name says.
        public static let malformedFile = Code(.malformedFile)
        /// The operating system refused to open, read or write the file; the message names it. Check the path.
        public static let io = Code(.io)
        /// The caller asked for something impossible (no dimension, vectors of unequal length). A programmer error
        /// in the benchmark's options.
        public static let invalidArgument = Code(.invalidArgument)

        /// The code's stable name, for example `malformed_file`.
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
