import Foundation
import Testing

@testable import AnnalsExtract

/// The bytes of a fixture written by `Fixtures/html/make_charsets.py`.
private func charsetFixture(_ name: String) throws -> [UInt8] {
    try textFormatFixture("html/" + name)
}

private func extractHTML(_ bytes: [UInt8], declared: String? = nil) throws -> ExtractedText {
    try TextExtractor.extract(bytes, format: .html, declaredContentType: declared)
}

private func htmlError(_ bytes: [UInt8], declared: String? = nil) -> ExtractionError? {
    #expect(throws: ExtractionError.self) { try extractHTML(bytes, declared: declared) }
}

@Suite("HTML character sets")
struct HTMLCharsetTests {
    static let windows1252Text =
        "Café menu\n\nCafé “Le Zinc”\n\nCrème brûlée – 7 €\n\nIt’s naïve… isn’t it? Œuvre, š, Ÿ, ™."

    @Test("a windows-1252 page declared by http-equiv is accepted and read: quotes, dashes, é, €")
    func windows1252() throws {
        let bytes = try charsetFixture("windows-1252.html")
        #expect(bytes.contains(0x93) && bytes.contains(0x80) && bytes.contains(0xE9))
        let detection = detect(bytes, filename: "menu.html")
        #expect(detection.isAllowed)
        #expect(detection.format == .html)
        #expect(detection.content == .text)
        #expect(detection.charset == .windows1252)
        #expect(detect(bytes, declared: "text/html").charset == .windows1252)
        let extracted = try expectStreamingEquivalence(bytes, format: .html)
        #expect(extracted.text == Self.windows1252Text)
        #expect(extracted.sectionStarts == [scalarOffset(of: "Café “", in: extracted.text)])
        // Foundation's own windows-1252 decoder, then UTF-8 extraction, agrees.
        let decoded = try #require(String(data: Data(bytes), encoding: .windowsCP1252))
        #expect(try extractHTML(Array(decoded.utf8)) == extracted)
    }

    @Test("an ISO-8859-15 page: €, œ, Š and Ÿ where Latin-1 has other characters")
    func iso885915() throws {
        let bytes = try charsetFixture("iso-8859-15.html")
        #expect(detect(bytes).charset == .iso8859_15)
        #expect(try extractHTML(bytes).text == "Prix\n\nLe cœur coûte 5 € ; Šibenik, Ÿ.")
        // Declared as Latin-1 by the Content-Type, which wins over the meta: the same bytes read as windows-1252.
        let latin1 = "text/html; charset=\"ISO-8859-1\""
        #expect(detect(bytes, declared: latin1).charset == .windows1252)
        #expect(try extractHTML(bytes, declared: latin1).text == "Prix\n\nLe c½ur coûte 5 ¤ ; ¦ibenik, ¾.")
    }

    @Test("UTF-16LE with a byte-order mark, and the same page in UTF-16BE; a surrogate pair across feeds")
    func utf16() throws {
        let little = try charsetFixture("utf-16le.html")
        let detection = detect(little)
        #expect(detection.isAllowed && detection.format == .html && detection.charset == .utf16LE)
        let extracted = try expectStreamingEquivalence(little, format: .html)
        #expect(extracted.text == "Ελληνικά\n\n東京\n\nSmile 😀 and “quotes”.")
        var big = little
        for index in stride(from: 0, to: big.count - 1, by: 2) { big.swapAt(index, index + 1) }
        #expect(detect(big).charset == .utf16BE)
        #expect(try expectStreamingEquivalence(big, format: .html) == extracted)
        // Without a byte-order mark, UTF-16 is read only when the Content-Type says so.
        let bare = Array(little.dropFirst(2))
        #expect(!detect(bare).isAllowed)
        let declared = "text/html; charset=utf-16le"
        #expect(detect(bare, declared: declared).charset == .utf16LE)
        #expect(try extractHTML(bare, declared: declared) == extracted)
        // An ASCII page declared as UTF-16 is not UTF-16: the declaration contradicts the bytes.
        let ascii = Array("<html><body><p>plain</p></body></html>".utf8)
        #expect(detect(ascii, declared: "text/html; charset=utf-16").refusal?.code == .typeMismatch)
    }

