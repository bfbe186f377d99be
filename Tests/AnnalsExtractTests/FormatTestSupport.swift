import AnnalsExtract
import AnnalsTesting
import Foundation
import Testing

/// The bytes of a fixture under `Fixtures/`, e.g. `textFormatFixture("html/ls.html")`.
func textFormatFixture(_ path: String) throws -> [UInt8] {
    let base = try #require(Bundle.module.resourceURL)
    return Array(try Data(contentsOf: base.appendingPathComponent("Fixtures").appendingPathComponent(path)))
}

/// Extracts `bytes` fed in the given pieces with any format, encoding and configuration; marks become offsets.
func extractPieces(
    _ pieces: [ArraySlice<UInt8>], format: DocumentFormat, encoding: ContentEncoding = .identity,
    configuration: TextExtractor.Configuration = TextExtractor.Configuration()
) throws(ExtractionError) -> ExtractedText {
    var extractor = TextExtractor(format: format, encoding: encoding, configuration: configuration)
    var output: [TextPiece] = []
    for piece in pieces { output += try extractor.feed(piece) }
    output += try extractor.finish()
    var text = ""
    var sections: [Int] = []
    var scalarCount = 0
    for piece in output {
        switch piece {
        case .text(let run):
            text += run
            scalarCount += run.unicodeScalars.count
        case .sectionStart:
            // As `ExtractedTextCollector` records them: never at 0, never twice at one offset.
            if scalarCount > 0 && sections.last != scalarCount { sections.append(scalarCount) }
        case .pageStart: Issue.record("no pages in text formats")
        }
    }
    return ExtractedText(text: text, sectionStarts: sections)
}

/// The error extracting `bytes` in one feed throws, recorded as an issue when there is none.
func formatError(
    _ bytes: [UInt8], _ format: DocumentFormat, encoding: ContentEncoding = .identity,
    configuration: TextExtractor.Configuration = TextExtractor.Configuration()
) -> ExtractionError? {
    #expect(throws: ExtractionError.self) {
        try TextExtractor.extract(bytes, format: format, encoding: encoding, configuration: configuration)
    }
}

/// The error extracting `bytes` throws when fed in the given pieces.
func formatError(_ pieces: [ArraySlice<UInt8>], _ format: DocumentFormat) -> ExtractionError? {
    #expect(throws: ExtractionError.self) { try extractPieces(pieces, format: format) }
}

/// Checks that `bytes` give the same text and sections whole, byte by byte, and in random pieces; returns the text.
@discardableResult
func expectStreamingEquivalence(
    _ bytes: [UInt8], format: DocumentFormat, encoding: ContentEncoding = .identity, seeds: ClosedRange<UInt64> = 1...3
) throws -> ExtractedText {
    let whole = try TextExtractor.extract(bytes, format: format, encoding: encoding)
    #expect(try extractPieces([bytes[...]], format: format, encoding: encoding) == whole)
    let bytewise = bytes.indices.map { bytes[$0..<($0 + 1)] }
    #expect(try extractPieces(bytewise, format: format, encoding: encoding) == whole, "byte by byte")
    for seed in seeds {
        let pieces = randomByteSplits(bytes, maxPiece: 97, seed: seed)
        #expect(try extractPieces(pieces, format: format, encoding: encoding) == whole, "seed \(seed)")
    }
    return whole
}

/// Whether the needles occur in `text` in this order, without overlapping; records the first one missing.
func expectInOrder(_ needles: [String], in text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var rest = text[...]
    for needle in needles {
        guard let range = rest.range(of: needle) else {
            Issue.record("\"\(needle)\" is missing or out of order", sourceLocation: sourceLocation)
            return
        }
        rest = rest[range.upperBound...]
    }
}
