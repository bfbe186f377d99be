/// JSON and JSON Lines: every string, number and boolean with its key path, one per line, e.g. `title: Annals` and
/// `authors[1].name: Ada`.
///
/// A streaming tokenizer that checks the whole grammar of RFC 8259 and holds only the open containers (at most
/// `nestingDepthMax`), the current key path (at most ``pathBytesMax`` bytes) and the key being read (at most
/// ``keyBytesMax``); string values and numbers stream straight to the output, whatever their length.
///
/// Layout: a value at the top level (each record of JSON Lines) is a paragraph; so is each element of a top-level
/// array (whose index is left out of the paths: the records of an export are paragraphs, not `[41].title`), and each
/// object or array in an array that is a member of a top-level object (`{"items": [{…}, {…}]}`), and what follows
/// such an array. `null`, empty
/// strings and empty containers yield nothing. Escapes are decoded, surrogate pairs included; a lone surrogate
/// becomes U+FFFD, `\r` and `\r\n` become a line feed, other control characters a space.
///
/// Errors: a syntax error is `malformed` with its byte offset; nesting beyond the limit is `too_deep`. JSON Lines
/// accepts any sequence of values separated by white space (so also a value spread over several lines); plain JSON
/// accepts exactly one value.
struct JSONTokenizer: UTF8Tokenizer {
    /// Bytes of a key kept for its path; the rest of a longer key is left out.
    static let keyBytesMax = 256
    /// Bytes of a key path; a deeper or longer path is cut and ends in `…`.
    static let pathBytesMax = 1024

    private enum State: Sendable {
        /// A value must come: at the top level, after `:`, after `,` in an array.
        case value
        /// After `[`.
        case valueOrClose
        /// After `{`.
        case keyOrClose
        /// After `,` in an object.
        case key
        /// After a key.
        case colon
        /// After a value in a container.
        case commaOrClose
        /// After a value at the top level.
        case afterRoot
        /// In a string, a key's or a value's.
        case string
        /// After `\` in a string.
        case escape
        /// In the four hexadecimal digits of `\u`.
        case unicode
        /// In a number.
        case number
        /// In `true`, `false` or `null`.
        case literal
    }

    /// Where a number's grammar stands after the bytes read so far.
    private enum NumberPhase: Sendable {
        case start
        case minus
        case zero
        case integer
        case dot
        case fraction
        case exponentMark
        case exponentSign
        case exponent

        var isComplete: Bool {
            switch self {
            case .zero, .integer, .fraction, .exponent: true
            default: false
            }
        }
    }

    /// Which elements of an array are paragraphs of their own.
    private enum Paragraphs: Sendable {
        case none
        case containers
        case every
    }

    /// An open object or array.
    private struct Frame: Sendable {
        var isArray: Bool
        /// The index of the next element (arrays).
        var index = 0
        /// The length of the path of the container itself; members' segments follow it.
        var pathStart: Int
        var paragraphs: Paragraphs
        /// Whether elements' indexes are left out of the path (a top-level array of records).
        var omitsIndex: Bool
    }

    private static let literals: [[UInt8]] = [Array("true".utf8), Array("false".utf8), Array("null".utf8)]
    private static let ellipsis: [UInt8] = Array("…".utf8)
    private static let dot: [UInt8] = [UInt8(ascii: ".")]
    private static let separator: [UInt8] = Array(": ".utf8)

    private let isLines: Bool
    private let depthMax: Int
    private var assembler = TextAssembler()
    private var state = State.value
    private var stack: [Frame] = []
    private var path: [UInt8] = []
    private var rootValues = 0

    // The string being read.
    private var stringIsKey = false
    private var key: [UInt8] = []
    private var valueStarted = false
    private var pendingHighSurrogate: UInt32?
    private var previousWasCR = false
    private var unicodeDigits = 0
    private var unicodeValue: UInt32 = 0

    // The number or literal being read.
    private var numberPhase = NumberPhase.minus
    private var literal: [UInt8] = []
    private var literalMatched = 0

