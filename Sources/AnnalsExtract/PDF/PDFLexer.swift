/// Why lexing or parsing stopped: the bytes at hand end inside a token or an object (and more may follow), or the
/// syntax is wrong.
enum PDFSyntaxError: Error {
    /// The window ends inside a token or an object, and it is not the end of the data: read more and start over.
    case needMore
    /// The bytes are not valid PDF syntax, or a limit was reached.
    case failed(ExtractionError)

    /// A `malformed` failure with a message and, when known, the byte offset.
    static func malformed(_ message: String, at offset: Int? = nil) -> PDFSyntaxError {
        .failed(ExtractionError(.malformed, message, byteOffset: offset))
    }
}

/// A bare word of PDF syntax (`obj`, `R`, `true`, an operator such as `Tj`), packed into an integer so that
/// comparing it costs one instruction.
struct PDFKeyword: Hashable, Sendable {
    /// The word's bytes, big-endian, for words of up to 8 bytes; a hash with the top bit set for longer ones
    /// (CMap keywords such as `begincodespacerange`).
    let raw: UInt64

    init(raw: UInt64) { self.raw = raw }

    /// The keyword spelled `word`.
    init(_ word: String) {
        var packer = Packer()
        for byte in word.utf8 { packer.add(byte) }
        self.raw = packer.raw
    }

    /// Packs a word a byte at a time.
    struct Packer {
        private var short: UInt64 = 0
        private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        private var count = 0

        @inline(__always)
        mutating func add(_ byte: UInt8) {
            if count < 8 { short = short << 8 | UInt64(byte) }
            // FNV-1a: keywords longer than 8 bytes are few and fixed, so a 63-bit hash tells them apart.
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            count += 1
        }

        var raw: UInt64 { count > 8 ? hash | 1 << 63 : short }
    }

    // The keywords of object syntax, packed by hand (`init(raw:)` of a literal is initialised statically, where
    // `init(_:)` would run once per process behind a check on every use); an assertion checks each packing in debug
    // builds (see `PDFDocument.init`).
    /// `obj`
    static let obj = PDFKeyword(raw: 0x6F_626A)
    /// `endobj`
    static let endobj = PDFKeyword(raw: 0x656E_646F_626A)
    /// `stream`
    static let stream = PDFKeyword(raw: 0x7374_7265_616D)
    /// `R`
    static let reference = PDFKeyword(raw: 0x52)
    /// `true`
    static let trueValue = PDFKeyword(raw: 0x7472_7565)
    /// `false`
    static let falseValue = PDFKeyword(raw: 0x66_616C_7365)
    /// `null`
    static let null = PDFKeyword(raw: 0x6E75_6C6C)
    /// `xref`
    static let xref = PDFKeyword(raw: 0x7872_6566)
    /// `trailer`
    static let trailer = PDFKeyword(raw: 0x74_7261_696C_6572)

    /// The keywords above with their spelling, for the check that the packing is right.
    static let objectSyntax: [(PDFKeyword, String)] = [
        (obj, "obj"), (endobj, "endobj"), (stream, "stream"), (reference, "R"), (trueValue, "true"),
        (falseValue, "false"), (null, "null"), (xref, "xref"), (trailer, "trailer"),
    ]
}

/// A token of PDF syntax (ISO 32000-1 §7.2).
enum PDFToken {
    case integer(Int)
    case real(Double)
    case string([UInt8])
    case name(String)
    case keyword(PDFKeyword)
    case arrayStart
    case arrayEnd
    case dictionaryStart
    case dictionaryEnd
    /// The end of the data (only when the window is complete).
    case end
}

/// Splits a window of PDF bytes into tokens.
///
/// The window is either complete (it ends where the data ends) or not; in the latter case a token that reaches the
/// end of the window throws ``PDFSyntaxError/needMore`` without moving `position`, so the caller can read a larger
/// window and try again from the same place.
struct PDFLexer {
    /// The bytes of the window.
    var bytes: [UInt8]
    /// The index of the next byte to read.
    var position: Int
    /// Whether the window ends where the data ends.
    var isComplete: Bool
    /// The file offset of `bytes[0]`, for error messages.
    var baseOffset: Int

