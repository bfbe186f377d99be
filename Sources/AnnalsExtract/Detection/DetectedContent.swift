/// What a document's first bytes are, decided from magic numbers and structure, named by media type.
///
/// Several of these are recognised only to refuse them clearly (executables, images); others (PDF, ZIP for DOCX,
/// gzip) are documents whose extractors come later, at which point ``FormatDetector`` maps them to a
/// ``DocumentFormat``.
public enum DetectedContent: String, Sendable, CaseIterable {
    /// No bytes at all.
    case empty = "application/x-empty"
    /// Valid UTF-8 text without NUL bytes (a UTF-8 byte-order mark allowed).
    case text = "text/plain"
    /// A PDF document (`%PDF-`).
    case pdf = "application/pdf"
    /// A ZIP archive (`PK\x03\x04`), which is also the container of DOCX and other office files.
    case zip = "application/zip"
    /// gzip-compressed data (`1F 8B`).
    case gzip = "application/gzip"
    /// A PNG image.
    case png = "image/png"
    /// A JPEG image.
    case jpeg = "image/jpeg"
    /// A GIF image.
    case gif = "image/gif"
    /// An ELF executable or shared library (Linux and most Unix systems).
    case elf = "application/x-elf"
    /// A DOS or Windows executable (`MZ`, usually followed by a PE header).
    case portableExecutable = "application/vnd.microsoft.portable-executable"
    /// A Mach-O executable (macOS, iOS), or a universal binary; Java class files share the universal magic.
    case machO = "application/x-mach-binary"
    /// Anything else that is not text: invalid UTF-8, NUL bytes, UTF-16.
    case binary = "application/octet-stream"

    /// The media type.
    public var mediaType: String { rawValue }

    /// A short description for messages, such as "an ELF executable".
    public var summary: String {
        switch self {
        case .empty: "an empty file"
        case .text: "UTF-8 text"
        case .pdf: "a PDF document"
        case .zip: "a ZIP archive"
        case .gzip: "gzip-compressed data"
        case .png: "a PNG image"
        case .jpeg: "a JPEG image"
        case .gif: "a GIF image"
        case .elf: "an ELF executable"
        case .portableExecutable: "a Windows executable"
        case .machO: "a Mach-O executable"
        case .binary: "binary data"
        }
    }
}
