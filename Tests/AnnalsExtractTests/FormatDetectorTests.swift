import AnnalsExtract
import Testing

func detect(_ bytes: [UInt8], declared: String? = nil, filename: String? = nil, complete: Bool = false)
    -> FormatDetection
{
    FormatDetector.detect(prefix: bytes, declaredContentType: declared, filename: filename, isComplete: complete)
}

let padding = [UInt8](repeating: 0, count: 60)

@Suite("Format detection")
struct FormatDetectorTests {
    @Test(
        "known signatures are recognised and refused",
        arguments: [
            ([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01], DetectedContent.elf),
            (Array("MZ".utf8) + [0x90, 0x00, 0x03] + padding, .portableExecutable),
            ([0xFE, 0xED, 0xFA, 0xCE], .machO),
            ([0xFE, 0xED, 0xFA, 0xCF], .machO),
            ([0xCE, 0xFA, 0xED, 0xFE], .machO),
            ([0xCF, 0xFA, 0xED, 0xFE, 0x07], .machO),
            ([0xCA, 0xFE, 0xBA, 0xBE], .machO),
            (Array("PK".utf8) + [0x03, 0x04, 0x14, 0x00], .zip),
            (Array("PK".utf8) + [0x05, 0x06] + padding, .zip),
            ([0x1F, 0x8B, 0x08, 0x00], .gzip),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00], .png),
            ([0xFF, 0xD8, 0xFF, 0xE0], .jpeg),
            (Array("GIF89a".utf8) + [0x01, 0x00], .gif),
            (Array("GIF87a".utf8), .gif),
        ] as [([UInt8], DetectedContent)]
    )
    func signatures(bytes: [UInt8], content: DetectedContent) {
        let detection = detect(bytes)
        #expect(detection.content == content)
        #expect(!detection.isAllowed)
        #expect(detection.format == nil)
        #expect(detection.refusal?.code == .unsupportedType)
        #expect(detection.refusal?.message.contains(content.mediaType) == true)
        #expect(detection.contentType == content.mediaType)
        #expect(!detection.isMismatch)
    }

    @Test("text is plain text, or Markdown by declared type or file name")
    func text() throws {
        let bytes = Array("# Hello\nworld ü 東京".utf8)
        #expect(detect(bytes).format == .plainText)
        #expect(detect(bytes).contentType == "text/plain")
        #expect(detect(bytes, declared: "text/plain").format == .plainText)
        #expect(detect(bytes, declared: "text/markdown").format == .markdown)
        #expect(detect(bytes, declared: "text/markdown").contentType == "text/markdown")
        #expect(detect(bytes, declared: "TEXT/X-MARKDOWN ; charset=UTF-8").format == .markdown)
        #expect(detect(bytes, filename: "notes.md").format == .markdown)
        #expect(detect(bytes, filename: "NOTES.MARKDOWN").format == .markdown)
        #expect(detect(bytes, declared: "text/plain; charset=utf-8", filename: "readme.md").format == .markdown)
        #expect(detect(bytes, declared: "application/octet-stream", filename: "a.txt").format == .plainText)
        #expect(detect(bytes, declared: "text/x-python").format == .plainText)
        #expect(detect(bytes, declared: "application/x-yaml").format == .plainText)
        #expect(try detect(bytes, declared: "text/markdown").check() == .markdown)
        // "MZ" opening a text is not an executable.
        #expect(detect(Array("MZ is a river.".utf8)).format == .plainText)
        // A BOM is allowed.
        #expect(detect([0xEF, 0xBB, 0xBF] + bytes).format == .plainText)
    }

    @Test("a declared type that contradicts the bytes is a mismatch naming both")
    func mismatch() {
        let pdf = detect(Array("%PDF-1.4\n".utf8), declared: "text/plain", filename: "a.txt")
        #expect(pdf.isMismatch)
        #expect(pdf.refusal?.code == .typeMismatch)
        #expect(pdf.refusal?.code.description == "type_mismatch")
        #expect(pdf.refusal?.message.contains("text/plain") == true)
        #expect(pdf.refusal?.message.contains("application/pdf") == true)
        #expect(pdf.declaredMediaType == "text/plain")
        #expect(pdf.content == .pdf)

        let text = Array("just words".utf8)
        for declared in ["application/pdf", "image/png", "application/zip", "image/webp", "application/x-elf"] {
            let detection = detect(text, declared: declared)
            #expect(detection.isMismatch, "\(declared)")
            #expect(detection.refusal?.message.contains(declared) == true)
        }
        let png = detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], declared: "text/markdown")
        #expect(png.isMismatch)
        let binary = detect([0x61, 0xFF, 0xFE, 0x00], declared: "text/plain")
        #expect(binary.isMismatch)
        #expect(binary.content == .binary)
    }

    @Test("a declared type that agrees with bytes Annals does not take yet is unsupported, not a mismatch")
    func unsupported() throws {
        let png = detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], declared: "image/png")
        #expect(png.refusal?.code == .unsupportedType)
        #expect(!png.isMismatch)
        // HTML, JSON and CSV are extracted now; XML, RTF and SVG are still refused.
        let xml = detect(Array("<note><to>you</to></note>".utf8), declared: "text/xml")
        #expect(xml.refusal?.code == .unsupportedType)
        #expect(xml.refusal?.message.contains("text/xml") == true)
        #expect(xml.refusal?.message.contains("text/html") == true)
        let error = #expect(throws: ExtractionError.self) { try xml.check() }
        #expect(error?.code == .unsupportedType)
        #expect(detect(Array("{\\rtf1 x}".utf8), declared: "application/rtf").refusal?.code == .unsupportedType)
    }

    @Test("HTML, JSON and JSON Lines are recognised by their bytes; CSV and the others by file name")
    func sniffedTextFormats() {
        #expect(detect(Array("<!DOCTYPE html><html><body>x</body></html>".utf8)).format == .html)
        #expect(detect(Array("<!DOCTYPE html><html><body>x</body></html>".utf8)).contentType == "text/html")
        #expect(detect(Array("  \n<html lang=en>".utf8)).format == .html)
        #expect(detect(Array("<!-- saved page -->\n<HEAD><title>x</title>".utf8)).format == .html)
        #expect(
            detect(Array("<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">".utf8)).format == .html
        )
        #expect(detect(Array("<p>just a fragment</p>".utf8)).format == .plainText)
        #expect(detect(Array("<p>a fragment</p>".utf8), filename: "frag.html").format == .html)
        #expect(detect(Array(#"{"a": [1, 2, {"b": null}]}"#.utf8), complete: true).format == .json)
        #expect(detect(Array("[1, 2]".utf8), complete: true).format == .json)
        #expect(detect(Array("{\"a\": 1}\n{\"a\": 2}\n".utf8), complete: true).format == .jsonLines)
        #expect(detect(Array("{\"a\": 1}\n".utf8), filename: "x.jsonl", complete: true).format == .jsonLines)
        #expect(detect(Array("{\"a\": 1}\n".utf8), filename: "x.ndjson").format == .jsonLines)
        // A prefix that ends inside JSON is JSON; a whole upload must be complete JSON.
        #expect(detect(Array(#"{"a": "unfinished str"#.utf8)).format == .json)
        #expect(detect(Array("[1, 2".utf8), complete: true).format == .plainText)
        // Text that merely starts with a bracket or a brace is not JSON.
        #expect(detect(Array("[INFO] server started\n[WARN] disk almost full\n".utf8)).format == .plainText)
        #expect(detect(Array("[link]: http://example.com\n".utf8), filename: "README.md").format == .markdown)
        #expect(detect(Array("{not json}".utf8)).format == .plainText)
        // Deep JSON is still JSON: extraction says it is too deep.
        #expect(detect(Array(String(repeating: "[", count: 1000).utf8)).format == .json)
        #expect(detect(Array("a,b\n1,2\n".utf8), filename: "data.csv").format == .csv)
        #expect(detect(Array("a,b\n1,2\n".utf8)).format == .plainText)
        #expect(detect(Array("x".utf8), filename: "page.HTM").format == .html)
        #expect(detect(Array("x".utf8), filename: "data.json").format == .json)
        #expect(detect(Array("x".utf8), filename: "notes.txt").format == .plainText)
    }

    @Test("declared HTML, JSON, JSON Lines and CSV types pick those formats; a declared JSON must look like JSON")
    func declaredTextFormats() throws {
        let page = Array("<html><body>hi</body></html>".utf8)
        #expect(detect(page, declared: "text/html").format == .html)
        #expect(detect(page, declared: "application/xhtml+xml; charset=utf-8").format == .html)
        #expect(try detect(page, declared: "text/html").check() == .html)
        // A declared plain text is honoured: the client wants the markup indexed as text.
        #expect(detect(page, declared: "text/plain").format == .plainText)
        let records = Array("{\"a\": 1}\n".utf8)
        for declared in ["application/x-ndjson", "application/jsonl", "application/x-jsonlines"] {
            #expect(detect(records, declared: declared).format == .jsonLines, "\(declared)")
        }
        #expect(detect(records, declared: "application/json").format == .json)
        #expect(detect(Array("a;b\n".utf8), declared: "text/csv").format == .csv)
        #expect(detect(Array("a;b\n".utf8), declared: "text/csv").contentType == "text/csv")
        let mismatch = detect(page, declared: "application/json")
        #expect(mismatch.isMismatch)
        #expect(mismatch.refusal?.message.contains("application/json") == true)
        #expect(mismatch.refusal?.message.contains("text/html") == true)
        #expect(detect(Array("<note/>".utf8), declared: "application/x-ndjson").isMismatch)
        #expect(detect(Array("oops".utf8), declared: "application/json").isMismatch)
        // Malformed JSON is JSON all the same: extraction says where it breaks.
        #expect(detect(Array("[1, 2,, 3]".utf8), declared: "application/json").format == .json)
        #expect(detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], declared: "text/csv").isMismatch)
    }

    @Test("invalid UTF-8, NUL bytes and UTF-16 are binary")
    func binary() {
        #expect(detect([0x61, 0x62, 0xFF]).content == .binary)
        #expect(detect(Array("abc".utf8) + [0] + Array("def".utf8)).content == .binary)
        let utf16 = detect([0xFF, 0xFE, 0x61, 0x00])
        #expect(utf16.content == .binary)
        #expect(utf16.refusal?.message.contains("UTF-16") == true)
        #expect(detect([0xC0, 0x80]).content == .binary)
    }

    @Test("a character cut off by the end of the prefix is text, unless the prefix is the whole upload")
    func truncatedCharacter() {
        let cut = Array("Grüße aus 東".utf8).dropLast()
        #expect(detect(Array(cut)).content == .text)
        #expect(detect(Array(cut), complete: true).content == .binary)
        // Only the first `prefixBytesMax` bytes are examined: what lies beyond cannot make text binary.
        var long = [UInt8](repeating: 0x61, count: FormatDetector.prefixBytesMax - 1) + Array("東".utf8)
        long.append(0xFF)
        #expect(detect(long, complete: true).content == .text)
    }

    @Test("an empty upload is refused as empty")
    func empty() {
        let detection = detect([], declared: "text/plain", complete: true)
        #expect(detection.content == .empty)
        #expect(detection.refusal?.code == .empty)
    }
}