    init(bytes: [UInt8], position: Int = 0, isComplete: Bool, baseOffset: Int = 0) {
        self.bytes = bytes
        self.position = position
        self.isComplete = isComplete
        self.baseOffset = baseOffset
    }

    /// The most digits an integer may have before it is read as a real (so that it cannot overflow).
    static let integerDigitsMax = 18

    /// Whether `byte` is PDF white space.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x0A, 0x0D, 0x09, 0x0C, 0x00: true
        default: false
        }
    }

    /// Whether `byte` ends a regular token: white space or a delimiter.
    @inline(__always)
    static func isBoundary(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x0A, 0x0D, 0x09, 0x0C, 0x00: true
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "["),
            UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "/"), UInt8(ascii: "%"):
            true
        default: false
        }
    }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Skips white space and comments; returns false when the window ends first.
    mutating func skipWhitespace() -> Bool {
        let count = bytes.count
        var index = position
        while index < count {
            let byte = bytes[index]
            if Self.isWhitespace(byte) {
                index += 1
            } else if byte == UInt8(ascii: "%") {
                while index < count && bytes[index] != 0x0A && bytes[index] != 0x0D { index += 1 }
            } else {
                position = index
                return true
            }
        }
        position = index
        return false
    }

    /// The next token.
    ///
    /// - Throws: `needMore` when the window ends inside the token and is not complete.
    mutating func next() throws(PDFSyntaxError) -> PDFToken {
        guard skipWhitespace() else {
            if isComplete { return .end }
            throw .needMore
        }
        let start = position
        let byte = bytes[start]
        switch byte {
        case UInt8(ascii: "("):
            return .string(try literalString(from: start))
        case UInt8(ascii: "<"):
            guard start + 1 < bytes.count else {
                if isComplete { throw .malformed("The data ends inside a string.", at: baseOffset + start) }
                throw .needMore
            }
            if bytes[start + 1] == UInt8(ascii: "<") {
                position = start + 2
                return .dictionaryStart
            }
            return .string(try hexString(from: start))
        case UInt8(ascii: ">"):
            guard start + 1 < bytes.count || isComplete else { throw .needMore }
            if start + 1 < bytes.count && bytes[start + 1] == UInt8(ascii: ">") {
                position = start + 2
                return .dictionaryEnd
            }
            position = start + 1
            return .keyword(PDFKeyword(raw: UInt64(byte)))
        case UInt8(ascii: "["):
            position = start + 1
            return .arrayStart
        case UInt8(ascii: "]"):
            position = start + 1
            return .arrayEnd
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ")"):
            position = start + 1
            return .keyword(PDFKeyword(raw: UInt64(byte)))
        case UInt8(ascii: "/"):
            return .name(try name(from: start))
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return try number(from: start)
        default:
            return .keyword(try keyword(from: start))
        }
    }

    private mutating func keyword(from start: Int) throws(PDFSyntaxError) -> PDFKeyword {
        let count = bytes.count
        var index = start
        var packer = PDFKeyword.Packer()
        while index < count && !Self.isBoundary(bytes[index]) {
            packer.add(bytes[index])
            index += 1
        }
        if index == count && !isComplete { throw .needMore }
        position = index
        return PDFKeyword(raw: packer.raw)
    }

    private mutating func number(from start: Int) throws(PDFSyntaxError) -> PDFToken {
        let count = bytes.count
        var index = start
        var negative = false
        // Writers sometimes repeat the sign (`--5`); the last one counts, as in other readers.
        while index < count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var integerPart: Int = 0
        var digits = 0
        var real: Double = 0
        var isReal = false
        while index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let digit = Int(bytes[index] - UInt8(ascii: "0"))
            if digits < Self.integerDigitsMax {
                integerPart = integerPart * 10 + digit
            } else {
                if !isReal { real = Double(integerPart) }
                isReal = true
                real = real * 10 + Double(digit)
            }
            digits += 1
            index += 1
        }
        if index < count && bytes[index] == UInt8(ascii: ".") {
            if !isReal { real = Double(integerPart) }
            isReal = true
            index += 1
            var scale = 0.1
            while index < count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                real += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
        }
        if index == count && !isComplete { throw .needMore }
        // Anything glued to the number (`12abc`) is dropped up to the next boundary, as lenient readers do.
        while index < count && !Self.isBoundary(bytes[index]) { index += 1 }
        if index == count && !isComplete { throw .needMore }
        position = index
        if isReal {
            let value = real.isFinite ? (negative ? -real : real) : 0
            return .real(value)
        }
        return .integer(negative ? -integerPart : integerPart)
    }

    private mutating func name(from start: Int) throws(PDFSyntaxError) -> String {
        let count = bytes.count
        var index = start + 1
        var hasEscape = false
        while index < count && !Self.isBoundary(bytes[index]) {
            if bytes[index] == UInt8(ascii: "#") { hasEscape = true }
            index += 1
        }
        if index == count && !isComplete { throw .needMore }
        position = index
        if !hasEscape {
            return String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
        }
        var decoded: [UInt8] = []
        var cursor = start + 1
        while cursor < index {
            if bytes[cursor] == UInt8(ascii: "#"), cursor + 2 < index, let high = Self.hexValue(bytes[cursor + 1]),
                let low = Self.hexValue(bytes[cursor + 2])
            {
                decoded.append(high << 4 | low)
                cursor += 3
            } else {
                decoded.append(bytes[cursor])
                cursor += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private mutating func literalString(from start: Int) throws(PDFSyntaxError) -> [UInt8] {
        let count = bytes.count
        var index = start + 1
        var depth = 1
        var result: [UInt8] = []
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "("):
                depth += 1
                result.append(byte)
                index += 1
            case UInt8(ascii: ")"):
                depth -= 1
                index += 1
                if depth == 0 {
                    position = index
                    return result
                }
                result.append(byte)
            case UInt8(ascii: "\\"):
                guard index + 1 < count else { index = count; continue }
                let escaped = bytes[index + 1]
                index += 2
                switch escaped {
                case UInt8(ascii: "n"): result.append(0x0A)
                case UInt8(ascii: "r"): result.append(0x0D)
                case UInt8(ascii: "t"): result.append(0x09)
                case UInt8(ascii: "b"): result.append(0x08)
                case UInt8(ascii: "f"): result.append(0x0C)
                case 0x0D:
                    // A backslash at the end of a line continues the string on the next line.
                    if index < count && bytes[index] == 0x0A { index += 1 }
                case 0x0A:
                    break
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = Int(escaped - UInt8(ascii: "0"))
                    var digits = 1
                    while digits < 3, index < count, bytes[index] >= UInt8(ascii: "0"),
                        bytes[index] <= UInt8(ascii: "7")
                    {
                        value = value * 8 + Int(bytes[index] - UInt8(ascii: "0"))
                        index += 1
                        digits += 1
                    }
                    result.append(UInt8(truncatingIfNeeded: value))
                default:
                    // `\(`, `\)`, `\\`, and an unknown escape, which stands for the character itself.
                    result.append(escaped)
                }
            case 0x0D:
                // An end of line inside a string is a line feed, whatever its form.
                result.append(0x0A)
                index += 1
                if index < count && bytes[index] == 0x0A { index += 1 }
            default:
                // A run of plain bytes is copied at once.
                var end = index + 1
                while end < count {
                    let next = bytes[end]
                    if next == UInt8(ascii: "(") || next == UInt8(ascii: ")") || next == UInt8(ascii: "\\")
                        || next == 0x0D
                    {
                        break
                    }
                    end += 1
                }
                result.append(contentsOf: bytes[index..<end])
                index = end
            }
        }
        if !isComplete { throw .needMore }
        throw .malformed("The data ends inside a string.", at: baseOffset + start)
    }

    private mutating func hexString(from start: Int) throws(PDFSyntaxError) -> [UInt8] {
        let count = bytes.count
        var index = start + 1
        var result: [UInt8] = []
        var high: UInt8?
        while index < count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ">") {
                // An odd number of digits: the last one is followed by an implied 0.
                if let pending = high { result.append(pending << 4) }
                position = index
                return result
            }
            guard let value = Self.hexValue(byte) else { continue }
            if let pending = high {
                result.append(pending << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        if !isComplete { throw .needMore }
        throw .malformed("The data ends inside a hexadecimal string.", at: baseOffset + start)
    }
}
