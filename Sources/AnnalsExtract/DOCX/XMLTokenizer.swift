/// Receives what an ``XMLTokenizer`` finds, in document order.
///
/// Implementation requirements: the buffers passed in are valid only during the call; copy what must be kept.
protocol XMLTokenHandler {
    /// A start tag, or an empty-element tag (which is followed at once by ``endElement(_:)``).
    mutating func startElement(_ tag: XMLTag) throws(ExtractionError)
    /// An end tag, or the end of an empty-element tag. The tag holds the name only.
    mutating func endElement(_ tag: XMLTag) throws(ExtractionError)
    /// Character data, with entities and character references decoded (CDATA included). One run of text may
    /// arrive in several calls.
    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError)
}

/// A tag's name and attributes, as bytes (between `<` and `>`, without the `/` of end and empty tags).
struct XMLTag {
    /// The tag's bytes: the name, then the attributes.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The number of bytes of the name.
    let nameLength: Int

    /// The qualified name (`w:p`).
    var name: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[0..<nameLength]) }

    /// Calls `body` with each attribute's qualified name and raw value (entities not decoded), in order; stops at
    /// the first byte that does not continue a well-formed attribute list.
    func forEachAttribute(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) {
        let end = bytes.count
        var index = nameLength
        while true {
            while index < end && XMLTokenizer.isSpace(bytes[index]) { index += 1 }
            let nameStart = index
            while index < end && bytes[index] != UInt8(ascii: "=") && !XMLTokenizer.isSpace(bytes[index]) {
                index += 1
            }
            let nameEnd = index
            while index < end && XMLTokenizer.isSpace(bytes[index]) { index += 1 }
            guard nameEnd > nameStart, index < end, bytes[index] == UInt8(ascii: "=") else { return }
            index += 1
            while index < end && XMLTokenizer.isSpace(bytes[index]) { index += 1 }
            guard index < end, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else { return }
            let quote = bytes[index]
            index += 1
            let valueStart = index
            while index < end && bytes[index] != quote { index += 1 }
            guard index < end else { return }
            body(
                UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd]),
                UnsafeBufferPointer(rebasing: bytes[valueStart..<index]))
            index += 1
        }
    }

    /// The raw value of the first attribute whose local name (after any prefix) is `localName`.
    func attribute(localName: [UInt8]) -> [UInt8]? {
        var found: [UInt8]?
        forEachAttribute { name, value in
            guard found == nil else { return }
            let colon = name.lastIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? 0
            if name[colon...].elementsEqual(localName) { found = Array(value) }
        }
        return found
    }
}

/// A streaming XML tokenizer: bytes in, in pieces of any size; start tags, end tags and character data out.
///
/// Enough XML for office documents, not a validating parser: tags, attributes (quoted values may hold `>`),
/// the five predefined entities and character references, comments, CDATA sections and processing instructions.
/// A document type declaration is refused, since it is how entity-expansion attacks begin and Word never writes
/// one; an unknown entity reference is passed through as written. End tags are checked only for balance (the
/// depth), not for their names. Memory is bounded by one tag (`tagBytesMax`) plus a few bytes: character data is
/// handed over where it lies in the input.
struct XMLTokenizer: Sendable {
    /// The longest tag accepted (name and attributes); Word's are well under a kilobyte.
    static let tagBytesMax = 1024 * 1024
    /// The longest entity or character reference accepted, between `&` and `;`.
    static let referenceBytesMax = 32

    private enum State: Sendable {
        /// Character data.
        case text
        /// Right after `<`.
        case tagOpen
        /// Inside a start or end tag.
        case tag
        /// After `<!`, deciding between a comment and a CDATA section.
        case bang
        case comment
        case cdata
        case processingInstruction
        /// After `&`, up to `;`.
        case reference
    }

    /// The most nested elements accepted; deeper is `too_deep`.
    let depthMax: Int
    private var state = State.text
    /// The tag, `<!` prefix or reference gathered so far, when it spans two feeds.
    private var pending: [UInt8] = []
    /// Inside a tag: the quote that opened the current attribute value, or 0.
    private var quote: UInt8 = 0
    /// Comments: trailing `-` seen; CDATA: `]` seen and not yet passed on; processing instructions: 1 after `?`.
    private var run = 0
    /// The number of open elements.
    private(set) var depth = 0
    /// Bytes consumed so far, for messages.
    private(set) var offset = 0

    /// Creates a tokenizer that refuses nesting deeper than `depthMax`.
    init(depthMax: Int) {
        self.depthMax = depthMax
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }

