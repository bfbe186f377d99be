import AnnalsTesting
import Foundation
import Testing

@testable import AnnalsExtract

/// The bytes of `Fixtures/docx/parts.docx`, written by `make.py`.
private func partsFixture() throws -> [UInt8] {
    try textFormatFixture("docx/parts.docx")
}

/// The code an extraction of `bytes` fails with, or nil when it succeeds.
private func partsFailure(_ bytes: [UInt8], configuration: TextExtractor.Configuration = .init())
    -> ExtractionError.Code?
{
    do {
        _ = try DOCXExtractor.extract(bytes: bytes, configuration: configuration)
        return nil
    } catch {
        return error.code
    }
}

/// A WordprocessingML part with root `root` around `body`.
private func partXML(_ root: String, _ body: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:\(root) xmlns:w=\"\(wordNamespace)\">\(body)</w:\(root)>"
}

private func para(_ text: String, style: String? = nil) -> String {
    let properties = style.map { "<w:pPr><w:pStyle w:val=\"\($0)\"/></w:pPr>" } ?? ""
    return "<w:p>\(properties)<w:r><w:t xml:space=\"preserve\">\(text)</w:t></w:r></w:p>"
}

/// The scalar offsets at which each of `needles` first occurs in `text`.
private func offsets(of needles: [String], in text: String) -> [Int] {
    needles.map { needle in
        guard let range = text.range(of: needle) else { return -1 }
        return text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: range.lowerBound)
    }
}

@Suite("DOCX headers, footers, notes, comments and styles")
struct DOCXPartsTests {
    static let partsText = [
        "Bericht", "Der erste Absatz mit Fußnote.", "Einleitung", "Ein Zitat, keine Überschrift.",
        "Fließtext ohne Gliederung.", "Details", "Noch ein Satz und ein Ende", "Kopfzeile zwei", "Kopfzeile zehn",
        "Seite 1 von 2", " Erste Fußnote.", " Zweite Fußnote.", " Die Endnote.", "Ein Kommentar.",
    ].joined(separator: "\n\n")

    @Test("body, then headers and footers by number, footnotes, endnotes, comments; each part a section")
    func parts() throws {
        let extracted = try DOCXExtractor.extract(bytes: try partsFixture())
        #expect(extracted.text == Self.partsText)
        let sections = [
            "Einleitung", "Details", "Kopfzeile zwei", "Kopfzeile zehn", "Seite 1", " Erste", " Die Endnote",
            "Ein Kommentar",
        ]
        #expect(extracted.sectionStarts == offsets(of: sections, in: extracted.text))
    }

    @Test("the pieces of next() are those of extract(), from bytes and from a file")
    func stepwise() throws {
        let bytes = try partsFixture()
        var extractor = try DOCXExtractor(bytes: bytes)
        var steps = 0
        var collector = ExtractedTextCollector()
        while let pieces = try extractor.next() {
            steps += 1
            collector.add(pieces)
        }
        #expect(try extractor.next() == nil)
        #expect(collector.result == (try DOCXExtractor.extract(bytes: bytes)))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "parts-\(UInt64.random(in: 0...UInt64.max)).docx")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var fromFile = try DOCXExtractor(path: url.path)
        var fileCollector = ExtractedTextCollector()
        while let pieces = try fromFile.next() { fileCollector.add(pieces) }
        #expect(fileCollector.result == collector.result)
    }

