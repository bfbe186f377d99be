import AnnalsExtract
import AnnalsTesting
import Foundation
import Testing

@Suite("PDF extraction")
struct PDFExtractorTests {
    // MARK: - Real documents

    @Test("a groff man page: text and order as pdftotext finds them, one piece list per page")
    func manPage() throws {
        var extractor = try PDFExtractor(source: FileByteSource(path: pdfFixturePath("ls.pdf")))
        #expect(extractor.pageCount == 4)
        var pages: [Int] = []
        var text = ""
        while let pieces = try extractor.nextPage() {
            guard case .pageStart(let page) = pieces.first else {
                Issue.record("a page's pieces do not start with .pageStart: \(pieces)")
                return
            }
            pages.append(page)
            for case .text(let piece) in pieces { text += piece }
        }
        #expect(pages == [1, 2, 3, 4])
        #expect(try extractor.nextPage() == nil)

        let reference = String(decoding: try pdfFixture("ls.pdftotext.txt"), as: UTF8.self)
        // Same characters in the same order (white space aside), and the same words.
        #expect(
            text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(\.value)
                == reference.unicodeScalars.filter { !$0.properties.isWhitespace }.map(\.value))
        #expect(words(text) == words(reference))
        #expect(
            text.contains("NAME\nls - list directory contents\n\nSYNOPSIS\nls [OPTION]... [FILE]...\n\nDESCRIPTION\n"))
        #expect(text.contains("-a, --all\ndo not ignore entries starting with .\n"))
        #expect(text.hasSuffix("GNU coreutils 9.1 September 2022 4\n"))
    }

    @Test("page starts point at each page's first character, pages separated by a blank line")
    func pageStarts() throws {
        let extracted = try extractPDF(try pdfFixture("ls.pdf"))
        #expect(extracted.pageStarts.map(\.page) == [1, 2, 3, 4])
        for start in extracted.pageStarts {
            #expect(scalars(of: extracted.text, offset: start.offset, length: 5) == "LS(1)")
            if start.offset > 0 {
                #expect(scalars(of: extracted.text, offset: start.offset - 2, length: 2) == "\n\n")
            }
        }
        #expect(extracted.sectionStarts.isEmpty)
    }

    @Test("object streams and a cross-reference stream with a PNG predictor read like the classic file")
    func objectStreams() throws {
        let objectStreams = try pdfFixture("ls-objstm.pdf")
        #expect(String(decoding: objectStreams, as: UTF8.self).contains("/ObjStm"))
        #expect(try extractPDF(objectStreams) == extractPDF(try pdfFixture("ls.pdf")))
    }

    @Test("ghostscript's output: embedded fonts, word spaces made by character spacing and narrow kerning spaces")
    func ghostscript() throws {
        let text = try extractPDF(try pdfFixture("ls-ps2pdf.pdf")).text
        let reference = String(decoding: try pdfFixture("ls.pdftotext.txt"), as: UTF8.self)
        // groff's PostScript draws hyphens as minus signs; otherwise the words are the same.
        #expect(words(text.replacingOccurrences(of: "\u{2212}", with: "-")) == words(reference))
    }

    @Test("an Identity-H Type 0 font with a ToUnicode CMap (fpdf2, DejaVu Sans) and a standard font")
    func typeZeroFont() throws {
        let extracted = try extractPDF(try pdfFixture("type0.pdf"))
        let text = extracted.text
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        #expect(flat.contains("Ünïcödé text: café, naïve, résumé — and Cyrillic: Съешь же ещё этих мягких"))
        #expect(flat.contains("французских булок. Greek: αβγδ."))
        #expect(text.contains("αβγδ.\n\nSecond paragraph, in the same font.\n\n"))
        #expect(extracted.pageStarts.map(\.page) == [1, 2])
        #expect(text.hasSuffix("Helvetica on page two: déjà vu.\n"))
    }

    @Test("an incremental update: the newer page object wins, with the content it adds")
    func incrementalUpdate() throws {
        let bytes = try pdfFixture("true-updated.pdf")
        #expect(String(decoding: bytes, as: UTF8.self).contains("/Prev"))
        let text = try extractPDF(bytes).text
        #expect(text.contains("true - do nothing, successfully"))
        #expect(text.hasSuffix("\n\nThis line was added by an incremental update.\n"))
    }

    // MARK: - Failures of real documents

    @Test("an encrypted PDF is refused with encrypted")
    func encrypted() throws {
        let bytes = try pdfFixture("true-encrypted.pdf")
        let error = #expect(throws: ExtractionError.self) { try PDFExtractor(source: MemoryByteSource(bytes)) }
        #expect(error?.code == .encrypted)
        #expect(error?.code.description == "encrypted")
    }

    @Test("a scanned PDF (images, no text) fails with no_text from its last page, saying it seems scanned")
    func scanned() throws {
        var extractor = try PDFExtractor(source: MemoryByteSource(try pdfFixture("true-scanned.pdf")))
        #expect(extractor.pageCount == 1)
        let error = #expect(throws: ExtractionError.self) { try extractor.nextPage() }
        #expect(error?.code == .noText)
        #expect(error?.message.contains("scanned") == true)
        #expect(try extractor.nextPage() == nil)
    }

    @Test("a truncated PDF is malformed, unless only its trailer is cut (then the scan finds everything)")
    func truncated() throws {
        let bytes = try pdfFixture("ls.pdf")
        for fraction in [0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95] {
            let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
            #expect(pdfFailure(cut)?.code == .malformed, "cut at \(fraction)")
        }
        // qpdf puts the object streams (catalog, pages, fonts) first: cut later, the file still has its pages,
        // and yields the text of the content streams that are whole, reporting the damage.
        let objectStreams = try pdfFixture("ls-objstm.pdf")
        let fullWords = words(try extractPDF(objectStreams).text)
        #expect(pdfFailure(Array(objectStreams.prefix(objectStreams.count / 10)))?.code == .malformed)
        for fraction in [0.5, 0.9] {
            let cut = Array(objectStreams.prefix(Int(Double(objectStreams.count) * fraction)))
            var extractor = try PDFExtractor(source: MemoryByteSource(cut))
            var text = ""
            while let pieces = try extractor.nextPage() {
                for case .text(let piece) in pieces { text += piece }
            }
            #expect(extractor.damage?.code == .malformed, "cut at \(fraction)")
            #expect(!text.isEmpty && fullWords.starts(with: words(text)), "cut at \(fraction)")
        }
        // Only `startxref` and the end of the table are lost: the recovery scan rebuilds them.
        #expect(try extractPDF(Array(bytes.dropLast(40))) == extractPDF(bytes))
    }

    @Test("a damaged cross-reference table is rebuilt by scanning the file for objects")
    func brokenCrossReference() throws {
        let bytes = try pdfFixture("ls.pdf")
        let expected = try extractPDF(bytes)
        // Bytes inserted after the header move every object away from its recorded offset.
        let header = bytes.firstIndex(of: 0x0A)! + 1
        let shifted = Array(bytes[..<header]) + Array("% moved\n".utf8) + Array(bytes[header...])
        #expect(try extractPDF(shifted) == expected)
        // `startxref` pointing nowhere.
        let keyword = Array("startxref\n".utf8)
        let end = try #require(
            (0...(bytes.count - keyword.count)).last { bytes[$0..<($0 + keyword.count)].elementsEqual(keyword) })
        let broken = Array(bytes[..<(end + keyword.count)]) + Array("99999999\n%%EOF\n".utf8)
        #expect(try extractPDF(broken) == expected)
    }

    @Test("a %PDF header followed by garbage is malformed; a non-PDF is refused")
    func garbage() throws {
        var generator = SeededGenerator(seed: 42)
        let noise = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(pdfFailure(Array("%PDF-1.7\n".utf8) + noise)?.code == .malformed)
        #expect(pdfFailure(Array("Just some text, not a PDF.\n".utf8))?.code == .malformed)
        #expect(pdfFailure([])?.code == .empty)
    }

    // MARK: - Text operators and fonts

    @Test("Td, TD, T*, ', \", Tm and TJ: lines, paragraphs, and spaces from kerning")
    func textOperators() throws {
        let content = """
            BT /F1 12 Tf 72 700 Td (Hello) Tj ( world) Tj
            0 -14 Td (Second line) Tj [( Kern) -50 (ing) -300 (spaced)] TJ
            14 TL T* (Third) Tj (Fourth) '
            3 0 (two words) "
            1 0 0 1 400 644 Tm (far right) Tj
            ET
            BT /F1 12 Tf 0 -20 TD (After a gap) Tj ET
            BT /F1 12 Tf 72 500 Td (New paragraph) Tj ET
            """
        let text = try extractPDF(PDFBuilder.page(content).build()).text
        #expect(
            text
                == "Hello world\nSecond line Kerning spaced\nThird\nFourth\ntwo words far right\n\nAfter a gap\n\n"
                + "New paragraph\n")
    }

    @Test("simple fonts: /Differences with glyph names, MacRoman, and a standard font's widths")
    func simpleFonts() throws {
        var builder = PDFBuilder.page(
            """
            BT /F2 12 Tf 72 700 Td (ABCD\\310) Tj ET
            BT /F3 12 Tf 72 680 Td (caf\\216) Tj ET
            """,
            resources: "/Font << /F2 6 0 R /F3 7 0 R >>")
        builder.add(
            6,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding << /BaseEncoding /WinAnsiEncoding "
                + "/Differences [65 /alpha /uni2603 /f_f_i 200 /Euro] >> >>")
        builder.add(7, "<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /MacRomanEncoding >>")
        #expect(try extractPDF(builder.build()).text == "α☃ffiD€\ncafé\n")
    }

    @Test("an Identity-H Type 0 font: bfchar and both forms of bfrange, two-byte codes, a surrogate pair")
    func toUnicode() throws {
        var builder = PDFBuilder.page(
            "BT /F2 12 Tf 72 700 Td <0001 0002 0010 0019 0020 0021 0022> Tj ET", resources: "/Font << /F2 6 0 R >>")
        builder.add(
            6,
            "<< /Type /Font /Subtype /Type0 /BaseFont /Test /Encoding /Identity-H /DescendantFonts [7 0 R] "
                + "/ToUnicode 8 0 R >>")
        builder.add(
            7,
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Test /CIDSystemInfo << /Registry (Adobe) "
                + "/Ordering (Identity) /Supplement 0 >> /DW 500 /W [1 [600 700] 16 25 550] >>")
        builder.addStream(
            8,
            text: """
                /CIDInit /ProcSet findresource begin
                12 dict begin
                begincmap
                /CMapName /Test def
                1 begincodespacerange
                <0000> <FFFF>
                endcodespacerange
                2 beginbfchar
                <0001> <0041>
                <0002> <D83DDE00>
                endbfchar
                2 beginbfrange
                <0010> <0019> <0030>
                <0020> <0022> [<00660069> <03B1> <0436>]
                endbfrange
                endcmap
                CMapName currentdict /CMap defineresource pop
                end
                end
                """)
        #expect(try extractPDF(builder.build()).text == "A😀09fiαж\n")
    }

    @Test("filters: ASCIIHex, ASCII85, a chain with Flate, LZW, RunLength, and Flate with a PNG predictor")
    func filters() throws {
        let content = Array("BT /F1 12 Tf 72 700 Td (Filtered text) Tj ET".utf8)
        var runLength: [UInt8] = []
        for start in stride(from: 0, to: content.count, by: 100) {
            let chunk = content[start..<min(start + 100, content.count)]
            runLength += [UInt8(chunk.count - 1)] + chunk
        }
        runLength.append(128)
        // PNG "Up" rows of 8 bytes: each byte minus the one above it.
        let columns = 8
        let padded = content + [UInt8](repeating: 0x20, count: (columns - content.count % columns) % columns)
        var predicted: [UInt8] = []
        for row in stride(from: 0, to: padded.count, by: columns) {
            predicted.append(2)
            for index in row..<(row + columns) {
                predicted.append(padded[index] &- (row > 0 ? padded[index - columns] : 0))
            }
        }
        let cases: [(String, [UInt8])] = [
            (
                "/Filter /ASCIIHexDecode",
                Array(content.map { String(format: "%02X", $0) }.joined(separator: " ").utf8) + [0x3E]
            ),
            ("/Filter /ASCII85Decode", ascii85(content)),
            ("/Filter [/ASCII85Decode /FlateDecode]", ascii85(compress(content, framing: .zlib))),
            ("/Filter /LZWDecode", lzw(content)),
            ("/Filter /RunLengthDecode", runLength),
            ("/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 8 >>", compress(predicted, framing: .zlib)),
        ]
        for (filter, data) in cases {
            let pdf = PDFBuilder.page(content: data, filter: filter).build()
            #expect(try extractPDF(pdf).text == "Filtered text\n", "\(filter)")
        }
        // A longer text through LZW, so that its codes widen past 9 bits.
        let long = (0..<400).map { "(Line \($0) of a long LZW text.) Tj 0 -14 Td" }.joined(separator: "\n")
        let lzwContent = Array("BT /F1 12 Tf 14 TL 72 700 Td\n\(long)\nET".utf8)
        let text = try extractPDF(PDFBuilder.page(content: lzw(lzwContent), filter: "/Filter /LZWDecode").build()).text
        #expect(text.hasPrefix("Line 0 of a long LZW text.\nLine 1 of"))
        #expect(text.hasSuffix("Line 399 of a long LZW text.\n"))
    }

    @Test("content arrays, inherited resources, inline images and the page tree's order")
    func structure() throws {
        var builder = PDFBuilder()
        builder.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        builder.add(
            2, "<< /Type /Pages /Kids [3 0 R 10 0 R] /Count 3 /Resources << /Font << /F1 5 0 R >> >> >>")
        builder.add(3, "<< /Type /Page /Parent 2 0 R /Contents [4 0 R 6 0 R] >>")
        builder.addStream(4, text: "BT /F1 12 Tf 72 700 Td (First) Tj")
        builder.addStream(6, text: "( stream) Tj ET")
        builder.add(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        builder.add(10, "<< /Type /Pages /Parent 2 0 R /Kids [11 0 R 12 0 R] /Count 2 >>")
        builder.add(11, "<< /Type /Page /Parent 10 0 R /Contents 13 0 R >>")
        builder.add(12, "<< /Type /Page /Parent 10 0 R /Contents 14 0 R >>")
        // Image data holding "EI" between bytes that are no white space: only the real end counts.
        builder.addStream(
            13,
            data: Array("BT /F1 12 Tf 72 700 Td (Before) Tj ET q BI /W 4 /H 1 /BPC 8 /CS /G ID ".utf8)
                + [0x00, 0x45, 0x49, 0xFF] + Array(" EI Q BT /F1 12 Tf 72 686 Td (After) Tj ET".utf8))
        builder.addStream(14, text: "BT /F1 12 Tf 72 700 Td (Third page) Tj ET")
        var extractor = try PDFExtractor(source: MemoryByteSource(builder.build()))
        #expect(extractor.pageCount == 3)
        #expect(try extractor.nextPage() == [.pageStart(1), .text("First stream\n\n")])
        #expect(try extractor.nextPage() == [.pageStart(2), .text("Before\nAfter\n\n")])
        #expect(try extractor.nextPage() == [.pageStart(3), .text("Third page\n")])
        #expect(try extractor.nextPage() == nil)
    }

    @Test("form XObjects are drawn with their matrix and resources, nested")
    func forms() throws {
        var builder = PDFBuilder.page(
            "BT /F1 12 Tf 72 700 Td (Page text) Tj ET /X1 Do",
            resources: "/Font << /F1 5 0 R >> /XObject << /X1 6 0 R >>")
        builder.addStream(
            6,
            "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Matrix [1 0 0 1 0 -100] "
                + "/Resources << /Font << /F9 5 0 R >> /XObject << /X2 7 0 R >> >>",
            text: "BT /F9 12 Tf 72 650 Td (Form text) Tj ET /X2 Do")
        builder.addStream(
            7, "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F8 5 0 R >> >>",
            text: "BT /F8 12 Tf 72 636 Td (Nested form text) Tj ET")
        #expect(try extractPDF(builder.build()).text == "Page text\n\nForm text\nNested form text\n")
    }

    // MARK: - Hostile documents and limits

    @Test("references that loop (1 0 R → 2 0 R → 1 0 R) end with too_deep, not a hang")
    func referenceLoop() throws {
        var builder = PDFBuilder()
        builder.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        // The page tree lists itself: visited once.
        builder.add(2, "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>")
        builder.add(3, "<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>")
        builder.add(6, "7 0 R")
        builder.add(7, "6 0 R")
        let error = pdfFailure(builder.build())
        #expect(error?.code == .tooDeep)
        #expect(error?.message.contains("loop") == true)
    }

    @Test("a Flate bomb in a content stream stops at the ratio or the byte limit")
    func flateBomb() throws {
        let bomb = compress([UInt8](repeating: 0x20, count: 50 << 20), framing: .zlib, level: 9)
        let pdf = PDFBuilder.page(content: bomb, filter: "/Filter /FlateDecode").build()
        #expect(pdfFailure(pdf)?.code == .compressionRatio)
        let small = TextExtractor.Configuration(decompressedBytesMax: 4 << 20, compressionRatioMax: 1_000_000)
        #expect(pdfFailure(pdf, configuration: small)?.code == .decompressedTooLarge)
    }

    @Test("nesting beyond nestingDepthMax is too_deep: arrays in content, dictionaries in objects, forms")
    func nesting() throws {
        let arrays = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(pdfFailure(PDFBuilder.page("BT /F1 12 Tf \(arrays) TJ ET").build())?.code == .tooDeep)

        var deepObject = PDFBuilder()
        deepObject.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        deepObject.add(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        deepObject.add(
            3,
            "<< /Type /Page /Deep " + String(repeating: "<< /A ", count: 300) + String(repeating: ">> ", count: 300)
                + ">>")
        #expect(pdfFailure(deepObject.build())?.code == .tooDeep)

        var recursive = PDFBuilder.page(
            "/X1 Do", resources: "/Font << /F1 5 0 R >> /XObject << /X1 6 0 R >>")
        recursive.addStream(
            6, "/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X1 6 0 R >> >>",
            text: "/X1 Do")
        #expect(pdfFailure(recursive.build())?.code == .tooDeep)
        let shallow = TextExtractor.Configuration(nestingDepthMax: 8)
        #expect(
            pdfFailure(PDFBuilder.page("BT /F1 12 Tf [[[[[[[[[[(x)]]]]]]]]]] TJ ET").build(), configuration: shallow)?
                .code == .tooDeep)
    }

    @Test("too many objects or operators, and too much text, fail with their codes")
    func limits() throws {
        let ls = try pdfFixture("ls.pdf")
        #expect(pdfFailure(ls, configuration: .init(pdfObjectsMax: 10))?.code == .tooManyObjects)
        let operators = String(repeating: "q Q ", count: 2000)
        let page = PDFBuilder.page("BT /F1 12 Tf 72 700 Td (Text) Tj ET \(operators)").build()
        let error = pdfFailure(page, configuration: .init(pdfObjectsMax: 1000))
        #expect(error?.code == .tooManyObjects)
        #expect(error?.message.contains("operators") == true)
        #expect(pdfFailure(page) == nil)
        // Elements count too: a few kilobytes of numbers must not become an array of any size.
        let numbers = "[" + String(repeating: "0 ", count: 5000) + "] TJ"
        let wide = PDFBuilder.page("BT /F1 12 Tf \(numbers) ET").build()
        #expect(pdfFailure(wide, configuration: .init(pdfObjectsMax: 1000))?.code == .tooManyObjects)
        #expect(pdfFailure(ls, configuration: .init(textBytesMax: 1000))?.code == .tooLarge)
        #expect(pdfFailure(ls, configuration: .init(decompressedBytesMax: 10_000))?.code == .decompressedTooLarge)
    }

    @Test("no text: a page of images says it seems scanned; blank pages and no pages say there is no text")
    func noText() throws {
        var image = PDFBuilder.page("q 100 0 0 100 0 0 cm /Im1 Do Q", resources: "/XObject << /Im1 6 0 R >>")
        image.addStream(
            6, "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8",
            data: [0x80])
        let scanned = pdfFailure(image.build())
        #expect(scanned?.code == .noText)
        #expect(scanned?.message.contains("scanned") == true)

        let blank = pdfFailure(PDFBuilder.page("0 0 m 100 100 l S").build())
        #expect(blank?.code == .noText)
        #expect(blank?.message.contains("scanned") == false)

        var empty = PDFBuilder()
        empty.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        empty.add(2, "<< /Type /Pages /Kids [] /Count 0 >>")
        var extractor = try PDFExtractor(source: MemoryByteSource(empty.build()))
        #expect(extractor.pageCount == 0)
        #expect(throws: ExtractionError.self) { try extractor.nextPage() }
        #expect(try extractor.nextPage() == nil)
    }

    @Test("corrupt compressed content ends its stream: other pages still read, no text at all is malformed")
    func corruptStream() throws {
        var compressed = compress(Array("BT /F1 12 Tf 72 700 Td (Lost page) Tj ET".utf8), framing: .zlib)
        compressed[compressed.count / 2] ^= 0xFF
        compressed[compressed.count / 2 + 1] ^= 0xFF
        var builder = PDFBuilder()
        builder.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        builder.add(2, "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 /Resources << /Font << /F1 5 0 R >> >> >>")
        builder.add(3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>")
        builder.addStream(4, "/Filter /FlateDecode", data: compressed)
        builder.add(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        builder.add(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R >>")
        builder.addStream(7, text: "BT /F1 12 Tf 72 700 Td (Good page) Tj ET")
        var extractor = try PDFExtractor(source: MemoryByteSource(builder.build()))
        #expect(try extractor.nextPage() == [.pageStart(1)])
        #expect(try extractor.nextPage() == [.pageStart(2), .text("Good page\n")])
        #expect(extractor.damage?.code == .malformed)

        let onlyCorrupt = PDFBuilder.page(content: compressed, filter: "/Filter /FlateDecode").build()
        let error = pdfFailure(onlyCorrupt)
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("corrupt") == true)
    }

    @Test("a damaged content stream keeps the text around the damage")
    func damagedContent() throws {
        let pdf = PDFBuilder.page(
            "BT /F1 12 Tf 72 700 Td (Good) Tj [(unterminated ET BT /F1 12 Tf 72 686 Td (Still good) Tj ET"
        ).build()
        let text = try extractPDF(pdf).text
        #expect(text.hasPrefix("Good"))
        #expect(text.hasSuffix("Still good\n"))
    }

    // MARK: - Detection and the streaming extractor

    @Test("detection: %PDF- is a PDF to extract; a declared type contradicting the bytes is a mismatch")
    func detection() {
        let pdf = Array("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        for declared in [nil, "application/pdf", "application/octet-stream", "application/x-unknown"] {
            let detection = detect(pdf, declared: declared, filename: "report.pdf")
            #expect(detection.isAllowed, "\(declared ?? "none")")
            #expect(detection.format == .pdf)
            #expect(detection.contentType == "application/pdf")
        }
        #expect(DocumentFormat.pdf.mediaType == "application/pdf")
        #expect(detect(Array("just words".utf8), declared: "application/pdf").refusal?.code == .typeMismatch)
        #expect(detect(pdf, declared: "text/plain").refusal?.code == .typeMismatch)
        let elf = detect([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01], filename: "report.pdf")
        #expect(elf.refusal?.code == .unsupportedType)
        #expect(detect([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01], declared: "application/pdf").isMismatch)
    }

    @Test("the streaming TextExtractor refuses PDF clearly; its one-shot extract reads PDF")
    func streamingExtractor() throws {
        let bytes = try pdfFixture("ls.pdf")
        var streaming = TextExtractor(format: .pdf)
        let error = #expect(throws: ExtractionError.self) { try streaming.feed(bytes.prefix(100)) }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains("PDFExtractor") == true)
        #expect(try TextExtractor.extract(bytes, format: .pdf) == extractPDF(bytes))
    }

    private func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0.isWhitespace })
    }
}
