/// Reading the cross-reference data (ISO 32000-1 §7.5.4 to §7.5.8): classic tables, cross-reference streams,
/// hybrid files and incremental updates; and rebuilding it by scanning the file when it is damaged.
extension PDFDocument {
    // MARK: - Cross-reference data

    /// Records where object `number` lives, unless a newer section already did (`overwrite` for the recovery
    /// scan, where the last definition in the file wins).
    mutating func setEntry(_ number: Int, _ entry: PDFCrossReferenceEntry, overwrite: Bool = false)
        throws(ExtractionError)
    {
        guard number >= 0 else { return }
        guard number < configuration.pdfObjectsMax else {
            throw ExtractionError(
                .tooManyObjects, "The PDF has more than \(configuration.pdfObjectsMax) objects.")
        }
        if number >= entries.count {
            entries.append(contentsOf: repeatElement(.unset, count: number + 1 - entries.count))
        }
        if overwrite {
            entries[number] = entry
        } else if case .unset = entries[number] {
            entries[number] = entry
        }
    }

    /// Reads the cross-reference sections from `startxref` back through `/Prev` (incremental updates).
    mutating func loadCrossReference() throws(ExtractionError) {
        let tailCount = min(source.size, 2048)
        let tail = try source.read(offset: source.size - tailCount, count: tailCount)
        let keyword = Array("startxref".utf8)
        var found: Int?
        var search = 0
        while let index = Self.find(keyword, in: tail, from: search) {
            found = index
            search = index + 1
        }
        guard let found else {
            throw ExtractionError(.malformed, "The PDF has no `startxref`; the file may be truncated.")
        }
        var lexer = PDFLexer(bytes: tail, position: found + keyword.count, isComplete: true)
        guard case .integer(let start) = try? lexer.next() else {
            throw ExtractionError(.malformed, "`startxref` is not followed by an offset.")
        }
        var merged: [String: PDFObject] = [:]
        var next: Int? = start
        var visited: Set<Int> = []
        while let offset = next {
            guard visited.insert(offset).inserted else { break }
            guard visited.count <= configuration.nestingDepthMax else {
                throw ExtractionError(
                    .tooDeep,
                    "The PDF chains more than \(configuration.nestingDepthMax) cross-reference sections (/Prev).")
            }
            let sectionTrailer = try loadSection(at: offset)
            for (key, value) in sectionTrailer.entries where merged[key] == nil { merged[key] = value }
            // A hybrid file's table points at a stream for objects in object streams; its entries come after the
            // table's own and before older sections'.
            if let streamOffset = sectionTrailer.integer("XRefStm"), visited.insert(streamOffset).inserted {
                _ = try loadSection(at: streamOffset)
            }
            next = sectionTrailer.integer("Prev")
        }
        merged["Prev"] = nil
        merged["XRefStm"] = nil
        trailer = PDFDictionary(merged)
    }

    /// Reads the table or stream at `offset`; returns its trailer dictionary.
    private mutating func loadSection(at offset: Int) throws(ExtractionError) -> PDFDictionary {
        guard offset >= 0 && offset < source.size else {
            throw ExtractionError(.malformed, "A cross-reference offset lies outside the file.", byteOffset: offset)
        }
        var tokens = try PDFFileTokens(source: source, offset: offset)
        if case .keyword(let keyword) = try tokens.next(), keyword == .xref {
            return try loadTable(&tokens)
        }
        let (_, object) = try parseIndirectObject(at: offset)
        guard let stream = object.stream, stream.dictionary.name("Type") == "XRef" else {
            throw ExtractionError(
                .malformed, "`startxref` points at neither a table nor a cross-reference stream.", byteOffset: offset)
        }
        try loadStream(stream)
        return stream.dictionary
    }

    private mutating func loadTable(_ tokens: inout PDFFileTokens) throws(ExtractionError) -> PDFDictionary {
        let free = PDFKeyword("f")
        let used = PDFKeyword("n")
        while true {
            switch try tokens.next() {
            case .integer(let first):
                guard case .integer(let count) = try tokens.next(), first >= 0, count >= 0 else {
                    throw ExtractionError(.malformed, "A cross-reference subsection header is damaged.")
                }
                guard first + count <= configuration.pdfObjectsMax else {
                    throw ExtractionError(
                        .tooManyObjects, "The PDF has more than \(configuration.pdfObjectsMax) objects.")
                }
                var number = first
                for index in 0..<count {
                    guard case .integer(let offset) = try tokens.next(),
                        case .integer(let generation) = try tokens.next(),
                        case .keyword(let kind) = try tokens.next(), kind == free || kind == used
                    else {
                        throw ExtractionError(
                            .malformed, "A cross-reference entry is damaged.", byteOffset: tokens.offset)
                    }
                    // Some writers number the first subsection from 1 although it starts with object 0's entry.
                    if index == 0 && first == 1 && kind == free && generation == 65535 { number = 0 }
                    try setEntry(number, kind == used ? .inFile(offset: offset, generation: generation) : .free)
                    number += 1
                }
            case .keyword(let keyword) where keyword == .trailer:
                guard let dictionary = try parseDirectObject(at: tokens.offset).dictionary else {
                    throw ExtractionError(.malformed, "The trailer is not a dictionary.", byteOffset: tokens.offset)
                }
                return dictionary
            default:
                throw ExtractionError(.malformed, "A cross-reference table is damaged.", byteOffset: tokens.offset)
            }
        }
    }

