/// Glyph names (what a font's `/Differences` lists) to Unicode text.
enum PDFGlyphNames {
    /// The text of glyph `name`, or nil when the name is unknown (`.notdef`, a private name such as `g12`).
    ///
    /// Beyond the table, names follow the Adobe Glyph List's rules: `uniXXXX` (one or more groups of four hex
    /// digits), `uXXXX` to `uXXXXXX`, ligatures joined by `_` (`f_f_i`), and a suffix after `.` ignored (`a.sc`).
    static func text(for name: String) -> String? {
        if let text = PDFEncodingTables.glyphNames[name] { return text }
        guard let first = name.first, first != "." else { return nil }
        if let dot = name.firstIndex(of: ".") {
            return text(for: String(name[..<dot]))
        }
        if name.contains("_") {
            var result = ""
            for part in name.split(separator: "_") {
                guard let text = PDFEncodingTables.glyphNames[String(part)] ?? unicodeName(Substring(part)) else {
                    return nil
                }
                result += text
            }
            return result.isEmpty ? nil : result
        }
        return unicodeName(Substring(name))
    }

    /// The text of a `uniXXXX…` or `uXXXX` name.
    private static func unicodeName(_ name: Substring) -> String? {
        let utf8 = Array(name.utf8)
        if utf8.count >= 7, utf8.starts(with: Array("uni".utf8)), (utf8.count - 3) % 4 == 0 {
            var scalars = String.UnicodeScalarView()
            var index = 3
            while index < utf8.count {
                guard let value = hexValue(utf8[index..<(index + 4)]), let scalar = Unicode.Scalar(value) else {
                    return nil
                }
                scalars.append(scalar)
                index += 4
            }
            return String(scalars)
        }
        if (5...7).contains(utf8.count), utf8[0] == UInt8(ascii: "u"), let value = hexValue(utf8[1...]),
            let scalar = Unicode.Scalar(value)
        {
            return String(Character(scalar))
        }
        return nil
    }

    private static func hexValue(_ digits: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        for digit in digits {
            // The glyph list allows upper-case digits only; lower case is accepted, as other readers do.
            guard let nibble = PDFLexer.hexValue(digit) else { return nil }
            value = value << 4 | UInt32(nibble)
        }
        return value
    }
}

/// The UTF-8 text of each of a simple font's 256 codes, in one buffer (a font is built often: one allocation,
/// not 256).
struct PDFCodeTexts: Sendable {
    private var pool: [UInt8] = []
    private var ends: [Int] = []

    /// The number of codes appended so far.
    var count: Int { ends.count }

    /// The text of `code` (empty for a code not appended, or without text).
    subscript(code: Int) -> ArraySlice<UInt8> {
        guard code >= 0 && code < ends.count else { return [] }
        return pool[(code == 0 ? 0 : ends[code - 1])..<ends[code]]
    }

    /// Calls `body` with the text buffer and where each code's text ends in it (code `c` spans
    /// `ends[c - 1]..<ends[c]`, from 0 for code 0), without copying or retaining per code.
    func withStorage<Result>(
        _ body: (_ pool: UnsafeBufferPointer<UInt8>, _ ends: UnsafeBufferPointer<Int>) -> Result
    ) -> Result {
        pool.withUnsafeBufferPointer { pool in ends.withUnsafeBufferPointer { ends in body(pool, ends) } }
    }

    /// Appends the next code's text.
    mutating func append(_ text: some Sequence<UInt8>) {
        pool.append(contentsOf: text)
        ends.append(pool.count)
    }

    /// Appends the next code's text, one scalar (none for 0 or a surrogate).
    mutating func append(scalar value: UInt32) {
        if value != 0, let scalar = Unicode.Scalar(value), let encoded = UTF8.encode(scalar) {
            pool.append(contentsOf: encoded)
        }
        ends.append(pool.count)
    }
}

