import AnnalsExtract
import Foundation

/// The bytes of a PDF fixture in `Fixtures/pdf/`.
func pdfFixture(_ name: String) throws -> [UInt8] {
    guard let url = Bundle.module.url(forResource: "Fixtures/pdf/\(name)", withExtension: nil) else {
        throw FixtureMissing(name: name)
    }
    return Array(try Data(contentsOf: url))
}

/// The path of a PDF fixture, for reading it through a `FileByteSource`.
func pdfFixturePath(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/pdf/\(name)", withExtension: nil) else {
        throw FixtureMissing(name: name)
    }
    return url.path
}

struct FixtureMissing: Error {
    var name: String
}

/// Extracts a whole PDF held in memory.
func extractPDF(
    _ bytes: [UInt8], configuration: TextExtractor.Configuration = .init()
) throws(ExtractionError) -> ExtractedText {
    try PDFExtractor.extract(MemoryByteSource(bytes), configuration: configuration)
}

/// The error code extracting `bytes` fails with, or nil when it succeeds.
func pdfFailure(_ bytes: [UInt8], configuration: TextExtractor.Configuration = .init()) -> ExtractionError? {
    do {
        _ = try extractPDF(bytes, configuration: configuration)
        return nil
    } catch {
        return error
    }
}

/// Writes small PDFs for tests: numbered objects, then a classic cross-reference table and trailer whose offsets
/// are right, so that each test states only what it is about.
struct PDFBuilder {
    private var objects: [(number: Int, bytes: [UInt8])] = []

    /// Adds object `number` with `body` (what goes between `obj` and `endobj`).
    mutating func add(_ number: Int, _ body: String) {
        objects.append((number, Array(body.utf8)))
    }

    /// Adds stream object `number`: `dictionary` entries (without `/Length`, which is added) and the data.
    mutating func addStream(_ number: Int, _ dictionary: String = "", data: [UInt8]) {
        objects.append(
            (
                number,
                Array("<< \(dictionary) /Length \(data.count) >>\nstream\n".utf8) + data + Array("\nendstream".utf8)
            ))
    }

    /// Adds stream object `number` with text data.
    mutating func addStream(_ number: Int, _ dictionary: String = "", text: String) {
        addStream(number, dictionary, data: Array(text.utf8))
    }

    /// The PDF: header, objects, cross-reference table, trailer (`/Root 1 0 R` and `trailer` entries).
    func build(trailer: String = "") -> [UInt8] {
        var output = Array("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets: [Int: Int] = [:]
        for object in objects {
            offsets[object.number] = output.count
            output += Array("\(object.number) 0 obj\n".utf8) + object.bytes + Array("\nendobj\n".utf8)
        }
        let size = (offsets.keys.max() ?? 0) + 1
        let xref = output.count
        var table = "xref\n0 \(size)\n0000000000 65535 f \n"
        for number in 1..<max(1, size) {
            if let offset = offsets[number] {
                table += String(format: "%010d 00000 n \n", offset)
            } else {
                table += "0000000000 00000 f \n"
            }
        }
        table += "trailer\n<< /Size \(size) /Root 1 0 R \(trailer) >>\nstartxref\n\(xref)\n%%EOF\n"
        return output + Array(table.utf8)
    }

    /// A one-page document: catalog 1, pages 2, page 3 (with `resources`), content stream 4 (`content`, encoded
    /// with `filter` when given), and font 5 (Helvetica, WinAnsi) named `/F1`; more objects may be added.
    static func page(
        content: [UInt8], filter: String = "", resources: String = "/Font << /F1 5 0 R >>"
    ) -> PDFBuilder {
        var builder = PDFBuilder()
        builder.add(1, "<< /Type /Catalog /Pages 2 0 R >>")
        builder.add(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        builder.add(
            3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << \(resources) >> /Contents 4 0 R >>")
        builder.addStream(4, filter, data: content)
        builder.add(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        return builder
    }

    /// A one-page document whose content stream is `content`, unencoded.
    static func page(_ content: String, resources: String = "/Font << /F1 5 0 R >>") -> PDFBuilder {
        page(content: Array(content.utf8), resources: resources)
    }
}

/// ASCII85 encoding (for tests of `/ASCII85Decode`), with the `~>` end marker.
func ascii85(_ bytes: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = Array(bytes[index..<min(index + 4, bytes.count)])
        let padded = chunk + [UInt8](repeating: 0, count: 4 - chunk.count)
        var value = padded.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if chunk.count == 4 && value == 0 {
            output.append(UInt8(ascii: "z"))
        } else {
            var digits = [UInt8](repeating: 0, count: 5)
            for position in stride(from: 4, through: 0, by: -1) {
                digits[position] = UInt8(value % 85) + 33
                value /= 85
            }
            output += digits.prefix(chunk.count + 1)
        }
        index += 4
    }
    return output + Array("~>".utf8)
}

/// LZW encoding as `/LZWDecode` expects it (9 to 12-bit codes, early change, a clear code first and an end code
/// last), for tests.
func lzw(_ bytes: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    var width = 9
    func emit(_ code: Int) {
        buffer = buffer << UInt32(width) | UInt32(code)
        bits += width
        while bits >= 8 {
            output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
            bits -= 8
        }
    }
    var table: [[UInt8]: Int] = [:]
    func reset() {
        table = [:]
        for value in 0..<256 { table[[UInt8(value)]] = value }
        width = 9
    }
    reset()
    emit(256)
    var next = 258
    var current: [UInt8] = []
    for byte in bytes {
        let candidate = current + [byte]
        if table[candidate] != nil {
            current = candidate
            continue
        }
        emit(table[current]!)
        table[candidate] = next
        next += 1
        // Early change: the decoder widens its codes one code early, so the encoder does too.
        if next + 1 > (1 << width) && width < 12 { width += 1 }
        if next >= 4094 {
            emit(256)
            reset()
            next = 258
        }
        current = [byte]
    }
    if !current.isEmpty {
        emit(table[current]!)
        // The decoder adds an entry on reading that last code, and reads the end code one entry later.
        next += 1
        if next + 1 > (1 << width) && width < 12 { width += 1 }
    }
    emit(257)
    if bits > 0 { output.append(UInt8((buffer << UInt32(8 - bits)) & 0xFF)) }
    return output
}
