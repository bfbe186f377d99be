/// Where the cross-reference data says an object lives.
enum PDFCrossReferenceEntry: Sendable {
    /// Not listed by any cross-reference section.
    case unset
    /// Listed as free: a reference to it is a reference to `null`.
    case free
    /// At a byte offset of the file.
    case inFile(offset: Int, generation: Int)
    /// The `index`-th member of object stream `stream`.
    case inStream(stream: Int, index: Int)
}

/// One page to extract: its object, and the resources it inherits from the page tree when it has none itself.
struct PDFPage: Sendable {
    /// The page object (normally a reference).
    var object: PDFObject
    /// The nearest `/Resources` along the path from the root of the page tree, the page's own included.
    var resources: PDFObject?
}

/// A bounded cache of parsed objects: two generations of at most `generationEntriesMax` objects each; when the
/// recent one fills up it becomes the old one, and a hit in the old one moves the object back to the recent one.
/// Memory stays bounded whatever the size of the document, and objects used together stay cached together.
struct PDFObjectCache: Sendable {
    /// The most objects per generation.
    static let generationEntriesMax = 1024

    private var recent: [Int: PDFObject] = [:]
    private var older: [Int: PDFObject] = [:]

    /// The cached object numbered `number`.
    mutating func object(_ number: Int) -> PDFObject? {
        if let object = recent[number] { return object }
        guard let object = older[number] else { return nil }
        insert(object, for: number)
        return object
    }

    /// Caches `object` as object `number`.
    mutating func insert(_ object: PDFObject, for number: Int) {
        if recent.count >= Self.generationEntriesMax {
            older = recent
            recent.removeAll(keepingCapacity: true)
        }
        recent[number] = object
    }

    /// Forgets everything (after the cross-reference data was rebuilt).
    mutating func removeAll() {
        recent.removeAll()
        older.removeAll()
    }
}

/// A decoded object stream (`/Type /ObjStm`): its data, and where each member object starts.
struct PDFObjectStreamData: Sendable {
    var data: [UInt8]
    var first: Int
    var members: [(number: Int, offset: Int)]
}

/// A PDF file opened for reading objects: the cross-reference data, a bounded cache of parsed objects and decoded
/// object streams, and the document's decompression budget.
///
/// Reads go through the ``ByteSource`` a window at a time; nothing holds the whole file.
struct PDFDocument: Sendable {
    /// The first window read for an object; grown (4× at a time) when the object is larger.
    static let objectWindowBytes = 4096
    /// The largest object (without stream data) read from the file.
    static let objectBytesMax = 32 * 1024 * 1024
    /// The largest decoded object stream, cross-reference stream or CMap.
    static let auxiliaryStreamBytesMax = 64 * 1024 * 1024
    /// How deep reading one object may need others (a stream's `/Length`, an object stream): no real file goes
    /// beyond 3; the limit keeps a hostile file from nesting reads (which recurse) deeply.
    static let loadDepthMax = 16
    /// The most decoded object streams kept.
    static let objectStreamsCachedMax = 8
    /// The most fonts kept across pages.
    static let fontsCachedMax = 512
    /// The window of the recovery scan.
    static let scanWindowBytes = 1024 * 1024

    /// The document's bytes.
    let source: any ByteSource
    /// The limits.
    let configuration: TextExtractor.Configuration
    /// The decompression allowance shared by every stream of the document.
    var budget: DecompressionBudget
    /// The cross-reference entries, by object number (set by `PDFDocument+CrossReference.swift`).
    var entries: [PDFCrossReferenceEntry] = []
    /// The trailer (merged over incremental updates, the newest first).
    var trailer = PDFDictionary()
    /// Whether the cross-reference data was rebuilt by scanning the file.
    var isRecovered = false
    /// The parsed objects (emptied when the cross-reference data is rebuilt).
    var cache = PDFObjectCache()
    /// The decoded object streams, the most recently used last.
    var objectStreams: [(number: Int, stream: PDFObjectStreamData)] = []
    private var fonts: [Int: PDFFont] = [:]
    private var loading: Set<Int> = []

