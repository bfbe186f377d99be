/// Turns the XML events of WordprocessingML parts (`word/document.xml`, then headers, footers, notes and comments)
/// into text pieces.
///
/// - Paragraphs (`w:p`) are separated by a blank line; a line break (`w:br`, `w:cr`) is a newline and a tab
///   (`w:tab` in a run) a tab; text comes from `w:t` only, so field codes (`w:instrText`) and deleted text
///   (`w:delText`) are left out, as are moved-from runs (`w:moveFrom`), the previous formatting of tracked changes
///   (`w:pPrChange`, `w:rPrChange`) and the fallback copies of drawings (`mc:Fallback`), which repeat the text
///   of their `mc:Choice`.
/// - A table row (`w:tr`) is one line, its cells separated by ` | `; paragraphs and breaks inside a cell become
///   spaces; empty cells are left out. A table nested in a cell stays on its row's line.
/// - A paragraph styled `Heading1` to `Heading9` or `Title` (`w:pStyle`), or with one of ``headingStyles`` (the
///   custom and localised heading styles ``WordStyles`` found in `word/styles.xml`), or with an outline level 0 to 8
///   (`w:outlineLvl`), starts a section.
/// - Each part after the first starts a section (``beginPart()``), before its first text. The separator notes of
///   `word/footnotes.xml` and `word/endnotes.xml` (`w:type` `separator`, `continuationSeparator`,
///   `continuationNotice`) are left out.
/// - Elements are matched by namespace, not by prefix (``WordNamespaces``).
///
/// Output is gathered as UTF-8 bytes and handed out by ``takePieces(final:)``; the caller bounds how much
/// arrives between two calls.
struct WordDocumentText: XMLTokenHandler, Sendable {
    /// A separator waiting for the next text, so that empty paragraphs and cells add nothing and the strongest
    /// boundary between two texts wins.
    enum Separator: Int, Comparable, Sendable {
        case none, space, tab, cell, newline, paragraph

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

        var bytes: [UInt8] {
            switch self {
            case .none: []
            case .space: [0x20]
            case .tab: [0x09]
            case .cell: Array(" | ".utf8)
            case .newline: [0x0A]
            case .paragraph: [0x0A, 0x0A]
            }
        }
    }

    private enum Element: Sendable {
        case paragraph, paragraphProperties, paragraphStyle, outlineLevel, run, text, tab, lineBreak
        case nonBreakingHyphen, table, row, cell, note, skipped, other
    }

    /// The limit of emitted text, `too_large` beyond it.
    let textBytesMax: Int
    /// The identifiers of paragraph styles that are headings besides `HeadingN` and `Title`.
    var headingStyles: Set<[UInt8]> = []
    /// UTF-8 text not yet handed out.
    private var output: [UInt8] = []
    private var pieces: [TextPiece] = []
    private var pending = Separator.none
    /// Whether any text was written: separators and section starts before the first text are dropped.
    private var wroteAny = false
    /// Whether a part began and its first text is still to come, to be preceded by a section start.
    private var partBegan = false
    /// Bytes of text handed out so far.
    private(set) var textBytes = 0
    /// Whether some text that is not white space was handed out.
    private(set) var sawText = false

    private var depth = 0
    private var namespaces = WordNamespaces()
    /// The depth of the element whose subtree is skipped, if any.
    private var skipDepth: Int?
    private var paragraphDepth = 0
    /// The depth of the current paragraph's `w:pPr`, while inside it.
    private var propertiesDepth: Int?
    private var paragraphStartedSection = false
    private var runDepth = 0
    private var textDepth = 0
    /// For each open table, the number of cells of its current row seen so far.
    private var cellsInRow: [Int] = []

    /// Creates a handler that refuses more than `textBytesMax` bytes of text.
    init(textBytesMax: Int) {
        self.textBytesMax = textBytesMax
    }

    /// Starts the next part: its elements start afresh, and its first text starts a section.
    mutating func beginPart() {
        depth = 0
        namespaces = WordNamespaces()
        skipDepth = nil
        paragraphDepth = 0
        propertiesDepth = nil
        paragraphStartedSection = false
        runDepth = 0
        textDepth = 0
        cellsInRow.removeAll()
        partBegan = true
    }

    // MARK: Events