/// What text extraction needs of a font: the Unicode text of each code, and each glyph's width, to tell where the
/// next string lands.
struct PDFFont: Sendable {
    /// A simple font (Type 1, TrueType, Type 3: one-byte codes) or a composite one (Type 0: codes of one to four
    /// bytes per its CMap, glyphs by CID).
    enum Kind: Sendable {
        case simple
        case composite
    }

    /// The kind of font.
    var kind: Kind
    /// Simple fonts: the UTF-8 text of each code (empty when unknown).
    var simpleTexts = PDFCodeTexts()
    /// Simple fonts: the width of each code, in text space units per unit of font size.
    var simpleWidths: [Double] = []
    /// Composite fonts: the `ToUnicode` CMap.
    var toUnicode: PDFCMap?
    /// Composite fonts: the encoding CMap, when embedded; nil for `Identity-H`/`-V` and the predefined CMaps.
    var encoding: PDFCMap?
    /// Composite fonts with a predefined Unicode CMap (`UniGB-UCS2-H`, `UniJIS-UTF16-H`…): codes are UTF-16.
    var codesAreUnicode = false
    /// Composite fonts: widths by CID, in text space units per unit of font size.
    var cidWidths: [UInt32: Double] = [:]
    /// Composite fonts: ranges of CIDs sharing one width.
    var cidWidthRanges: [(low: UInt32, high: UInt32, width: Double)] = []
    /// Composite fonts: the width of CIDs that `/W` does not list.
    var defaultWidth = 1.0

    /// A font for text shown before any `Tf` (a damaged content stream): Latin codes, average widths.
    static let fallback: PDFFont = {
        var font = PDFFont(kind: .simple)
        for code in 0..<256 {
            font.simpleTexts.append(scalar: UInt32(PDFEncodingTables.standard[code]))
        }
        font.simpleWidths = [Double](repeating: 0.5, count: 256)
        return font
    }()

    /// The text state that places glyphs (ISO 32000-1 §9.3), in text space units.
    struct Spacing {
        /// The font size (`Tf`).
        var fontSize: Double
        /// The character spacing (`Tc`), added after every glyph.
        var charSpacing: Double
        /// The word spacing (`Tw`), added after every single-byte code 32.
        var wordSpacing: Double
        /// A space glyph that advances less than this is no word space (writers use a narrow space, with negative
        /// spacing, to kern) and yields no text.
        var narrowSpaceMax: Double
    }

    /// The result of showing a string.
    struct Shown {
        /// How far the string advances, in text space units before horizontal scaling.
        var advance: Double = 0
        /// The spacing after the last glyph (part of `advance`, but not of the ink).
        var trailing: Double = 0
    }

    /// The length in bytes of the code at `bytes[index...]` (1 for simple fonts).
    func codeLength(_ bytes: [UInt8], at index: Int) -> Int {
        guard kind == .composite else { return 1 }
        let length = encoding?.codeLength(bytes, at: index) ?? 2
        return max(1, min(length, bytes.count - index))
    }

    /// Appends the UTF-8 text of `bytes` to `text`, and measures how far the glyphs advance.
    func show(_ bytes: [UInt8], spacing: Spacing, into text: inout [UInt8]) -> Shown {
        var shown = Shown()
        switch kind {
        case .simple:
            simpleTexts.withStorage { pool, ends in
                for byte in bytes {
                    let code = Int(byte)
                    let width = code < simpleWidths.count ? simpleWidths[code] : 0
                    shown.trailing = spacing.charSpacing + (byte == 0x20 ? spacing.wordSpacing : 0)
                    let advance = width * spacing.fontSize + shown.trailing
                    shown.advance += advance
                    guard code < ends.count else { continue }
                    let start = code == 0 ? 0 : ends[code - 1]
                    let end = ends[code]
                    guard start < end else { continue }
                    if end - start == 1 && pool[start] == 0x20 && advance < spacing.narrowSpaceMax { continue }
                    text.append(contentsOf: UnsafeBufferPointer(rebasing: pool[start..<end]))
                }
            }
        case .composite:
            var units: [UInt16] = []
            var index = 0
            while index < bytes.count {
                let length = codeLength(bytes, at: index)
                var code: UInt32 = 0
                for offset in 0..<length { code = code << 8 | UInt32(bytes[index + offset]) }
                index += length
                let isWordSpace = length == 1 && code == 0x20
                shown.trailing = spacing.charSpacing + (isWordSpace ? spacing.wordSpacing : 0)
                let advance = width(cid: encoding?.cid(for: code) ?? code) * spacing.fontSize + shown.trailing
                shown.advance += advance
                if let mapped = toUnicode?.text(for: code) {
                    if !units.isEmpty {
                        text.append(contentsOf: String(decoding: units, as: UTF16.self).utf8)
                        units.removeAll()
                    }
                    if mapped == " " && advance < spacing.narrowSpaceMax { continue }
                    text.append(contentsOf: mapped.utf8)
                } else if codesAreUnicode {
                    // Collected, so that a surrogate pair split over two codes makes one character.
                    units.append(UInt16(truncatingIfNeeded: code))
                }
            }
            if !units.isEmpty { text.append(contentsOf: String(decoding: units, as: UTF16.self).utf8) }
        }
        return shown
    }

