/// Turns bytes in UTF-16 or a single-byte character set into UTF-8, a feed at a time.
///
/// Streaming: a UTF-16 code unit or surrogate pair cut between two feeds is carried over (at most one byte and one
/// high surrogate); nothing else is held. The output is always valid UTF-8 without NUL, so the UTF-8 stage after it
/// never fails: a NUL (byte or code unit) is `binary_content`, and an unpaired surrogate `malformed`, both with the
/// offset in the original bytes.
struct CharsetTranscoder: Sendable {
    /// The set the input is in; never UTF-8.
    let charset: TextCharset
    /// For a single-byte set, the scalar of each byte from `0x80` to `0xFF`.
    private let upperHalf: [UInt16]
    /// Byte-order mark bytes still to drop at the start.
    private var skipBytes: Int
    /// The document offset of the next input byte.
    private var offset = 0
    /// UTF-16: the first byte of a code unit the last feed ended in the middle of.
    private var pendingByte: UInt8?
    /// UTF-16: a high surrogate waiting for its low half, and its offset.
    private var highSurrogate: (unit: UInt16, offset: Int)?

    /// Creates a transcoder from `charset` (not UTF-8) that first drops `byteOrderMarkBytes` bytes.
    init(charset: TextCharset, byteOrderMarkBytes: Int) {
        precondition(charset != .utf8, "UTF-8 needs no transcoding")
        self.charset = charset
        self.skipBytes = byteOrderMarkBytes
        switch charset {
        case .windows1252: upperHalf = Self.windows1252
        case .iso8859_15: upperHalf = Self.iso8859_15
        case .utf8, .utf16LE, .utf16BE: upperHalf = []
        }
    }

    /// Appends the UTF-8 form of `input` to `output`.
    ///
    /// - Throws: `binary_content` for a NUL; `malformed` for an unpaired UTF-16 surrogate.
    mutating func transcode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(ExtractionError) {
        var start = 0
        if skipBytes > 0 {
            start = min(skipBytes, input.count)
            skipBytes -= start
            offset += start
        }
        let body = UnsafeBufferPointer(rebasing: input[start...])
        switch charset {
        case .utf16LE: try transcodeUTF16(body, bigEndian: false, into: &output)
        case .utf16BE: try transcodeUTF16(body, bigEndian: true, into: &output)
        case .windows1252, .iso8859_15, .utf8: try transcodeSingleByte(body, into: &output)
        }
    }

    /// Checks that the input did not end inside a character.
    ///
    /// - Throws: `malformed` for UTF-16 cut off in a code unit or after a high surrogate.
    func finish() throws(ExtractionError) {
        if pendingByte != nil {
            throw ExtractionError(
                .malformed, "The UTF-16 text ends in the middle of a code unit (an odd number of bytes).",
                byteOffset: offset - 1)
        }
        if let highSurrogate { throw Self.unpaired(at: highSurrogate.offset) }
    }

