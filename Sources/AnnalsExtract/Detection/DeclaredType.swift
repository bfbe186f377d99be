/// What a client's declared media type claims about the bytes.
enum DeclaredClaim: Equatable {
    /// No claim: nothing declared, or `application/octet-stream`.
    case none
    /// A format Annals extracts (a text format, or DOCX, which the bytes must show to be a ZIP).
    case format(DocumentFormat)
    /// A text-based format Annals does not extract yet (XML, RTF, SVG).
    case textNotSupported
    /// A non-text kind that the signature must confirm.
    case content(DetectedContent)
    /// A type Annals does not know; the bytes decide.
    case unknown
    /// A non-text major type (`image/…`, `audio/…`, …) that Annals does not know.
    case binaryUnknown

    /// The media type lowercased, without parameters and surrounding spaces; nil when nothing is left.
    static func normalise(_ declared: String?) -> String? {
        guard let declared else { return nil }
        let essence = declared.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = essence.trimmingASCIIWhitespace().lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }

    static func claim(_ mediaType: String?) -> DeclaredClaim {
        guard let mediaType else { return .none }
        if let claim = table[mediaType] { return claim }
        if mediaType.hasPrefix("text/") { return .format(.plainText) }
        for major in ["image/", "audio/", "video/", "font/", "model/"] where mediaType.hasPrefix(major) {
            return .binaryUnknown
        }
        return .unknown
    }

    private static let table: [String: DeclaredClaim] = [
        "application/octet-stream": .none,
        "binary/octet-stream": .none,
        "text/plain": .format(.plainText),
        "text/markdown": .format(.markdown),
        "text/x-markdown": .format(.markdown),
        "text/html": .format(.html),
        "application/xhtml+xml": .format(.html),
        "application/json": .format(.json),
        "application/x-ndjson": .format(.jsonLines),
        "application/jsonl": .format(.jsonLines),
        "application/x-jsonlines": .format(.jsonLines),
        "text/csv": .format(.csv),
        "text/xml": .textNotSupported,
        "application/xml": .textNotSupported,
        "text/rtf": .textNotSupported,
        "application/rtf": .textNotSupported,
        "image/svg+xml": .textNotSupported,
        "application/pdf": .content(.pdf),
        "application/x-pdf": .content(.pdf),
        "application/zip": .content(.zip),
        "application/x-zip-compressed": .content(.zip),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": .format(.docx),
        "application/gzip": .content(.gzip),
        "application/x-gzip": .content(.gzip),
        "image/png": .content(.png),
        "image/jpeg": .content(.jpeg),
        "image/jpg": .content(.jpeg),
        "image/gif": .content(.gif),
        "application/x-elf": .content(.elf),
        "application/x-executable": .content(.elf),
        "application/x-sharedlib": .content(.elf),
        "application/vnd.microsoft.portable-executable": .content(.portableExecutable),
        "application/x-msdownload": .content(.portableExecutable),
        "application/x-dosexec": .content(.portableExecutable),
        "application/x-mach-binary": .content(.machO),
    ]
}

extension Substring {
    /// The text without leading and trailing ASCII spaces and tabs.
    func trimmingASCIIWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
