/// A document format Annals can extract text from, named by its media type.
///
/// Only formats with an extractor are listed; a format that is recognised but not extracted yet (PDF, say) is a
/// ``DetectedContent`` without a format. Adding a format means adding a case here, an extractor in
/// ``TextExtractor``, and its signature or declared types in ``FormatDetector``.
public enum DocumentFormat: String, Sendable, CaseIterable {
    /// UTF-8 text, with or without a byte-order mark, any line endings.
    case plainText = "text/plain"
    /// CommonMark-style Markdown in UTF-8; kept as text, with its headings starting new sections.
    case markdown = "text/markdown"
    /// A Word document (Office Open XML, `.docx`): a ZIP archive whose `word/document.xml` holds the text. Extracted
    /// by ``DOCXExtractor``, which needs random access to the archive, not by the streaming ``TextExtractor``.
    case docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    /// The media type, as recorded in `upload.received` and answered to clients.
    public var mediaType: String { rawValue }
}
