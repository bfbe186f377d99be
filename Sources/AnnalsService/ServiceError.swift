/// An error of the application layer, with a code the HTTP edge maps to a status and a problem type.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarse enough to decide what to answer.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The request is malformed or empty (400).
        public static let badRequest = Code("bad_request")
        /// No valid API key (401).
        public static let unauthorized = Code("unauthorized")
        /// The key may not do this (403).
        public static let forbidden = Code("forbidden")
        /// Nothing with that id for this tenant (404).
        public static let notFound = Code("not_found")
        /// The upload is larger than allowed (413).
        public static let tooLarge = Code("too_large")
        /// The content type is not allowed, or the bytes are not what was declared (415).
        public static let unsupportedType = Code("unsupported_type")
        /// The service is starting, draining or over its admission limit (503).
        public static let unavailable = Code("unavailable")
        /// Storage failed (507 for a full disk, 500 otherwise).
        public static let storageFull = Code("storage_full")
        /// Anything else (500).
        public static let `internal` = Code("internal")

        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation, safe to show to the client.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
