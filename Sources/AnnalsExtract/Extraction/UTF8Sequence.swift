/// Checks of single UTF-8 sequences, as defined by Unicode's table of well-formed byte sequences (Table 3-7).
///
/// Overlong forms, surrogates (`ED A0…`) and values above U+10FFFF are invalid, exactly as `String` decides, so
/// text accepted here never gets repaired (and shifted) when it becomes a `String`.
enum UTF8Sequence {
    /// The outcome of checking the sequence that starts at a non-ASCII byte.
    enum Check: Equatable {
        /// A well-formed sequence of this many bytes.
        case valid(Int)
        /// A well-formed start that the buffer ends in the middle of.
        case truncated
        /// Not well-formed.
        case invalid
    }

    /// Checks the sequence starting at `base[index]` (a byte ≥ 0x80), reading no byte at or beyond `end`.
    @inline(__always)
    static func check(_ base: UnsafePointer<UInt8>, at index: Int, end: Int) -> Check {
        let length: Int
        let secondLow: UInt8
        let secondHigh: UInt8
        switch base[index] {
        case 0xC2...0xDF: (length, secondLow, secondHigh) = (2, 0x80, 0xBF)
        case 0xE0: (length, secondLow, secondHigh) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, secondLow, secondHigh) = (3, 0x80, 0xBF)
        case 0xED: (length, secondLow, secondHigh) = (3, 0x80, 0x9F)
        case 0xF0: (length, secondLow, secondHigh) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, secondLow, secondHigh) = (4, 0x80, 0xBF)
        case 0xF4: (length, secondLow, secondHigh) = (4, 0x80, 0x8F)
        default: return .invalid
        }
        guard index + 1 < end else { return .truncated }
        let second = base[index + 1]
        guard second >= secondLow && second <= secondHigh else { return .invalid }
        var offset = 2
        while offset < length {
            guard index + offset < end else { return .truncated }
            guard base[index + offset] & 0xC0 == 0x80 else { return .invalid }
            offset += 1
        }
        return .valid(length)
    }
}
