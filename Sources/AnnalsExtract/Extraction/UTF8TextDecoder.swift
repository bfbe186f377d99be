/// Checks and normalises a stream of UTF-8 bytes: drops a leading byte-order mark, turns CRLF and lone CR into LF,
/// refuses invalid UTF-8 and NUL bytes, and carries a character cut between two feeds over to the next.
struct UTF8TextDecoder: Sendable {
    /// The start of a sequence the last feed ended in the middle of (at most 3 bytes).
    private var carry: [UInt8] = []
    /// The document offset of the first byte of the next work buffer (the carry's, when there is one).
    private var consumed = 0
    /// Whether the last byte decoded was a CR, so that an LF right after it (maybe in the next feed) is dropped.
    private var previousWasCR = false

    /// Decodes the next bytes; with `isFinal`, a sequence cut off at the end is an error instead of being carried.
    mutating func decode(_ input: UnsafeBufferPointer<UInt8>, isFinal: Bool) throws(ExtractionError) -> String {
        if carry.isEmpty {
            return try decodeWork(input, isFinal: isFinal)
        }
        let work = carry + input
        carry.removeAll()
        return try work.withUnsafeBufferPointer { (buffer) throws(ExtractionError) -> String in
            try decodeWork(buffer, isFinal: isFinal)
        }
    }

    private mutating func decodeWork(_ work: UnsafeBufferPointer<UInt8>, isFinal: Bool) throws(ExtractionError)
        -> String
    {
        guard let base = work.baseAddress, !work.isEmpty else { return "" }
        let end = work.count
        var index = 0
        if consumed == 0 && end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            index = 3
        }
        var failure: ExtractionError?
        var stop = end
        var previousWasCR = self.previousWasCR
        let offset = consumed
        let text = String(unsafeUninitializedCapacity: end) { output -> Int in
            var written = 0
            var runStart = index
            @inline(__always) func copyRun(to runEnd: Int) {
                let length = runEnd - runStart
                if length > 0 {
                    // In bounds: the output has room for every input byte, and normalising only ever shrinks.
                    (output.baseAddress! + written).update(from: base + runStart, count: length)
                    written += length
                }
            }
            while index < end {
                // The fast path skips 8 ASCII bytes at a time that hold no CR and no NUL. It is not taken right
                // after a CR, whose LF must be seen on its own.
                if !previousWasCR {
                    while index + 8 <= end {
                        let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                        if word & 0x8080_8080_8080_8080 != 0 || Self.hasZeroByte(word)
                            || Self.hasZeroByte(word ^ 0x0D0D_0D0D_0D0D_0D0D)
                        {
                            break
                        }
                        index += 8
                    }
                    if index >= end { break }
                }
                let byte = base[index]
                if byte < 0x80 {
                    if byte == 0x0D {
                        copyRun(to: index)
                        output[written] = 0x0A
                        written += 1
                        index += 1
                        runStart = index
                        previousWasCR = true
                        continue
                    }
                    if byte == 0x0A && previousWasCR {
                        copyRun(to: index)
                        index += 1
                        runStart = index
                        previousWasCR = false
                        continue
                    }
                    if byte == 0 {
                        failure = ExtractionError(
                            .binaryContent,
                            "The text holds a NUL byte at offset \(offset + index); it is binary data, not text.",
                            byteOffset: offset + index
                        )
                        return 0
                    }
                    previousWasCR = false
                    index += 1
                    continue
                }
                previousWasCR = false
                switch UTF8Sequence.check(base, at: index, end: end) {
                case .valid(let length):
                    index += length
                case .truncated where !isFinal:
                    stop = index
                    copyRun(to: index)
                    return written
                case .truncated, .invalid:
                    failure = ExtractionError(
                        .invalidUTF8, "The text is not valid UTF-8 at offset \(offset + index).",
                        byteOffset: offset + index
                    )
                    return 0
                }
            }
            copyRun(to: end)
            return written
        }
        if let failure { throw failure }
        self.previousWasCR = previousWasCR
        if stop < end { carry = Array(work[stop..<end]) }
        consumed += stop
        return text
    }

    /// Whether any byte of `word` is zero (the classic bit trick: exact, with no false positives).
    @inline(__always)
    private static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0
    }
}