    /// Opens the document: finds and reads the cross-reference data (rebuilding it by a scan when it is damaged).
    ///
    /// - Throws: `encrypted` when the trailer has `/Encrypt`; `malformed` when no PDF header or no document catalog
    ///   can be found; `too_many_objects` past `pdfObjectsMax`; `too_deep` for an endless chain of updates.
    init(source: any ByteSource, configuration: TextExtractor.Configuration) throws(ExtractionError) {
        assert(PDFKeyword.objectSyntax.allSatisfy { $0.0 == PDFKeyword($0.1) }, "A keyword is packed wrong.")
        self.source = source
        self.configuration = configuration
        self.budget = DecompressionBudget(configuration)
        guard source.size > 0 else { throw ExtractionError(.empty, "The document is empty.") }
        let head = try source.read(offset: 0, count: 1024)
        guard Self.find(Array("%PDF-".utf8), in: head, from: 0) != nil else {
            throw ExtractionError(.malformed, "The document has no PDF header (%PDF-).", byteOffset: 0)
        }
        do {
            try loadCrossReference()
        } catch {
            guard error.code == .malformed else { throw error }
            try recover()
        }
        if trailer["Root"] == nil && !isRecovered { try recover() }
        if let encrypt = trailer["Encrypt"], !encrypt.isNull {
            throw ExtractionError(.encrypted, "The PDF is encrypted; its text cannot be read without the password.")
        }
        guard trailer["Root"] != nil else {
            throw ExtractionError(.malformed, "The PDF has no document catalog (/Root).")
        }
    }

    // MARK: - Objects

    /// Follows references until a direct object (nil and missing objects are `null`).
    ///
    /// - Throws: `too_deep` when references chain beyond `nestingDepthMax` (a loop such as `1 0 R` → `2 0 R` →
    ///   `1 0 R`); whatever reading an object throws.
    mutating func resolve(_ object: PDFObject?) throws(ExtractionError) -> PDFObject {
        guard var current = object else { return .null }
        var steps = 0
        while case .reference(let reference) = current {
            steps += 1
            guard steps <= configuration.nestingDepthMax else {
                throw ExtractionError(
                    .tooDeep,
                    "A chain of object references is longer than the limit of \(configuration.nestingDepthMax) "
                        + "(object \(reference.number) is part of a loop or a very long chain).")
            }
            current = try self.object(reference)
        }
        return current
    }

    /// The object `reference` names (`null` when it does not exist); parsed once, then cached.
    ///
    /// A damaged entry (an offset that does not hold the object) makes the document rebuild its cross-reference
    /// data by scanning the file, once; an object still damaged after that is `null`, as in other readers.
    mutating func object(_ reference: PDFReference) throws(ExtractionError) -> PDFObject {
        let number = reference.number
        guard number >= 0 && number < entries.count else { return .null }
        if let cached = cache.object(number) { return cached }
        guard loading.insert(number).inserted else {
            throw ExtractionError(.malformed, "Object \(number) needs itself to be read (a loop).")
        }
        defer { loading.remove(number) }
        guard loading.count <= Self.loadDepthMax else {
            throw ExtractionError(
                .tooDeep, "Reading object \(number) needs objects nested deeper than \(Self.loadDepthMax).")
        }
        let result: PDFObject
        do {
            result = try load(number)
        } catch {
            guard error.code == .malformed else { throw error }
            if isRecovered || loading.count > 1 {
                // Already rebuilt, or nested inside another read: the object is damaged; `null` stands for it.
                if isRecovered { return .null }
                throw error
            }
            try recover()
            guard number < entries.count else { return .null }
            do {
                result = try load(number)
            } catch {
                guard error.code == .malformed else { throw error }
                return .null
            }
        }
        cache.insert(result, for: number)
        return result
    }

    private mutating func load(_ number: Int) throws(ExtractionError) -> PDFObject {
        switch entries[number] {
        case .inFile(let offset, _):
            let (reference, object) = try parseIndirectObject(at: offset)
            guard reference.number == number else {
                throw ExtractionError(
                    .malformed, "The cross-reference data puts object \(number) where object \(reference.number) is.",
                    byteOffset: offset)
            }
            return object
        case .inStream(let stream, let index):
            return try objectFromStream(stream, index: index, number: number)
        case .free, .unset:
            return .null
        }
    }

    /// Parses the indirect object (`N G obj … endobj`) at `offset`; a stream keeps only where its data starts.
    ///
    /// - Throws: `malformed` when `offset` holds no object; `too_deep` for nesting beyond the limit.
    func parseIndirectObject(at offset: Int) throws(ExtractionError) -> (PDFReference, PDFObject) {
        guard offset >= 0 && offset < source.size else {
            throw ExtractionError(.malformed, "An object offset lies outside the file.", byteOffset: offset)
        }
        let (depthMax, elementsMax) = (configuration.nestingDepthMax, configuration.pdfObjectsMax)
        return try parseGrowingWindow(at: offset) { (lexer) throws(PDFSyntaxError) in
            try Self.parseIndirect(&lexer, depthMax: depthMax, elementsMax: elementsMax)
        }
    }

