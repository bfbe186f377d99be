/// A document format Annals can extract text from, named by its media type.
///
/// Only formats with an extractor are listed; a format that is recognised but not extracted yet (images, say) is a
/// ``DetectedContent`` without a format. Adding a format means adding a case here, an extractor in
/// ``TextExtractor`` (or, for a format that needs random access, its own extractor such as ``PDFExtractor``), and
/// its signature or declared types in ``FormatDetector``.
public enum DocumentFormat: String, Sendable, CaseIterable {
    /// UTF-8 text, with or without a byte-order mark, any line endings.
    case plainText = "text/plain"
    /// CommonMark-style Markdown in UTF-8; kept as text, with its headings starting new sections.
    case markdown = "text/markdown"
    /// HTML or XHTML: the text a reader sees, in paragraphs, with headings starting new sections. In UTF-8, or in
    /// another ``TextCharset`` that the page declares.
    case html = "text/html"
    /// One JSON value: its strings, numbers and booleans, one per line with their key paths.
    case json = "application/json"
    /// JSON Lines (newline-delimited JSON): each record as a paragraph, laid out as JSON.
    case jsonLines = "application/x-ndjson"
    /// CSV with a header record: each record as a paragraph of `column: value` lines.
    case csv = "text/csv"
    /// A Word document (Office Open XML, `.docx`): a ZIP archive whose `word/document.xml` holds the text. Extracted
    /// by ``DOCXExtractor``, which needs random access to the archive, not by the streaming ``TextExtractor``.
    case docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    /// PDF, read with ``PDFExtractor`` (random access through a ``ByteSource``), not the streaming
    /// ``TextExtractor``.
    case pdf = "application/pdf"

    /// The media type, as recorded in `upload.received` and answered to clients.
    public var mediaType: String { rawValue }
}
