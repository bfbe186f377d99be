/// Turns a document's bytes into text for the chunker: streaming (`feed` and `finish`) or in one call (`extract`).
///
/// Picks the extractor for the format, and checks what every format shares: a limit on the extracted text (which
/// also stops decompression bombs once compressed formats arrive), and that there is some text at all.
public struct TextExtractor: Sendable {
    /// Limits of an extraction.
    public struct Configuration: Sendable, Equatable {
        /// The default limit of extracted text: 256 MiB.
        public static let textBytesMaxDefault = 256 * 1024 * 1024

        /// The most bytes of UTF-8 text one document may yield; beyond it extraction fails with `too_large`.
        public var textBytesMax: Int

        /// Creates a configuration.
        public init(textBytesMax: Int = Self.textBytesMaxDefault) {
            self.textBytesMax = textBytesMax
        }
    }

    /// The format being extracted.
    public let format: DocumentFormat
    /// The limits applied.
    public let configuration: Configuration
    private var extractor: any FormatExtractor
    private var bytesIn = 0
    private var textBytesOut = 0
    private var sawText = false

    /// Creates an extractor for one document of `format`.
    public init(format: DocumentFormat, configuration: Configuration = Configuration()) {
        self.format = format
        self.configuration = configuration
        switch format {
        case .plainText: extractor = PlainTextExtractor()
        case .markdown: extractor = MarkdownExtractor()
        }
    }

    /// Consumes the next bytes of the document; returns the pieces they complete (possibly none).
    ///
    /// - Throws: `invalid_utf8` or `binary_content` with the byte offset; `too_large` past the text limit.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ExtractionError) -> [TextPiece] {
        bytesIn += bytes.count
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ExtractionError) -> [TextPiece] in try extractor.feed(buffer) }
        }
        let pieces: [TextPiece]
        if let result {
            pieces = try result.get()
        } else {
            pieces = try Array(bytes).withUnsafeBufferPointer { (buffer) throws(ExtractionError) -> [TextPiece] in
                try extractor.feed(buffer)
            }
        }
        try check(pieces)
        return pieces
    }

    /// Ends the document; returns the remaining pieces.
    ///
    /// - Throws: `invalid_utf8` when the document ends inside a character; `empty` when it had no bytes;
    ///   `no_text` when its text is only whitespace.
    public mutating func finish() throws(ExtractionError) -> [TextPiece] {
        let pieces = try extractor.finish()
        try check(pieces)
        if bytesIn == 0 { throw ExtractionError(.empty, "The document is empty.") }
        if !sawText { throw ExtractionError(.noText, "The document has no text, only whitespace.") }
        return pieces
    }

    /// Extracts a whole document held in memory.
    ///
    /// - Throws: as ``feed(_:)`` and ``finish()``.
    public static func extract(
        _ bytes: some Collection<UInt8>, format: DocumentFormat, configuration: Configuration = Configuration()
    ) throws(ExtractionError) -> ExtractedText {
        var extractor = TextExtractor(format: format, configuration: configuration)
        var collector = ExtractedTextCollector()
        collector.add(try extractor.feed(bytes))
        collector.add(try extractor.finish())
        return collector.result
    }

    private mutating func check(_ pieces: [TextPiece]) throws(ExtractionError) {
        for case .text(let text) in pieces {
            textBytesOut += text.utf8.count
            if textBytesOut > configuration.textBytesMax {
                throw ExtractionError(
                    .tooLarge, "The extracted text exceeds the limit of \(configuration.textBytesMax) bytes.")
            }
            if !sawText {
                sawText = ScalarTraits.hasNonWhitespace(text)
            }
        }
    }
}

/// Gathers pieces into an ``ExtractedText``, turning marks into offsets.
struct ExtractedTextCollector {
    private(set) var result = ExtractedText(text: "")
    private var scalarCount = 0

    mutating func add(_ pieces: [TextPiece]) {
        for piece in pieces {
            switch piece {
            case .text(let text):
                result.text += text
                scalarCount += ScalarTraits.scalarCount(text)
            case .sectionStart:
                if scalarCount > 0 && result.sectionStarts.last != scalarCount {
                    result.sectionStarts.append(scalarCount)
                }
            case .pageStart(let page):
                result.pageStarts.append(PageStart(offset: scalarCount, page: page))
            }
        }
    }
}