    /// Runs `parse` over a window of the file at `offset`, widening the window fourfold (up to `objectBytesMax`)
    /// each time the parser needs more bytes than the window holds.
    ///
    /// - Throws: `malformed` for an object larger than `objectBytesMax`; the parser's own failures.
    private func parseGrowingWindow<Value>(
        at offset: Int, _ parse: (inout PDFLexer) throws(PDFSyntaxError) -> Value
    ) throws(ExtractionError) -> Value {
        var windowBytes = Self.objectWindowBytes
        while true {
            let bytes = try source.read(offset: offset, count: windowBytes)
            var lexer = PDFLexer(bytes: bytes, isComplete: offset + bytes.count >= source.size, baseOffset: offset)
            do {
                return try parse(&lexer)
            } catch {
                switch error {
                case .needMore:
                    guard windowBytes < Self.objectBytesMax else {
                        throw ExtractionError(
                            .malformed, "An object is larger than \(Self.objectBytesMax) bytes.", byteOffset: offset)
                    }
                    windowBytes *= 4
                case .failed(let failure):
                    throw failure
                }
            }
        }
    }

    private static func parseIndirect(_ lexer: inout PDFLexer, depthMax: Int, elementsMax: Int)
        throws(PDFSyntaxError)
        -> (PDFReference, PDFObject)
    {
        guard case .integer(let number) = try lexer.next(), case .integer(let generation) = try lexer.next(),
            case .keyword(let keyword) = try lexer.next(), keyword == .obj
        else {
            throw .malformed("Expected an object (`N G obj`).", at: lexer.baseOffset)
        }
        let reference = PDFReference(number: number, generation: generation)
        let value = try PDFObjectParser.parseValue(&lexer, depthMax: depthMax, elementsMax: elementsMax)
        guard case .keyword(let next) = try lexer.next(), next == .stream, case .dictionary(let dictionary) = value
        else {
            // `endobj`, or anything else: a missing `endobj` is common enough to forgive.
            return (reference, value)
        }
        // The data starts after the end of line that follows `stream` (CR LF or LF; a lone CR or stray spaces are
        // forgiven).
        let bytes = lexer.bytes
        var index = lexer.position
        while index < bytes.count && bytes[index] == 0x20 { index += 1 }
        if index < bytes.count && bytes[index] == 0x0D { index += 1 }
        if index < bytes.count && bytes[index] == 0x0A { index += 1 }
        if index >= bytes.count && !lexer.isComplete { throw .needMore }
        return (reference, .stream(PDFStream(dictionary: dictionary, dataOffset: lexer.baseOffset + index)))
    }

    /// Parses a direct object (a trailer dictionary) at `offset`.
    func parseDirectObject(at offset: Int) throws(ExtractionError) -> PDFObject {
        let (depthMax, elementsMax) = (configuration.nestingDepthMax, configuration.pdfObjectsMax)
        return try parseGrowingWindow(at: offset) { (lexer) throws(PDFSyntaxError) in
            try PDFObjectParser.parseValue(&lexer, depthMax: depthMax, elementsMax: elementsMax)
        }
    }

    // MARK: - Object streams

