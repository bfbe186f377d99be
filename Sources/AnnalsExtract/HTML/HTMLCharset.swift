/// Finds the character set of an HTML document from its first bytes, the same way at upload (``FormatDetector``)
/// and in the worker (``TextExtractor``), so that nothing about it needs to be recorded in between.
///
/// In order, as the HTML standard's encoding sniffing does it, simplified:
/// 1. a byte-order mark (UTF-8, UTF-16LE, UTF-16BE) decides;
/// 2. else the `charset` parameter of the declared `Content-Type` (`text/html; charset=…`);
/// 3. else the first `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…; charset=…">` within the
///    first ``prescanBytesMax`` bytes, found by the standard's prescan (comments and other tags' attribute values
///    are skipped); a `meta` naming UTF-16 means UTF-8, as in browsers, since the bytes that say so are ASCII;
/// 4. else the `encoding` of an XML declaration at the very start (XHTML);
/// 5. else UTF-8.
///
/// A label of no known set is ignored, as browsers ignore it. One rule is added to the standard's: when the first
/// ``windowBytes`` bytes are valid UTF-8 holding at least one multi-byte character (and no NUL), the document is read
/// as UTF-8 whatever it declares (but a byte-order mark). Such bytes are almost never meant as windows-1252, while
/// pages saved as UTF-8 under a template that still says `iso-8859-1` are common; Annals read them as UTF-8 before
/// charsets were read, and still does.
enum HTMLCharset {
    /// The bytes the decision reads: as many as format detection examines, so that both decide alike.
    static let windowBytes = FormatDetector.prefixBytesMax
    /// How far the prescan looks for a `meta` declaration, as in the HTML standard.
    static let prescanBytesMax = 1024

    /// The set to read a document in, and how many bytes of byte-order mark to drop first.
    struct Decision: Equatable, Sendable {
        var charset: TextCharset
        var byteOrderMarkBytes = 0
    }

    /// Decides the character set of the document that starts with `window` (its first ``windowBytes`` bytes, or all
    /// of it when `isWhole`).
    ///
    /// - Parameter declaredLabel: the `charset` parameter of the declared `Content-Type`, if any.
    /// - Throws: `unsupported_charset` when the document declares a known set that Annals does not read (and its
    ///   bytes are not UTF-8), naming it.
    static func decide(_ window: [UInt8], isWhole: Bool, declaredLabel: String?) throws(ExtractionError) -> Decision {
        if window.starts(with: [0xEF, 0xBB, 0xBF]) { return Decision(charset: .utf8, byteOrderMarkBytes: 3) }
        if window.starts(with: [0xFF, 0xFE]) { return Decision(charset: .utf16LE, byteOrderMarkBytes: 2) }
        if window.starts(with: [0xFE, 0xFF]) { return Decision(charset: .utf16BE, byteOrderMarkBytes: 2) }
        var declared: (label: String, resolved: Result<TextCharset, ExtractionError>)?
        if let declaredLabel, let resolved = resolve(declaredLabel, fromMarkup: false) {
            declared = (declaredLabel, resolved)
        } else if let label = prescan(window), let resolved = resolve(label, fromMarkup: true) {
            declared = (label, resolved)
        } else if let label = xmlDeclarationEncoding(window), let resolved = resolve(label, fromMarkup: true) {
            declared = (label, resolved)
        }
        guard let declared else { return Decision(charset: .utf8) }
        if case .success(.utf8) = declared.resolved { return Decision(charset: .utf8) }
        if isUTF8WithMultiByteCharacters(window, isWhole: isWhole) { return Decision(charset: .utf8) }
        return Decision(charset: try declared.resolved.get())
    }