    private mutating func transcodeSingleByte(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8])
        throws(ExtractionError)
    {
        guard let base = input.baseAddress else { return }
        output.reserveCapacity(output.count + input.count * 3)
        // Sound: every index read below is in `0..<input.count`, and `input` is valid for the whole call.
        var runStart = 0
        for index in 0..<input.count {
            let byte = base[index]
            if byte >= 0x80 {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index]))
                Self.appendUTF8(UInt32(upperHalf[Int(byte) - 0x80]), to: &output)
                runStart = index + 1
            } else if byte == 0 {
                throw Self.nul(at: offset + index)
            }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart...]))
        offset += input.count
    }

    private mutating func transcodeUTF16(
        _ input: UnsafeBufferPointer<UInt8>, bigEndian: Bool, into output: inout [UInt8]
    ) throws(ExtractionError) {
        output.reserveCapacity(output.count + input.count * 3 / 2 + 4)
        var index = 0
        if let first = pendingByte, !input.isEmpty {
            pendingByte = nil
            let unit = bigEndian ? UInt16(first) << 8 | UInt16(input[0]) : UInt16(input[0]) << 8 | UInt16(first)
            try take(unit, at: offset - 1, into: &output)
            index = 1
        }
        while index + 1 < input.count {
            let unit =
                bigEndian
                ? UInt16(input[index]) << 8 | UInt16(input[index + 1])
                : UInt16(input[index + 1]) << 8 | UInt16(input[index])
            try take(unit, at: offset + index, into: &output)
            index += 2
        }
        if index < input.count { pendingByte = input[index] }
        offset += input.count
    }

    /// One UTF-16 code unit at document offset `at`.
    @inline(__always)
    private mutating func take(_ unit: UInt16, at position: Int, into output: inout [UInt8]) throws(ExtractionError) {
        switch unit {
        case 0xD800...0xDBFF:
            if let highSurrogate { throw Self.unpaired(at: highSurrogate.offset) }
            highSurrogate = (unit, position)
        case 0xDC00...0xDFFF:
            guard let high = highSurrogate else { throw Self.unpaired(at: position) }
            highSurrogate = nil
            let scalar = 0x10000 + (UInt32(high.unit - 0xD800) << 10 | UInt32(unit - 0xDC00))
            Self.appendUTF8(scalar, to: &output)
        default:
            if let highSurrogate { throw Self.unpaired(at: highSurrogate.offset) }
            if unit == 0 { throw Self.nul(at: position) }
            Self.appendUTF8(UInt32(unit), to: &output)
        }
    }

    @inline(__always)
    private static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private static func nul(at offset: Int) -> ExtractionError {
        ExtractionError(
            .binaryContent, "The text holds a NUL at offset \(offset); it is binary data, not text.", byteOffset: offset
        )
    }

    private static func unpaired(at offset: Int) -> ExtractionError {
        ExtractionError(
            .malformed, "The UTF-16 text has an unpaired surrogate at offset \(offset).", byteOffset: offset)
    }

    // MARK: Tables

    /// windows-1252 from `0x80` (the Encoding Standard's index: its five unassigned bytes are the C1 controls of
    /// the same value, as in ISO-8859-1); from `0xA0` it is ISO-8859-1.
    private static let windows1252: [UInt16] =
        [
            0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
            0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
            0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
            0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
        ] + (0xA0...0xFF).map { UInt16($0) }

    /// ISO-8859-15 from `0x80`: ISO-8859-1 but for eight bytes.
    private static let iso8859_15: [UInt16] = (0x80...0xFF).map { byte -> UInt16 in
        switch byte {
        case 0xA4: 0x20AC
        case 0xA6: 0x0160
        case 0xA8: 0x0161
        case 0xB4: 0x017D
        case 0xB8: 0x017E
        case 0xBC: 0x0152
        case 0xBD: 0x0153
        case 0xBE: 0x0178
        default: UInt16(byte)
        }
    }
}

/// HTML in any ``TextCharset``: holds back the first ``HTMLCharset/windowBytes`` bytes, decides the set from them
/// with ``HTMLCharset``, then hands the HTML tokenizer UTF-8, transcoded when the set is another.
///
/// UTF-8 passes through untouched (the tokenizer's UTF-8 gate checks it); other sets go through a
/// ``CharsetTranscoder`` into a buffer reused from feed to feed, so memory stays at the window plus about three times
/// one feed.
struct HTMLExtractor: FormatExtractor {
    private var inner = UTF8TokenizingExtractor(HTMLTokenizer())
    private let declaredLabel: String?
    /// The first bytes, until the set is decided.
    private var head: [UInt8] = []
    private var isDecided = false
    private var transcoder: CharsetTranscoder?
    private var converted: [UInt8] = []

    /// Creates an extractor; `declaredLabel` is the `charset` parameter of the declared `Content-Type`, if any.
    init(declaredLabel: String?) {
        self.declaredLabel = declaredLabel
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        if isDecided { return try pass(bytes) }
        let taken = min(HTMLCharset.windowBytes - head.count, bytes.count)
        head.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[0..<taken]))
        guard head.count >= HTMLCharset.windowBytes else { return [] }
        var pieces = try decide(isWhole: false)
        pieces += try pass(UnsafeBufferPointer(rebasing: bytes[taken...]))
        return pieces
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        var pieces: [TextPiece] = []
        if !isDecided { pieces = try decide(isWhole: true) }
        try transcoder?.finish()
        pieces += try inner.finish()
        return pieces
    }

    /// Decides the set from the held bytes, then passes them on.
    private mutating func decide(isWhole: Bool) throws(ExtractionError) -> [TextPiece] {
        let decision = try HTMLCharset.decide(head, isWhole: isWhole, declaredLabel: declaredLabel)
        if decision.charset != .utf8 {
            transcoder = CharsetTranscoder(charset: decision.charset, byteOrderMarkBytes: decision.byteOrderMarkBytes)
        }
        isDecided = true
        let head = self.head
        self.head = []
        return try head.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in try pass(buffer) }
    }

    private mutating func pass(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        guard transcoder != nil else { return try inner.feed(bytes) }
        converted.removeAll(keepingCapacity: true)
        try transcoder!.transcode(bytes, into: &converted)
        return try converted.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in try inner.feed(buffer) }
    }
}