    mutating func objectStream(_ number: Int) throws(ExtractionError) -> PDFObjectStreamData {
        if let index = objectStreams.firstIndex(where: { $0.number == number }) {
            let found = objectStreams.remove(at: index)
            objectStreams.append(found)
            return found.stream
        }
        guard number >= 0 && number < entries.count, case .inFile = entries[number] else {
            throw ExtractionError(.malformed, "Object stream \(number) is not an object of the file itself.")
        }
        guard let stream = try resolve(.reference(PDFReference(number: number, generation: 0))).stream else {
            throw ExtractionError(.malformed, "Object \(number) is named as an object stream but is not a stream.")
        }
        let count = stream.dictionary.integer("N") ?? 0
        let first = stream.dictionary.integer("First") ?? 0
        guard count >= 0 && count <= configuration.pdfObjectsMax else {
            throw ExtractionError(
                .tooManyObjects, "An object stream holds more than \(configuration.pdfObjectsMax) objects.")
        }
        guard first >= 0 else { throw ExtractionError(.malformed, "An object stream has a negative /First.") }
        let data = try decodeStream(stream, bytesMax: Self.auxiliaryStreamBytesMax, what: "An object stream")
        var lexer = PDFLexer(bytes: Array(data.prefix(first)), isComplete: true)
        var members: [(number: Int, offset: Int)] = []
        members.reserveCapacity(count)
        for _ in 0..<count {
            guard case .integer(let member) = try? lexer.next(), case .integer(let offset) = try? lexer.next() else {
                break
            }
            members.append((member, offset))
        }
        let decoded = PDFObjectStreamData(data: data, first: first, members: members)
        objectStreams.append((number, decoded))
        if objectStreams.count > Self.objectStreamsCachedMax { objectStreams.removeFirst() }
        return decoded
    }

    mutating func objectFromStream(_ stream: Int, index: Int, number: Int) throws(ExtractionError)
        -> PDFObject
    {
        let container = try objectStream(stream)
        let offset: Int?
        if index >= 0 && index < container.members.count && container.members[index].number == number {
            offset = container.members[index].offset
        } else {
            offset = container.members.first { $0.number == number }?.offset
        }
        guard let offset, offset >= 0, container.first + offset < container.data.count else { return .null }
        var lexer = PDFLexer(bytes: container.data, position: container.first + offset, isComplete: true)
        do {
            return try PDFObjectParser.parseValue(
                &lexer, depthMax: configuration.nestingDepthMax, elementsMax: configuration.pdfObjectsMax)
        } catch {
            switch error {
            case .needMore: return .null
            case .failed(let failure): throw failure
            }
        }
    }

    // MARK: - Streams

    /// A reader of `stream`'s decoded data.
    ///
    /// - Throws: `malformed` for a stream without an end or with a filter that holds no text.
    mutating func streamReader(_ stream: PDFStream) throws(ExtractionError) -> PDFStreamReader {
        let length = try streamLength(stream)
        let dictionary = stream.dictionary
        var filters: [String] = []
        switch try resolve(dictionary["Filter"] ?? dictionary["F"]) {
        case .name(let name):
            filters = [name]
        case .array(let names):
            for name in names {
                guard let name = try resolve(name).name else {
                    throw ExtractionError(.malformed, "A stream's /Filter lists something other than names.")
                }
                filters.append(name)
            }
        default:
            break
        }
        var parameters: [PDFDictionary?] = []
        switch try resolve(dictionary["DecodeParms"] ?? dictionary["DP"]) {
        case .dictionary(let single):
            parameters = [single]
        case .array(let list):
            for item in list { parameters.append(try resolve(item).dictionary) }
        default:
            break
        }
        let stages = try PDFFilters.stages(filters: filters, parameters: parameters)
        return PDFStreamReader(offset: stream.dataOffset, length: length, stages: stages)
    }

    /// The whole decoded data of `stream`, for the streams that must be whole (object streams, cross-reference
    /// streams, CMaps).
    mutating func decodeStream(_ stream: PDFStream, bytesMax: Int, what: String) throws(ExtractionError) -> [UInt8] {
        var reader = try streamReader(stream)
        return try reader.readAll(source: source, budget: &budget, bytesMax: bytesMax, what: what)
    }

    /// The length of `stream`'s data: `/Length` when `endstream` follows it, otherwise found by searching for
    /// `endstream` (writers get `/Length` wrong often enough).
    private mutating func streamLength(_ stream: PDFStream) throws(ExtractionError) -> Int {
        let keyword = Array("endstream".utf8)
        if let declared = try resolve(stream.dictionary["Length"]).integer, declared >= 0,
            stream.dataOffset + declared <= source.size
        {
            let tail = try source.read(offset: stream.dataOffset + declared, count: 64)
            var index = 0
            while index < tail.count && PDFLexer.isWhitespace(tail[index]) { index += 1 }
            if tail[index...].starts(with: keyword) { return declared }
        }
        guard let end = try find(keyword, from: stream.dataOffset) else {
            throw ExtractionError(
                .malformed, "A stream has no end (`endstream`); the file may be truncated.",
                byteOffset: stream.dataOffset)
        }
        var length = end - stream.dataOffset
        if length > 0 {
            // The end of line before `endstream` is not part of the data.
            let before = try source.read(offset: end - min(2, length), count: min(2, length))
            if before.last == 0x0A {
                length -= before.count == 2 && before.first == 0x0D ? 2 : 1
            } else if before.last == 0x0D {
                length -= 1
            }
        }
        return max(0, length)
    }

