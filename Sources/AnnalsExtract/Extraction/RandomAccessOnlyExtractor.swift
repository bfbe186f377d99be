/// Stands in for a format that cannot be extracted front to back (an archive, whose directory is at its end):
/// every call fails with `unsupported_type`, naming the extractor to use instead.
///
/// ``TextExtractor`` keeps its non-throwing initialiser for every ``DocumentFormat`` this way; callers learn at the
/// first feed that such a format takes another path.
struct RandomAccessOnlyExtractor: FormatExtractor {
    let format: DocumentFormat
    let extractorName: String

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        throw refusal
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        throw refusal
    }

    private var refusal: ExtractionError {
        ExtractionError(
            .unsupportedType,
            "\(format.mediaType) needs random access to the whole file and is not extracted by streaming; "
                + "use \(extractorName).")
    }
}
