import CZlibShim
import Foundation
import ZIPFoundation

/// Generated documents of every accepted format, each carrying about as much English-like text as asked, seeded.
///
/// All of them are made from the paragraphs of ``EnglishCorpus``: Markdown adds headings and lists; HTML adds a
/// head with a style and a script (dropped by the extractor), headings, lists and entities; JSON is an array of
/// records whose `body` is a paragraph; CSV has a quoted body column; the PDF has pages of 60 lines set in Helvetica
/// with Flate-compressed content streams (as most PDFs are); the DOCX is a minimal WordprocessingML package
/// (deflated `word/document.xml` with heading styles); gzip wraps the plain text.
enum IngestCorpus {
    /// The generated formats, named as on the command line.
    enum Kind: String, CaseIterable {
        case text, markdown, html, json, csv, pdf, docx, gzip

        /// The names, for help and errors.
        static var allNames: String { allCases.map(\.rawValue).joined(separator: ",") }

        /// The file name, whose extension picks the text format where the bytes do not (CSV, Markdown), as at upload.
        var fileName: String {
            switch self {
            case .text: "corpus.txt"
            case .markdown: "corpus.md"
            case .html: "corpus.html"
            case .json: "corpus.json"
            case .csv: "corpus.csv"
            case .pdf: "corpus.pdf"
            case .docx: "corpus.docx"
            case .gzip: "corpus.txt.gz"
            }
        }
    }

    /// Lines per PDF page and characters per line.
    static let pdfLinesPerPage = 60
    static let pdfLineCharacters = 95

    /// Writes a document of `kind` holding about `textBytes` bytes of text to `path`.
    static func write(_ kind: Kind, textBytes: Int, seed: UInt64, to path: String) throws {
        let paragraphs = EnglishCorpus.generate(bytes: textBytes, seed: seed)
            .split(separator: 0x0A, omittingEmptySubsequences: true)
            .map { String(decoding: $0, as: UTF8.self) }
        switch kind {
        case .text: try Data(paragraphs.joined(separator: "\n\n").utf8).write(to: URL(fileURLWithPath: path))
        case .markdown: try Data(markdown(paragraphs).utf8).write(to: URL(fileURLWithPath: path))
        case .html: try Data(html(paragraphs).utf8).write(to: URL(fileURLWithPath: path))
        case .json: try Data(json(paragraphs).utf8).write(to: URL(fileURLWithPath: path))
        case .csv: try Data(csv(paragraphs).utf8).write(to: URL(fileURLWithPath: path))
        case .pdf: try Data(pdf(paragraphs)).write(to: URL(fileURLWithPath: path))
        case .docx: try docx(paragraphs, path: path)
        case .gzip: try gzip(Array(paragraphs.joined(separator: "\n\n").utf8), path: path)
        }
    }

    /// The first `count` words of a paragraph, without its punctuation, for titles.
    private static func title(_ paragraph: String, words count: Int = 5) -> String {
        paragraph.split(separator: " ").prefix(count).joined(separator: " ").filter { $0.isLetter || $0 == " " }
    }

