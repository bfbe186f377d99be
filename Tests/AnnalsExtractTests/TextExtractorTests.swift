import AnnalsExtract
import Testing

func extract(_ text: String, _ format: DocumentFormat = .plainText) throws -> ExtractedText {
    try TextExtractor.extract(Array(text.utf8), format: format)
}

/// Extracts `bytes` fed in the given pieces, gathering the pieces into text and section offsets.
func extractStreaming(_ pieces: [ArraySlice<UInt8>], format: DocumentFormat) throws -> ExtractedText {
    var extractor = TextExtractor(format: format)
    var output: [TextPiece] = []
    for piece in pieces { output += try extractor.feed(piece) }
    output += try extractor.finish()
    var text = ""
    var sections: [Int] = []
    for piece in output {
        switch piece {
        case .text(let run): text += run
        case .sectionStart: sections.append(text.unicodeScalars.count)
        case .pageStart: Issue.record("no pages in text formats")
        }
    }
    return ExtractedText(text: text, sectionStarts: sections)
}

func extractionError(_ bytes: [UInt8], _ format: DocumentFormat = .plainText) -> ExtractionError? {
    #expect(throws: ExtractionError.self) { try TextExtractor.extract(bytes, format: format) }
}

@Suite("Plain text extraction")
struct PlainTextTests {
    @Test("plain text comes out as it went in")
    func plain() throws {
        let text = "Hello, world.\nZweite Zeile: grüße, 東京, 👍🏽.\n"
        #expect(try extract(text) == ExtractedText(text: text))
        #expect(try extract(text).characterCount == text.unicodeScalars.count)
    }

    @Test("a UTF-8 byte-order mark is dropped, even when split across feeds")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("text\u{FEFF}more".utf8)
        #expect(try TextExtractor.extract(bytes, format: .plainText).text == "text\u{FEFF}more")
        let split = [bytes[0..<1], bytes[1..<2], bytes[2..<5], bytes[5...]]
        #expect(try extractStreaming(split, format: .plainText).text == "text\u{FEFF}more")
    }

    @Test("CRLF and lone CR become LF, also when the pair is split across feeds")
    func lineEnds() throws {
        #expect(try extract("a\r\nb\rc\n\rd\r\n\r\ne\r").text == "a\nb\nc\n\nd\n\ne\n")
        let bytes = Array("one\r\ntwo\r\rthree\r\n".utf8)
        for cut in 1..<bytes.count {
            let text = try extractStreaming([bytes[..<cut], bytes[cut...]], format: .plainText).text
            #expect(text == "one\ntwo\n\nthree\n", "cut at \(cut)")
        }
    }

    @Test(
        "invalid UTF-8 is refused with its code and offset",
        arguments: [
            ([0x61, 0xFF, 0x62], 1),  // a byte that never occurs
            ([0x61, 0x62, 0xC0, 0x80], 2),  // an overlong NUL
            ([0xED, 0xA0, 0x80], 0),  // a surrogate
            ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
            ([0x61, 0x80], 1),  // a lone continuation byte
            ([0x61, 0xE2, 0x82], 1),  // cut off at the end
            ([0x61, 0xE2, 0x28, 0xA1], 1),  // a lead byte without its continuation
        ] as [([UInt8], Int)]
    )
    func invalidUTF8(bytes: [UInt8], offset: Int) {
        let error = extractionError(bytes)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.code.description == "invalid_utf8")
        #expect(error?.byteOffset == offset)
    }

    @Test("an invalid byte is reported at its document offset whatever the feeds")
    func invalidAcrossFeeds() {
        var bytes = Array(String(repeating: "ü", count: 5000).utf8)
        bytes[7776] = 0xFF
        for seed in 1...3 as ClosedRange<UInt64> {
            let pieces = randomByteSplits(bytes, maxPiece: 900, seed: seed)
            let error = #expect(throws: ExtractionError.self) { try extractStreaming(pieces, format: .plainText) }
            #expect(error?.byteOffset == 7776)
        }
    }

    @Test("NUL bytes are refused as binary content")
    func nul() {
        let error = extractionError(Array("text".utf8) + [0] + Array("more".utf8))
        #expect(error?.code == .binaryContent)
        #expect(error?.byteOffset == 4)
    }

    @Test("an empty document and one of only white space are refused")
    func emptiness() {
        #expect(extractionError([])?.code == .empty)
        #expect(extractionError(Array(" \n\t\r\n".utf8))?.code == .noText)
        #expect(extractionError([0xEF, 0xBB, 0xBF])?.code == .noText)
        #expect(extractionError([], .markdown)?.code == .empty)
    }

    @Test("text beyond the limit is refused with too_large")
    func tooLarge() throws {
        let configuration = TextExtractor.Configuration(textBytesMax: 10)
        #expect(
            try TextExtractor.extract(Array("0123456789".utf8), format: .plainText, configuration: configuration)
                .text == "0123456789")
        let error = #expect(throws: ExtractionError.self) {
            try TextExtractor.extract(Array("0123456789X".utf8), format: .plainText, configuration: configuration)
        }
        #expect(error?.code == .tooLarge)
    }

    @Test("feeding byte by byte, or in random pieces, gives the same text", arguments: [1, 2, 3] as [UInt64])
    func streaming(seed: UInt64) throws {
        let bytes = [0xEF, 0xBB, 0xBF] + Array((mixedText + "\r\nend\r").utf8)
        let expected = try TextExtractor.extract(bytes, format: .plainText)
        let maxPiece = seed == 1 ? 1 : 64
        #expect(
            try extractStreaming(randomByteSplits(bytes, maxPiece: maxPiece, seed: seed), format: .plainText)
                == expected)
    }
}

