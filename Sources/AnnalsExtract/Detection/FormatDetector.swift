/// Decides what an upload is from its first bytes, and whether Annals accepts it, before anything is stored.
///
/// The bytes decide, not the client's `Content-Type` alone: known signatures (executables, archives, images,
/// PDF) are recognised first; gzip is inflated (its first ``prefixBytesMax`` decompressed bytes) and what it holds is
/// detected the same way, with the encoding recorded; otherwise the bytes must be UTF-8 text without NUL bytes.
/// Among text, the bytes pick HTML (`<!doctype html`, `<html`, `<head` or `<body` near the start) and JSON (a `{` or
/// `[` that starts well-formed JSON; JSON Lines when a second value follows); then the file name picks (`.csv`,
/// `.html`, `.json`, `.jsonl`, `.md`, …); then plain text. A declared type picks the text format itself, and a
/// declared type that contradicts the bytes is refused with `type_mismatch`, naming both.
/// HTML may also be in another character set that a byte-order mark, the declared type's `charset` or a `<meta>`
/// names (see ``HTMLCharset``): bytes that are not UTF-8 are HTML only with such a declaration and, once decoded, the
/// HTML start above; a declared set Annals does not read is refused with `unsupported_charset`.
/// A ZIP is accepted as DOCX when declared so, named `.docx`, or when its first local headers are a Word
/// document's; any other ZIP is not.
public enum FormatDetector {
    /// The number of leading bytes the detector examines; pass at least this many when the upload has them. For
    /// gzip, also the number of decompressed bytes examined.
    public static let prefixBytesMax = 4096
    /// How far into the text an HTML start (`<html`, `<head`, `<body`, `<!doctype html`) is looked for.
    static let htmlStartBytesMax = 1024

    /// Decides what the bytes are and whether they are accepted.
    ///
    /// - Parameters:
    ///   - prefix: the first bytes of the upload (only the first `prefixBytesMax` are examined).
    ///   - declaredContentType: the client's `Content-Type`, parameters allowed; nil when none was sent.
    ///   - filename: the client's file name, used only to choose among text formats (and to see through `.gz`).
    ///   - isComplete: true when `prefix` is the whole upload; then a multi-byte character cut off at the end is
    ///     invalid UTF-8 rather than the end of a prefix.
    public static func detect(
        prefix: some Collection<UInt8>, declaredContentType: String?, filename: String?, isComplete: Bool = false
    ) -> FormatDetection {
        let examined = Array(prefix.prefix(prefixBytesMax))
        let isWhole = isComplete && examined.count == prefix.count
        let sniffed = sniff(examined, allowTruncatedEnd: !isWhole)
        let declared = DeclaredClaim.normalise(declaredContentType)
        let charsetLabel = HTMLCharset.declaredLabel(contentType: declaredContentType)
        if sniffed.content == .gzip {
            return detectGzip(
                examined, isWhole: isWhole, declared: declared, filename: filename, charsetLabel: charsetLabel)
        }
        return decide(
            sniffed, bytes: examined, isWhole: isWhole, declared: declared, filename: filename,
            charsetLabel: charsetLabel)
    }

    /// What the bytes are, with the detail that made them binary.
    struct Sniffed {
        var content: DetectedContent
        var detail: String?
        /// For a ZIP: whether its first entries are those of a Word document.
        var looksLikeDOCX = false
    }

    /// The text formats the bytes themselves reveal.
    enum TextKind {
        case html
        case json
        case jsonLines
    }