    @Test("broken UTF-16: an unpaired surrogate, an odd byte at the end, a NUL; errors at their offsets")
    func brokenUTF16() throws {
        func page(_ units: [UInt16]) -> [UInt8] {
            [0xFF, 0xFE]
                + (Array("<p>a".utf16) + units + Array("</p>".utf16)).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        }
        let lowAlone = htmlError(page([0xDC00]))
        #expect(lowAlone?.code == .malformed)
        #expect(lowAlone?.byteOffset == 10)
        let highAlone = htmlError(page([0xD83D, 0x0041]))
        #expect(highAlone?.code == .malformed)
        #expect(highAlone?.byteOffset == 10)
        #expect(htmlError(page([0xD83D]) + [0x3C])?.code == .malformed)
        #expect(htmlError(Array(page([]).dropLast()))?.code == .malformed)
        let nul = htmlError(page([0]))
        #expect(nul?.code == .binaryContent)
        #expect(nul?.byteOffset == 10)
        #expect(try extractHTML(page([0xD83D, 0xDE00])).text == "a😀")
    }

    @Test("a page declaring Shift_JIS is refused by name, at upload and in extraction")
    func shiftJIS() throws {
        let bytes = try charsetFixture("shift_jis.html")
        let detection = detect(bytes, filename: "nihongo.html")
        #expect(detection.format == nil)
        #expect(detection.refusal?.code == .unsupportedCharset)
        #expect(detection.refusal?.message.contains("\"shift_jis\" (Shift_JIS)") == true)
        #expect(detect(bytes, declared: "text/html").refusal?.code == .unsupportedCharset)
        #expect(htmlError(bytes)?.code == .unsupportedCharset)
        // Declared by the Content-Type instead.
        let ascii = Array("<html><body><p>ascii so far</p></body></html>".utf8)
        #expect(detect(ascii, declared: "text/html; charset=EUC-JP").refusal?.code == .unsupportedCharset)
        #expect(htmlError(ascii, declared: "text/html; charset=EUC-JP")?.code == .unsupportedCharset)
    }

