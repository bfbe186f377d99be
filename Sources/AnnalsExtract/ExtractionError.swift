/// An error from detecting, extracting or chunking a document, with a code the worker records in `job.failed`
/// (stage `extract`) or the upload answers with, and a message a person can read.
///
/// Modelled on the log's `LogError`: the code is a struct wrapping a private enum so that new codes can be added
/// without breaking callers that compare against the public constants.
public struct ExtractionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to decide what to do about it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidUTF8 = "invalid_utf8"
            case binaryContent = "binary_content"
            case empty = "empty"
            case noText = "no_text"
            case tooLarge = "too_large"
            case typeMismatch = "type_mismatch"
            case unsupportedType = "unsupported_type"
            case invalidConfiguration = "invalid_configuration"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The bytes are not valid UTF-8 (the error's `byteOffset` says where). Not retryable: convert the file to
        /// UTF-8 and upload it again.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// The text holds a NUL byte (at `byteOffset`), so it is binary data, not text. Not retryable.
        public static let binaryContent = Code(.binaryContent)
        /// The document has no bytes at all. Not retryable.
        public static let empty = Code(.empty)
        /// The document has bytes but no text: only whitespace, or nothing a format yields text from. There is
        /// nothing to index; not retryable.
        public static let noText = Code(.noText)
        /// The extracted text exceeds the configured limit (`TextExtractor.Configuration.textBytesMax`). Raise the
        /// limit or split the document.
        public static let tooLarge = Code(.tooLarge)
        /// The declared media type contradicts the bytes (a PDF declared as `text/plain`, say); the upload answers
        /// 415 naming both. Declare the right type, or none.
        public static let typeMismatch = Code(.typeMismatch)
        /// The bytes (or the declared type) are of a kind Annals does not accept now: executables, images,
        /// archives, formats whose extractor does not exist yet. The upload answers 415.
        public static let unsupportedType = Code(.unsupportedType)
        /// A chunker or extractor configuration is out of range (an overlap not below the target, say). Fix the
        /// configuration.
        public static let invalidConfiguration = Code(.invalidConfiguration)

        /// The code as recorded in events and problem documents, in snake case.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for a person.
    public var message: String
    /// The offset in the document's bytes the error concerns, when there is one (the first invalid byte, say).
    public var byteOffset: Int?

    /// Creates an error with a code, a one-line message and, when it concerns one place, the byte offset.
    public init(_ code: Code, _ message: String, byteOffset: Int? = nil) {
        self.code = code
        self.message = message
        self.byteOffset = byteOffset
    }

    /// The message.
    public var description: String { message }
}