    /// Tokenizes the next bytes, reporting to `handler`.
    ///
    /// - Throws: `malformed` for a document type declaration, UTF-16, an overlong tag or reference, an end tag
    ///   without a start; `too_deep` past `depthMax`; whatever the handler throws.
    mutating func feed<Handler: XMLTokenHandler>(_ input: UnsafeBufferPointer<UInt8>, into handler: inout Handler)
        throws(ExtractionError)
    {
        if offset == 0 && input.count >= 2
            && ((input[0] == 0xFF && input[1] == 0xFE) || (input[0] == 0xFE && input[1] == 0xFF))
        {
            throw ExtractionError(.malformed, "The XML is UTF-16; only UTF-8 XML is read.")
        }
        let end = input.count
        var index = 0
        defer { offset += end }
        while index < end {
            switch state {
            case .text:
                let start = index
                while index < end && input[index] != UInt8(ascii: "<") && input[index] != UInt8(ascii: "&") {
                    index += 1
                }
                if index > start { try handler.characters(UnsafeBufferPointer(rebasing: input[start..<index])) }
                guard index < end else { break }
                state = input[index] == UInt8(ascii: "<") ? .tagOpen : .reference
                index += 1
            case .tagOpen:
                switch input[index] {
                case UInt8(ascii: "?"):
                    state = .processingInstruction
                    run = 0
                    index += 1
                case UInt8(ascii: "!"):
                    state = .bang
                    index += 1
                default:
                    state = .tag
                    quote = 0
                }
            case .tag:
                let start = index
                var quote = self.quote
                while index < end {
                    let byte = input[index]
                    if quote != 0 {
                        if byte == quote { quote = 0 }
                    } else if byte == UInt8(ascii: ">") {
                        break
                    } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                        quote = byte
                    }
                    index += 1
                }
                self.quote = quote
                guard index < end else {
                    try appendPending(UnsafeBufferPointer(rebasing: input[start..<end]))
                    break
                }
                if pending.isEmpty {
                    try tag(UnsafeBufferPointer(rebasing: input[start..<index]), handler: &handler)
                } else {
                    try appendPending(UnsafeBufferPointer(rebasing: input[start..<index]))
                    let gathered = pending
                    pending.removeAll(keepingCapacity: true)
                    try gathered.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                        try tag(buffer, handler: &handler)
                    }
                }
                state = .text
                index += 1
            case .bang:
                pending.append(input[index])
                index += 1
                if pending.elementsEqual("--".utf8) {
                    state = .comment
                    run = 0
                    pending.removeAll(keepingCapacity: true)
                } else if pending.elementsEqual("[CDATA[".utf8) {
                    state = .cdata
                    run = 0
                    pending.removeAll(keepingCapacity: true)
                } else if !"--".utf8.starts(with: pending) && !"[CDATA[".utf8.starts(with: pending) {
                    throw ExtractionError(
                        .malformed,
                        "The XML has a document type or other declaration (at byte \(offset + index) of the part), "
                            + "which is refused.")
                }
            case .comment:
                while index < end {
                    let byte = input[index]
                    index += 1
                    if byte == UInt8(ascii: ">") && run >= 2 {
                        state = .text
                        break
                    }
                    run = byte == UInt8(ascii: "-") ? run + 1 : 0
                }
            case .processingInstruction:
                while index < end {
                    let byte = input[index]
                    index += 1
                    if byte == UInt8(ascii: ">") && run == 1 {
                        state = .text
                        break
                    }
                    run = byte == UInt8(ascii: "?") ? 1 : 0
                }
            case .cdata:
                try cdata(input, from: &index, handler: &handler)
            case .reference:
                let start = index
                while index < end && input[index] != UInt8(ascii: ";") { index += 1 }
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index]))
                guard pending.count <= Self.referenceBytesMax else {
                    throw ExtractionError(
                        .malformed,
                        "The XML has an overlong reference after '&' (at byte \(offset + start) of the part).")
                }
                guard index < end else { break }
                index += 1
                let name = pending
                pending.removeAll(keepingCapacity: true)
                state = .text
                let decoded = Self.decodeReference(name)
                try decoded.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                    try handler.characters(buffer)
                }
            }
        }
    }

    /// Checks that the document ended outside any markup and with every element closed.
    ///
    /// - Throws: `malformed` when it did not (a truncated part).
    func finish() throws(ExtractionError) {
        guard case .text = state, depth == 0 else {
            throw ExtractionError(
                .malformed, "The XML ends inside an element or tag (after \(offset) bytes): the part is truncated.")
        }
    }

    /// CDATA content up to `]]>`, handed over as character data; `]` bytes are held back until it is clear that
    /// they do not close the section.
    private mutating func cdata<Handler: XMLTokenHandler>(
        _ input: UnsafeBufferPointer<UInt8>, from index: inout Int, handler: inout Handler
    ) throws(ExtractionError) {
        let end = input.count
        var start = index
        while index < end {
            let byte = input[index]
            if byte == UInt8(ascii: "]") {
                if index > start { try handler.characters(UnsafeBufferPointer(rebasing: input[start..<index])) }
                run += 1
                index += 1
                start = index
                continue
            }
            if byte == UInt8(ascii: ">") && run >= 2 {
                try releaseBrackets(run - 2, handler: &handler)
                run = 0
                index += 1
                state = .text
                return
            }
            if run > 0 {
                try releaseBrackets(run, handler: &handler)
                run = 0
            }
            index += 1
        }
        if index > start { try handler.characters(UnsafeBufferPointer(rebasing: input[start..<index])) }
    }

    private func releaseBrackets<Handler: XMLTokenHandler>(_ count: Int, handler: inout Handler)
        throws(ExtractionError)
    {
        guard count > 0 else { return }
        let brackets = [UInt8](repeating: UInt8(ascii: "]"), count: count)
        try brackets.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in try handler.characters(buffer) }
    }

    private mutating func appendPending(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) {
        pending.append(contentsOf: bytes)
        guard pending.count <= Self.tagBytesMax else {
            throw ExtractionError(
                .malformed, "The XML has a tag longer than \(Self.tagBytesMax) bytes (near byte \(offset) of the part)."
            )
        }
    }

    /// A complete tag, between `<` and `>`.
    private mutating func tag<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, handler: inout Handler)
        throws(ExtractionError)
    {
        guard let first = bytes.first else {
            throw ExtractionError(.malformed, "The XML has an empty tag '<>' (near byte \(offset) of the part).")
        }
        if first == UInt8(ascii: "/") {
            var nameEnd = bytes.count
            while nameEnd > 1 && Self.isSpace(bytes[nameEnd - 1]) { nameEnd -= 1 }
            guard depth > 0 else {
                throw ExtractionError(
                    .malformed, "The XML has an end tag without a start tag (near byte \(offset) of the part).")
            }
            depth -= 1
            let name = UnsafeBufferPointer(rebasing: bytes[1..<nameEnd])
            try handler.endElement(XMLTag(bytes: name, nameLength: name.count))
            return
        }
        let isEmpty = bytes.count > 1 && bytes[bytes.count - 1] == UInt8(ascii: "/")
        let content = isEmpty ? UnsafeBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]) : bytes
        var nameLength = 0
        while nameLength < content.count && !Self.isSpace(content[nameLength]) { nameLength += 1 }
        guard nameLength > 0 else {
            throw ExtractionError(.malformed, "The XML has a tag without a name (near byte \(offset) of the part).")
        }
        guard depth < depthMax else {
            throw ExtractionError(.tooDeep, "The XML nests elements deeper than the limit of \(depthMax).")
        }
        depth += 1
        let tag = XMLTag(bytes: content, nameLength: nameLength)
        try handler.startElement(tag)
        if isEmpty {
            depth -= 1
            try handler.endElement(XMLTag(bytes: tag.name, nameLength: nameLength))
        }
    }

    /// The UTF-8 bytes of a reference's name (between `&` and `;`): a predefined entity, a character reference,
    /// or, for anything else, the reference as written. Invalid character references become U+FFFD.
    static func decodeReference(_ name: [UInt8]) -> [UInt8] {
        switch name {
        case Array("amp".utf8): return [UInt8(ascii: "&")]
        case Array("lt".utf8): return [UInt8(ascii: "<")]
        case Array("gt".utf8): return [UInt8(ascii: ">")]
        case Array("quot".utf8): return [UInt8(ascii: "\"")]
        case Array("apos".utf8): return [UInt8(ascii: "'")]
        default: break
        }
        guard name.first == UInt8(ascii: "#") else { return [UInt8(ascii: "&")] + name + [UInt8(ascii: ";")] }
        var value: UInt32 = 0
        var digits = name.dropFirst()
        let radix: UInt32
        if digits.first == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst()
        } else {
            radix = 10
        }
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        guard !digits.isEmpty else { return replacement }
        for byte in digits {
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt32(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt32(byte - UInt8(ascii: "A")) + 10
            default: return replacement
            }
            value = value * radix + digit
            if value > 0x10FFFF { return replacement }
        }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return replacement }
        return Array(String(scalar).utf8)
    }
}
