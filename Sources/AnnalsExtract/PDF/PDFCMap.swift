/// A CMap (ISO 32000-1 §9.7.5, §9.10.3): how a font's character codes are split (code space ranges), which
/// Unicode text each code stands for (a `ToUnicode` CMap's `bfchar` and `bfrange`), and which CID (an embedded
/// encoding CMap's `cidchar` and `cidrange`).
///
/// Codes are looked up by value: a simple font's one-byte codes are found in a `ToUnicode` CMap that declares a
/// two-byte code space (groff writes such CMaps), as other readers do.
struct PDFCMap: Sendable {
    /// A range of codes of one length.
    struct CodeSpace: Sendable {
        var low: UInt32
        var high: UInt32
        var byteCount: Int
    }

    /// A `bfrange` whose destination increments through the range.
    struct TextRange: Sendable {
        var low: UInt32
        var high: UInt32
        /// The destination of `low`, as UTF-16 code units; the last unit increments through the range.
        var base: [UInt16]
    }

    /// A `cidrange`.
    struct CIDRange: Sendable {
        var low: UInt32
        var high: UInt32
        var cid: UInt32
    }

    /// The code space ranges, in the order declared.
    private(set) var codeSpaces: [CodeSpace] = []
    private var texts: [UInt32: String] = [:]
    private var textRanges: [TextRange] = []
    private var cids: [UInt32: UInt32] = [:]
    private var cidRanges: [CIDRange] = []
    /// The CMap this one builds on (`usecmap`), by name.
    private(set) var parentName: String?

    /// Whether the CMap maps any code to text.
    var hasText: Bool { !texts.isEmpty || !textRanges.isEmpty }

    /// Whether the CMap maps any code to a CID.
    var hasCIDs: Bool { !cids.isEmpty || !cidRanges.isEmpty }

    /// The text of `code`, or nil when the CMap does not map it.
    func text(for code: UInt32) -> String? {
        if let text = texts[code] { return text }
        for range in textRanges where range.low <= code && code <= range.high {
            var units = range.base
            if let last = units.last {
                units[units.count - 1] = last &+ UInt16(truncatingIfNeeded: code - range.low)
            }
            return String(decoding: units, as: UTF16.self)
        }
        return nil
    }

    /// The CID of `code`, or nil when the CMap does not map it.
    func cid(for code: UInt32) -> UInt32? {
        if let cid = cids[code] { return cid }
        for range in cidRanges where range.low <= code && code <= range.high {
            return range.cid &+ (code - range.low)
        }
        return nil
    }

    /// The length in bytes of the code that starts `bytes[index...]`, by the code space ranges; nil when there
    /// are none.
    func codeLength(_ bytes: [UInt8], at index: Int) -> Int? {
        guard !codeSpaces.isEmpty else { return nil }
        var value: UInt32 = 0
        for length in 1...4 where index + length <= bytes.count {
            value = value << 8 | UInt32(bytes[index + length - 1])
            for space in codeSpaces where space.byteCount == length && space.low <= value && value <= space.high {
                return length
            }
        }
        // No range matches: take the shortest declared length, as ISO 32000-1 §9.7.6.3 suggests.
        return codeSpaces.map(\.byteCount).min()
    }

    /// Parses a CMap's text (the decoded stream).
    ///
    /// A CMap is a PostScript program, but the parts that matter are a fixed vocabulary between `begin…` and
    /// `end…` keywords; everything else is skipped. Entries beyond `entriesMax` are refused.
    ///
    /// - Throws: `too_many_objects` past `entriesMax` mappings; `malformed` for a string cut off at the end.
    init(parsing data: [UInt8], entriesMax: Int) throws(ExtractionError) {
        var lexer = PDFLexer(bytes: data, isComplete: true)
        var operands: [PDFObject] = []
        var entries = 0
        func bump(_ count: Int) throws(ExtractionError) {
            entries += count
            if entries > entriesMax {
                throw ExtractionError(.tooManyObjects, "A CMap maps more than \(entriesMax) codes.")
            }
        }
        while true {
            let token: PDFToken
            do {
                token = try lexer.next()
            } catch {
                switch error {
                case .needMore: return
                case .failed(let failure): throw failure
                }
            }
            switch token {
            case .end:
                return
            case .keyword(let keyword):
                switch keyword {
                case Self.beginCodeSpaceRange:
                    for group in try Self.groups(of: 2, lexer: &lexer, objectsMax: entriesMax) {
                        guard case .string(let low) = group[0], case .string(let high) = group[1],
                            (1...4).contains(low.count), low.count == high.count
                        else { continue }
                        codeSpaces.append(CodeSpace(low: Self.value(low), high: Self.value(high), byteCount: low.count))
                    }
                case Self.beginBFChar:
                    for group in try Self.groups(of: 2, lexer: &lexer, objectsMax: entriesMax) {
                        guard case .string(let source) = group[0], source.count <= 4,
                            let text = Self.destination(group[1])
                        else { continue }
                        try bump(1)
                        texts[Self.value(source)] = text
                    }
                case Self.beginBFRange:
                    for group in try Self.groups(of: 3, lexer: &lexer, objectsMax: entriesMax) {
                        guard case .string(let lowBytes) = group[0], case .string(let highBytes) = group[1],
                            lowBytes.count <= 4, highBytes.count <= 4
                        else { continue }
                        let low = Self.value(lowBytes)
                        let high = Self.value(highBytes)
                        guard low <= high else { continue }
                        switch group[2] {
                        case .string(let base) where base.count >= 2:
                            try bump(1)
                            textRanges.append(TextRange(low: low, high: high, base: Self.utf16Units(base)))
                        case .array(let destinations):
                            // One destination per code, for at most as many codes as the range holds.
                            for (offset, destination) in destinations.enumerated()
                            where UInt64(offset) <= UInt64(high - low) {
                                guard let text = Self.destination(destination) else { continue }
                                try bump(1)
                                texts[low + UInt32(offset)] = text
                            }
                        default:
                            continue
                        }
                    }
                case Self.beginCIDChar:
                    for group in try Self.groups(of: 2, lexer: &lexer, objectsMax: entriesMax) {
                        guard case .string(let source) = group[0], source.count <= 4, let cid = group[1].integer,
                            cid >= 0
                        else { continue }
                        try bump(1)
                        cids[Self.value(source)] = UInt32(truncatingIfNeeded: cid)
                    }
                case Self.beginCIDRange:
                    for group in try Self.groups(of: 3, lexer: &lexer, objectsMax: entriesMax) {
                        guard case .string(let low) = group[0], case .string(let high) = group[1],
                            low.count <= 4, high.count <= 4, let cid = group[2].integer, cid >= 0
                        else { continue }
                        try bump(1)
                        cidRanges.append(
                            CIDRange(
                                low: Self.value(low), high: Self.value(high), cid: UInt32(truncatingIfNeeded: cid)))
                    }
                case Self.useCMap:
                    if case .name(let name) = operands.last { parentName = name }
                default:
                    break
                }
                operands.removeAll(keepingCapacity: true)
            case .arrayStart, .dictionaryStart:
                do {
                    _ = try PDFObjectParser.parse(
                        startingWith: token, lexer: &lexer, depthMax: 32, elementsMax: entriesMax)
                } catch {
                    switch error {
                    case .needMore: return
                    case .failed(let failure): throw failure
                    }
                }
            case .integer(let value):
                operands.append(.integer(value))
            case .name(let name):
                operands.append(.name(name))
            default:
                continue
            }
        }
    }

