import AnnalsExtract
import Testing

private func json(_ text: String, _ format: DocumentFormat = .json) throws -> String {
    try TextExtractor.extract(Array(text.utf8), format: format).text
}

@Suite("JSON and JSON Lines extraction")
struct JSONExtractorTests {
    @Test("a JSON export: every string, number and boolean with its key path; records of an array as paragraphs")
    func export() throws {
        let text = try TextExtractor.extract(try textFormatFixture("json/library.json"), format: .json).text
        let expected = """
            title: Annals of the Library
            version: 3
            published: true
            description: A catalogue exported as JSON.
            It has two lines, a tab\there, a quote " and a slash /.

            books[0].id: b-001
            books[0].title: On Computable Numbers
            books[0].year: 1936
            books[0].authors[0].name: Alan Turing
            books[0].authors[0].born: 1912
            books[0].tags[0]: mathematics
            books[0].tags[1]: logic
            books[0].price: 12.5e0
            books[0].available: false

            books[1].id: b-002
            books[1].title: Sketch of the Analytical Engine
            books[1].year: 1843
            books[1].authors[0].name: Luigi Menabrea
            books[1].authors[1].name: Ada Lovelace
            books[1].authors[1].note: translator and author of the Notes
            books[1].summary: Note G describes an algorithm for Bernoulli numbers.

            books[2].id: b-003
            books[2].title: Café Müller 😀 東京
            books[2].year: -1
            books[2].authors[0].name: Søren Ærø
            books[2].: an empty key
            books[2].nested.deeper.deepest[0]: x
            books[2].nested.deeper.deepest[1][0]: y

            count: 3
            """
        #expect(text == expected)
    }

    @Test("JSON Lines: each record a paragraph; blank lines skipped; any value may be a record")
    func lines() throws {
        let text = try TextExtractor.extract(try textFormatFixture("json/events.jsonl"), format: .jsonLines).text
        let expected = """
            event: upload.received
            document: d-1
            size: 1024
            filename: notes.md

            event: job.started
            document: d-1
            attempt: 1

            event: chunk.embedded
            document: d-1
            chunk: 0
            text: Annals keeps every change as an event.

            event: job.failed
            document: d-2
            error.code: invalid_utf8
            error.message: The text is not valid UTF-8 at offset 7.

            a record

            that is an array

            a bare string record
            """
        #expect(text == expected)
        #expect(try json("{\"a\": 1}\r\n{\"a\": 2}\r\n", .jsonLines) == "a: 1\n\na: 2")
        // As plain JSON, the second record is data after the value.
        let error = formatError(try textFormatFixture("json/events.jsonl"), .json)
        #expect(error?.code == .malformed)
        #expect(error?.byteOffset == 86)
    }

    @Test("top-level arrays of records leave their index out of the paths")
    func recordArrays() throws {
        #expect(try json(#"[{"title": "A", "n": [1, 2]}, {"title": "B"}]"#) == "title: A\nn[0]: 1\nn[1]: 2\n\ntitle: B")
        #expect(try json(#"[[1, 2], [3]]"#) == "[0]: 1\n[1]: 2\n\n[0]: 3")
        #expect(try json(#"[0, -0.5, 1E+10, 2e-3, 10]"#) == "0\n\n-0.5\n\n1E+10\n\n2e-3\n\n10")
        #expect(try json(#""just a string""#) == "just a string")
        #expect(try json("42") == "42")
        #expect(try json(" true ") == "true")
    }

    @Test("escapes: surrogate pairs joined, lone surrogates replaced, CR and CRLF as LF, controls as spaces")
    func escapes() throws {
        let source =
            #"["\uD83D\uDE00", "\uD83D", "\uDE00x", "\uD83Dx", "\uD83D\uD83D\uDE00", "a\r\nb\rc\n", "x\u0000\b\fy"]"#
        #expect(try json(source) == "😀\n\n\u{FFFD}\n\n\u{FFFD}x\n\n\u{FFFD}x\n\n\u{FFFD}😀\n\na\nb\nc\n\nx   y")
        #expect(try json(#"{"a\nb": "v", "k\u00e9y": 1, "\"q\"": "\\"}"#) == "a b: v\nkéy: 1\n\"q\": \\")
    }

    @Test("null, empty strings and empty containers yield nothing")
    func nothing() throws {
        #expect(try json(#"{"a": null, "b": "", "c": [], "d": {}, "e": "kept"}"#) == "e: kept")
        for source in ["{}", "[]", "null", #"{"a": null, "b": ""}"#] {
            #expect(formatError(Array(source.utf8), .json)?.code == .noText, "\(source)")
        }
        #expect(formatError(Array("\n\n  \n".utf8), .jsonLines)?.code == .noText)
        #expect(formatError(Array("  \n".utf8), .json)?.code == .malformed)
    }