    mutating func startElement(_ tag: XMLTag) throws(ExtractionError) {
        depth += 1
        try namespaces.declare(tag, depth: depth)
        if skipDepth != nil { return }
        switch classify(tag.name) {
        case .paragraph:
            if paragraphDepth > 0 { separate(cellsInRow.isEmpty ? .paragraph : .space) }
            paragraphDepth += 1
            paragraphStartedSection = false
        case .paragraphProperties:
            if paragraphDepth > 0 && propertiesDepth == nil { propertiesDepth = depth }
        case .paragraphStyle:
            if propertiesDepth == depth - 1, let value = tag.attribute(localName: Self.val),
                Self.isHeadingStyle(value) || headingStyles.contains(value)
            {
                try startSection()
            }
        case .outlineLevel:
            if propertiesDepth == depth - 1, let value = tag.attribute(localName: Self.val), value.count == 1,
                value[0] >= UInt8(ascii: "0"), value[0] <= UInt8(ascii: "8")
            {
                try startSection()
            }
        case .run:
            runDepth += 1
        case .text:
            textDepth += 1
        case .tab:
            if runDepth > 0 { separate(.tab) }
        case .lineBreak:
            if runDepth > 0 { separate(cellsInRow.isEmpty ? .newline : .space) }
        case .nonBreakingHyphen:
            if runDepth > 0 { try write([UInt8(ascii: "-")]) }
        case .table:
            // Nesting is bounded by the tokenizer's depth limit.
            separate(cellsInRow.isEmpty ? .paragraph : .space)
            cellsInRow.append(0)
        case .row:
            if !cellsInRow.isEmpty {
                separate(cellsInRow.count == 1 ? .newline : .cell)
                cellsInRow[cellsInRow.count - 1] = 0
            }
        case .cell:
            if let cells = cellsInRow.last {
                if cells > 0 { separate(.cell) }
                cellsInRow[cellsInRow.count - 1] = cells + 1
            }
        case .note:
            if let type = tag.attribute(localName: Self.type), Self.separatorNoteTypes.contains(type) {
                skipDepth = depth
            }
        case .skipped:
            skipDepth = depth
        case .other:
            break
        }
    }