    /// A CMap mapping every two-byte code to the same CID (`Identity-H` and `Identity-V`).
    static var identity: PDFCMap {
        var cmap = PDFCMap()
        cmap.codeSpaces = [CodeSpace(low: 0, high: 0xFFFF, byteCount: 2)]
        cmap.cidRanges = [CIDRange(low: 0, high: 0xFFFF, cid: 0)]
        return cmap
    }

    private init() {}

    private static let beginCodeSpaceRange = PDFKeyword("begincodespacerange")
    private static let endCodeSpaceRange = PDFKeyword("endcodespacerange")
    private static let beginBFChar = PDFKeyword("beginbfchar")
    private static let endBFChar = PDFKeyword("endbfchar")
    private static let beginBFRange = PDFKeyword("beginbfrange")
    private static let endBFRange = PDFKeyword("endbfrange")
    private static let beginCIDChar = PDFKeyword("begincidchar")
    private static let endCIDChar = PDFKeyword("endcidchar")
    private static let beginCIDRange = PDFKeyword("begincidrange")
    private static let endCIDRange = PDFKeyword("endcidrange")
    private static let useCMap = PDFKeyword("usecmap")

    /// The objects between a `begin…` keyword and the next keyword (its `end…`), in groups of `size`.
    private static func groups(of size: Int, lexer: inout PDFLexer, objectsMax: Int) throws(ExtractionError)
        -> [[PDFObject]]
    {
        var objects: [PDFObject] = []
        scan: while true {
            do throws(PDFSyntaxError) {
                let token = try lexer.next()
                switch token {
                case .keyword, .end:
                    // Only strings, numbers, names and arrays belong in a group: any keyword ends it (normally
                    // `end`, but a damaged CMap ends where it can).
                    break scan
                default:
                    guard objects.count < objectsMax else {
                        throw .failed(
                            ExtractionError(.tooManyObjects, "A CMap maps more than \(objectsMax) codes."))
                    }
                    objects.append(
                        try PDFObjectParser.parse(
                            startingWith: token, lexer: &lexer, depthMax: 32, elementsMax: objectsMax))
                }
            } catch {
                switch error {
                case .needMore: break scan
                case .failed(let failure): throw failure
                }
            }
        }
        var result: [[PDFObject]] = []
        result.reserveCapacity(objects.count / size)
        var index = 0
        while index + size <= objects.count {
            result.append(Array(objects[index..<(index + size)]))
            index += size
        }
        return result
    }

    /// A code's value: its bytes, big-endian.
    private static func value(_ bytes: [UInt8]) -> UInt32 {
        var value: UInt32 = 0
        for byte in bytes.suffix(4) { value = value << 8 | UInt32(byte) }
        return value
    }

    private static func utf16Units(_ bytes: [UInt8]) -> [UInt16] {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = 0
        while index + 1 < bytes.count {
            units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
            index += 2
        }
        if index < bytes.count { units.append(UInt16(bytes[index])) }
        return units
    }

    /// The text of a `bfchar` or `bfrange` destination: UTF-16BE bytes, or a glyph name.
    private static func destination(_ object: PDFObject) -> String? {
        switch object {
        case .string(let bytes):
            guard !bytes.isEmpty else { return nil }
            return String(decoding: utf16Units(bytes), as: UTF16.self)
        case .name(let name):
            return PDFGlyphNames.text(for: name)
        default:
            return nil
        }
    }
}