@Suite("Markdown extraction")
struct MarkdownTests {
    @Test("the text is kept; ATX and setext headings start sections")
    func headings() throws {
        let text = """
            Intro paragraph.

            # Title
            Body *with emphasis*.

            Setext Title
            ============
            More.

            ## Second
            Text.
            Another Setext
            ---
            """
        let extracted = try extract(text, .markdown)
        #expect(extracted.text == text)
        let starts = ["# Title", "Setext Title", "## Second"].map { scalarOffset(of: $0, in: text) }
        // "Another Setext" continues a paragraph, so its underline is a thematic break, not a heading.
        #expect(extracted.sectionStarts == starts)
    }

    @Test("what is not a heading starts no section")
    func notHeadings() throws {
        let text = """
            Intro.

            #hashtag is not a heading
                # indented code is not a heading
            ```bash
            # a comment in a code fence
            ```
            ~~~~
            # still code
            ```
            # still code: a backtick fence does not close a tilde one
            ~~~~
            - list item
            ---
            > quote
            ===
            ####### seven is too many
            """
        let extracted = try extract(text, .markdown)
        #expect(extracted.text == text)
        #expect(extracted.sectionStarts.isEmpty)
    }

    @Test("a heading right at the start starts no extra section; CRLF is normalised")
    func atStart() throws {
        let extracted = try extract("# Title\r\nText\r\n## Next\r\nMore", .markdown)
        #expect(extracted.text == "# Title\nText\n## Next\nMore")
        #expect(extracted.sectionStarts == [13])
    }

    @Test("a line longer than the line limit is never a heading, and passes through whole")
    func longLine() throws {
        let long = "# " + String(repeating: "x", count: 70_000)
        let text = "Intro.\n\n" + long + "\n# Real heading\n"
        let extracted = try extract(text, .markdown)
        #expect(extracted.text == text)
        #expect(extracted.sectionStarts == [text.unicodeScalars.count - "# Real heading\n".count])
    }

    @Test("feeding in random pieces gives the same text and sections", arguments: [1, 2, 3, 4] as [UInt64])
    func streaming(seed: UInt64) throws {
        let document = """
            Intro with ümlauts.\r
            \r
            # One\r
            Text. Setext Below\r
            \r
            Heading Two
            ===========
            ```
            # code
            ```
            ## Three
            \(mixedText)
            Last Heading
            ------------
            """
        let bytes = Array(document.utf8)
        let expected = try TextExtractor.extract(bytes, format: .markdown)
        #expect(expected.sectionStarts.count == 3)
        let pieces = randomByteSplits(bytes, maxPiece: seed == 1 ? 1 : 40, seed: seed)
        #expect(try extractStreaming(pieces, format: .markdown) == expected)
    }

    @Test("markdown headings start new chunks, and no chunk spans two sections")
    func chunksFollowSections() throws {
        var document = ""
        for section in 1...6 {
            document += "## Section \(section)\n\n" + paragraphs(section, sentencesEach: 4) + "\n\n"
        }
        let extracted = try extract(document, .markdown)
        #expect(extracted.sectionStarts.count == 5)
        let chunks = Chunker().chunks(of: extracted)
        let starts = [0] + extracted.sectionStarts
        for start in starts { #expect(chunks.contains { $0.characterOffset == start }) }
        for chunk in chunks {
            #expect(chunk.text.hasPrefix("## Section") == starts.contains(chunk.characterOffset))
            #expect(!chunk.text.dropFirst().contains("## Section"))
        }
        // The streaming path, piece by piece through the chunker, gives the same chunks.
        var extractor = TextExtractor(format: .markdown)
        var chunker = Chunker()
        var streamed: [Chunk] = []
        for piece in randomByteSplits(Array(document.utf8), maxPiece: 300, seed: 5) {
            for text in try extractor.feed(piece) { streamed += chunker.feed(text) }
        }
        for text in try extractor.finish() { streamed += chunker.feed(text) }
        streamed += chunker.finish()
        #expect(streamed == chunks)
    }
}