    /// The offset of the first `pattern` at or after `offset` in the file, read a window at a time.
    func find(_ pattern: [UInt8], from offset: Int) throws(ExtractionError) -> Int? {
        var start = offset
        while start < source.size {
            let window = try source.read(offset: start, count: Self.scanWindowBytes + pattern.count)
            if let index = Self.find(pattern, in: window, from: 0) { return start + index }
            if start + window.count >= source.size { return nil }
            start += Self.scanWindowBytes
        }
        return nil
    }

    /// The index of the first `pattern` in `bytes` at or after `from`.
    static func find(_ pattern: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
        var index = from
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < pattern.count && bytes[index + matched] == pattern[matched] { matched += 1 }
                if matched == pattern.count { return index }
            }
            index += 1
        }
        return nil
    }

    // MARK: - Fonts

    /// The font `object` (a font resource) describes; fonts named by reference are cached across pages.
    mutating func font(_ object: PDFObject) throws(ExtractionError) -> PDFFont {
        let reference = object.reference
        if let reference, let font = fonts[reference.number] { return font }
        guard let dictionary = try resolve(object).dictionary else { return .fallback }
        let font = try makeFont(dictionary)
        if let reference {
            if fonts.count >= Self.fontsCachedMax { fonts.removeAll() }
            fonts[reference.number] = font
        }
        return font
    }

    // MARK: - Pages

    /// The pages in order, from the page tree (`/Kids`), with the resources each inherits.
    ///
    /// - Throws: `malformed` without a page tree; `too_deep` past `nestingDepthMax` levels; `too_many_objects`
    ///   past `pdfObjectsMax` pages.
    mutating func pages() throws(ExtractionError) -> [PDFPage] {
        do {
            return try pageTree()
        } catch {
            // The cross-reference data may point at the wrong places although it reads well: scan once and retry.
            guard error.code == .malformed, !isRecovered else { throw error }
            try recover()
            return try pageTree()
        }
    }

    private mutating func pageTree() throws(ExtractionError) -> [PDFPage] {
        guard let catalog = try resolve(trailer["Root"]).dictionary else {
            throw ExtractionError(.malformed, "The PDF's document catalog is missing or damaged.")
        }
        guard let root = catalog["Pages"], try resolve(root).dictionary != nil else {
            throw ExtractionError(
                .malformed, "The PDF's page tree (/Pages) is missing or damaged; the file may be truncated.")
        }
        var stack: [(node: PDFObject, resources: PDFObject?, depth: Int)] = [(root, nil, 0)]
        var visited: Set<Int> = []
        var pages: [PDFPage] = []
        while let (node, inherited, depth) = stack.popLast() {
            if let reference = node.reference {
                // A node reached twice (a loop in the tree, or a shared kid) counts once.
                guard visited.insert(reference.number).inserted else { continue }
            }
            guard let dictionary = try resolve(node).dictionary else { continue }
            let resources = dictionary["Resources"] ?? inherited
            let type = dictionary.name("Type")
            if type != "Page", let kids = dictionary["Kids"] {
                guard depth < configuration.nestingDepthMax else {
                    throw ExtractionError(
                        .tooDeep, "The page tree nests deeper than the limit of \(configuration.nestingDepthMax).")
                }
                for kid in (try resolve(kids).array ?? []).reversed() {
                    stack.append((kid, resources, depth + 1))
                }
                guard stack.count <= configuration.pdfObjectsMax else {
                    throw ExtractionError(
                        .tooManyObjects, "The page tree lists more than \(configuration.pdfObjectsMax) nodes.")
                }
            } else if type == "Page" || dictionary["Contents"] != nil {
                pages.append(PDFPage(object: node, resources: resources))
                guard pages.count <= configuration.pdfObjectsMax else {
                    throw ExtractionError(
                        .tooManyObjects, "The PDF has more than \(configuration.pdfObjectsMax) pages.")
                }
            }
        }
        if pages.isEmpty && isRecovered {
            throw ExtractionError(.malformed, "The PDF is damaged and none of its pages can be found.")
        }
        return pages
    }
}

extension PDFObject {
    /// Whether the object is `null`.
    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