    /// The sentences of a paragraph.
    private static func sentences(_ paragraph: String) -> [String] {
        var result: [String] = []
        var current = ""
        for character in paragraph {
            current.append(character)
            if character == "." || character == "?" || character == "!", current.count > 12 {
                result.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty {
            result.append(current.trimmingCharacters(in: .whitespaces))
        }
        return result
    }

    static func markdown(_ paragraphs: [String]) -> String {
        var output = "# Generated document\n\n"
        for (index, paragraph) in paragraphs.enumerated() {
            if index % 4 == 0 { output += "## \(title(paragraph))\n\n" }
            if index % 5 == 4 {
                output += sentences(paragraph).map { "- \($0)\n" }.joined() + "\n"
            } else {
                output += paragraph + "\n\n"
            }
        }
        return output
    }

    static func html(_ paragraphs: [String]) -> String {
        var output = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        output += "<title>Generated document</title>\n<style>body { font-family: serif; } p { margin: 0 }</style>\n"
        output += "</head>\n<body>\n<h1>Generated document</h1>\n"
        for (index, paragraph) in paragraphs.enumerated() {
            if index % 4 == 0 { output += "<h2 id=\"s\(index)\">\(title(paragraph))</h2>\n" }
            if index % 50 == 49 { output += "<script>window.counter = (window.counter || 0) + \(index);</script>\n" }
            let escaped = paragraph.replacingOccurrences(of: " and ", with: " &amp; ")
            if index % 5 == 4 {
                output += "<ul>\n" + sentences(escaped).map { "  <li>\($0)</li>\n" }.joined() + "</ul>\n"
            } else {
                output += "<p class=\"body\">\(escaped)&nbsp;</p>\n"
            }
        }
        return output + "</body>\n</html>\n"
    }

    static func json(_ paragraphs: [String]) -> String {
        var output = "[\n"
        for (index, paragraph) in paragraphs.enumerated() {
            if index > 0 { output += ",\n" }
            let words = paragraph.split(separator: " ").count
            output += "{\"id\":\(index),\"title\":\"\(title(paragraph))\",\"body\":\"\(paragraph)\","
            output += "\"tags\":[\"generated\",\"english\"],\"meta\":{\"words\":\(words),\"draft\":false}}"
        }
        return output + "\n]\n"
    }

    static func csv(_ paragraphs: [String]) -> String {
        var output = "id,title,body,words\r\n"
        for (index, paragraph) in paragraphs.enumerated() {
            let words = paragraph.split(separator: " ").count
            output += "\(index),\(title(paragraph)),\"\(paragraph)\",\(words)\r\n"
        }
        return output
    }

    /// A PDF 1.4 file: a catalog, one page tree, one font (Helvetica, a standard font that needs no embedding),
    /// and per page a page object and a Flate-compressed content stream of `Tj` and `T*` operators.
    static func pdf(_ paragraphs: [String]) throws -> [UInt8] {
        // Lines of at most `pdfLineCharacters`, cut at spaces, with an empty line between paragraphs.
        var lines: [String] = []
        for paragraph in paragraphs {
            var line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty && line.count + 1 + word.count > pdfLineCharacters {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
            lines.append("")
        }
        var pages: [[String]] = []
        var start = 0
        while start < lines.count {
            pages.append(Array(lines[start..<min(lines.count, start + pdfLinesPerPage)]))
            start += pdfLinesPerPage
        }
        var output = Array("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets: [Int] = []
        func object(_ body: [UInt8]) {
            offsets.append(output.count)
            output += Array("\(offsets.count) 0 obj\n".utf8) + body + Array("\nendobj\n".utf8)
        }
        // Objects 1-3, then a page (4 + 2i) and its contents (5 + 2i) for page i.
        object(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        let kids = (0..<pages.count).map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        object(Array("<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>".utf8))
        object(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8))
        for (index, page) in pages.enumerated() {
            object(
                Array(
                    ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                        + "/Contents \(5 + 2 * index) 0 R >>").utf8))
            var content = "BT\n/F1 10 Tf\n12 TL\n40 760 Td\n"
            for line in page {
                let escaped = line.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "(", with: "\\(").replacingOccurrences(of: ")", with: "\\)")
                content += "(\(escaped)) Tj T*\n"
            }
            content += "ET\n"
            let compressed = try deflate(Array(content.utf8))
            object(
                Array("<< /Length \(compressed.count) /Filter /FlateDecode >>\nstream\n".utf8) + compressed
                    + Array("\nendstream".utf8))
        }
        let xref = output.count
        output += Array("xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n".utf8)
        for offset in offsets {
            output += Array(String(format: "%010d 00000 n \n", offset).utf8)
        }
        output += Array("trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return output
    }

    /// `bytes` in zlib format (what PDF's FlateDecode holds).
    private static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(size))
        // The arrays are passed as pointers for the call only; zlib writes at most `size` bytes, the capacity it
        // was told (compressBound's), and reads `bytes.count`.
        let rc = compress2(&output, &size, bytes, uLong(bytes.count), Z_DEFAULT_COMPRESSION)
        guard rc == Z_OK else { throw CorpusError(message: "zlib compress2 failed with \(rc)") }
        return Array(output.prefix(Int(size)))
    }

    /// Writes `bytes` gzip-compressed (level 6, as `gzip` does by default) to `path`.
    private static func gzip(_ bytes: [UInt8], path: String) throws {
        guard let file = gzopen(path, "wb6") else { throw CorpusError(message: "cannot create \(path)") }
        var offset = 0
        while offset < bytes.count {
            let count = min(1 << 20, bytes.count - offset)
            // The buffer is valid for the closure, and gzwrite reads `count` bytes of it, which the slice holds.
            let written = bytes[offset..<offset + count].withUnsafeBytes {
                gzwrite(file, $0.baseAddress, UInt32(count))
            }
            guard written == Int32(count) else {
                gzclose(file)
                throw CorpusError(message: "gzwrite to \(path) failed")
            }
            offset += count
        }
        guard gzclose(file) == Z_OK else { throw CorpusError(message: "cannot finish \(path)") }
    }

    /// A minimal DOCX: content types, the package relationships and `word/document.xml`, deflated.
    private static func docx(_ paragraphs: [String], path: String) throws {
        let contentTypes = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/word/document.xml" \
            ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>\
            </Types>
            """
        let relationships = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            <Relationship Id="rId1" \
            Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
            Target="word/document.xml"/></Relationships>
            """
        func paragraph(_ text: String, style: String? = nil) -> String {
            let properties = style.map { "<w:pPr><w:pStyle w:val=\"\($0)\"/></w:pPr>" } ?? ""
            return "<w:p>\(properties)<w:r><w:t xml:space=\"preserve\">\(text)</w:t></w:r></w:p>"
        }
        var document = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        document += "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>"
        for (index, text) in paragraphs.enumerated() {
            if index % 4 == 0 { document += paragraph(title(text), style: "Heading2") }
            document += paragraph(text)
        }
        document += "<w:sectPr/></w:body></w:document>"
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, text) in [
            ("[Content_Types].xml", contentTypes), ("_rels/.rels", relationships), ("word/document.xml", document),
        ] {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate,
                provider: { position, size in data.subdata(in: Int(position)..<Int(position) + size) })
        }
    }

    /// A corpus that could not be written.
    struct CorpusError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
