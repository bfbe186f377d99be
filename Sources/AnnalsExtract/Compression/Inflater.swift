import CZlibShim

/// Streaming zlib decompression with the limits that stop decompression bombs: a cap on the bytes produced and on
/// their ratio to the bytes consumed.
///
/// One inflater serves gzip uploads, PDF `FlateDecode` streams and DOCX (raw deflate) entries; several inflaters of
/// one document can share one ``DecompressionBudget`` so that the limits hold for the document as a whole.
///
/// A class, because zlib keeps a pointer to its `z_stream` and checks it on every call: the stream must stay at one
/// address, which a Swift value does not promise. `@unchecked Sendable` is sound because an inflater belongs to one
/// extraction, which uses it from one thread at a time; it is never shared.
public final class Inflater: @unchecked Sendable {
    /// The framing of the compressed bytes.
    public enum Framing: Sendable {
        /// A gzip member (RFC 1952); concatenated members are read one after another.
        case gzip
        /// A zlib stream (RFC 1950), as in PDF `FlateDecode`.
        case zlib
        /// Raw deflate (RFC 1951), as in ZIP entries.
        case raw

        var windowBits: Int32 {
            switch self {
            case .gzip: 16 + 15
            case .zlib: 15
            case .raw: -15
            }
        }
    }

    /// The bytes produced per call to zlib.
    static let outputChunkBytes = 64 * 1024

    private let framing: Framing
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    /// Whether the current stream reached its end (a gzip member may be followed by another).
    public private(set) var isFinished = false

    /// Creates an inflater for `framing`.
    ///
    /// - Throws: `ExtractionError` with code `.malformed` when zlib cannot be initialised (out of memory).
    public init(framing: Framing) throws(ExtractionError) {
        self.framing = framing
        stream.initialize(to: z_stream())
        let rc = inflateInit2_(stream, framing.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            throw ExtractionError(.malformed, "zlib could not start (code \(rc)).")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decompresses `input`, handing each piece of output to `sink`, and charges `budget` for it.
    ///
    /// Input after the end of a zlib or raw stream is ignored; after the end of a gzip member, the next member is
    /// read. Output is handed over in pieces of at most 64 KiB, so memory stays bounded whatever the ratio.
    ///
    /// - Throws: `.malformed` for corrupt data (with the zlib message); `.decompressedTooLarge` or
    ///   `.compressionRatio` from the budget; whatever `sink` throws.
    public func feed(
        _ input: UnsafeBufferPointer<UInt8>, budget: inout DecompressionBudget,
        sink: (UnsafeBufferPointer<UInt8>) throws(ExtractionError) -> Void
    ) throws(ExtractionError) {
        guard !input.isEmpty, let base = input.baseAddress else { return }
        budget.consumed += input.count
        var output = [UInt8](repeating: 0, count: Self.outputChunkBytes)
        var offset = 0
        while offset < input.count {
            if isFinished {
                guard framing == .gzip else { return }
                // Another gzip member follows: start over on the remaining input.
                guard inflateReset(stream) == Z_OK else {
                    throw ExtractionError(.malformed, "zlib could not reset between gzip members.")
                }
                isFinished = false
            }
            // Sound: zlib reads at most `avail_in` bytes from `next_in`, which points inside `input`; zlib does not
            // write through `next_in` despite its non-const type.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base + offset)
            stream.pointee.avail_in = UInt32(min(input.count - offset, Int(UInt32.max)))
            let before = Int(stream.pointee.avail_in)
            var rc: Int32 = Z_OK
            repeat {
                let produced = try output.withUnsafeMutableBufferPointer {
                    (buffer) throws(ExtractionError) -> Int in
                    // Sound: zlib writes at most `avail_out` bytes into the buffer, which holds that many.
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = UInt32(buffer.count)
                    rc = inflate(stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.pointee.avail_out)
                }
                if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "code \(rc)"
                    throw ExtractionError(.malformed, "The compressed data is corrupt: \(reason).")
                }
                if produced > 0 {
                    try budget.charge(produced)
                    try output.withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                        try sink(UnsafeBufferPointer(rebasing: buffer[0..<produced]))
                    }
                }
                if rc == Z_BUF_ERROR && produced == 0 { break }
            } while rc != Z_STREAM_END && stream.pointee.avail_out == 0
            offset += before - Int(stream.pointee.avail_in)
            if rc == Z_STREAM_END {
                isFinished = true
            } else if stream.pointee.avail_in == 0 {
                return
            }
        }
    }

    /// Checks that the compressed data ended where it should.
    ///
    /// - Throws: `.malformed` when the stream was cut off before its end.
    public func finish() throws(ExtractionError) {
        guard isFinished else {
            throw ExtractionError(.malformed, "The compressed data ends before the end of its stream (truncated).")
        }
    }
}

/// The decompression allowance of one document: all of its inflaters together may not produce more than
/// `bytesMax` bytes, nor more than `ratioMax` bytes per compressed byte once past `ratioFloorBytes`.
public struct DecompressionBudget: Sendable {
    /// The most bytes all inflaters together may produce.
    public let bytesMax: Int
    /// The most bytes produced per compressed byte consumed.
    public let ratioMax: Int
    /// Produced bytes below which the ratio is not checked.
    public let ratioFloorBytes: Int
    /// Compressed bytes consumed so far.
    public internal(set) var consumed = 0
    /// Decompressed bytes produced so far.
    public private(set) var produced = 0

    /// Creates a budget.
    public init(bytesMax: Int, ratioMax: Int, ratioFloorBytes: Int) {
        self.bytesMax = bytesMax
        self.ratioMax = ratioMax
        self.ratioFloorBytes = ratioFloorBytes
    }

    /// Creates the budget an extraction configuration sets.
    public init(_ configuration: TextExtractor.Configuration) {
        self.init(
            bytesMax: configuration.decompressedBytesMax, ratioMax: configuration.compressionRatioMax,
            ratioFloorBytes: configuration.compressionRatioFloorBytes)
    }

    /// Records `bytes` more produced bytes.
    ///
    /// - Throws: `.decompressedTooLarge` past `bytesMax`; `.compressionRatio` past the ratio.
    public mutating func charge(_ bytes: Int) throws(ExtractionError) {
        produced += bytes
        if produced > bytesMax {
            throw ExtractionError(
                .decompressedTooLarge, "Decompression yields more than the limit of \(bytesMax) bytes.")
        }
        if produced > ratioFloorBytes && produced / max(consumed, 1) > ratioMax {
            throw ExtractionError(
                .compressionRatio,
                "Decompression yields \(produced) bytes from \(consumed): more than \(ratioMax) times the input.")
        }
    }
}