    private mutating func loadStream(_ stream: PDFStream) throws(ExtractionError) {
        let dictionary = stream.dictionary
        let widths = (dictionary["W"]?.array ?? []).compactMap(\.integer)
        guard widths.count == 3, widths.allSatisfy({ (0...8).contains($0) }), widths.reduce(0, +) > 0 else {
            throw ExtractionError(.malformed, "A cross-reference stream has a damaged /W.")
        }
        let size = dictionary.integer("Size") ?? 0
        var index = (dictionary["Index"]?.array ?? []).compactMap(\.integer)
        if index.isEmpty || index.count % 2 != 0 { index = [0, size] }
        let data = try decodeStream(
            stream, bytesMax: Self.auxiliaryStreamBytesMax, what: "A cross-reference stream")
        let rowBytes = widths.reduce(0, +)
        var position = 0
        func field(_ width: Int) -> Int {
            var value = 0
            for _ in 0..<width {
                value = value << 8 | Int(data[position])
                position += 1
            }
            return value
        }
        for pair in stride(from: 0, to: index.count, by: 2) {
            let first = index[pair]
            let count = index[pair + 1]
            guard first >= 0, count >= 0, first + count <= configuration.pdfObjectsMax else {
                throw ExtractionError(
                    .tooManyObjects, "The PDF has more than \(configuration.pdfObjectsMax) objects.")
            }
            for number in first..<(first + count) {
                guard position + rowBytes <= data.count else { return }
                let type = widths[0] == 0 ? 1 : field(widths[0])
                let second = field(widths[1])
                let third = field(widths[2])
                switch type {
                case 0: try setEntry(number, .free)
                case 1: try setEntry(number, .inFile(offset: second, generation: third))
                case 2: try setEntry(number, .inStream(stream: second, index: third))
                default: continue
                }
            }
        }
    }

    // MARK: - Recovery

    /// Rebuilds the cross-reference data by scanning the file for `N G obj` and `trailer` (the last definition of
    /// an object wins, as in an incrementally updated file), then reading the members of object streams.
    ///
    /// - Throws: `malformed` when no document catalog can be found; `too_many_objects` past `pdfObjectsMax`.
    mutating func recover() throws(ExtractionError) {
        isRecovered = true
        entries = []
        cache.removeAll()
        objectStreams = []
        var trailerOffsets: [Int] = []
        let overlap = 32
        let trailerKeyword = Array("trailer".utf8)
        var windowStart = 0
        while windowStart < source.size {
            let readStart = max(0, windowStart - overlap)
            let bytes = try source.read(offset: readStart, count: Self.scanWindowBytes + 2 * overlap)
            let isEnd = readStart + bytes.count >= source.size
            let first = windowStart - readStart
            let last = min(bytes.count, first + Self.scanWindowBytes)
            var index = first
            while index < last {
                let byte = bytes[index]
                if byte == UInt8(ascii: "o"), index + 3 <= bytes.count, bytes[index + 1] == UInt8(ascii: "b"),
                    bytes[index + 2] == UInt8(ascii: "j"),
                    index + 3 == bytes.count ? isEnd : PDFLexer.isBoundary(bytes[index + 3]),
                    let header = Self.objectHeader(before: index, in: bytes)
                {
                    try setEntry(
                        header.number, .inFile(offset: readStart + header.start, generation: header.generation),
                        overwrite: true)
                } else if byte == UInt8(ascii: "t"), bytes[index...].starts(with: trailerKeyword) {
                    trailerOffsets.append(readStart + index + trailerKeyword.count)
                }
                index += 1
            }
            windowStart += Self.scanWindowBytes
        }
        var merged: [String: PDFObject] = [:]
        for offset in trailerOffsets {
            guard let dictionary = try? parseDirectObject(at: offset).dictionary else { continue }
            // Later trailers belong to later updates: theirs win.
            for (key, value) in dictionary.entries { merged[key] = value }
        }
        var catalog: PDFReference?
        var streamTrailer: [String: PDFObject] = [:]
        var containers: [Int] = []
        for number in entries.indices {
            guard case .inFile(let offset, _) = entries[number],
                let (reference, object) = try? parseIndirectObject(at: offset),
                let dictionary = object.dictionary
            else { continue }
            switch dictionary.name("Type") {
            case "Catalog":
                catalog = reference
            case "XRef":
                for key in ["Root", "Encrypt", "Info"] { if let value = dictionary[key] { streamTrailer[key] = value } }
            case "ObjStm":
                containers.append(number)
            default:
                break
            }
        }
        for container in containers {
            let members: [(number: Int, offset: Int)]
            do {
                members = try objectStream(container).members
            } catch {
                guard error.code == .malformed else { throw error }
                continue
            }
            for (index, member) in members.enumerated() {
                if isUnset(member.number) {
                    try setEntry(member.number, .inStream(stream: container, index: index))
                    if catalog == nil,
                        let dictionary = try? objectFromStream(container, index: index, number: member.number)
                            .dictionary,
                        dictionary.name("Type") == "Catalog"
                    {
                        catalog = PDFReference(number: member.number, generation: 0)
                    }
                }
            }
        }
        for (key, value) in streamTrailer where merged[key] == nil { merged[key] = value }
        if merged["Root"] == nil, let catalog { merged["Root"] = .reference(catalog) }
        merged["Prev"] = nil
        trailer = PDFDictionary(merged)
        guard trailer["Root"] != nil else {
            throw ExtractionError(
                .malformed, "The PDF's cross-reference data is damaged and no document catalog can be found.")
        }
    }

