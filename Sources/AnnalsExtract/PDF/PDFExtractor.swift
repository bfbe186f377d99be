/// Extracts the text of a PDF document, a page at a time, reading the file through a ``ByteSource`` (random
/// access to windows of the file; never the whole file).
///
/// Reads text PDFs: cross-reference tables and streams, incremental updates, object streams, the common filters,
/// simple and composite fonts with `ToUnicode` CMaps or Latin encodings, and form XObjects. A damaged
/// cross-reference table is rebuilt by scanning the file. Encrypted PDFs are refused with `encrypted`.
///
/// Each ``nextPage()`` yields `.pageStart(n)` and the page's text (lines separated by `\n`, paragraphs by a blank
/// line, pages by a blank line). When no page had any text, the call for the last page throws `no_text` instead of
/// returning (a scanned document, whose pages are images, is the usual cause; the message says so), or `malformed`
/// when a content stream was damaged. A damaged content stream otherwise yields its text up to the damage, as
/// viewers show it.
///
/// A struct whose state is all values: the document's caches and decompression budget live in it, and each call
/// mutates them. Copying an extractor copies its position (and would decode again from there).
public struct PDFExtractor: Sendable {
    /// The limits applied.
    public let configuration: TextExtractor.Configuration
    private var document: PDFDocument
    private let pages: [PDFPage]
    private var nextIndex = 0
    private var textBytes = 0
    private var sawText = false
    private var sawImage = false
    /// The first damage found in a content stream so far (corrupt compressed data, a stream cut off by the end of
    /// the file): the stream ended there, and the text before it was kept. Nil for an undamaged document.
    public private(set) var damage: ExtractionError?
    private var reportedNoPages = false

    /// Opens the PDF in `source`: reads its cross-reference data and page tree.
    ///
    /// - Throws: `encrypted` for an encrypted PDF; `malformed` when it is not a readable PDF (no header, no
    ///   catalog, no page tree, even after scanning the file); `too_many_objects`, `too_deep`,
    ///   `decompressed_too_large`, `compression_ratio` past the configuration's limits.
    public init(source: some ByteSource, configuration: TextExtractor.Configuration = .init())
        throws(ExtractionError)
    {
        self.configuration = configuration
        var document = try PDFDocument(source: source, configuration: configuration)
        pages = try document.pages()
        self.document = document
    }

    /// The number of pages.
    public var pageCount: Int { pages.count }

    /// The pieces of the next page (`.pageStart(n)` first, then its text, if any), or nil after the last page.
    ///
    /// - Throws: `no_text` from the call for the last page when no page had text (and from the first call when
    ///   there are no pages), or `malformed` instead when a content stream was damaged; `too_large` past
    ///   `textBytesMax`; `too_many_objects` past `pdfObjectsMax` operators on a page; `too_deep`, `malformed`, and
    ///   the decompression limits as the page's objects and streams need.
    public mutating func nextPage() throws(ExtractionError) -> [TextPiece]? {
        guard nextIndex < pages.count else {
            if pages.isEmpty && !reportedNoPages {
                reportedNoPages = true
                throw ExtractionError(.noText, "The PDF has no pages, so no text.")
            }
            return nil
        }
        let index = nextIndex
        nextIndex += 1
        var interpreter = try PDFContentInterpreter(
            page: pages[index], pageNumber: index + 1, document: &document, configuration: configuration,
            textBytesMax: configuration.textBytesMax - textBytes)
        try interpreter.run(document: &document)
        sawImage = sawImage || interpreter.sawImage
        damage = damage ?? interpreter.damage
        var pieces: [TextPiece] = [.pageStart(index + 1)]
        var body = interpreter.text.finish()
        if !body.isEmpty {
            // Pages are separated by a blank line; the last ends with a line feed, as a text file does.
            body.append(contentsOf: nextIndex < pages.count ? [0x0A, 0x0A] : [0x0A])
            textBytes += body.count
            guard textBytes <= configuration.textBytesMax else {
                throw ExtractionError(
                    .tooLarge, "The extracted text exceeds the limit of \(configuration.textBytesMax) bytes.")
            }
            sawText = true
            pieces.append(.text(String(decoding: body, as: UTF8.self)))
        }
        if nextIndex == pages.count && !sawText {
            if let damage {
                throw ExtractionError(
                    .malformed, "The PDF has no readable text; its content is damaged: \(damage.message)",
                    byteOffset: damage.byteOffset)
            }
            let count = pages.count == 1 ? "its page" : "its \(pages.count) pages"
            throw ExtractionError(
                .noText,
                sawImage
                    ? "The PDF has no text, only images on \(count): it seems to be scanned, and text recognition "
                        + "(OCR) is not supported."
                    : "The PDF has no text on \(count).")
        }
        return pieces
    }

    /// Extracts every page of the PDF in `source` into one text.
    ///
    /// - Throws: as ``init(source:configuration:)`` and ``nextPage()``.
    public static func extract(
        _ source: some ByteSource, configuration: TextExtractor.Configuration = .init()
    ) throws(ExtractionError) -> ExtractedText {
        var extractor = try PDFExtractor(source: source, configuration: configuration)
        var collector = ExtractedTextCollector()
        while let pieces = try extractor.nextPage() { collector.add(pieces) }
        return collector.result
    }
}