    @Test(
        "syntax errors are malformed, with the offset of the offending byte",
        arguments: [
            (#"{"a": 1,}"#, 8), ("[1, 2", 5), (#"{"a" 1}"#, 5), ("[01]", 2), ("[1.]", 3), ("[-]", 2),
            ("[\"a\u{01}\"]", 3), (#"["\q"]"#, 3), (#"["\u12G4"]"#, 6), ("tru", 3), ("trux", 3), ("{} {}", 3),
            (#""abc"#, 4), (#"{"a":}"#, 5), ("[1 2]", 3), ("1e", 2), (#"{"a":1]"#, 6), ("[1,]", 3), ("]", 0),
            ("{'a': 1}", 1), ("[NaN]", 1), ("[+1]", 1), ("[.5]", 1), ("\u{FEFF}[1,,2]", 6),
        ] as [(String, Int)]
    )
    func malformed(source: String, offset: Int) {
        let error = formatError(Array(source.utf8), .json)
        #expect(error?.code == .malformed)
        #expect(error?.byteOffset == offset)
        #expect(error?.message.contains("byte \(offset)") == true)
    }

    @Test("an error before an invalid byte wins, however the bytes are fed")
    func firstErrorWins() {
        let bytes = Array("[1 2, \"".utf8) + [0xFF] + Array("\"]".utf8)
        #expect(formatError(bytes, .json)?.code == .malformed)
        #expect(formatError(bytes.indices.map { bytes[$0..<($0 + 1)] }, .json)?.code == .malformed)
        let invalid = Array("[\"ok\", \"caf".utf8) + [0xE9] + Array("\"]".utf8)
        let error = formatError(invalid.indices.map { invalid[$0..<($0 + 1)] }, .json)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 11)
    }

    @Test("nesting 100,000 deep is too_deep at the first container past the limit; the limit itself is fine")
    func deepNesting() throws {
        let depth = 100_000
        let arrays = formatError(Array(String(repeating: "[", count: depth).utf8), .json)
        #expect(arrays?.code == .tooDeep)
        #expect(arrays?.byteOffset == TextExtractor.Configuration.nestingDepthMaxDefault)
        let objects = formatError(Array(String(repeating: #"{"a":"#, count: depth).utf8), .jsonLines)
        #expect(objects?.code == .tooDeep)
        let limit = TextExtractor.Configuration.nestingDepthMaxDefault
        let deepest = String(repeating: "[", count: limit) + "1" + String(repeating: "]", count: limit)
        #expect(try json(deepest) == String(repeating: "[0]", count: limit - 1) + ": 1")
        let shallow = TextExtractor.Configuration(nestingDepthMax: 2)
        #expect(formatError(Array("[[[1]]]".utf8), .json, configuration: shallow)?.code == .tooDeep)
    }

    @Test("key paths are capped: long keys are cut, deep paths end in an ellipsis")
    func pathCap() throws {
        let key = String(repeating: "k", count: 1000)
        let depth = 200
        let source = String(repeating: "{\"\(key)\":", count: depth) + "\"v\"" + String(repeating: "}", count: depth)
        let text = try json(source)
        #expect(text.hasSuffix("…: v"))
        #expect(text.utf8.count < 1100)
        #expect(text.hasPrefix(String(repeating: "k", count: 256) + "."))
        // A key cut in the middle of a character keeps whole characters.
        let wide = String(repeating: "é", count: 200)
        #expect(try json("{\"\(wide)\": 1}") == String(repeating: "é", count: 128) + ": 1")
    }

    @Test("long string values stream through whole")
    func longValue() throws {
        let value = String(repeating: "word ", count: 200_000)
        let bytes = Array("{\"body\": \"\(value)\"}".utf8)
        #expect(try TextExtractor.extract(bytes, format: .json).text == "body: " + value)
    }

    @Test("feeding byte by byte or in random pieces gives the same text")
    func streaming() throws {
        try expectStreamingEquivalence(try textFormatFixture("json/library.json"), format: .json)
        try expectStreamingEquivalence(try textFormatFixture("json/events.jsonl"), format: .jsonLines)
        let escapes = #"["\uD83D\uDE00 \u00e9\r\n\t", -12.5e+3, true, false, null, {"k\"ey": [1, "é😀"]}]"#
        try expectStreamingEquivalence(Array(escapes.utf8), format: .json)
    }

    @Test("invalid UTF-8 and NUL bytes are refused with their offsets")
    func invalidUTF8() {
        let error = formatError(Array("[\"ok\", \"caf".utf8) + [0xE9] + Array("\"]".utf8), .json)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 11)
        #expect(formatError(Array("[1,".utf8) + [0] + Array("2]".utf8), .json)?.code == .binaryContent)
    }
}
