/// The verdict on an upload's first bytes: what they are, the format to extract with, or why they are refused.
public struct FormatDetection: Sendable, Equatable {
    /// What the bytes are; for gzip, what the decompressed bytes are (``encoding`` says they were compressed).
    public var content: DetectedContent
    /// How the format's bytes are wrapped: `gzip` when the upload is gzip around the format, which the extractor
    /// must then inflate (formats that need random access, PDF and DOCX, are decompressed to a file first).
    public var encoding: ContentEncoding
    /// The format to extract with; `nil` when the upload is refused.
    public var format: DocumentFormat?
    /// The declared media type as normalised (lowercase, without parameters); `nil` when none was declared.
    public var declaredMediaType: String?
    /// The character set of the text: UTF-8, except for HTML that declares another one (see ``TextCharset``).
    /// Not recorded: the worker finds it again from the same first bytes and the declared type.
    public var charset: TextCharset
    /// Why the upload is refused (`type_mismatch`, `unsupported_type`, `empty`, with a message naming the declared
    /// and the detected type); `nil` when it is allowed.
    public var refusal: ExtractionError?

    /// Creates a verdict; normally made by ``FormatDetector``.
    public init(
        content: DetectedContent, format: DocumentFormat?, declaredMediaType: String?, refusal: ExtractionError?,
        encoding: ContentEncoding = .identity, charset: TextCharset = .utf8
    ) {
        self.content = content
        self.charset = charset
        self.encoding = encoding
        self.format = format
        self.declaredMediaType = declaredMediaType
        self.refusal = refusal
    }

    /// Whether Annals accepts the upload now.
    public var isAllowed: Bool { refusal == nil }

    /// Whether the refusal is because the declared type contradicts the bytes (an answer of 415 naming both).
    public var isMismatch: Bool { refusal?.code == .typeMismatch }

    /// The detected media type to record: the format's when allowed (so `text/markdown` for Markdown), otherwise
    /// the content's.
    public var contentType: String { format?.mediaType ?? content.mediaType }

    /// The format to extract with.
    ///
    /// - Throws: the refusal, when the upload is not allowed.
    public func check() throws(ExtractionError) -> DocumentFormat {
        if let refusal { throw refusal }
        guard let format else {
            throw ExtractionError(.unsupportedType, "Annals does not accept \(content.summary) (\(content.mediaType)).")
        }
        return format
    }
}
