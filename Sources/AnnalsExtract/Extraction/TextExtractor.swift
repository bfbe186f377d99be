/// Turns a document's bytes into text for the chunker: streaming (`feed` and `finish`) or in one call (`extract`).
///
/// Picks the extractor for the format, and checks what every format shares: a limit on the extracted text (which
/// also stops decompression bombs once compressed formats arrive), and that there is some text at all.
public struct TextExtractor: Sendable {
    /// Limits of an extraction.
    public struct Configuration: Sendable, Equatable {
        /// The default limit of extracted text: 256 MiB.
        public static let textBytesMaxDefault = 256 * 1024 * 1024
        /// The default limit of decompressed bytes per document (all gzip, zip and PDF streams together): 1 GiB.
        public static let decompressedBytesMaxDefault = 1024 * 1024 * 1024
        /// The default limit of the ratio of decompressed to compressed bytes: 200.
        public static let compressionRatioMaxDefault = 200
        /// The default number of decompressed bytes below which the ratio is not checked: 1 MiB (a small file of
        /// repeated text compresses very well and is not a bomb).
        public static let compressionRatioFloorBytesDefault = 1024 * 1024
        /// The default nesting depth limit: 256.
        public static let nestingDepthMaxDefault = 256
        /// The default limit of fields in one CSV row: 10,000.
        public static let csvColumnsMaxDefault = 10_000
        /// The default limit of entries in an archive: 10,000.
        public static let archiveEntriesMaxDefault = 10_000
        /// The default limit of objects in a PDF: 1,000,000.
        public static let pdfObjectsMaxDefault = 1_000_000

        /// The most bytes of UTF-8 text one document may yield; beyond it extraction fails with `too_large`.
        public var textBytesMax: Int
        /// The most bytes decompression may yield for one document; beyond it, `decompressed_too_large`.
        public var decompressedBytesMax: Int
        /// The most decompressed bytes per compressed byte; beyond it, `compression_ratio`.
        public var compressionRatioMax: Int
        /// Decompressed bytes below which the ratio is not checked.
        public var compressionRatioFloorBytes: Int
        /// The deepest nesting of JSON containers, HTML elements or PDF references; beyond it, `too_deep`.
        public var nestingDepthMax: Int
        /// The most fields in one CSV row; beyond it, `too_many_columns`.
        public var csvColumnsMax: Int
        /// The most entries in an archive; beyond it, `too_many_entries`.
        public var archiveEntriesMax: Int
        /// The most objects in a PDF; beyond it, `too_many_objects`.
        public var pdfObjectsMax: Int

        /// Creates a configuration.
        public init(
            textBytesMax: Int = Self.textBytesMaxDefault,
            decompressedBytesMax: Int = Self.decompressedBytesMaxDefault,
            compressionRatioMax: Int = Self.compressionRatioMaxDefault,
            compressionRatioFloorBytes: Int = Self.compressionRatioFloorBytesDefault,
            nestingDepthMax: Int = Self.nestingDepthMaxDefault,
            csvColumnsMax: Int = Self.csvColumnsMaxDefault,
            archiveEntriesMax: Int = Self.archiveEntriesMaxDefault,
            pdfObjectsMax: Int = Self.pdfObjectsMaxDefault
        ) {
            self.textBytesMax = textBytesMax
            self.decompressedBytesMax = decompressedBytesMax
            self.compressionRatioMax = compressionRatioMax
            self.compressionRatioFloorBytes = compressionRatioFloorBytes
            self.nestingDepthMax = nestingDepthMax
            self.csvColumnsMax = csvColumnsMax
            self.archiveEntriesMax = archiveEntriesMax
            self.pdfObjectsMax = pdfObjectsMax
        }
    }

    /// The format being extracted.
    public let format: DocumentFormat
    /// How the format's bytes are wrapped (gzip, or not at all).
    public let encoding: ContentEncoding
    /// The limits applied.
    public let configuration: Configuration
    private var extractor: any FormatExtractor
    private var bytesIn = 0
    private var textBytesOut = 0
    private var sawText = false

