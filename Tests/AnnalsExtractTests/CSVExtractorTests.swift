import AnnalsExtract
import AnnalsTesting
import Testing

private func outcome(_ body: () throws(ExtractionError) -> ExtractedText) -> Result<ExtractedText, ExtractionError> {
    do throws(ExtractionError) {
        return .success(try body())
    } catch {
        return .failure(error)
    }
}

private func csv(_ text: String) throws -> String {
    try TextExtractor.extract(Array(text.utf8), format: .csv).text
}

@Suite("CSV extraction")
struct CSVExtractorTests {
    @Test("RFC 4180: quoted commas, doubled quotes, CRLF, line breaks in quotes; a paragraph per record")
    func records() throws {
        let text = try TextExtractor.extract(try textFormatFixture("csv/books.csv"), format: .csv).text
        let expected = """
            id: 1
            title: Annals, a history
            author: Smith, Jane
            notes: She said "hello" twice
            year: 2001

            id: 2
            title: Plain title
            author: Doe
            year: 1999

            id: 3
            title: Multi line title
            author: O"Brien

            id: 4
            title: Padded value
            author: Ünïcödé Ñame
            notes: 東京, 大阪
            year: 2024
            column 6: extra field
            """
        #expect(text == expected)
    }

    @Test("the delimiter is chosen from the header line: semicolons and tabs")
    func delimiters() throws {
        let text = try TextExtractor.extract(try textFormatFixture("csv/semicolons.csv"), format: .csv).text
        #expect(text == "Name: Müller\nCity: Köln; Altstadt\nAmount: 12,50\n\nName: Dupont\nCity: Paris\nAmount: 7,00")
        #expect(try csv("a\tb\n1\t2, 3\n") == "a: 1\nb: 2, 3")
        // Delimiters inside quotes do not count.
        #expect(try csv("\"x;y;z\",w\n1,2\n") == "x;y;z: 1\nw: 2")
        #expect(try csv("single\nvalue\n") == "single: value")
    }

    @Test("line ends: CR alone, LF alone, a missing last one; blank lines skipped")
    func lineEnds() throws {
        #expect(try csv("a,b\r1,2\r3,4") == "a: 1\nb: 2\n\na: 3\nb: 4")
        #expect(try csv("\n\na,b\n\n1,2\n\n\n3,4\n") == "a: 1\nb: 2\n\na: 3\nb: 4")
        #expect(try csv("a,b\r\n1,\"x\r\n\r\ny\"\r\n") == "a: 1\nb: x y")
    }

    @Test("a byte-order mark, as spreadsheets write it, is not part of the first name")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("id,name\r\n1,Ada\r\n".utf8)
        #expect(try TextExtractor.extract(bytes, format: .csv).text == "id: 1\nname: Ada")
    }

    @Test("header names: trimmed, empty ones named by position; values trimmed and collapsed")
    func names() throws {
        #expect(try csv(" Title  Name ,,c\n1,2,3,4\n") == "Title Name: 1\ncolumn 2: 2\nc: 3\ncolumn 4: 4")
        #expect(try csv("a,b\n   ,\"  \"\n x ,\ty\t\n") == "a: x\nb: y")
    }

    @Test("lenient quotes: a quote inside an unquoted field is text, text after a closing quote is appended")
    func lenientQuotes() throws {
        #expect(try csv("a,b\nx\"y,\"p\"q\n") == "a: x\"y\nb: pq")
        #expect(try csv("a\n\"\"\"quoted\"\"\"\n") == "a: \"quoted\"")
    }

    @Test("a header without records has no text")
    func headerOnly() {
        #expect(formatError(Array("a,b\n".utf8), .csv)?.code == .noText)
        #expect(formatError(Array("a,b\n,\n\"\",\n".utf8), .csv)?.code == .noText)
    }

    @Test("a million columns is too_many_columns at the first field past the limit")
    func millionColumns() throws {
        let header = [UInt8](repeating: UInt8(ascii: ","), count: 1_000_000) + [0x0A]
        let error = formatError(header, .csv)
        #expect(error?.code == .tooManyColumns)
        #expect(error?.byteOffset == TextExtractor.Configuration.csvColumnsMaxDefault - 1)
        let narrow = TextExtractor.Configuration(csvColumnsMax: 3)
        #expect(
            try TextExtractor.extract(Array("a,b,c\n1,2,3\n".utf8), format: .csv, configuration: narrow).text.contains(
                "c: 3"))
        let wide = formatError(Array("a,b,c\n1,2,3,4\n".utf8), .csv, configuration: narrow)
        #expect(wide?.code == .tooManyColumns)
        #expect(wide?.byteOffset == 11)
    }

    @Test("an unbalanced quote is malformed: at the end of the document, or once the field passes 1 MiB")
    func unbalancedQuote() {
        let open = formatError(Array("a\n\"abc\n".utf8), .csv)
        #expect(open?.code == .malformed)
        #expect(open?.byteOffset == 2)
        let long = Array("a,b\n1,\"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1024 * 1024 + 1) + [0x0A]
        let error = formatError(long, .csv)
        #expect(error?.code == .malformed)
        #expect(error?.byteOffset == 6)
    }

    @Test("a field of exactly 1 MiB is fine")
    func longField() throws {
        let field = [UInt8](repeating: UInt8(ascii: "x"), count: 1024 * 1024)
        let text = try TextExtractor.extract(Array("a\n".utf8) + field, format: .csv).text
        #expect(text.utf8.count == 3 + field.count)
    }

    @Test("feeding byte by byte or in random pieces gives the same text")
    func streaming() throws {
        try expectStreamingEquivalence(try textFormatFixture("csv/books.csv"), format: .csv)
        try expectStreamingEquivalence(try textFormatFixture("csv/semicolons.csv"), format: .csv)
        var generator = SeededGenerator(seed: 11)
        let alphabet = Array("ab ,;\"\r\né東".unicodeScalars)
        var source = "h1,h2,h3\r\n"
        for _ in 0..<3000 { source.unicodeScalars.append(alphabet.randomElement(using: &generator)!) }
        source += "\""
        // Random bytes may leave a quote open; either way, every split must agree with the whole.
        let bytes = Array(source.utf8)
        let whole = outcome { () throws(ExtractionError) in try TextExtractor.extract(bytes, format: .csv) }
        for seed in 1...3 as ClosedRange<UInt64> {
            let pieces = randomByteSplits(bytes, maxPiece: 13, seed: seed)
            #expect(outcome { () throws(ExtractionError) in try extractPieces(pieces, format: .csv) } == whole)
        }
    }

    @Test("invalid UTF-8 is refused at its offset")
    func invalidUTF8() {
        let error = formatError(Array("a\n".utf8) + [0xFF], .csv)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 2)
    }
}
