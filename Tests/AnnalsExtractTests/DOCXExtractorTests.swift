import AnnalsTesting
import Foundation
import Testing

@testable import AnnalsExtract

/// The bytes of a fixture under `Fixtures/docx`.
private func fixture(_ name: String) throws -> (url: URL, bytes: [UInt8]) {
    let url = try #require(
        Bundle.module.url(forResource: name, withExtension: "docx", subdirectory: "Fixtures/docx"))
    return (url, Array(try Data(contentsOf: url)))
}

/// The code an extraction of `bytes` fails with, or nil when it succeeds.
private func failure(_ bytes: [UInt8], configuration: TextExtractor.Configuration = .init()) -> ExtractionError.Code? {
    do {
        _ = try DOCXExtractor.extract(bytes: bytes, configuration: configuration)
        return nil
    } catch {
        return error.code
    }
}

private func paragraph(_ text: String, style: String? = nil) -> String {
    let properties = style.map { "<w:pPr><w:pStyle w:val=\"\($0)\"/></w:pPr>" } ?? ""
    return "<w:p>\(properties)<w:r><w:t xml:space=\"preserve\">\(text)</w:t></w:r></w:p>"
}

extension [UInt8] {
    /// The offset of the first occurrence of `pattern` at or after `start`.
    fileprivate func firstRange(of pattern: [UInt8], after start: Int) -> Int? {
        guard count >= pattern.count else { return nil }
        return (start...(count - pattern.count)).first { self[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}

/// `text` with the XML metacharacters escaped.
private func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}

@Suite("DOCX extraction")
struct DOCXExtractorTests {
    // MARK: Real documents

    @Test("the zipfile fixture: paragraphs, headings, a table, tabs, breaks, entities, fields, changes, text boxes")
    func sample() throws {
        let extracted = try DOCXExtractor.extract(bytes: try fixture("sample").bytes)
        let expected = """
            Annals sample document

            Introduction

            Annals keeps events\tin one log
            Fish & chips <tags> "quoted" café — done.

            Page 7 and inserted words

            Details

            Name | Value
            alpha | 1
            beta | 2

            Before the box.\u{20}

            Boxed text

            After the table, the last paragraph.
            """
        #expect(extracted.text == expected)
        // The title opens the document, so it starts no section; the two headings do, at their first character.
        let introduction = try #require(scalarOffset(of: "Introduction", in: expected))
        let details = try #require(scalarOffset(of: "Details", in: expected))
        #expect(extracted.sectionStarts == [introduction, details])
        #expect(extracted.pageStarts.isEmpty)
    }

    @Test("a file path and the same bytes in memory give the same pieces")
    func pathAndBytes() throws {
        let (url, bytes) = try fixture("sample")
        var fromPath = try DOCXExtractor(path: url.path)
        var fromBytes = try DOCXExtractor(bytes: bytes)
        var pathPieces: [TextPiece] = []
        var bytePieces: [TextPiece] = []
        while let pieces = try fromPath.next() { pathPieces += pieces }
        while let pieces = try fromBytes.next() { bytePieces += pieces }
        #expect(!pathPieces.isEmpty)
        #expect(pathPieces == bytePieces)
        #expect(try fromPath.next() == nil)
    }

    @Test("a DOCX written by pandoc: the text is found, in order, with its headings as sections")
    func pandoc() throws {
        let extracted = try DOCXExtractor.extract(bytes: try fixture("pandoc").bytes)
        let expected = [
            "The event log", "Annals keeps every change as an event in one append-only log.", "Extraction",
            "The worker extracts text", "Format | Extractor\nText | plain\nWord | DOCX",
            "Fish & chips cost 5 € <cheap>, “quoted”.", "Search", "Search ranks chunks by similarity",
        ]
        var from = extracted.text.startIndex
        for needle in expected {
            let found = try #require(extracted.text.range(of: needle, range: from..<extracted.text.endIndex))
            from = found.upperBound
        }
        // "The event log" opens the document; "Extraction" and "Search" start sections.
        #expect(extracted.sectionStarts.count == 2)
        #expect(extracted.sectionStarts.first == scalarOffset(of: "Extraction", in: extracted.text))
    }

    @Test("the chunker takes the pieces as they come, sections included")
    func chunked() throws {
        var extractor = try DOCXExtractor(bytes: try fixture("sample").bytes)
        var chunker = Chunker(configuration: try .init(targetCharacters: 200, overlapCharacters: 20))
        var chunks: [Chunk] = []
        while let pieces = try extractor.next() {
            for piece in pieces { chunks += chunker.feed(piece) }
        }
        chunks += chunker.finish()
        #expect(chunks.map(\.text).first == "Annals sample document")
        #expect(chunks.contains { $0.text.hasPrefix("Details\n\nName | Value") })
    }

    // MARK: Streaming

    @Test("a large document streams in several steps; stored and deflated entries read alike")
    func streaming() throws {
        // Random words, so that the deflated part spans several 16 KiB windows.
        var generator = SeededGenerator(seed: 11)
        let texts = (0..<2000).map { number in
            "Paragraph \(number): café & 東京 😀 "
                + (0..<10).map { _ in
                    String(
                        (0..<Int.random(in: 2...9, using: &generator)).map { _ in
                            Character(Unicode.Scalar(UInt8.random(in: 97...122, using: &generator)))
                        })
                }.joined(separator: " ")
        }
        let body = texts.map { paragraph(escaped($0)) }.joined()
        let expected = texts.joined(separator: "\n\n")
        for deflate in [true, false] {
            var extractor = try DOCXExtractor(bytes: docx(body: body, deflate: deflate))
            var steps = 0
            var collector = ExtractedTextCollector()
            while let pieces = try extractor.next() {
                steps += 1
                collector.add(pieces)
            }
            #expect(collector.result.text == expected)
            #expect(steps > 3)
        }
    }

    @Test("the XML gives the same text whatever the pieces it arrives in", arguments: [1, 2, 3, 7, 64, 1000])
    func splits(maxPiece: Int) throws {
        let xml = Array(
            documentXML(
                paragraph("Heading", style: "Heading1") + "<!-- <w:t>no</w:t> --><?pi x?>"
                    + "<w:p><w:r><w:t><![CDATA[a ]] b]]]]></w:t><w:t>&lt;&#65;&#x42;&unknown;&gt;</w:t><w:tab/>"
                    + "<w:t a='>'>ü東😀</w:t></w:r></w:p>"
                    + paragraph("Second", style: "heading 2") + "<w:tbl><w:tr><w:tc>\(paragraph("x"))</w:tc>"
                    + "<w:tc>\(paragraph("y"))</w:tc></w:tr></w:tbl>"
            ).utf8)
        func run(_ pieces: [ArraySlice<UInt8>]) throws -> [TextPiece] {
            var tokenizer = XMLTokenizer(depthMax: 64)
            var text = WordDocumentText(textBytesMax: 1 << 20)
            var output: [TextPiece] = []
            for piece in pieces {
                try piece.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                    try tokenizer.feed(buffer, into: &text)
                }
                output += try text.takePieces(final: false)
            }
            try tokenizer.finish()
            output += try text.takePieces(final: true)
            return output
        }
        func joined(_ pieces: [TextPiece]) -> (String, Int) {
            var text = ""
            var sections = 0
            for piece in pieces {
                if case .text(let part) = piece { text += part }
                if piece == .sectionStart { sections += 1 }
            }
            return (text, sections)
        }
        let whole = joined(try run([xml[...]]))
        #expect(whole.0 == "Heading\n\na ]] b]]<AB&unknown;>\tü東😀\n\nSecond\n\nx | y")
        #expect(whole.1 == 1)
        for seed in 0..<5 {
            #expect(joined(try run(randomByteSplits(xml, maxPiece: maxPiece, seed: UInt64(seed)))) == whole)
        }
    }

    // MARK: Detection

    @Test("a ZIP is DOCX when declared so, named .docx, or when its first entries are a Word document's")
    func detection() throws {
        let sample = try fixture("sample").bytes
        let docxType = DocumentFormat.docx.mediaType
        #expect(detect(sample).format == .docx)
        #expect(detect(sample).contentType == docxType)
        #expect(detect(sample, declared: docxType).format == .docx)
        #expect(detect(sample, declared: "application/zip").format == .docx)
        #expect(try detect(sample, declared: "application/octet-stream").check() == .docx)

        var plain = ZIPBuilder()
        plain.add("notes.txt", "hello")
        let zip = plain.build()
        #expect(detect(zip).refusal?.code == .unsupportedType)
        #expect(detect(zip, declared: "application/zip").refusal?.code == .unsupportedType)
        #expect(detect(zip, filename: "Report.DOCX").format == .docx)
        #expect(detect(zip, declared: docxType).format == .docx)

        var spreadsheet = ZIPBuilder()
        spreadsheet.add("[Content_Types].xml", "<Types/>")
        spreadsheet.add("xl/workbook.xml", "<workbook/>")
        #expect(detect(spreadsheet.build()).refusal?.code == .unsupportedType)

        #expect(detect(Array("%PDF-1.7\n".utf8), declared: docxType).isMismatch)
        #expect(detect(Array("plain text".utf8), declared: docxType).isMismatch)
    }

    @Test("a PDF with a ZIP appended is detected as PDF; the DOCX extractor refuses it as malformed")
    func polyglot() throws {
        let pdf = Array("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n".utf8)
        let polyglot = pdf + (try fixture("sample").bytes)
        // The first bytes say PDF, and the detector (which sees only them) accepts a PDF; the upload checks the end
        // of the file and refuses the polyglot there.
        #expect(detect(polyglot).content == .pdf)
        #expect(detect(polyglot).format == .pdf)
        #expect(detect(polyglot, declared: DocumentFormat.docx.mediaType).isMismatch)
        #expect(failure(polyglot) == .malformed)
        // Refused too when the ZIP's offsets count from the file's start (a readable archive after the PDF).
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(paragraph("text")))
        let shifted = builder.build(prefix: pdf)
        #expect(detect(shifted).content == .pdf)
        #expect(failure(shifted) == .malformed)
        #expect(failure(builder.build()) == nil)
    }

