/// gzip around another format: inflates the bytes as they arrive and feeds the inner format's extractor, under the
/// document's ``DecompressionBudget``.
///
/// Streaming: the inflater hands over at most 64 KiB at a time, and the compressed bytes are passed to it in slices
/// of ``sliceBytes``, so one feed yields at most `compressionRatioMax` times a slice before the budget's ratio check
/// runs again. The inner extractor's errors keep their code; their message says that the offset is one in the
/// decompressed data.
struct GzipExtractor: FormatExtractor {
    /// The compressed bytes inflated per step.
    static let sliceBytes = 16 * 1024

    private var inner: any FormatExtractor
    private var budget: DecompressionBudget
    /// Made on the first feed: its initialiser can fail (out of memory), which `TextExtractor.init` cannot.
    private var inflater: Inflater?

    init(inner: any FormatExtractor, configuration: TextExtractor.Configuration) {
        self.inner = inner
        self.budget = DecompressionBudget(configuration)
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> [TextPiece] {
        let inflater: Inflater
        if let existing = self.inflater {
            inflater = existing
        } else {
            inflater = try Inflater(framing: .gzip)
            self.inflater = inflater
        }
        var pieces: [TextPiece] = []
        // A local copy, so that the sink below may use `self` while the budget is being charged.
        var budget = self.budget
        defer { self.budget = budget }
        var start = 0
        while start < bytes.count {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<min(bytes.count, start + Self.sliceBytes)])
            try inflater.feed(slice, budget: &budget) { (output) throws(ExtractionError) in
                do throws(ExtractionError) {
                    pieces += try self.inner.feed(output)
                } catch {
                    throw Self.inDecompressedData(error)
                }
            }
            start += slice.count
        }
        return pieces
    }

    mutating func finish() throws(ExtractionError) -> [TextPiece] {
        guard let inflater else {
            throw ExtractionError(.malformed, "The gzip data is empty: it has no header.")
        }
        try inflater.finish()
        do throws(ExtractionError) {
            return try inner.finish()
        } catch {
            throw Self.inDecompressedData(error)
        }
    }

    private static func inDecompressedData(_ error: ExtractionError) -> ExtractionError {
        guard error.byteOffset != nil else { return error }
        var error = error
        error.message += " (The offset is in the decompressed data.)"
        return error
    }
}