    private func isUnset(_ number: Int) -> Bool {
        guard number >= 0 && number < entries.count else { return true }
        if case .unset = entries[number] { return true }
        return false
    }

    /// The `N G` before an `obj` keyword at `index`: where it starts, the object number and generation.
    private static func objectHeader(before index: Int, in bytes: [UInt8]) -> (
        start: Int, number: Int, generation: Int
    )? {
        var cursor = index - 1
        func skipSpaces() -> Bool {
            let end = cursor
            while cursor >= 0 && PDFLexer.isWhitespace(bytes[cursor]) { cursor -= 1 }
            return cursor < end
        }
        func digits(_ countMax: Int) -> Int? {
            let end = cursor
            while cursor >= 0 && end - cursor < countMax + 1 && bytes[cursor] >= UInt8(ascii: "0")
                && bytes[cursor] <= UInt8(ascii: "9")
            {
                cursor -= 1
            }
            guard cursor < end, end - cursor <= countMax else { return nil }
            var value = 0
            for position in (cursor + 1)...end { value = value * 10 + Int(bytes[position] - UInt8(ascii: "0")) }
            return value
        }
        guard skipSpaces(), let generation = digits(5), skipSpaces(), let number = digits(10) else { return nil }
        guard cursor < 0 || PDFLexer.isBoundary(bytes[cursor]) else { return nil }
        return (cursor + 1, number, generation)
    }
}

/// Tokens read from the file through a window that moves forward (and grows for a long token).
struct PDFFileTokens {
    /// The window read at a time.
    static let windowBytes = 64 * 1024

    private let source: any ByteSource
    private var lexer: PDFLexer

    init(source: any ByteSource, offset: Int) throws(ExtractionError) {
        self.source = source
        let bytes = try source.read(offset: offset, count: Self.windowBytes)
        lexer = PDFLexer(bytes: bytes, isComplete: offset + bytes.count >= source.size, baseOffset: offset)
    }

    /// The file offset of the next byte.
    var offset: Int { lexer.baseOffset + lexer.position }

    /// The next token.
    mutating func next() throws(ExtractionError) -> PDFToken {
        while true {
            let start = lexer.position
            do {
                return try lexer.next()
            } catch {
                switch error {
                case .needMore:
                    let absolute = lexer.baseOffset + start
                    let count = start == 0 ? lexer.bytes.count * 2 : Self.windowBytes
                    guard count <= PDFDocument.objectBytesMax else {
                        throw ExtractionError(.malformed, "A token is too long.", byteOffset: absolute)
                    }
                    let bytes = try source.read(offset: absolute, count: count)
                    lexer = PDFLexer(
                        bytes: bytes, isComplete: absolute + bytes.count >= source.size, baseOffset: absolute)
                case .failed(let failure):
                    throw failure
                }
            }
        }
    }
}
