/// Character classes the chunker and the extractors decide on, by Unicode scalar value, without `Character`.
enum ScalarTraits {
    /// White space: ASCII spaces and controls TAB to CR, NEL, no-break space, and the Unicode space separators.
    @inline(__always)
    static func isWhitespace(_ value: UInt32) -> Bool {
        if value < 0x80 { return value == 0x20 || (value >= 0x09 && value <= 0x0D) }
        switch value {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Ends a sentence when white space follows: `.` `!` `?`, the ellipsis, the Devanagari dandas, Arabic `؟`.
    @inline(__always)
    static func isSentenceTerminator(_ value: UInt32) -> Bool {
        switch value {
        case 0x2E, 0x21, 0x3F, 0x2026, 0x0964, 0x0965, 0x061F: return true
        default: return false
        }
    }

    /// Ends a sentence by itself, with no space after it: the CJK full stop, exclamation and question marks.
    @inline(__always)
    static func isCJKTerminator(_ value: UInt32) -> Bool {
        switch value {
        case 0x3002, 0xFF01, 0xFF1F, 0xFF61: return true
        default: return false
        }
    }

    /// Closing quotes and brackets that may stand between a sentence's terminator and the space after it.
    @inline(__always)
    static func isCloser(_ value: UInt32) -> Bool {
        switch value {
        case 0x22, 0x27, 0x29, 0x5D, 0x7D, 0xBB, 0x2019, 0x201D, 0x300D, 0x300F, 0xFF09: return true
        default: return false
        }
    }

    /// Whether a cut must not fall right before this scalar because it belongs to the character before it: a
    /// combining mark, a variation selector, an emoji modifier or tag, or a joiner.
    static func extendsPrevious(_ value: UInt32) -> Bool {
        if value < 0x300 { return false }
        switch value {
        case 0x200C, 0x200D, 0xFE00...0xFE0F, 0x1F3FB...0x1F3FF, 0xE0020...0xE007F, 0xE0100...0xE01EF: return true
        default: break
        }
        guard let scalar = Unicode.Scalar(value) else { return false }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The number of Unicode scalars of `text`, counted on its UTF-8 bytes (lead bytes), much faster than walking
    /// `unicodeScalars`.
    static func scalarCount(_ text: some StringProtocol) -> Int {
        let counted = text.utf8.withContiguousStorageIfAvailable { bytes in
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count &+= 1 }
            return count
        }
        return counted ?? text.unicodeScalars.count
    }

    /// Whether `text` has a scalar that is not white space.
    static func hasNonWhitespace(_ text: String) -> Bool {
        text.unicodeScalars.contains { !isWhitespace($0.value) }
    }

    /// Lowercase abbreviations after which a full stop does not end a sentence, packed as in ``pack(_:)``.
    static let abbreviations: Set<UInt64> = Set(
        [
            "e.g", "i.e", "cf", "vs", "viz", "al", "approx", "ca", "resp", "mr", "mrs", "ms", "dr", "prof", "sr",
            "jr", "st", "mt", "no", "nos", "vol", "vols", "fig", "figs", "eq", "eqs", "ref", "refs", "sec", "ch",
            "pp", "ed", "eds", "inc", "ltd", "co", "corp", "dept", "univ", "jan", "feb", "apr", "jun", "jul", "aug",
            "sep", "sept", "oct", "nov", "dec",
        ].map(pack)
    )

    /// Up to eight ASCII bytes in one integer, first byte highest.
    static func pack(_ word: String) -> UInt64 {
        word.utf8.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