    @Test("a Latin-1 page without a declaration stays refused as not UTF-8")
    func latin1Undeclared() throws {
        let bytes = try charsetFixture("latin1-undeclared.html")
        let detection = detect(bytes, filename: "cafe.html")
        #expect(detection.content == .binary)
        #expect(detection.refusal?.code == .unsupportedType)
        #expect(detection.refusal?.message.contains("invalid UTF-8") == true)
        let error = htmlError(bytes)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == bytes.firstIndex(of: 0xE9))
        // The Content-Type's charset is a declaration too.
        let declared = "text/html; charset=ISO-8859-1"
        #expect(detect(bytes, declared: declared).charset == .windows1252)
        #expect(try extractHTML(bytes, declared: declared).text == "Café\n\nCrème brûlée")
        // Only for HTML types: a declared text/plain stays a mismatch with bytes that are not text.
        #expect(detect(bytes, declared: "text/plain; charset=ISO-8859-1").isMismatch)
    }

    @Test("bytes that are not text stay refused, even with a charset declaration")
    func binaryStaysRefused() {
        // A declaration without an HTML start.
        let noStart = Array("<meta charset=windows-1252> caf".utf8) + [0xE9, 0xFF, 0x81]
        #expect(detect(noStart).content == .binary)
        #expect(!detect(noStart).isAllowed)
        #expect(!detect(noStart, declared: "text/html").isAllowed)
        // A NUL in a declared windows-1252 page.
        let nul = Array("<html><meta charset=windows-1252><p>caf".utf8) + [0xE9, 0] + Array("</p>".utf8)
        #expect(!detect(nul).isAllowed)
        #expect(htmlError(nul)?.code == .binaryContent)
        // Signatures come first.
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46] + Array("<html><meta charset=windows-1252>".utf8)
        #expect(detect(elf).content == .elf)
        // A UTF-16 byte-order mark before text that is not HTML.
        #expect(!detect([0xFF, 0xFE, 0x61, 0x00]).isAllowed)
    }

    @Test("valid UTF-8 with multi-byte characters stays UTF-8 whatever it declares; ASCII follows the declaration")
    func utf8Evidence() throws {
        let mislabelled = Array("<html><meta charset=iso-8859-1><p>café “ok”</p></html>".utf8)
        #expect(detect(mislabelled).charset == .utf8)
        #expect(try extractHTML(mislabelled).text == "café “ok”")
        let japanese = Array("<html><meta charset=shift_jis><p>東京</p></html>".utf8)
        #expect(detect(japanese).isAllowed)
        #expect(try extractHTML(japanese).text == "東京")
        // The first 4 KiB are ASCII: the declaration decides, also for the bytes after them.
        let head = "<html><meta charset=windows-1252><p>" + String(repeating: "abc ", count: 1100)
        let late = Array(head.utf8) + [0x93, 0x41, 0x94] + Array("</p></html>".utf8)
        #expect(detect(Array(late.prefix(FormatDetector.prefixBytesMax))).charset == .windows1252)
        #expect(try extractHTML(late).text.hasSuffix("abc “A”"))
        try expectStreamingEquivalence(late, format: .html, seeds: 1...2)
    }

    @Test("the prescan: comments, other tags' attributes, pragmas, unknown labels, the 1024-byte limit, XML")
    func prescan() throws {
        func charset(_ page: String) -> TextCharset? {
            detect(Array(page.utf8)).isAllowed ? detect(Array(page.utf8)).charset : nil
        }
        #expect(charset("<html><head><meta charset='latin1'>") == .windows1252)
        #expect(charset("<html><head><META CHARSET=\"Windows-1252\">") == .windows1252)
        #expect(charset("<html><head><meta/charset=l9>") == .iso8859_15)
        #expect(charset("<html><!-- <meta charset=latin1> --><meta charset=utf-8>") == .utf8)
        #expect(charset("<html><body data-x='<meta charset=latin1>'>") == .utf8)
        #expect(charset("<html><meta content=\"text/html; charset=latin1\">") == .utf8)
        #expect(
            charset("<html><meta content='text/html;charset = \"latin1\"' http-equiv=CONTENT-TYPE>") == .windows1252)
        #expect(charset("<html><meta charset=bogus><meta charset=latin1>") == .windows1252)
        #expect(charset("<html><meta charset=utf-16>") == .utf8)
        #expect(charset("<html><meta charset=x-user-defined>") == .windows1252)
        #expect(charset("<html>" + String(repeating: " ", count: 1024) + "<meta charset=latin1>") == .utf8)
        #expect(charset("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<html>") == .iso8859_15)
        #expect(
            charset("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<html><meta charset=latin1>") == .windows1252)
        // Cut off inside a tag or a comment: nothing found, never a crash.
        #expect(charset("<html><meta charset='latin1") == .utf8)
        #expect(charset("<html><!-- <meta charset=latin1>") == .utf8)
        #expect(HTMLCharset.prescan(Array("<meta charset=".utf8)) == nil)
        #expect(HTMLCharset.declaredLabel(contentType: "text/html; q=1; Charset=\"koi8-r\"") == "koi8-r")
        #expect(HTMLCharset.declaredLabel(contentType: "text/plain; charset=latin1") == nil)
    }

    @Test("gzip around a windows-1252 page: detected, recorded as gzip, and read")
    func gzip() throws {
        let bytes = try charsetFixture("windows-1252.html")
        let compressed = compress(bytes, framing: .gzip)
        let detection = detect(compressed, filename: "menu.html.gz")
        #expect(detection.isAllowed && detection.encoding == .gzip && detection.charset == .windows1252)
        let extracted = try expectStreamingEquivalence(compressed, format: .html, encoding: .gzip, seeds: 1...1)
        #expect(extracted.text == Self.windows1252Text)
    }

    @Test("the transcoder's tables match Python's codecs for bytes 0x80 to 0xFF")
    func tables() throws {
        let json = try charsetFixture("charset-tables.json")
        let tables = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: String])
        for charset in [TextCharset.windows1252, .iso8859_15] {
            var transcoder = CharsetTranscoder(charset: charset, byteOrderMarkBytes: 0)
            var output: [UInt8] = []
            try Array(UInt8(0x80)...UInt8(0xFF)).withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                try transcoder.transcode(buffer, into: &output)
            }
            #expect(String(decoding: output, as: UTF8.self) == tables[charset.name], "\(charset)")
        }
        #expect(TextCharset(label: " US-ASCII ") == .windows1252)
        #expect(TextCharset(label: "utf-16") == .utf16LE)
        #expect(TextCharset(label: "shift_jis") == nil)
        #expect(TextCharset.unsupportedName(label: "SJIS") == "Shift_JIS")
    }

    @Test("a large windows-1252 page streams in bounded pieces with the same text")
    func large() throws {
        var page = Array("<!doctype html><meta charset=windows-1252><h1>Titre</h1>".utf8)
        for number in 0..<2000 {
            page += Array("<p>Paragraphe \(number) : d".utf8) + [0xE9, 0x6A, 0x80, 0x85] + Array("</p>".utf8)
        }
        let extracted = try expectStreamingEquivalence(page, format: .html, seeds: 1...1)
        #expect(extracted.text.hasPrefix("Titre\n\nParagraphe 0 : déj€…\n\nParagraphe 1 : déj€…"))
        #expect(extracted.text.hasSuffix("Paragraphe 1999 : déj€…"))
    }
}

/// The scalar offset of the first occurrence of `needle` in `text`.
private func scalarOffset(of needle: String, in text: String) -> Int {
    guard let range = text.range(of: needle) else { return -1 }
    return text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: range.lowerBound)
}
