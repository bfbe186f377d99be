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
            case malformed = "malformed"
            case tooDeep = "too_deep"
            case tooManyColumns = "too_many_columns"
            case tooManyEntries = "too_many_entries"
            case tooManyObjects = "too_many_objects"
            case decompressedTooLarge = "decompressed_too_large"
            case compressionRatio = "compression_ratio"
            case encrypted = "encrypted"
            case unsafePath = "unsafe_path"
            case timeLimit = "time_limit"
            case unsupportedCharset = "unsupported_charset"
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
        /// The bytes do not follow the format they were detected as (a truncated PDF, JSON with a syntax error, a
        /// DOCX without `word/document.xml`); the message says where. Not retryable: the file is damaged.
        public static let malformed = Code(.malformed)
        /// The document nests deeper than `Configuration.nestingDepthMax` (JSON arrays and objects, HTML
        /// elements, PDF object references). Not retryable.
        public static let tooDeep = Code(.tooDeep)
        /// A CSV row has more fields than `Configuration.csvColumnsMax`. Not retryable.
        public static let tooManyColumns = Code(.tooManyColumns)
        /// An archive (DOCX) has more entries than `Configuration.archiveEntriesMax`. Not retryable.
        public static let tooManyEntries = Code(.tooManyEntries)
        /// A PDF has more objects (or pages, or content operators) than `Configuration.pdfObjectsMax`.
        /// Not retryable.
        public static let tooManyObjects = Code(.tooManyObjects)
        /// Decompression (gzip, a DOCX entry, a PDF stream) yields more than `Configuration.decompressedBytesMax`
        /// bytes. Not retryable: a decompression bomb, or a document beyond the limit.
        public static let decompressedTooLarge = Code(.decompressedTooLarge)
        /// Decompressed bytes exceed `Configuration.compressionRatioMax` times the compressed bytes read so far
        /// (checked once past `Configuration.compressionRatioFloorBytes`). Not retryable: a decompression bomb.
        public static let compressionRatio = Code(.compressionRatio)
        /// The document is encrypted or password-protected, so its text cannot be read. Not retryable.
        public static let encrypted = Code(.encrypted)
        /// An archive entry has an absolute path or a `..` component (zip slip). Not retryable; nothing is ever
        /// written to disk from an archive, but such a file is refused as hostile.
        public static let unsafePath = Code(.unsafePath)
        /// Processing one document took longer than its time limit. Retryable once the service is less loaded,
        /// but a document that always hits it needs a higher limit.
        public static let timeLimit = Code(.timeLimit)
        /// An HTML document declares a character set Annals does not read (`shift_jis`, `koi8-r`; the message names
        /// it): the format is accepted, its bytes cannot be turned into text. The upload answers 415. Not retryable:
        /// convert the file to UTF-8 (or windows-1252, ISO-8859-15, UTF-16).
        public static let unsupportedCharset = Code(.unsupportedCharset)

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