    /// The `charset` parameter of a declared `Content-Type` whose type is HTML (`text/html`,
    /// `application/xhtml+xml`), without quotes; nil otherwise.
    static func declaredLabel(contentType: String?) -> String? {
        guard let contentType else { return nil }
        let parts = contentType.split(separator: ";", omittingEmptySubsequences: false)
        guard let essence = parts.first else { return nil }
        let type = essence.trimmingASCIIWhitespace().lowercased()
        guard type == "text/html" || type == "application/xhtml+xml" else { return nil }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, pair[0].trimmingASCIIWhitespace().lowercased() == "charset" else { continue }
            var value = pair[1].trimmingASCIIWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// The set a label names: a set read here, an error naming a known set that is not, or nil for an unknown label.
    private static func resolve(_ label: String, fromMarkup: Bool) -> Result<TextCharset, ExtractionError>? {
        if let charset = TextCharset(label: label) {
            // Bytes that can be read as ASCII to find the declaration are not UTF-16, whatever they say.
            if fromMarkup && (charset == .utf16LE || charset == .utf16BE) { return .success(.utf8) }
            return .success(charset)
        }
        guard let name = TextCharset.unsupportedName(label: label) else { return nil }
        // The standard reads a `meta` naming x-user-defined as windows-1252.
        if fromMarkup && name == "x-user-defined" { return .success(.windows1252) }
        let readable = TextCharset.allCases.map(\.name).joined(separator: ", ")
        return .failure(
            ExtractionError(
                .unsupportedCharset,
                "The document declares the character set \"\(printable(label))\" (\(name)), which Annals does not "
                    + "read; it reads \(readable) (and ISO-8859-1 and US-ASCII as windows-1252): convert it to UTF-8."
            ))
    }

    /// A label as it may appear in a message: at most 40 printable ASCII characters.
    private static func printable(_ label: String) -> String {
        String(String.UnicodeScalarView(label.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(40)))
    }

    /// Whether the bytes are UTF-8 without NUL and hold at least one multi-byte character; a character cut off by
    /// the end counts as valid unless `isWhole`.
    static func isUTF8WithMultiByteCharacters(_ bytes: [UInt8], isWhole: Bool) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            // Sound: indexes stay below `buffer.count`, and `UTF8Sequence.check` reads nothing at or past its `end`.
            guard let base = buffer.baseAddress else { return false }
            var sawMultiByte = false
            var index = 0
            while index < buffer.count {
                let byte = base[index]
                if byte < 0x80 {
                    if byte == 0 { return false }
                    index += 1
                    continue
                }
                switch UTF8Sequence.check(base, at: index, end: buffer.count) {
                case .valid(let length):
                    sawMultiByte = true
                    index += length
                case .truncated where !isWhole:
                    return sawMultiByte
                case .truncated, .invalid:
                    return false
                }
            }
            return sawMultiByte
        }
    }

    // MARK: Prescan

    /// The label of the first `meta` element of the first ``prescanBytesMax`` bytes that declares one known to the
    /// Encoding Standard (following the HTML standard's "prescan a byte stream to determine its encoding").
    static func prescan(_ window: [UInt8]) -> String? {
        var scanner = Scanner(bytes: Array(window.prefix(prescanBytesMax)))
        return scanner.run()
    }

    /// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="…"?>`) at the start, if any.
    static func xmlDeclarationEncoding(_ window: [UInt8]) -> String? {
        let bytes = Array(window.prefix(prescanBytesMax))
        guard bytes.starts(with: Array("<?xml".utf8)), bytes.count > 5, Scanner.isSpace(bytes[5]) else { return nil }
        guard let end = bytes.firstRange(of: Array("?>".utf8))?.lowerBound else { return nil }
        let declaration = Array(bytes[0..<end])
        guard let found = declaration.firstRange(of: Array("encoding".utf8)) else { return nil }
        var index = found.upperBound
        while index < declaration.count && Scanner.isSpace(declaration[index]) { index += 1 }
        guard index < declaration.count, declaration[index] == UInt8(ascii: "=") else { return nil }
        index += 1
        while index < declaration.count && Scanner.isSpace(declaration[index]) { index += 1 }
        guard index < declaration.count, declaration[index] == 0x22 || declaration[index] == 0x27 else { return nil }
        let quote = declaration[index]
        guard let close = declaration[(index + 1)...].firstIndex(of: quote) else { return nil }
        return String(decoding: declaration[(index + 1)..<close], as: UTF8.self)
    }

    /// The prescan's state: a position in a small window of bytes, read with bounds checks only.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        static func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D || byte == 0x20
        }

        static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

        static func lowered(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

        func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

        func matches(_ literal: String, at offset: Int) -> Bool {
            var position = offset
            for expected in literal.utf8 {
                guard let byte = self.byte(at: position), Self.lowered(byte) == expected else { return false }
                position += 1
            }
            return true
        }

        mutating func run() -> String? {
            while index < bytes.count {
                if matches("<!--", at: index) {
                    // The comment's `-->` may share its dashes with `<!--` (`<!-->`).
                    guard let end = bytes[(index + 2)...].firstRange(of: Array("-->".utf8)) else { return nil }
                    index = end.upperBound
                } else if matches("<meta", at: index), let next = byte(at: index + 5),
                    Self.isSpace(next) || next == 0x2F
                {
                    index += 5
                    if let label = metaLabel() { return label }
                } else if bytes[index] == UInt8(ascii: "<"), let next = byte(at: index + 1),
                    Self.isLetter(next) || (next == 0x2F && byte(at: index + 2).map(Self.isLetter) == true)
                {
                    // Another tag: skip its name and attributes, so that a value holding `<meta` is not read.
                    while let byte = self.byte(at: index), !Self.isSpace(byte), byte != UInt8(ascii: ">") { index += 1 }
                    while self.attribute() != nil {}
                    index += 1
                } else if matches("<!", at: index) || matches("</", at: index) || matches("<?", at: index) {
                    guard let end = bytes[index...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
                    index = end + 1
                } else {
                    index += 1
                }
            }
            return nil
        }

        /// Reads the attributes of a `meta` start tag; returns its label when it declares a known one.
        mutating func metaLabel() -> String? {
            var seen: Set<[UInt8]> = []
            var gotPragma = false
            var needPragma: Bool?
            var charset: [UInt8]?
            while let found = self.attribute() {
                let (name, value) = (found.name, found.value)
                guard seen.insert(name).inserted else { continue }
                if name.elementsEqual("http-equiv".utf8) {
                    if value.elementsEqual("content-type".utf8) { gotPragma = true }
                } else if name.elementsEqual("content".utf8) {
                    if charset == nil, let found = Self.charsetInContent(value) {
                        charset = found
                        needPragma = true
                    }
                } else if name.elementsEqual("charset".utf8) {
                    charset = value
                    needPragma = false
                }
            }
            guard let charset, let needPragma, !needPragma || gotPragma else { return nil }
            let label = String(decoding: charset, as: UTF8.self)
            guard TextCharset(label: label) != nil || TextCharset.unsupportedName(label: label) != nil else {
                return nil
            }
            return label
        }

        /// The HTML standard's "get an attribute": the next attribute's name and value, lowercased; nil at the end
        /// of the tag (`index` then stays on its `>`) or of the bytes.
        mutating func attribute() -> (name: [UInt8], value: [UInt8])? {
            while let byte = self.byte(at: index), Self.isSpace(byte) || byte == 0x2F { index += 1 }
            guard let first = byte(at: index), first != UInt8(ascii: ">") else { return nil }
            var name: [UInt8] = []
            var value: [UInt8] = []
            // The name.
            while true {
                guard let byte = self.byte(at: index) else { return nil }
                if byte == UInt8(ascii: "=") && !name.isEmpty {
                    index += 1
                    break
                }
                if Self.isSpace(byte) {
                    while let byte = self.byte(at: index), Self.isSpace(byte) { index += 1 }
                    guard let next = self.byte(at: index) else { return nil }
                    if next != UInt8(ascii: "=") { return (name, value) }
                    index += 1
                    break
                }
                if byte == 0x2F || byte == UInt8(ascii: ">") { return (name, value) }
                name.append(Self.lowered(byte))
                index += 1
            }
            // The value.
            while let byte = self.byte(at: index), Self.isSpace(byte) { index += 1 }
            guard let start = byte(at: index) else { return nil }
            if start == 0x22 || start == 0x27 {
                index += 1
                while true {
                    guard let byte = self.byte(at: index) else { return nil }
                    index += 1
                    if byte == start { return (name, value) }
                    value.append(Self.lowered(byte))
                }
            }
            if start == UInt8(ascii: ">") { return (name, value) }
            while true {
                guard let byte = self.byte(at: index) else { return nil }
                if Self.isSpace(byte) || byte == UInt8(ascii: ">") { return (name, value) }
                value.append(Self.lowered(byte))
                index += 1
            }
        }

        /// The HTML standard's "extract a character encoding from a meta element", on a lowercased `content`.
        static func charsetInContent(_ content: [UInt8]) -> [UInt8]? {
            var position = 0
            while let found = content[position...].firstRange(of: Array("charset".utf8)) {
                position = found.upperBound
                var index = position
                while index < content.count && isSpace(content[index]) { index += 1 }
                guard index < content.count, content[index] == UInt8(ascii: "=") else { continue }
                index += 1
                while index < content.count && isSpace(content[index]) { index += 1 }
                guard index < content.count else { return nil }
                let first = content[index]
                if first == 0x22 || first == 0x27 {
                    guard let close = content[(index + 1)...].firstIndex(of: first) else { return nil }
                    return Array(content[(index + 1)..<close])
                }
                var end = index
                while end < content.count && !isSpace(content[end]) && content[end] != UInt8(ascii: ";") { end += 1 }
                return Array(content[index..<end])
            }
            return nil
        }
    }
}
