/// Checks a stream of bytes as UTF-8 in place, and hands a tokenizer whole characters only, with their document
/// offsets.
///
/// Markup and data formats (HTML, JSON, CSV) tokenize bytes rather than text: their syntax is ASCII, so a tokenizer
/// can treat every byte of a multi-byte character as content. The gate lets them do so without copying: it checks
/// each feed where it lies, drops a leading byte-order mark, holds back the start of a character that a feed ends in
/// the middle of (at most three bytes), and reports the first invalid byte or NUL only after the tokenizer has seen
/// the bytes before it. A syntax error before the bad byte therefore wins, whatever the feeds: the error reported is
/// always the one at the lowest offset.
struct UTF8Gate: Sendable {
    /// What one feed holds, in document order: a character completed from the previous feed, then a run of whole
    /// characters, then possibly an error at the byte after them.
    struct Checked {
        /// A character begun in the previous feed and completed by this one; empty when there is none.
        var head: [UInt8] = []
        /// The document offset of `head`.
        var headOffset = 0
        /// The run of whole characters in this feed.
        var body: Range<Int> = 0..<0
        /// The document offset of `body.lowerBound`.
        var bodyOffset = 0
        /// The error to throw once `head` and `body` are tokenized.
        var error: ExtractionError?
    }

    /// The start of a character the last feed ended in the middle of (at most 3 bytes).
    private var carry: [UInt8] = []
    /// The document offset of `carry`.
    private var carryOffset = 0
    /// The document offset of the next feed's first byte.
    private var offset = 0

    /// The document offset of the end of the bytes checked so far (the document's size after the final feed).
    var endOffset: Int { offset }

    /// Checks the next bytes; with `isFinal`, a character cut off at the end is an error instead of being held.
    mutating func check(_ input: UnsafeBufferPointer<UInt8>, isFinal: Bool) -> Checked {
        var result = Checked()
        let inputOffset = offset
        offset += input.count
        var index = 0
        if !carry.isEmpty {
            let needed = Self.sequenceLength(carry[0]) - carry.count
            let taken = min(needed, input.count)
            carry.append(contentsOf: input[0..<taken])
            index = taken
            let verdict = carry.withUnsafeBufferPointer { buffer in
                // Sound: `carry` is never empty here, so the base address exists, and `check` reads below `end`.
                UTF8Sequence.check(buffer.baseAddress!, at: 0, end: buffer.count)
            }
            switch verdict {
            case .valid:
                if carryOffset != 0 || carry != Self.byteOrderMark {
                    result.head = carry
                    result.headOffset = carryOffset
                }
                carry.removeAll()
            case .truncated where !isFinal:
                // Every byte of the feed went into the carry.
                return result
            case .truncated, .invalid:
                result.error = Self.invalid(at: carryOffset)
                carry.removeAll()
                return result
            }
        }
        guard let base = input.baseAddress, index < input.count else {
            result.body = index..<index
            result.bodyOffset = inputOffset + index
            return result
        }
        let end = input.count
        if inputOffset + index == 0 && end - index >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            index += 3
        }
        let start = index
        result.bodyOffset = inputOffset + start
        while index < end {
            // Skip eight ASCII bytes without a NUL at a time: the common case in every format.
            while index + 8 <= end {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0
                    || (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0
                {
                    break
                }
                index += 8
            }
            if index >= end { break }
            let byte = base[index]
            if byte < 0x80 {
                if byte == 0 {
                    result.body = start..<index
                    result.error = ExtractionError(
                        .binaryContent,
                        "The text holds a NUL byte at offset \(inputOffset + index); it is binary data, not text.",
                        byteOffset: inputOffset + index)
                    return result
                }
                index += 1
                continue
            }
            switch UTF8Sequence.check(base, at: index, end: end) {
            case .valid(let length):
                index += length
            case .truncated where !isFinal:
                result.body = start..<index
                carry = Array(input[index..<end])
                carryOffset = inputOffset + index
                return result
            case .truncated, .invalid:
                result.body = start..<index
                result.error = Self.invalid(at: inputOffset + index)
                return result
            }
        }
        result.body = start..<end
        return result
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    private static func invalid(at offset: Int) -> ExtractionError {
        ExtractionError(.invalidUTF8, "The text is not valid UTF-8 at offset \(offset).", byteOffset: offset)
    }

    /// The length of the sequence a lead byte starts (only called on bytes `UTF8Sequence.check` called truncated).
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        default: 4
        }
    }
}

/// A format's tokenizer over checked UTF-8: it sees bytes in runs of whole characters, never a NUL or an invalid
/// byte, and gathers its output in pieces.
protocol UTF8Tokenizer: Sendable {
    /// Consumes the next run of bytes, of which the first lies at document offset `offset`.
    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(ExtractionError)
    /// Ends the document, whose size is `offset`.
    mutating func finish(offset: Int) throws(ExtractionError)
    /// The pieces completed since the last call.
    mutating func takePieces() -> [TextPiece]
}

/// A ``FormatExtractor`` made of the ``UTF8Gate`` in front of a tokenizer.
struct UTF8TokenizingExtractor<Tokenizer: UTF8Tokenizer>: FormatExtractor {
    private var gate = UTF8Gate()
    private var tokenizer: Tokenizer

    init(_ tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        try pass(bytes, isFinal: false)
        return tokenizer.takePieces()
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        try pass(UnsafeBufferPointer(start: nil, count: 0), isFinal: true)
        try tokenizer.finish(offset: gate.endOffset)
        return tokenizer.takePieces()
    }

    private mutating func pass(_ bytes: UnsafeBufferPointer<UInt8>, isFinal: Bool) throws(ExtractionError) {
        let checked = gate.check(bytes, isFinal: isFinal)
        if !checked.head.isEmpty {
            try checked.head.withUnsafeBufferPointer { (head) throws(ExtractionError) in
                try tokenizer.consume(head, offset: checked.headOffset)
            }
        }
        if !checked.body.isEmpty {
            try tokenizer.consume(UnsafeBufferPointer(rebasing: bytes[checked.body]), offset: checked.bodyOffset)
        }
        if let error = checked.error { throw error }
    }
}