    @Test("TextExtractor refuses DOCX clearly, naming DOCXExtractor")
    func textExtractorRefuses() throws {
        var extractor = TextExtractor(format: .docx)
        let bytes = try fixture("sample").bytes
        do {
            _ = try extractor.feed(bytes)
            Issue.record("TextExtractor accepted DOCX bytes")
        } catch {
            #expect(error.code == .unsupportedType)
            #expect(error.message.contains("DOCXExtractor"))
        }
    }

    // MARK: Hostile and damaged archives

    @Test("a zip bomb stops at the ratio or the size limit, not at the end of 100 MB")
    func bomb() throws {
        let spaces = [UInt8](repeating: 0x20, count: 100 * 1024 * 1024)
        let xml = Array(documentXML("").utf8)
        let bodyEnd = xml.count - "</w:body></w:document>".utf8.count
        var builder = ZIPBuilder()
        builder.add("[Content_Types].xml", "<Types/>")
        builder.add(name: Array("word/document.xml".utf8), data: Array(xml[..<bodyEnd]) + spaces + xml[bodyEnd...])
        let bomb = builder.build()
        #expect(bomb.count < 300 * 1024)
        #expect(failure(bomb) == .compressionRatio)
        let sizeOnly = TextExtractor.Configuration(decompressedBytesMax: 10 * 1024 * 1024, compressionRatioMax: 100_000)
        #expect(failure(bomb, configuration: sizeOnly) == .decompressedTooLarge)
    }

