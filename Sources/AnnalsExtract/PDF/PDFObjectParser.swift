/// Parses PDF objects from tokens, arrays and dictionaries with an explicit stack (never recursion), so nesting
/// costs memory bounded by `depthMax` rather than the call stack.
enum PDFObjectParser {
    private struct Container {
        var isDictionary: Bool
        var items: [PDFObject] = []
    }

    /// Parses the object that starts with `first` (already read from `lexer`).
    ///
    /// References (`12 0 R`) are recognised inside arrays and dictionaries; a top-level reference is the caller's
    /// business (content streams have none, and an indirect object's body is checked by
    /// ``parseValue(_:depthMax:elementsMax:)``).
    ///
    /// - Throws: `needMore` when the window ends inside the object; `too_deep` past `depthMax` nested containers;
    ///   `too_many_objects` past `elementsMax` elements in all (so that a few megabytes of `0 0 0 …` cannot become
    ///   a gigabyte of objects); `malformed` for syntax errors.
    static func parse(startingWith first: PDFToken, lexer: inout PDFLexer, depthMax: Int, elementsMax: Int)
        throws(PDFSyntaxError) -> PDFObject
    {
        var stack: [Container] = []
        var elements = 0
        var token = first
        while true {
            let value: PDFObject
            switch token {
            case .arrayStart, .dictionaryStart:
                guard stack.count < depthMax else {
                    throw .failed(
                        ExtractionError(
                            .tooDeep, "Arrays and dictionaries nest deeper than the limit of \(depthMax).",
                            byteOffset: lexer.baseOffset + lexer.position))
                }
                stack.append(Container(isDictionary: { if case .dictionaryStart = token { true } else { false } }()))
                token = try lexer.next()
                continue
            case .arrayEnd:
                guard let top = stack.last, !top.isDictionary else {
                    if stack.isEmpty {
                        throw .malformed("A `]` closes nothing.", at: lexer.baseOffset + lexer.position)
                    }
                    // A stray `]` inside a dictionary: skip it, as lenient readers do.
                    token = try lexer.next()
                    continue
                }
                value = .array(stack.removeLast().items)
            case .dictionaryEnd:
                guard let top = stack.last, top.isDictionary else {
                    if stack.isEmpty {
                        throw .malformed("A `>>` closes nothing.", at: lexer.baseOffset + lexer.position)
                    }
                    token = try lexer.next()
                    continue
                }
                value = .dictionary(makeDictionary(stack.removeLast().items))
            case .integer(let number):
                value = .integer(number)
            case .real(let number):
                value = .real(number)
            case .string(let bytes):
                value = .string(bytes)
            case .name(let name):
                value = .name(name)
            case .keyword(let keyword):
                if keyword == .reference, let top = stack.last, top.items.count >= 2,
                    case .integer(let generation) = top.items[top.items.count - 1],
                    case .integer(let number) = top.items[top.items.count - 2]
                {
                    stack[stack.count - 1].items.removeLast(2)
                    value = .reference(PDFReference(number: number, generation: generation))
                } else if keyword == .trueValue {
                    value = .boolean(true)
                } else if keyword == .falseValue {
                    value = .boolean(false)
                } else if keyword == .null {
                    value = .null
                } else {
                    throw .malformed(
                        stack.isEmpty
                            ? "Expected an object, found a keyword." : "An array or dictionary is not closed.",
                        at: lexer.baseOffset + lexer.position)
                }
            case .end:
                throw .malformed("The data ends inside an object.", at: lexer.baseOffset + lexer.position)
            }
            if stack.isEmpty { return value }
            elements += 1
            guard elements <= elementsMax else {
                throw .failed(
                    ExtractionError(
                        .tooManyObjects, "An object holds more than \(elementsMax) elements.",
                        byteOffset: lexer.baseOffset + lexer.position))
            }
            stack[stack.count - 1].items.append(value)
            token = try lexer.next()
        }
    }

    /// Parses one object from `lexer`, a top-level reference (`12 0 R`) included; used for the bodies of indirect
    /// objects and the members of object streams.
    static func parseValue(_ lexer: inout PDFLexer, depthMax: Int, elementsMax: Int) throws(PDFSyntaxError)
        -> PDFObject
    {
        let first = try lexer.next()
        if case .integer(let number) = first {
            let saved = lexer.position
            if case .integer(let generation) = try lexer.next(), case .keyword(let keyword) = try lexer.next(),
                keyword == .reference
            {
                return .reference(PDFReference(number: number, generation: generation))
            }
            lexer.position = saved
            return .integer(number)
        }
        return try parse(startingWith: first, lexer: &lexer, depthMax: depthMax, elementsMax: elementsMax)
    }

    private static func makeDictionary(_ items: [PDFObject]) -> PDFDictionary {
        var entries: [String: PDFObject] = [:]
        entries.reserveCapacity(items.count / 2)
        var index = 0
        while index < items.count {
            // A key must be a name; anything else in a key's place is skipped, as lenient readers do.
            guard case .name(let key) = items[index] else {
                index += 1
                continue
            }
            entries[key] = index + 1 < items.count ? items[index + 1] : .null
            index += 2
        }
        return PDFDictionary(entries)
    }
}