    private static func decide(
        _ sniffed: Sniffed, bytes: [UInt8], isWhole: Bool, declared: String?, filename: String?,
        charsetLabel: String?, wrapper: DetectedContent? = nil
    ) -> FormatDetection {
        var content = sniffed.content
        func verdict(_ format: DocumentFormat?, _ refusal: ExtractionError?, charset: TextCharset = .utf8)
            -> FormatDetection
        {
            FormatDetection(
                content: content, format: format, declaredMediaType: declared, refusal: refusal,
                encoding: wrapper == nil ? .identity : .gzip, charset: charset)
        }
        // The verdict on text taken as `format`: for HTML, its character set decides too.
        func textVerdict(_ format: DocumentFormat) -> FormatDetection {
            guard format == .html else { return verdict(format, nil) }
            switch htmlCharset(bytes, isWhole: isWhole, isText: true, charsetLabel: charsetLabel) {
            case .html(let charset): return verdict(.html, nil, charset: charset)
            case .refused(let refusal): return verdict(nil, refusal)
            case .notHTML: return verdict(.html, nil)
            }
        }
        var detected = describe(sniffed)
        if let wrapper { detected += " inside \(wrapper.summary) (\(wrapper.mediaType))" }
        if content == .empty {
            return verdict(
                nil, ExtractionError(.empty, wrapper == nil ? "The upload is empty." : "The upload is \(detected)."))
        }
        let claim = DeclaredClaim.claim(declared)
        if content == .binary, claim == .none || claim == .unknown || claim == .format(.html) {
            switch htmlCharset(bytes, isWhole: isWhole, isText: false, charsetLabel: charsetLabel) {
            case .html(let charset):
                content = .text
                return verdict(.html, nil, charset: charset)
            case .refused(let refusal):
                return verdict(nil, refusal)
            case .notHTML:
                break
            }
        }
        let kind = content == .text ? textKind(bytes, isWhole: isWhole) : nil
        if kind == .html { detected = "an HTML document (text/html)" }
        let mismatch = ExtractionError(
            .typeMismatch,
            "The declared type \(declared ?? "") contradicts the content, which is \(detected)."
        )
        switch claim {
        case .none, .unknown:
            if content == .text { return textVerdict(inferredFormat(kind, filename: filename)) }
            if isDOCX(sniffed, filename: filename) { return verdict(.docx, nil) }
            if let format = binaryFormat(content) { return verdict(format, nil) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        case .format(.docx):
            // Declared as DOCX: any ZIP is taken as one (the extractor refuses it if it has no document part).
            guard content == .zip else { return verdict(nil, mismatch) }
            return verdict(.docx, nil)
        case .format(let format):
            guard content == .text else { return verdict(nil, mismatch) }
            if format == .json || format == .jsonLines, !startsLikeJSON(bytes) { return verdict(nil, mismatch) }
            if format == .plainText { return verdict(isMarkdownName(filename) ? .markdown : .plainText, nil) }
            return textVerdict(format)
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
            if isDOCX(sniffed, filename: filename) { return verdict(.docx, nil) }
            if let format = binaryFormat(content) { return verdict(format, nil) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        case .binaryUnknown:
            guard content != .text else { return verdict(nil, mismatch) }
            return verdict(nil, ExtractionError(.unsupportedType, "Annals does not accept \(detected)."))
        }
    }

    /// Inflates the start of a gzip upload and decides on what it holds, recording the encoding.
    ///
    /// A declared gzip type says nothing about the content, so the content alone decides then; any other declared
    /// type is taken as the content's (as with HTTP's `Content-Encoding`). The file name is read without its `.gz`.
    /// gzip inside gzip is refused; corrupt data is `malformed`.
    private static func detectGzip(
        _ compressed: [UInt8], isWhole: Bool, declared: String?, filename: String?, charsetLabel: String?
    ) -> FormatDetection {
        var inner: [UInt8] = []
        var innerIsWhole = false
        var isFull = false
        do throws(ExtractionError) {
            let inflater = try Inflater(framing: .gzip)
            // Only the first `prefixBytesMax` bytes are kept, and at most 64 KiB more produced: no bomb can hurt.
            var budget = DecompressionBudget(bytesMax: Int.max / 2, ratioMax: Int.max / 2, ratioFloorBytes: 0)
            try compressed.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                try inflater.feed(buffer, budget: &budget) { (output) throws(ExtractionError) in
                    inner.append(contentsOf: output.prefix(prefixBytesMax - inner.count))
                    if inner.count >= prefixBytesMax {
                        // Enough to decide: stop inflating.
                        isFull = true
                        throw ExtractionError(.tooLarge, "The examined prefix is full.")
                    }
                }
            }
            innerIsWhole = isWhole && inflater.isFinished
        } catch {
            if !isFull {
                let refusal = ExtractionError(
                    error.code, "Annals cannot read the gzip-compressed data (application/gzip): \(error.message)")
                return FormatDetection(
                    content: .gzip, format: nil, declaredMediaType: declared, refusal: refusal, encoding: .gzip)
            }
        }
        let sniffed = sniff(inner, allowTruncatedEnd: !innerIsWhole)
        if sniffed.content == .empty && !innerIsWhole {
            return FormatDetection(
                content: .gzip, format: nil, declaredMediaType: declared,
                refusal: ExtractionError(
                    .unsupportedType,
                    "The start of the gzip-compressed data (application/gzip) does not show what it holds; "
                        + "Annals does not accept it."),
                encoding: .gzip)
        }
        if sniffed.content == .gzip {
            return FormatDetection(
                content: .gzip, format: nil, declaredMediaType: declared,
                refusal: ExtractionError(
                    .unsupportedType, "Annals does not accept gzip inside gzip-compressed data (application/gzip)."),
                encoding: .gzip)
        }
        let isGzipType = DeclaredClaim.claim(declared) == .content(.gzip)
        var innerName = filename
        if let name = filename, name.lowercased().hasSuffix(".gz") { innerName = String(name.dropLast(3)) }
        var detection = decide(
            sniffed, bytes: inner, isWhole: innerIsWhole, declared: isGzipType ? nil : declared, filename: innerName,
            charsetLabel: charsetLabel, wrapper: .gzip)
        detection.declaredMediaType = declared
        return detection
    }

    /// What the character set of possible HTML says about it.
    enum HTMLCharsetVerdict: Equatable {
        /// HTML in this set.
        case html(TextCharset)
        /// Refused: the declared set is not read, or does not fit the bytes.
        case refused(ExtractionError)
        /// Not HTML: the bytes are binary after all.
        case notHTML
    }

    /// Decides the character set of bytes that are HTML (`isText`: valid UTF-8 already taken as HTML) or may be
    /// HTML in another set (otherwise: bytes that are not UTF-8, which are HTML only when a declared set turns their
    /// start into an HTML start).
    static func htmlCharset(_ bytes: [UInt8], isWhole: Bool, isText: Bool, charsetLabel: String?)
        -> HTMLCharsetVerdict
    {
        let decision: HTMLCharset.Decision
        do throws(ExtractionError) {
            decision = try HTMLCharset.decide(bytes, isWhole: isWhole, declaredLabel: charsetLabel)
        } catch {
            // The declaration is read as ASCII: bytes with an HTML start in ASCII are HTML in a set not read.
            return isText || textKind(bytes, isWhole: false) == .html ? .refused(error) : .notHTML
        }
        switch decision.charset {
        case .utf8:
            return isText ? .html(.utf8) : .notHTML
        case .windows1252, .iso8859_15:
            // Valid UTF-8 without multi-byte characters is ASCII, the same in these sets.
            if isText { return .html(decision.charset) }
        case .utf16LE, .utf16BE:
            break
        }
        var transcoder = CharsetTranscoder(charset: decision.charset, byteOrderMarkBytes: decision.byteOrderMarkBytes)
        var decoded: [UInt8] = []
        do throws(ExtractionError) {
            try bytes.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                try transcoder.transcode(buffer, into: &decoded)
            }
            if isWhole { try transcoder.finish() }
        } catch {
            return isText ? .refused(error) : .notHTML
        }
        if textKind(decoded, isWhole: isWhole) == .html { return .html(decision.charset) }
        guard isText else { return .notHTML }
        return .refused(
            ExtractionError(
                .typeMismatch,
                "The declared character set \(decision.charset.name) contradicts the content, which is UTF-8 text."))
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

    /// The text format of text without a declared type: what the bytes reveal, else what the name says, else plain
    /// text.
    private static func inferredFormat(_ kind: TextKind?, filename: String?) -> DocumentFormat {
        let named = formatNamed(filename)
        switch kind {
        case .html: return .html
        case .jsonLines: return .jsonLines
        case .json: return named == .jsonLines ? .jsonLines : .json
        case nil: return named ?? .plainText
        }
    }

    /// A ZIP is a DOCX document when it is named `.docx` or its first entries say so.
    private static func isDOCX(_ sniffed: Sniffed, filename: String?) -> Bool {
        guard sniffed.content == .zip else { return false }
        return sniffed.looksLikeDOCX || filename?.lowercased().hasSuffix(".docx") == true
    }

    /// Whether the local headers of a ZIP's first entries (those within `bytes`) are a Word document's: an entry
    /// under `word/` decides yes, one under `xl/` or `ppt/` (a spreadsheet, a presentation) no, and otherwise a
    /// first entry named `[Content_Types].xml` (every Office Open XML package's) yes.
    static func looksLikeDOCX(_ bytes: [UInt8]) -> Bool {
        func u16(_ index: Int) -> Int { Int(bytes[index]) | Int(bytes[index + 1]) << 8 }
        var offset = 0
        var isPackage = false
        while offset <= bytes.count - 30, bytes[offset..<(offset + 4)].elementsEqual([0x50, 0x4B, 0x03, 0x04]) {
            let nameLength = u16(offset + 26)
            let extraLength = u16(offset + 28)
            let compressedSize = u16(offset + 18) | u16(offset + 20) << 16
            guard nameLength <= bytes.count - offset - 30 else { break }
            let name = bytes[(offset + 30)..<(offset + 30 + nameLength)]
            if name.starts(with: "word/".utf8) { return true }
            if name.starts(with: "xl/".utf8) || name.starts(with: "ppt/".utf8) { return false }
            if offset == 0 { isPackage = name.elementsEqual("[Content_Types].xml".utf8) }
            // With a data descriptor (bit 3) the size is not in the local header: the next entry cannot be found.
            if u16(offset + 6) & 0x08 != 0 { break }
            offset += 30 + nameLength + extraLength + compressedSize
        }
        return isPackage
    }

    /// The text format a file name's extension names, if any.
    static func formatNamed(_ filename: String?) -> DocumentFormat? {
        guard let filename, let dot = filename.lastIndex(of: ".") else { return nil }
        switch filename[filename.index(after: dot)...].lowercased() {
        case "md", "markdown": return .markdown
        case "html", "htm", "xhtml": return .html
        case "json": return .json
        case "jsonl", "ndjson": return .jsonLines
        case "csv": return .csv
        default: return nil
        }
    }

    private static func isMarkdownName(_ filename: String?) -> Bool {
        formatNamed(filename) == .markdown
    }

    /// The first byte that is not white space or a byte-order mark, if any.
    private static func firstSignificantIndex(_ bytes: [UInt8]) -> Int? {
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while index < bytes.count && TextAssembler.isWhitespace(bytes[index]) { index += 1 }
        return index < bytes.count ? index : nil
    }

    /// Whether the text starts with a byte that can start a JSON value (a declared JSON starting with `<` is not
    /// JSON, whatever else it is).
    static func startsLikeJSON(_ bytes: [UInt8]) -> Bool {
        guard let index = firstSignificantIndex(bytes) else { return true }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default:
            return false
        }
    }

