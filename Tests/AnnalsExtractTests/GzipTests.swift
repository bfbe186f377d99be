import AnnalsExtract
import AnnalsTesting
import Testing

@Suite("gzip around any format")
struct GzipTests {
    static let samples: [(String, DocumentFormat)] = [
        ("html/ls.html", .html), ("json/library.json", .json), ("json/events.jsonl", .jsonLines),
        ("csv/books.csv", .csv), ("csv/semicolons.csv", .csv),
    ]

    @Test("each format inside gzip gives exactly its text, fed whole, byte by byte or in random pieces")
    func sameText() throws {
        for (path, format) in Self.samples {
            let bytes = try textFormatFixture(path)
            let plain = try TextExtractor.extract(bytes, format: format)
            let gzipped = compress(bytes, framing: .gzip)
            #expect(try TextExtractor.extract(gzipped, format: format, encoding: .gzip) == plain, "\(path)")
            #expect(try expectStreamingEquivalence(gzipped, format: format, encoding: .gzip, seeds: 1...2) == plain)
        }
        let markdown = Array("# Title\n\nSome text.\n\n## Next\n\nMore.\n".utf8)
        let gzipped = compress(markdown, framing: .gzip)
        #expect(
            try TextExtractor.extract(gzipped, format: .markdown, encoding: .gzip)
                == TextExtractor.extract(markdown, format: .markdown))
        #expect(
            try TextExtractor.extract(compress(markdown, framing: .gzip), format: .plainText, encoding: .gzip).text
                == String(decoding: markdown, as: UTF8.self))
    }

    @Test("concatenated gzip members are one document")
    func members() throws {
        let first = Array("a,b\n1,2\n".utf8)
        let second = Array("3,4\n".utf8)
        let joined = compress(first, framing: .gzip) + compress(second, framing: .gzip)
        #expect(try TextExtractor.extract(joined, format: .csv, encoding: .gzip).text == "a: 1\nb: 2\n\na: 3\nb: 4")
    }

    @Test("a gzip bomb stops at the ratio limit, or at the byte limit, after little work")
    func bomb() {
        // 16 MiB of short text lines compress about a thousandfold: past the default ratio of 200 soon after the
        // first MiB, whatever the inner format.
        let text = Array(String(repeating: "annals,bomb\n", count: (16 << 20) / 12).utf8)
        let bomb = compress(text, framing: .gzip, level: 9)
        #expect(bomb.count < 50_000)
        #expect(formatError(bomb, .plainText, encoding: .gzip)?.code == .compressionRatio)
        #expect(formatError(bomb, .csv, encoding: .gzip)?.code == .compressionRatio)
        let small = TextExtractor.Configuration(decompressedBytesMax: 2 << 20, compressionRatioMax: 1_000_000)
        let error = formatError(bomb, .html, encoding: .gzip, configuration: small)
        #expect(error?.code == .decompressedTooLarge)
    }

    @Test("truncated or corrupt gzip is malformed")
    func damaged() {
        let bytes = Array(String(repeating: "{\"k\": \"some value\"}\n", count: 2000).utf8)
        let gzipped = compress(bytes, framing: .gzip)
        for cut in [gzipped.count - 4, gzipped.count - 9, gzipped.count / 2, 10] {
            let error = formatError(Array(gzipped[..<cut]), .jsonLines, encoding: .gzip)
            #expect(error?.code == .malformed, "cut at \(cut)")
        }
        var badChecksum = gzipped
        badChecksum[badChecksum.count - 8] ^= 0xFF
        #expect(formatError(badChecksum, .jsonLines, encoding: .gzip)?.code == .malformed)
        #expect(formatError(bytes, .jsonLines, encoding: .gzip)?.code == .malformed)
    }

    @Test("the inner format's errors keep their code and say the offset is in the decompressed data")
    func innerErrors() {
        let error = formatError(compress(Array("[1, 2,, 3]".utf8), framing: .gzip), .json, encoding: .gzip)
        #expect(error?.code == .malformed)
        #expect(error?.byteOffset == 6)
        #expect(error?.message.contains("decompressed") == true)
        let invalid = formatError(compress(Array("a,b\n".utf8) + [0xFF], framing: .gzip), .csv, encoding: .gzip)
        #expect(invalid?.code == .invalidUTF8)
        #expect(formatError(compress([], framing: .gzip), .plainText, encoding: .gzip)?.code == .noText)
    }

    // MARK: Detection

    @Test("detection inflates the start and names the inner format, with the encoding")
    func detection() throws {
        let csv = compress(Array("a,b\n1,2\n".utf8), framing: .gzip)
        let named = detect(csv, filename: "data.csv.gz", complete: true)
        #expect(named.isAllowed)
        #expect(named.format == .csv)
        #expect(named.encoding == .gzip)
        #expect(named.content == .text)
        #expect(detect(csv, declared: "application/gzip", filename: "DATA.CSV.GZ", complete: true).format == .csv)
        #expect(detect(csv, declared: "text/csv", complete: true).format == .csv)
        #expect(detect(csv, complete: true).format == .plainText)

        let page = compress(try textFormatFixture("html/ls.html"), framing: .gzip)
        #expect(detect(page).format == .html)
        #expect(detect(page).encoding == .gzip)
        let export = compress(try textFormatFixture("json/library.json"), framing: .gzip)
        #expect(detect(export, declared: "application/x-gzip").format == .json)
        let records = compress(try textFormatFixture("json/events.jsonl"), framing: .gzip)
        #expect(detect(records).format == .jsonLines)
        // Only the start is inflated: a bomb costs nothing to detect.
        let bomb = compress([UInt8](repeating: UInt8(ascii: "a"), count: 16 << 20), framing: .gzip, level: 9)
        #expect(detect(bomb).format == .plainText)
        #expect(detect(bomb).encoding == .gzip)
        // Plain text is not gzip.
        #expect(detect(Array("a,b\n".utf8), filename: "a.csv").encoding == .identity)
    }

    @Test("gzip around an executable, an archive or gzip is refused; around PDF it reports the PDF")
    func refusedInside() throws {
        let elf = compress([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01] + padding, framing: .gzip)
        let detection = detect(elf, complete: true)
        #expect(detection.refusal?.code == .unsupportedType)
        #expect(detection.content == .elf)
        #expect(detection.encoding == .gzip)
        #expect(detection.refusal?.message.contains("gzip") == true)
        let twice = compress(compress(Array("text".utf8), framing: .gzip), framing: .gzip)
        #expect(detect(twice, complete: true).refusal?.code == .unsupportedType)
        let zip = Array("PK".utf8) + [0x03, 0x04, 0x14, 0x00] + padding
        let zipped = detect(compress(zip, framing: .gzip), complete: true)
        #expect(zipped.content == .zip)
        #expect(zipped.encoding == .gzip)
        #expect(zipped.refusal?.code == detect(zip, complete: true).refusal?.code)
        // PDF needs random access: reported as PDF with encoding gzip, and decided as a bare PDF would be.
        let pdf = Array("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n1 0 obj\n".utf8)
        let inner = detect(compress(pdf, framing: .gzip), filename: "paper.pdf.gz")
        #expect(inner.content == .pdf)
        #expect(inner.encoding == .gzip)
        #expect(inner.format == detect(pdf, filename: "paper.pdf").format)
        #expect(inner.refusal?.code == detect(pdf, filename: "paper.pdf").refusal?.code)
    }

    @Test("corrupt gzip is refused as malformed at detection; a declared type is checked against the content")
    func detectionErrors() {
        let corrupt: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(detect(corrupt).refusal?.code == .malformed)
        let html = compress(Array("<!doctype html><p>x</p>".utf8), framing: .gzip)
        let mismatch = detect(html, declared: "application/json")
        #expect(mismatch.isMismatch)
        #expect(mismatch.refusal?.message.contains("application/json") == true)
        #expect(mismatch.refusal?.message.contains("text/html") == true)
        #expect(mismatch.declaredMediaType == "application/json")
        let empty = detect(compress([], framing: .gzip), complete: true)
        #expect(empty.refusal?.code == .empty)
    }
}
