/// Decides what an upload is from its first bytes, and whether Annals accepts it, before anything is stored.
///
/// The bytes decide, not the client's `Content-Type` alone: known signatures (executables, archives, images,
/// PDF) are recognised first; otherwise the bytes must be UTF-8 text without NUL bytes. The declared type then
/// picks among the text formats (Markdown by `text/markdown`, or by a `.md` or `.markdown` file name), and a
/// declared type that contradicts the bytes is refused with `type_mismatch`, naming both.
public enum FormatDetector {
    /// The number of leading bytes the detector examines; pass at least this many when the upload has them.
    public static let prefixBytesMax = 4096

    /// Decides what the bytes are and whether they are accepted.
    ///
    /// - Parameters:
    ///   - prefix: the first bytes of the upload (only the first `prefixBytesMax` are examined).
    ///   - declaredContentType: the client's `Content-Type`, parameters allowed; nil when none was sent.
    ///   - filename: the client's file name, used only to tell Markdown from plain text.
    ///   - isComplete: true when `prefix` is the whole upload; then a multi-byte character cut off at the end is
    ///     invalid UTF-8 rather than the end of a prefix.
    public static func detect(
        prefix: some Collection<UInt8>, declaredContentType: String?, filename: String?, isComplete: Bool = false
    ) -> FormatDetection {
        let examined = Array(prefix.prefix(prefixBytesMax))
        let sniffed = sniff(examined, allowTruncatedEnd: !isComplete || examined.count < prefix.count)
        let declared = DeclaredClaim.normalise(declaredContentType)
        return decide(sniffed, declared: declared, filename: filename)
    }

    /// What the bytes are, with the detail that made them binary.
    struct Sniffed {
        var content: DetectedContent
        var detail: String?
    }

    private static func decide(_ sniffed: Sniffed, declared: String?, filename: String?) -> FormatDetection {
        let content = sniffed.content
        func verdict(_ format: DocumentFormat?, _ refusal: ExtractionError?) -> FormatDetection {
            FormatDetection(content: content, format: format, declaredMediaType: declared, refusal: refusal)
        }
        let detected = describe(sniffed)
        if content == .empty {
            return verdict(nil, ExtractionError(.empty, "The upload is empty."))
        }
        let mismatch = ExtractionError(
            .typeMismatch,
            "The declared type \(declared ?? "") contradicts the content, which is \(detected)."
        )
        let textFormat: DocumentFormat = isMarkdownName(filename) ? .markdown : .plainText
        switch DeclaredClaim.claim(declared) {
        case .none, .unknown:
            if content == .text { return verdict(textFormat, nil) }
            if let format = binaryFormat(content) { return verdict(format, nil) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        case .format(let format):
            guard content == .text else { return verdict(nil, mismatch) }
            return verdict(format == .plainText ? textFormat : format, nil)
        case .textNotSupported:
            guard content == .text else { return verdict(nil, mismatch) }
            return verdict(
                nil,
                ExtractionError(
                    .unsupportedType,
                    "The declared type \(declared ?? "") is not supported yet; Annals accepts "
                        + DocumentFormat.allCases.map(\.mediaType).joined(separator: ", ") + "."
                )
            )
        case .content(let expected):
            guard content == expected else { return verdict(nil, mismatch) }
            if let format = binaryFormat(content) { return verdict(format, nil) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        case .binaryUnknown:
            guard content != .text else { return verdict(nil, mismatch) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        }
    }

    /// The format that extracts a recognised non-text content, when Annals has one.
    private static func binaryFormat(_ content: DetectedContent) -> DocumentFormat? {
        switch content {
        case .pdf: .pdf
        default: nil
        }
    }

    private static func describe(_ sniffed: Sniffed) -> String {
        var text = "\(sniffed.content.summary) (\(sniffed.content.mediaType))"
        if let detail = sniffed.detail { text += ": \(detail)" }
        return text
    }

    private static func isMarkdownName(_ filename: String?) -> Bool {
        guard let filename else { return false }
        let lowered = filename.lowercased()
        return lowered.hasSuffix(".md") || lowered.hasSuffix(".markdown")
    }

    private static let signatures: [(bytes: [UInt8], content: DetectedContent)] = [
        ([0x7F, 0x45, 0x4C, 0x46], .elf),
        ([0xFE, 0xED, 0xFA, 0xCE], .machO),
        ([0xFE, 0xED, 0xFA, 0xCF], .machO),
        ([0xCE, 0xFA, 0xED, 0xFE], .machO),
        ([0xCF, 0xFA, 0xED, 0xFE], .machO),
        ([0xCA, 0xFE, 0xBA, 0xBE], .machO),
        ([0x50, 0x4B, 0x03, 0x04], .zip),
        ([0x50, 0x4B, 0x05, 0x06], .zip),
        ([0x50, 0x4B, 0x07, 0x08], .zip),
        ([0x1F, 0x8B], .gzip),
        (Array("%PDF-".utf8), .pdf),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
        ([0xFF, 0xD8, 0xFF], .jpeg),
        (Array("GIF87a".utf8), .gif),
        (Array("GIF89a".utf8), .gif),
    ]

    /// Classifies the bytes by signature, then as text or binary.
    static func sniff(_ bytes: [UInt8], allowTruncatedEnd: Bool) -> Sniffed {
        if bytes.isEmpty { return Sniffed(content: .empty) }
        for signature in signatures where bytes.starts(with: signature.bytes) {
            return Sniffed(content: signature.content)
        }
        // "MZ" alone is also how some text begins; a real DOS header has NUL bytes among its first 64 bytes.
        if bytes.starts(with: [0x4D, 0x5A]), bytes.prefix(64).contains(0) {
            return Sniffed(content: .portableExecutable)
        }
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            return Sniffed(content: .binary, detail: "it looks like UTF-16 text; convert it to UTF-8")
        }
        return bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            let end = buffer.count
            var index = 0
            while index < end {
                let byte = base[index]
                if byte < 0x80 {
                    if byte == 0 { return Sniffed(content: .binary, detail: "a NUL byte at offset \(index)") }
                    index += 1
                    continue
                }
                switch UTF8Sequence.check(base, at: index, end: end) {
                case .valid(let length):
                    index += length
                case .truncated where allowTruncatedEnd:
                    return Sniffed(content: .text)
                case .truncated, .invalid:
                    return Sniffed(content: .binary, detail: "invalid UTF-8 at offset \(index)")
                }
            }
            return Sniffed(content: .text)
        }
    }
}