    @Test(
        "entries with unsafe paths are refused before anything is inflated",
        arguments: ["../../evil", "/etc/passwd", "word/../../evil.xml", "C:\\evil", "\\server\\share", "a{NUL}b"]
    )
    func unsafePaths(name: String) {
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(paragraph("text")))
        // The NUL is put in here, so that the test's name prints cleanly.
        builder.add(name.replacingOccurrences(of: "{NUL}", with: "\u{0}"), "evil")
        #expect(failure(builder.build()) == .unsafePath)
    }

    @Test("more entries than the limit are refused")
    func tooManyEntries() throws {
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(paragraph("text")))
        for index in 0..<5 { builder.add("media/\(index).bin", "x", deflate: false) }
        let limited = TextExtractor.Configuration(archiveEntriesMax: 5)
        #expect(failure(builder.build(), configuration: limited) == .tooManyEntries)
        #expect(failure(builder.build(), configuration: TextExtractor.Configuration(archiveEntriesMax: 6)) == nil)
        for index in 5..<10_000 { builder.add("media/\(index).bin", "x", deflate: false) }
        #expect(failure(builder.build()) == .tooManyEntries)
    }

    @Test("a ZIP without word/document.xml, or with two, is malformed")
    func missingMainPart() {
        var builder = ZIPBuilder()
        builder.add("[Content_Types].xml", "<Types/>")
        builder.add("word/other.xml", documentXML(paragraph("text")))
        #expect(failure(builder.build()) == .malformed)
        builder.add("word/document.xml", documentXML(paragraph("one")))
        builder.add("word/document.xml", documentXML(paragraph("two")))
        #expect(failure(builder.build()) == .malformed)
    }

    @Test("an encrypted entry is refused as encrypted")
    func encrypted() {
        var builder = ZIPBuilder()
        builder.add("[Content_Types].xml", "<Types/>")
        builder.add("word/document.xml", documentXML(paragraph("secret")), flags: 0x0801)
        #expect(failure(builder.build()) == .encrypted)
    }

    @Test("truncated, corrupt or mis-summed archives are malformed; never a crash")
    func damaged() throws {
        let sample = try fixture("sample").bytes
        for length in [0, 10, 22, 100, sample.count / 2, sample.count - 23, sample.count - 1] {
            #expect(failure(Array(sample.prefix(length))) == (length == 0 ? .empty : .malformed))
        }
        // Every single byte flipped in turn: an error with a code or text, and never a trap.
        for index in stride(from: 0, to: sample.count, by: 3) {
            var damaged = sample
            damaged[index] ^= 0x5A
            _ = failure(damaged)
        }
        // A wrong checksum.
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(paragraph("text")))
        var archive = builder.build()
        let localChecksum = 14
        archive[localChecksum] ^= 0xFF
        let directory = archive.count - 22 - (46 + "word/document.xml".utf8.count)
        archive[directory + 16] ^= 0xFF
        #expect(failure(archive) == .malformed)
        // Not a ZIP at all.
        #expect(failure(Array("just some text, no archive here".utf8)) == .malformed)
        // Random damage to the fields, favouring all-ones values (which switch ZIP64 fields on): never a trap.
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            var damaged = sample
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<damaged.count, using: &generator)
                damaged[index] = Bool.random(using: &generator) ? 0xFF : UInt8.random(in: 0...255, using: &generator)
            }
            _ = failure(damaged)
        }
    }

    @Test("a ZIP64 offset past the end of any file is refused before ZIPFoundation would trap on it")
    func zip64Offset() {
        var builder = ZIPBuilder()
        builder.add("[Content_Types].xml", "<Types/>")
        builder.add("word/document.xml", documentXML(paragraph("text")))
        // ZIP64 extended information (id 1, 8 bytes) holding the offset, marked FFFFFFFF in the directory.
        let huge = UInt64.max - 5
        builder.entries[1].extra =
            [0x01, 0x00, 0x08, 0x00] + (0..<8).map { UInt8(truncatingIfNeeded: huge >> ($0 * 8)) }
        builder.entries[1].recordedOffset = 0xFFFF_FFFF
        #expect(failure(builder.build()) == .malformed)
        // The same field with the real offset is read.
        var honest = builder
        let offset = UInt64(builder.build().firstRange(of: [0x50, 0x4B, 0x03, 0x04], after: 1) ?? 0)
        honest.entries[1].extra =
            [0x01, 0x00, 0x08, 0x00] + (0..<8).map { UInt8(truncatingIfNeeded: offset >> ($0 * 8)) }
        #expect(failure(honest.build()) == nil)
    }

    @Test("broken or hostile XML: truncated, a DOCTYPE, deep nesting, invalid UTF-8, no text")
    func hostileXML() {
        var truncated = ZIPBuilder()
        truncated.add("word/document.xml", String(documentXML(paragraph("text")).dropLast(10)))
        #expect(failure(truncated.build()) == .malformed)

        var doctype = ZIPBuilder()
        doctype.add("word/document.xml", "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>" + documentXML(paragraph("&a;")))
        #expect(failure(doctype.build()) == .malformed)

        let deep = String(repeating: "<w:sdt>", count: 300) + String(repeating: "</w:sdt>", count: 300)
        #expect(failure(docx(body: deep)) == .tooDeep)

        var invalid = ZIPBuilder()
        let prefix = Array(documentXML("<w:p><w:r><w:t>bad ").utf8)
        invalid.add(
            name: Array("word/document.xml".utf8), data: prefix + [0xC3, 0x28] + Array("</w:t></w:r></w:p>".utf8))
        #expect(failure(invalid.build()) == .invalidUTF8)

        #expect(failure(docx(body: "<w:p/><w:p><w:r><w:t>   </w:t></w:r></w:p>")) == .noText)
        #expect(failure(docx(body: paragraph("text"))) == nil)
    }

    @Test("the text limit holds")
    func textLimit() {
        let body = (0..<100).map { paragraph("Sentence number \($0) of a long document.") }.joined()
        #expect(failure(docx(body: body), configuration: TextExtractor.Configuration(textBytesMax: 1000)) == .tooLarge)
    }
}
