/// Plain UTF-8 text: the bytes, checked and with normalised line ends, as one section.
struct PlainTextExtractor: FormatExtractor {
    private var decoder = UTF8TextDecoder()

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        let text = try decoder.decode(bytes, isFinal: false)
        return text.isEmpty ? [] : [.text(text)]
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        let text = try decoder.decode(UnsafeBufferPointer(start: nil, count: 0), isFinal: true)
        return text.isEmpty ? [] : [.text(text)]
    }
}
