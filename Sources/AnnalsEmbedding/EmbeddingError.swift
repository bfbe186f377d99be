/// An error from an embedder, with a code the worker records in `job.failed` and a message a person can read.
///
/// Modelled on the log's `LogError`: the code is a struct wrapping a private enum so that new codes can be added
/// without breaking callers that compare against the public constants.
public struct EmbeddingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to decide what to do about it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration = "invalid_configuration"
            case invalidInput = "invalid_input"
            case unavailable = "unavailable"
            case timeout = "timeout"
            case rateLimited = "rate_limited"
            case badResponse = "bad_response"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The embedder was configured with values it cannot work with (a dimension out of range, say). Fix the
        /// configuration; retrying does not help.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The embedder refused an input (too long, too many texts in one batch). Retrying the same input fails
        /// again.
        public static let invalidInput = Code(.invalidInput)
        /// The embedding service could not be reached or answered with a server error. Retry later.
        public static let unavailable = Code(.unavailable)
        /// The embedding service did not answer in time. Retry later.
        public static let timeout = Code(.timeout)
        /// The embedding service asked to slow down. Retry after a delay.
        public static let rateLimited = Code(.rateLimited)
        /// The embedding service answered with something that is not a valid batch of vectors (wrong count,
        /// wrong dimension, not numbers). Check the service and the configured model.
        public static let badResponse = Code(.badResponse)

        /// The code as recorded in events, in snake case.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for a person.
    public var message: String

    /// Creates an error with a code and a one-line message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying the same batch again later may succeed: true for outages, time-outs and rate limits.
    public var isRetryable: Bool {
        code == .unavailable || code == .timeout || code == .rateLimited
    }

    /// The message.
    public var description: String { message }
}