    mutating func endElement(_ tag: XMLTag) throws(ExtractionError) {
        defer {
            namespaces.end(depth: depth)
            depth -= 1
        }
        if let skipDepth {
            if skipDepth == depth { self.skipDepth = nil }
            return
        }
        switch classify(tag.name) {
        case .paragraph:
            if paragraphDepth > 0 { paragraphDepth -= 1 }
            separate(cellsInRow.isEmpty ? .paragraph : .space)
        case .paragraphProperties:
            if propertiesDepth == depth { propertiesDepth = nil }
        case .run:
            if runDepth > 0 { runDepth -= 1 }
        case .text:
            if textDepth > 0 { textDepth -= 1 }
        case .table:
            if !cellsInRow.isEmpty { cellsInRow.removeLast() }
            separate(cellsInRow.isEmpty ? .paragraph : .space)
        default:
            break
        }
    }

    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        guard textDepth > 0, skipDepth == nil, !bytes.isEmpty else { return }
        // Line ends and other control characters inside `w:t` are shown as spaces by Word; tabs stay.
        if bytes.contains(where: { $0 < 0x20 && $0 != 0x09 }) {
            try write(bytes.map { $0 < 0x20 && $0 != 0x09 ? 0x20 : $0 })
        } else {
            try write(bytes)
        }
    }

    // MARK: Output

    /// The pieces ready so far. Unless `final`, a character cut off at the end of the output is kept for later.
    ///
    /// - Throws: `invalid_utf8` when the text is not valid UTF-8; `too_large` past the text limit.
    mutating func takePieces(final: Bool) throws(ExtractionError) -> [TextPiece] {
        try flush(final: final)
        defer { pieces.removeAll() }
        return pieces
    }

    private mutating func write(_ bytes: some Collection<UInt8>) throws(ExtractionError) {
        if partBegan {
            partBegan = false
            if wroteAny {
                output.append(contentsOf: max(pending, .paragraph).bytes)
                pending = .none
                try flush(final: true)
                pieces.append(.sectionStart)
            }
        }
        if pending != .none {
            if wroteAny { output.append(contentsOf: pending.bytes) }
            pending = .none
        }
        output.append(contentsOf: bytes)
        wroteAny = true
    }

    private mutating func separate(_ separator: Separator) {
        pending = max(pending, separator)
    }

    /// Marks a section start before the current paragraph (once per paragraph, and only after some text, outside
    /// tables and nested paragraphs); the paragraph break goes before it, so the section starts at its text.
    private mutating func startSection() throws(ExtractionError) {
        guard !paragraphStartedSection, paragraphDepth == 1, cellsInRow.isEmpty else { return }
        paragraphStartedSection = true
        // The part's own section start, if pending, is this one.
        partBegan = false
        guard wroteAny else { return }
        output.append(contentsOf: max(pending, .paragraph).bytes)
        pending = .none
        // The output ends at a tag here, so with a whole character unless the XML is invalid UTF-8 (an error).
        try flush(final: true)
        pieces.append(.sectionStart)
    }

    private mutating func flush(final: Bool) throws(ExtractionError) {
        guard !output.isEmpty else { return }
        var cut = output.count
        if !final {
            // Back up over a character that the output ends in the middle of (at most three bytes).
            var lead = cut - 1
            while lead > 0 && cut - lead < 4 && output[lead] & 0xC0 == 0x80 { lead -= 1 }
            let byte = output[lead]
            let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
            if lead + length > cut { cut = lead }
        }
        guard cut > 0 else { return }
        guard let text = String(validating: output[0..<cut], as: UTF8.self) else {
            throw ExtractionError(.invalidUTF8, "The document's text is not valid UTF-8.")
        }
        output.removeSubrange(0..<cut)
        textBytes += cut
        if textBytes > textBytesMax {
            throw ExtractionError(.tooLarge, "The extracted text exceeds the limit of \(textBytesMax) bytes.")
        }
        if !sawText { sawText = ScalarTraits.hasNonWhitespace(text) }
        pieces.append(.text(text))
    }

    // MARK: Names

    private static let val = Array("val".utf8)
    private static let type = Array("type".utf8)
    /// The `w:type` values of the notes that only draw the line above the notes, or say that notes continue.
    private static let separatorNoteTypes: Set<[UInt8]> = Set(
        ["separator", "continuationSeparator", "continuationNotice"].map { Array($0.utf8) })

    /// Whether a `w:pStyle` value names a heading: `Heading1` to `Heading9` or `Title`, in any case, spaces
    /// ignored (`heading 1`).
    static func isHeadingStyle(_ value: [UInt8]) -> Bool {
        let folded = value.filter { $0 != 0x20 }.map { $0 | 0x20 }
        if folded.elementsEqual("title".utf8) { return true }
        return folded.count == 8 && folded.starts(with: "heading".utf8)
            && (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(folded[7])
    }

    private mutating func classify(_ name: UnsafeBufferPointer<UInt8>) -> Element {
        let (namespace, local) = namespaces.resolve(name)
        switch namespace {
        case .word: return Self.wordElement(local)
        case .markupCompatibility: return Self.equals(local, "Fallback") ? .skipped : .other
        case .other: return .other
        }
    }

    private static func wordElement(_ local: UnsafeBufferPointer<UInt8>) -> Element {
        switch local.count {
        case 1:
            switch local[0] {
            case UInt8(ascii: "p"): return .paragraph
            case UInt8(ascii: "r"): return .run
            case UInt8(ascii: "t"): return .text
            default: return .other
            }
        case 2:
            if Self.equals(local, "br") || Self.equals(local, "cr") { return .lineBreak }
            if Self.equals(local, "tr") { return .row }
            if Self.equals(local, "tc") { return .cell }
            return .other
        case 3:
            if Self.equals(local, "pPr") { return .paragraphProperties }
            if Self.equals(local, "tab") { return .tab }
            if Self.equals(local, "tbl") { return .table }
            return .other
        default:
            if Self.equals(local, "pStyle") { return .paragraphStyle }
            if Self.equals(local, "outlineLvl") { return .outlineLevel }
            if Self.equals(local, "noBreakHyphen") { return .nonBreakingHyphen }
            if Self.equals(local, "footnote") || Self.equals(local, "endnote") { return .note }
            if Self.equals(local, "moveFrom") || Self.equals(local, "pPrChange")
                || Self.equals(local, "rPrChange")
            {
                return .skipped
            }
            return .other
        }
    }

    @inline(__always)
    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        WordNamespaces.equals(bytes, literal)
    }
}
