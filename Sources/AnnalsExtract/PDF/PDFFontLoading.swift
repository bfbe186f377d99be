extension PDFDocument {
    /// Builds the font a font dictionary describes: its codes' text (from `/ToUnicode`, else `/Encoding` and glyph
    /// names) and its glyphs' widths.
    ///
    /// A damaged `ToUnicode` or encoding CMap is ignored (the font falls back on its encoding); decompression
    /// limits still apply.
    mutating func makeFont(_ dictionary: PDFDictionary) throws(ExtractionError) -> PDFFont {
        let toUnicode = try cmap(dictionary["ToUnicode"], what: "A ToUnicode CMap")
        if dictionary.name("Subtype") == "Type0" {
            return try makeCompositeFont(dictionary, toUnicode: toUnicode?.hasText == true ? toUnicode : nil)
        }
        return try makeSimpleFont(dictionary, toUnicode: toUnicode?.hasText == true ? toUnicode : nil)
    }

    /// The CMap in a stream, or nil when `object` is not a stream or the CMap is damaged.
    private mutating func cmap(_ object: PDFObject?, what: String) throws(ExtractionError) -> PDFCMap? {
        guard let stream = try resolve(object).stream else { return nil }
        do {
            let data = try decodeStream(stream, bytesMax: Self.auxiliaryStreamBytesMax, what: what)
            return try PDFCMap(parsing: data, entriesMax: configuration.pdfObjectsMax)
        } catch {
            guard error.code == .malformed else { throw error }
            return nil
        }
    }

    private mutating func makeSimpleFont(_ dictionary: PDFDictionary, toUnicode: PDFCMap?) throws(ExtractionError)
        -> PDFFont
    {
        let subtype = dictionary.name("Subtype") ?? "Type1"
        let baseFont = Self.withoutSubsetPrefix(dictionary.name("BaseFont") ?? "")
        let descriptor = try resolve(dictionary["FontDescriptor"]).dictionary
        // Type 3 glyphs are measured in glyph space, which the font matrix maps to text space.
        var scale = 0.001
        if subtype == "Type3", let matrix = try resolve(dictionary["FontMatrix"]).array, matrix.count == 6,
            let a = try resolve(matrix[0]).number, a.isFinite, a != 0
        {
            scale = abs(a)
        }

        var table: [UInt16]? = subtype == "TrueType" ? PDFEncodingTables.winAnsi : PDFEncodingTables.standard
        if baseFont.hasPrefix("Symbol") || baseFont.hasPrefix("ZapfDingbats") {
            // Their built-in encodings are not Latin; without `/Differences` or `ToUnicode` their codes mean nothing.
            table = nil
        }
        var differences: [Int: String] = [:]
        var builtIn: [Int: String] = [:]
        let encodingObject = try resolve(dictionary["Encoding"])
        if subtype == "Type1" || subtype == "MMType1", encodingObject.name == nil,
            encodingObject.dictionary?.name("BaseEncoding") == nil,
            let names = try builtInEncoding(descriptor), !names.isEmpty
        {
            // An embedded Type 1 font's own encoding is the base when the PDF names none (TeX's fonts).
            builtIn = names
            table = nil
        }
        switch encodingObject {
        case .name(let name):
            if let named = PDFFont.encodingTable(name) { table = named }
        case .dictionary(let encoding):
            if let base = encoding.name("BaseEncoding"), let named = PDFFont.encodingTable(base) { table = named }
            var code = 0
            for item in try resolve(encoding["Differences"]).array ?? [] {
                switch item {
                case .integer(let next):
                    code = next
                case .name(let name):
                    if (0..<256).contains(code) { differences[code] = name }
                    code += 1
                default:
                    continue
                }
            }
        default:
            break
        }

        var font = PDFFont(kind: .simple)
        for code in 0..<256 {
            if let text = toUnicode?.text(for: UInt32(code)) {
                font.simpleTexts.append(text.utf8)
            } else if let name = differences[code] ?? builtIn[code] {
                font.simpleTexts.append(PDFGlyphNames.text(for: name)?.utf8 ?? "".utf8)
            } else {
                font.simpleTexts.append(scalar: table.map { UInt32($0[code]) } ?? 0)
            }
        }

        let missingWidth = try resolve(descriptor?["MissingWidth"]).number ?? 0
        if let widths = try resolve(dictionary["Widths"]).array, !widths.isEmpty {
            let firstChar = try resolve(dictionary["FirstChar"]).integer ?? 0
            font.simpleWidths = [Double](repeating: missingWidth * scale, count: 256)
            for (index, width) in widths.enumerated() {
                let code = firstChar + index
                guard (0..<256).contains(code), let value = try resolve(width).number, value.isFinite else { continue }
                font.simpleWidths[code] = value * scale
            }
        } else if let standard = PDFFont.standardWidths(baseFont) {
            // A standard font named without widths: its metrics are known, by character; others get an average.
            font.simpleWidths = [Double](repeating: 0.5, count: 256)
            for code in 0..<256 {
                if let width = PDFFont.standardWidth(of: Array(font.simpleTexts[code]), in: standard) {
                    font.simpleWidths[code] = width
                }
            }
        } else {
            font.simpleWidths = [Double](repeating: missingWidth > 0 ? missingWidth * scale : 0.5, count: 256)
        }
        return font
    }

    private mutating func makeCompositeFont(_ dictionary: PDFDictionary, toUnicode: PDFCMap?) throws(ExtractionError)
        -> PDFFont
    {
        var font = PDFFont(kind: .composite)
        font.toUnicode = toUnicode
        switch try resolve(dictionary["Encoding"]) {
        case .name(let name):
            // Identity-H/V and the other predefined CMaps use two-byte codes; the Unicode ones are UTF-16.
            font.codesAreUnicode = Self.isUnicodeCMapName(name)
        case .stream:
            if let encoding = try cmap(dictionary["Encoding"], what: "An encoding CMap") {
                if !encoding.codeSpaces.isEmpty { font.encoding = encoding }
                if let parent = encoding.parentName { font.codesAreUnicode = Self.isUnicodeCMapName(parent) }
            }
        default:
            break
        }

        var descendant: PDFDictionary?
        if let first = try resolve(dictionary["DescendantFonts"]).array?.first {
            descendant = try resolve(first).dictionary
        }
        guard let descendant else { return font }
        if let width = try resolve(descendant["DW"]).number, width.isFinite { font.defaultWidth = width * 0.001 }
        let widths = try resolve(descendant["W"]).array ?? []
        var index = 0
        while index < widths.count {
            guard let first = try resolve(widths[index]).integer, first >= 0, first <= Int(UInt32.max) else {
                index += 1
                continue
            }
            if index + 1 < widths.count, case .array(let list) = try resolve(widths[index + 1]) {
                for (offset, item) in list.enumerated() {
                    guard let value = try resolve(item).number, value.isFinite, first + offset <= Int(UInt32.max) else {
                        continue
                    }
                    font.cidWidths[UInt32(first + offset)] = value * 0.001
                }
                index += 2
            } else if index + 2 < widths.count, let last = try resolve(widths[index + 1]).integer,
                let value = try resolve(widths[index + 2]).number, value.isFinite, last >= first,
                last <= Int(UInt32.max)
            {
                font.cidWidthRanges.append((UInt32(first), UInt32(last), value * 0.001))
                index += 3
            } else {
                break
            }
        }
        return font
    }

    /// The most bytes of an embedded Type 1 font read for its encoding (which its clear-text part holds).
    static let fontClearTextBytesMax = 64 * 1024

    /// The built-in encoding of an embedded Type 1 font (`/FontFile`): its clear-text part's `dup code /name put`
    /// entries; nil when the font is not embedded, uses `StandardEncoding`, or cannot be read.
    private mutating func builtInEncoding(_ descriptor: PDFDictionary?) throws(ExtractionError) -> [Int: String]? {
        guard let stream = try resolve(descriptor?["FontFile"]).stream else { return nil }
        var limit = try resolve(stream.dictionary["Length1"]).integer ?? Self.fontClearTextBytesMax
        if limit <= 0 || limit > Self.fontClearTextBytesMax { limit = Self.fontClearTextBytesMax }
        var data: [UInt8] = []
        do {
            var reader = try streamReader(stream)
            while data.count < limit, let piece = try reader.next(source: source, budget: &budget) {
                data.append(contentsOf: piece)
            }
        } catch {
            guard error.code == .malformed else { throw error }
            return nil
        }
        var lexer = PDFLexer(bytes: Array(data.prefix(limit)), isComplete: true)
        let dup = PDFKeyword("dup")
        let put = PDFKeyword("put")
        let eexec = PDFKeyword("eexec")
        var names: [Int: String] = [:]
        var recent: [PDFToken] = []
        while let token = try? lexer.next() {
            switch token {
            case .end:
                return names
            case .keyword(let keyword) where keyword == eexec:
                return names
            case .keyword(let keyword) where keyword == put:
                if recent.count >= 3, case .keyword(let first) = recent[recent.count - 3], first == dup,
                    case .integer(let code) = recent[recent.count - 2], (0..<256).contains(code),
                    case .name(let name) = recent[recent.count - 1]
                {
                    names[code] = name
                }
            case .name(let name) where name == "StandardEncoding" && names.isEmpty:
                if case .name("Encoding") = recent.last { return nil }
            default:
                break
            }
            recent.append(token)
            if recent.count > 3 { recent.removeFirst() }
        }
        return names
    }

    /// Whether a predefined CMap's codes are Unicode (`UniGB-UCS2-H`, `UniJIS-UTF16-V`…).
    private static func isUnicodeCMapName(_ name: String) -> Bool {
        name.hasPrefix("Uni") && (name.contains("UCS2") || name.contains("UTF16"))
    }

    /// `Times-Roman` for `ABCDEF+Times-Roman` (a subset font's tag is six capital letters and a plus).
    static func withoutSubsetPrefix(_ name: String) -> String {
        let utf8 = Array(name.utf8)
        guard utf8.count > 7, utf8[6] == UInt8(ascii: "+"),
            utf8[0..<6].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return name }
        return String(decoding: utf8[7...], as: UTF8.self)
    }
}