    @Test("styles.xml names the headings: by name, by outline level, through basedOn; without it, none of those")
    func styles() throws {
        let body = [
            para("Eins", style: "berschrift1"), para("text"), para("Zwei", style: "Kapitel"), para("text"),
            para("Drei", style: "Unter"), para("text"), para("Kein", style: "Zitat"), para("text"),
            para("Vier", style: "Heading2"), para("text"), para("Fünf", style: "Kreis"), para("text"),
        ].joined()
        let styles = partXML(
            "styles",
            [
                "<w:style w:type=\"paragraph\" w:styleId=\"berschrift1\"><w:name w:val=\"Heading 1\"/></w:style>",
                "<w:style w:styleId=\"Kapitel\"><w:name w:val=\"Chapter\"/><w:pPr><w:outlineLvl w:val=\"1\"/>"
                    + "</w:pPr></w:style>",
                "<w:style w:type=\"paragraph\" w:styleId=\"Unter\"><w:name w:val=\"Sub\"/>"
                    + "<w:basedOn w:val=\"Kapitel\"/></w:style>",
                "<w:style w:type=\"paragraph\" w:styleId=\"Zitat\"><w:name w:val=\"Quote\"/>"
                    + "<w:rPr><w:outlineLvl w:val=\"0\"/></w:rPr></w:style>",
                // A circle of basedOn: no heading, and no endless loop.
                "<w:style w:type=\"paragraph\" w:styleId=\"Kreis\"><w:basedOn w:val=\"Ring\"/></w:style>",
                "<w:style w:type=\"paragraph\" w:styleId=\"Ring\"><w:basedOn w:val=\"Kreis\"/></w:style>",
                // A character style is not a paragraph style, even with a heading's name.
                "<w:style w:type=\"character\" w:styleId=\"Zitat2\"><w:name w:val=\"heading 2\"/></w:style>",
            ].joined())
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(body))
        builder.add("word/styles.xml", styles)
        let extracted = try DOCXExtractor.extract(bytes: builder.build())
        // "Eins" starts the document, so it adds no section start of its own.
        #expect(extracted.sectionStarts == offsets(of: ["Zwei", "Drei", "Vier"], in: extracted.text))
        var plain = ZIPBuilder()
        plain.add("word/document.xml", documentXML(body))
        let unstyled = try DOCXExtractor.extract(bytes: plain.build())
        #expect(unstyled.text == extracted.text)
        #expect(unstyled.sectionStarts == offsets(of: ["Vier"], in: unstyled.text))
    }

    @Test("separator notes are left out, and so is a continuation notice, whatever it holds")
    func separators() throws {
        let footnotes = partXML(
            "footnotes",
            "<w:footnote w:type=\"separator\" w:id=\"-1\"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>"
                + "<w:footnote w:type=\"continuationNotice\" w:id=\"0\">\(para("continued on next page"))</w:footnote>"
                + "<w:footnote w:id=\"1\">\(para("Real note."))</w:footnote>")
        var builder = ZIPBuilder()
        builder.add("word/footnotes.xml", footnotes)
        builder.add("word/document.xml", documentXML(para("Body.")))
        let extracted = try DOCXExtractor.extract(bytes: builder.build())
        #expect(extracted.text == "Body.\n\nReal note.")
        #expect(extracted.sectionStarts == [7])
    }

    @Test("parts without text add nothing, not even a section start; a document with text only in a header has text")
    func emptyParts() throws {
        var builder = ZIPBuilder()
        builder.add("word/document.xml", documentXML(para("Body.")))
        builder.add("word/header1.xml", partXML("hdr", "<w:p/>"))
        builder.add("word/footer1.xml", partXML("ftr", para("Footer")))
        let extracted = try DOCXExtractor.extract(bytes: builder.build())
        #expect(extracted.text == "Body.\n\nFooter")
        #expect(extracted.sectionStarts == [7])
        var headerOnly = ZIPBuilder()
        headerOnly.add("word/document.xml", documentXML("<w:p/>"))
        headerOnly.add("word/header1.xml", partXML("hdr", para("Only here")))
        #expect(try DOCXExtractor.extract(bytes: headerOnly.build()).text == "Only here")
        // Names that look like parts but are not: another folder, another extension.
        var others = ZIPBuilder()
        others.add("word/document.xml", documentXML(para("Body.")))
        others.add("word/headers/header1.xml", partXML("hdr", para("no")))
        others.add("word/header1.xml.rels", partXML("hdr", para("no")))
        others.add("customXml/footnotes.xml", partXML("footnotes", para("no")))
        #expect(try DOCXExtractor.extract(bytes: others.build()).text == "Body.")
    }

    @Test("every part gets the entry checks: damaged data, bad XML, two of a name, encryption, a bomb")
    func damagedParts() throws {
        func archive(header: ZIPBuilder.Entry) -> [UInt8] {
            var builder = ZIPBuilder()
            builder.add("word/document.xml", documentXML(para("Body.")))
            builder.entries.append(header)
            return builder.build()
        }
        let good = ZIPBuilder.Entry(
            name: Array("word/header1.xml".utf8), data: Array(partXML("hdr", para("Head")).utf8))
        #expect(partsFailure(archive(header: good)) == nil)
        var corrupt = good
        corrupt.compressed = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(partsFailure(archive(header: corrupt)) == .malformed)
        var badXML = good
        badXML.data = Array(partXML("hdr", "<w:p><w:r>").utf8)
        #expect(partsFailure(archive(header: badXML)) == .malformed)
        var encrypted = good
        encrypted.flags |= 0x0001
        #expect(partsFailure(archive(header: encrypted)) == .encrypted)
        var stored = good
        stored.deflate = false
        #expect(partsFailure(archive(header: stored)) == nil)
        var twice = ZIPBuilder()
        twice.add("word/document.xml", documentXML(para("Body.")))
        twice.entries += [good, good]
        #expect(partsFailure(twice.build()) == .malformed)
        // A damaged byte anywhere in the fixture: an error or the same text, never a crash.
        let bytes = try partsFixture()
        for index in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[index] ^= 0x5A
            _ = partsFailure(damaged)
        }
        // The parts share one decompression budget: a bomb in a footer stops like one in the body.
        let spaces = String(repeating: " ", count: 20 * 1024 * 1024)
        var bomb = ZIPBuilder()
        bomb.add("word/document.xml", documentXML(para("Body.")))
        bomb.add("word/footer1.xml", partXML("ftr", para("x") + spaces))
        #expect(partsFailure(bomb.build()) == .compressionRatio)
        let sizeOnly = TextExtractor.Configuration(decompressedBytesMax: 4 * 1024 * 1024, compressionRatioMax: 100_000)
        #expect(partsFailure(bomb.build(), configuration: sizeOnly) == .decompressedTooLarge)
        // The text limit counts all parts.
        let small = TextExtractor.Configuration(textBytesMax: 10)
        #expect(
            partsFailure(archive(header: good), configuration: TextExtractor.Configuration(textBytesMax: 13)) == nil)
        #expect(partsFailure(archive(header: good), configuration: small) == .tooLarge)
    }
}