    /// Creates an extractor for one document of `format`, wrapped in `encoding`.
    ///
    /// `declaredContentType` is the upload's declared `Content-Type`, parameters included: for HTML, its `charset`
    /// parameter names the character set unless a byte-order mark does (see ``TextCharset``); other formats ignore
    /// it.
    ///
    /// PDF and DOCX cannot be read front to back (their indexes sit at the end): for them ``feed(_:)`` throws
    /// `unsupported_type`; read them with ``PDFExtractor`` over a ``ByteSource`` and with ``DOCXExtractor``.
    public init(
        format: DocumentFormat, encoding: ContentEncoding = .identity, declaredContentType: String? = nil,
        configuration: Configuration = Configuration()
    ) {
        self.format = format
        self.encoding = encoding
        self.configuration = configuration
        let inner: any FormatExtractor =
            switch format {
            case .plainText: PlainTextExtractor()
            case .markdown: MarkdownExtractor()
            case .html: HTMLExtractor(declaredLabel: HTMLCharset.declaredLabel(contentType: declaredContentType))
            case .json: UTF8TokenizingExtractor(JSONTokenizer(isLines: false, depthMax: configuration.nestingDepthMax))
            case .jsonLines:
                UTF8TokenizingExtractor(JSONTokenizer(isLines: true, depthMax: configuration.nestingDepthMax))
            case .csv: UTF8TokenizingExtractor(CSVTokenizer(columnsMax: configuration.csvColumnsMax))
            case .docx: RandomAccessOnlyExtractor(format: format, extractorName: "DOCXExtractor")
            case .pdf: RandomAccessOnlyExtractor(format: format, extractorName: "PDFExtractor")
            }
        switch encoding {
        case .identity: extractor = inner
        case .gzip: extractor = GzipExtractor(inner: inner, configuration: configuration)
        }
    }

    /// Consumes the next bytes of the document; returns the pieces they complete (possibly none).
    ///
    /// - Throws: `invalid_utf8` or `binary_content` with the byte offset; `too_large` past the text limit; the
    ///   format's own errors (`malformed` with the byte offset, `too_deep`, `too_many_columns`; for HTML,
    ///   `unsupported_charset`, and `malformed` for broken UTF-16); for gzip,
    ///   `malformed` for corrupt data, `decompressed_too_large` and `compression_ratio` for a bomb.
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
    /// - Throws: `invalid_utf8` when the document ends inside a character; `malformed` when a format's structure or
    ///   the gzip data is cut off; `empty` when it had no bytes;
    ///   `no_text` when its text is only whitespace.
    public mutating func finish() throws(ExtractionError) -> [TextPiece] {
        // Checked first: an empty document is `empty` in every format, not a structure the format finds cut off.
        if bytesIn == 0 { throw ExtractionError(.empty, "The document is empty.") }
        let pieces = try extractor.finish()
        try check(pieces)
        if !sawText { throw ExtractionError(.noText, "The document has no text, only whitespace.") }
        return pieces
    }

    /// Extracts a whole document held in memory (a PDF through ``PDFExtractor``).
    ///
    /// - Throws: as ``feed(_:)`` and ``finish()``, or as ``PDFExtractor`` for a PDF.
    public static func extract(
        _ bytes: some Collection<UInt8>, format: DocumentFormat, encoding: ContentEncoding = .identity,
        declaredContentType: String? = nil, configuration: Configuration = Configuration()
    ) throws(ExtractionError) -> ExtractedText {
        if format == .pdf, encoding == .identity {
            return try PDFExtractor.extract(MemoryByteSource(Array(bytes)), configuration: configuration)
        }
        var extractor = TextExtractor(
            format: format, encoding: encoding, declaredContentType: declaredContentType, configuration: configuration)
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