    /// What text's first bytes reveal: HTML by its start near the top; JSON by a `{` or `[` that starts well-formed
    /// JSON (so that a log line such as `[INFO] …` stays text), JSON Lines when a second value follows the first.
    static func textKind(_ bytes: [UInt8], isWhole: Bool) -> TextKind? {
        guard let start = firstSignificantIndex(bytes) else { return nil }
        let first = bytes[start]
        if first == UInt8(ascii: "<") {
            let window = bytes[start..<min(bytes.count, start + htmlStartBytesMax)].map {
                $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0)
            }
            for marker in htmlStarts where window.firstRange(of: marker) != nil { return .html }
            return nil
        }
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return nil }
        var tokenizer = JSONTokenizer(isLines: true, depthMax: TextExtractor.Configuration.nestingDepthMaxDefault)
        do throws(ExtractionError) {
            try bytes.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                try tokenizer.consume(UnsafeBufferPointer(rebasing: buffer[start...]), offset: start)
            }
            if isWhole { try tokenizer.finish(offset: bytes.count) }
        } catch  where error.code == .tooDeep {
            // Deep, but JSON: extraction will say so.
            return .json
        } catch {
            return nil
        }
        return tokenizer.valueCount > 1 ? .jsonLines : .json
    }

    private static let htmlStarts: [[UInt8]] = ["<!doctype html", "<html", "<head", "<body"].map { Array($0.utf8) }

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
            var sniffed = Sniffed(content: signature.content)
            if signature.content == .zip { sniffed.looksLikeDOCX = looksLikeDOCX(bytes) }
            return sniffed
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