    private func width(cid: UInt32) -> Double {
        if let width = cidWidths[cid] { return width }
        for range in cidWidthRanges where range.low <= cid && cid <= range.high { return range.width }
        return defaultWidth
    }
}

extension PDFFont {
    /// The position of each character in ``PDFEncodingTables/standardScalars``, to find standard fonts' widths.
    static let standardScalarIndex: [UInt32: Int] = Dictionary(
        uniqueKeysWithValues: PDFEncodingTables.standardScalars.enumerated().map { ($0.element, $0.offset) })

    /// The widths of the standard font `baseFont` names (PDFs may omit `/Widths` for them), in the order of
    /// ``PDFEncodingTables/standardScalars``.
    static func standardWidths(_ baseFont: String) -> [UInt16]? {
        let name = String(baseFont.lowercased().filter { $0 != " " })
        let bold = name.contains("bold")
        let italic = name.contains("italic") || name.contains("oblique")
        if name.hasPrefix("courier") {
            return [UInt16](repeating: 600, count: PDFEncodingTables.standardScalars.count)
        }
        if name.hasPrefix("helvetica") || name.hasPrefix("arial") {
            return bold ? PDFEncodingTables.helveticaBoldWidths : PDFEncodingTables.helveticaWidths
        }
        if name.hasPrefix("times") {
            switch (bold, italic) {
            case (false, false): return PDFEncodingTables.timesRomanWidths
            case (true, false): return PDFEncodingTables.timesBoldWidths
            case (false, true): return PDFEncodingTables.timesItalicWidths
            case (true, true): return PDFEncodingTables.timesBoldItalicWidths
            }
        }
        return nil
    }

    /// The width of the glyph that draws `text` in a standard font's `widths`, or nil when it has none.
    static func standardWidth(of text: [UInt8], in widths: [UInt16]) -> Double? {
        let string = String(decoding: text, as: UTF8.self)
        let scalar: UInt32?
        switch string {
        // Ligature glyphs are one glyph, whose text is several letters.
        case "ff": scalar = 0xFB00
        case "fi": scalar = 0xFB01
        case "fl": scalar = 0xFB02
        case "ffi": scalar = 0xFB03
        case "ffl": scalar = 0xFB04
        default: scalar = string.unicodeScalars.first?.value
        }
        guard let scalar, let index = standardScalarIndex[scalar], index < widths.count, widths[index] > 0 else {
            return nil
        }
        return Double(widths[index]) * 0.001
    }

    /// The code-to-Unicode table of a named simple encoding, or nil for an unknown name.
    static func encodingTable(_ name: String) -> [UInt16]? {
        switch name {
        case "WinAnsiEncoding": PDFEncodingTables.winAnsi
        case "MacRomanEncoding": PDFEncodingTables.macRoman
        case "StandardEncoding": PDFEncodingTables.standard
        default: nil
        }
    }
}