    /// Creates a tokenizer for one JSON value (`isLines` false) or a sequence of them (JSON Lines).
    init(isLines: Bool, depthMax: Int) {
        self.isLines = isLines
        self.depthMax = depthMax
    }

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(ExtractionError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var index = 0
        while index < end {
            let byte = base[index]
            switch state {
            case .value:
                if Self.isWhitespace(byte) {
                    index += 1
                } else {
                    index = try beginValue(bytes, at: index, offset: offset)
                }
            case .valueOrClose:
                if Self.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "]") {
                    closeContainer()
                    index += 1
                } else {
                    index = try beginValue(bytes, at: index, offset: offset)
                }
            case .keyOrClose, .key:
                if Self.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    startString(isKey: true)
                    index += 1
                } else if byte == UInt8(ascii: "}") && state == .keyOrClose {
                    closeContainer()
                    index += 1
                } else {
                    throw Self.malformed(
                        state == .keyOrClose ? "expected a key or '}'" : "expected a key after ','", at: offset + index)
                }
            case .colon:
                if Self.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: ":") {
                    state = .value
                    index += 1
                } else {
                    throw Self.malformed("expected ':' after a key", at: offset + index)
                }
            case .commaOrClose:
                if Self.isWhitespace(byte) {
                    index += 1
                    continue
                }
                // Sound to read: this state is only entered with a container open.
                let isArray = stack[stack.count - 1].isArray
                if byte == UInt8(ascii: ",") {
                    state = isArray ? .value : .key
                } else if byte == (isArray ? UInt8(ascii: "]") : UInt8(ascii: "}")) {
                    closeContainer()
                } else {
                    throw Self.malformed(isArray ? "expected ',' or ']'" : "expected ',' or '}'", at: offset + index)
                }
                index += 1
            case .afterRoot:
                if Self.isWhitespace(byte) {
                    index += 1
                } else if isLines {
                    index = try beginValue(bytes, at: index, offset: offset)
                } else {
                    throw Self.malformed("unexpected data after the JSON value", at: offset + index)
                }
            case .string:
                var stop = index
                while stop < end {
                    let next = base[stop]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next < 0x20 { break }
                    stop += 1
                }
                if stop > index { stringContent(UnsafeBufferPointer(rebasing: bytes[index..<stop])) }
                if stop == end { return }
                let next = base[stop]
                if next == UInt8(ascii: "\"") {
                    endString()
                } else if next == UInt8(ascii: "\\") {
                    state = .escape
                } else {
                    throw Self.malformed("a control character inside a string (escape it)", at: offset + stop)
                }
                index = stop + 1
            case .escape:
                try escape(byte, at: offset + index)
                index += 1
            case .unicode:
                guard let digit = Self.hexValue(byte) else {
                    throw Self.malformed("expected four hexadecimal digits after \\u", at: offset + index)
                }
                unicodeValue = unicodeValue << 4 | digit
                unicodeDigits += 1
                if unicodeDigits == 4 {
                    state = .string
                    decodedUnicode(unicodeValue)
                }
                index += 1
            case .number:
                index = try numberStep(bytes, from: index, offset: offset)
            case .literal:
                guard byte == literal[literalMatched] else {
                    throw Self.malformed(
                        "expected '\(String(decoding: literal, as: UTF8.self))'", at: offset + index)
                }
                literalMatched += 1
                index += 1
                if literalMatched == literal.count {
                    if literal[0] != UInt8(ascii: "n") {
                        beginLine()
                        assembler.write(literal)
                    }
                    endScalar()
                }
            }
        }
    }

    mutating func finish(offset: Int) throws(ExtractionError) {
        switch state {
        case .afterRoot:
            return
        case .value where stack.isEmpty && rootValues == 0:
            if isLines { return }
            throw Self.malformed("the document holds no JSON value", at: offset)
        case .number where numberPhase.isComplete:
            endScalar()
            if stack.isEmpty { return }
        default:
            break
        }
        let what =
            switch state {
            case .string, .escape, .unicode: "inside a string"
            case .number: "inside a number"
            case .literal: "inside a literal"
            default: stack.isEmpty ? "before a value" : "with \(stack.count) containers still open"
            }
        throw Self.malformed("the document ends \(what)", at: offset)
    }

    mutating func takePieces() -> [TextPiece] {
        assembler.takePieces()
    }

    /// The number of top-level values begun so far.
    var valueCount: Int { rootValues }

    // MARK: Values and containers

    /// Starts the value whose first byte is at `index`; returns the index of the next byte to read.
    private mutating func beginValue(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, offset: Int)
        throws(ExtractionError) -> Int
    {
        let byte = bytes[index]
        let isContainer = byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[")
        enterValue(isContainer: isContainer)
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard stack.count < depthMax else {
                throw ExtractionError(
                    .tooDeep, "The JSON nests deeper than \(depthMax) levels at byte \(offset + index).",
                    byteOffset: offset + index)
            }
            let isArray = byte == UInt8(ascii: "[")
            var paragraphs = Paragraphs.none
            if isArray && stack.isEmpty {
                paragraphs = .every
            } else if isArray && stack.count == 1 && !stack[0].isArray {
                paragraphs = .containers
            }
            stack.append(
                Frame(
                    isArray: isArray, pathStart: path.count, paragraphs: paragraphs,
                    omitsIndex: isArray && stack.isEmpty))
            state = isArray ? .valueOrClose : .keyOrClose
            return index + 1
        case UInt8(ascii: "\""):
            startString(isKey: false)
            return index + 1
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            beginLine()
            numberPhase = .start
            state = .number
            return index
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            literal = Self.literals.first { $0[0] == byte } ?? []
            literalMatched = 0
            state = .literal
            return index
        default:
            throw Self.malformed("expected a value", at: offset + index)
        }
    }

    /// Prepares the path and the layout for a value about to start.
    private mutating func enterValue(isContainer: Bool) {
        guard !stack.isEmpty else {
            rootValues += 1
            path.removeAll(keepingCapacity: true)
            assembler.paragraphBreak()
            return
        }
        let top = stack.count - 1
        guard stack[top].isArray else { return }
        let frame = stack[top]
        stack[top].index += 1
        if frame.paragraphs == .every || (frame.paragraphs == .containers && isContainer) {
            assembler.paragraphBreak()
        }
        path.removeLast(max(0, path.count - frame.pathStart))
        if !frame.omitsIndex { appendIndex(frame.index) }
    }

    private mutating func closeContainer() {
        // What follows an array of paragraphs (`"count"` after `"items": […]`) starts a paragraph of its own.
        if stack.removeLast().paragraphs != .none { assembler.paragraphBreak() }
        state = stack.isEmpty ? .afterRoot : .commaOrClose
    }

    /// Ends a string, number or literal value.
    private mutating func endScalar() {
        state = stack.isEmpty ? .afterRoot : .commaOrClose
    }

    /// Starts the output line of a scalar value: its key path (when it has one) and `: `.
    private mutating func beginLine() {
        assembler.lineBreak()
        if !path.isEmpty {
            assembler.write(path)
            assembler.write(Self.separator)
        }
    }

    /// Appends to the path, cutting (at a character boundary) where the path would outgrow its limit; a cut path
    /// ends in `…`, which leaves no room for anything more.
    private mutating func appendPath(_ bytes: ArraySlice<UInt8>) {
        let room = Self.pathBytesMax - path.count
        guard room > 0 else { return }
        if bytes.count <= room {
            path.append(contentsOf: bytes)
            return
        }
        var cut = bytes.startIndex + room
        while cut > bytes.startIndex && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        path.append(contentsOf: bytes[..<cut])
        path.append(contentsOf: Self.ellipsis)
    }

    /// Appends an array index, `[12]`, to the path.
    private mutating func appendIndex(_ index: Int) {
        guard Self.pathBytesMax - path.count > 24 else {
            // Near the limit, where the cut matters: the slow way.
            appendPath(Array("[\(index)]".utf8)[...])
            return
        }
        path.append(UInt8(ascii: "["))
        let digitsStart = path.count
        var value = index
        repeat {
            path.append(UInt8(ascii: "0") + UInt8(value % 10))
            value /= 10
        } while value > 0
        path[digitsStart...].reverse()
        path.append(UInt8(ascii: "]"))
    }

    // MARK: Strings

    private mutating func startString(isKey: Bool) {
        stringIsKey = isKey
        key.removeAll(keepingCapacity: true)
        valueStarted = false
        pendingHighSurrogate = nil
        previousWasCR = false
        state = .string
    }

    private mutating func endString() {
        flushHighSurrogate()
        if stringIsKey {
            // Sound to read: keys are only read with an object open.
            let pathStart = stack[stack.count - 1].pathStart
            path.removeLast(max(0, path.count - pathStart))
            var cut = key.count
            if cut > Self.keyBytesMax {
                cut = Self.keyBytesMax
                while cut > 0 && key[cut] & 0xC0 == 0x80 { cut -= 1 }
            }
            if pathStart > 0 { appendPath(Self.dot[...]) }
            appendPath(key[..<cut])
            state = .colon
        } else {
            endScalar()
        }
    }

    /// Raw string content: whole characters, no quote, backslash or control character.
    private mutating func stringContent(_ run: UnsafeBufferPointer<UInt8>) {
        flushHighSurrogate()
        previousWasCR = false
        if stringIsKey {
            // One byte over the limit is kept, so that the cut can tell a character boundary.
            let room = Self.keyBytesMax + 1 - key.count
            if room > 0 { key.append(contentsOf: UnsafeBufferPointer(rebasing: run.prefix(room))) }
            return
        }
        if !valueStarted {
            valueStarted = true
            beginLine()
        }
        assembler.write(run)
    }

    private mutating func escape(_ byte: UInt8, at offset: Int) throws(ExtractionError) {
        state = .string
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded(UInt32(byte))
        case UInt8(ascii: "b"): decoded(0x08)
        case UInt8(ascii: "f"): decoded(0x0C)
        case UInt8(ascii: "n"): decoded(0x0A)
        case UInt8(ascii: "r"): decoded(0x0D)
        case UInt8(ascii: "t"): decoded(0x09)
        case UInt8(ascii: "u"):
            unicodeDigits = 0
            unicodeValue = 0
            state = .unicode
        default:
            throw Self.malformed("an invalid escape", at: offset)
        }
    }

    /// A `\u` escape: pairs surrogates; a surrogate without its partner becomes U+FFFD.
    private mutating func decodedUnicode(_ value: UInt32) {
        switch value {
        case 0xD800...0xDBFF:
            flushHighSurrogate()
            pendingHighSurrogate = value
        case 0xDC00...0xDFFF:
            if let high = pendingHighSurrogate {
                pendingHighSurrogate = nil
                decoded(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
            } else {
                decoded(0xFFFD)
            }
        default:
            decoded(value)
        }
    }

    private mutating func flushHighSurrogate() {
        if pendingHighSurrogate != nil {
            pendingHighSurrogate = nil
            decoded(0xFFFD)
        }
    }

    /// Writes one decoded character: CR and CRLF as LF, other control characters as a space (in keys, line feeds
    /// and tabs too).
    private mutating func decoded(_ value: UInt32) {
        flushHighSurrogate()
        var value = value
        if value == 0x0A && previousWasCR {
            previousWasCR = false
            return
        }
        previousWasCR = value == 0x0D
        if value == 0x0D { value = 0x0A }
        if value < 0x20 && (stringIsKey || (value != 0x0A && value != 0x09)) { value = 0x20 }
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        if stringIsKey {
            if key.count <= Self.keyBytesMax { UTF8.encode(scalar) { key.append($0) } }
            return
        }
        if !valueStarted {
            valueStarted = true
            beginLine()
        }
        UTF8.encode(scalar) { assembler.write(byte: $0) }
    }

    // MARK: Numbers

    /// Reads number bytes from `index`; returns the index of the next byte to read.
    private mutating func numberStep(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int, offset: Int)
        throws(ExtractionError) -> Int
    {
        var stop = index
        var ended = false
        while stop < bytes.count {
            let byte = bytes[stop]
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isExponent = byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            let next: NumberPhase?
            switch numberPhase {
            case .start:
                if byte == UInt8(ascii: "-") {
                    next = .minus
                } else {
                    next = byte == UInt8(ascii: "0") ? .zero : .integer
                }
            case .minus:
                guard isDigit else { throw Self.malformed("expected a digit in a number", at: offset + stop) }
                next = byte == UInt8(ascii: "0") ? .zero : .integer
            case .zero:
                next = byte == UInt8(ascii: ".") ? .dot : isExponent ? .exponentMark : nil
            case .integer:
                next = isDigit ? .integer : byte == UInt8(ascii: ".") ? .dot : isExponent ? .exponentMark : nil
            case .dot:
                guard isDigit else { throw Self.malformed("expected a digit after '.'", at: offset + stop) }
                next = .fraction
            case .fraction:
                next = isDigit ? .fraction : isExponent ? .exponentMark : nil
            case .exponentMark:
                if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    next = .exponentSign
                } else {
                    guard isDigit else { throw Self.malformed("expected a digit in an exponent", at: offset + stop) }
                    next = .exponent
                }
            case .exponentSign:
                guard isDigit else { throw Self.malformed("expected a digit in an exponent", at: offset + stop) }
                next = .exponent
            case .exponent:
                next = isDigit ? .exponent : nil
            }
            guard let next else {
                ended = true
                break
            }
            numberPhase = next
            stop += 1
        }
        assembler.write(UnsafeBufferPointer(rebasing: bytes[index..<stop]))
        if ended {
            guard numberPhase.isComplete else { throw Self.malformed("an incomplete number", at: offset + stop) }
            endScalar()
        }
        return stop
    }

    // MARK: Bytes

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private static func malformed(_ problem: String, at offset: Int) -> ExtractionError {
        ExtractionError(.malformed, "The JSON is malformed at byte \(offset): \(problem).", byteOffset: offset)
    }
}
