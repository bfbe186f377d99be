/// The streaming extractor of a format that cannot be streamed (PDF): it refuses every feed, so that a caller who
/// picks ``TextExtractor`` for such a format learns it at once rather than after buffering the whole document.
struct RandomAccessFormatExtractor: FormatExtractor {
    /// The format refused.
    let format: DocumentFormat

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        throw refusal
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        throw refusal
    }

    private var refusal: ExtractionError {
        ExtractionError(
            .invalidConfiguration,
            "\(format.mediaType) needs random access: read it with PDFExtractor over a ByteSource, not TextExtractor.")
    }
}
