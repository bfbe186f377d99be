/// The binary attachment of a `chunk.embedded` record: the chunk's vector as `dimension` little-endian IEEE 754
/// Float32 values, back to back, with nothing else.
///
/// Raw floats rather than a protobuf `repeated float` so that reading a vector is a bounds check and a copy, and so
/// that the log can hand the bytes to the vector index without parsing the payload.
public enum EmbeddingAttachment {
    /// The largest dimension accepted; a bound on what one record may make a reader allocate.
    public static let dimensionMax = 16_384

    /// The number of bytes an attachment of `dimension` values takes.
    public static func byteCount(dimension: Int) -> Int { dimension * MemoryLayout<UInt32>.size }

    /// Encodes `vector` as an attachment.
    ///
    /// - Throws: `EventCodingError` with code `.malformedAttachment` when the vector is empty, longer than
    ///   `dimensionMax`, or holds NaN or an infinity (an embedder bug; such a vector would poison every distance).
    public static func encode(_ vector: [Float]) throws(EventCodingError) -> [UInt8] {
        try check(dimension: vector.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount(dimension: vector.count))
        for (index, value) in vector.enumerated() {
            guard value.isFinite else { throw nonFinite(index: index, value: value) }
            let bits = value.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return bytes
    }

    /// Decodes an attachment that the record's `ChunkEmbedded.dimension` says holds `dimension` values.
    ///
    /// - Throws: `EventCodingError` with code `.malformedAttachment` when `dimension` is out of range, the byte count
    ///   is not `4 × dimension`, or a value is NaN or infinite.
    public static func decode(_ bytes: some Collection<UInt8>, dimension: Int) throws(EventCodingError) -> [Float] {
        try check(dimension: dimension)
        guard bytes.count == byteCount(dimension: dimension) else {
            let expected = byteCount(dimension: dimension)
            throw error("\(bytes.count) attachment bytes, expected \(expected) for dimension \(dimension)")
        }
        // Contiguous bytes (an array, or a view into an LMDB page) are read four at a time: replaying a log decodes
        // every vector, and the byte-by-byte path below showed as half of a replay's time.
        let fast: [Float]? = bytes.withContiguousStorageIfAvailable { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            return [Float](unsafeUninitializedCapacity: dimension) { values, initialized in
                for index in 0..<dimension {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                    values[index] = Float(bitPattern: bits)
                }
                initialized = dimension
            }
        }
        if let fast {
            if let index = fast.firstIndex(where: { !$0.isFinite }) {
                throw nonFinite(index: index, value: fast[index])
            }
            return fast
        }
        var vector: [Float] = []
        vector.reserveCapacity(dimension)
        var iterator = bytes.makeIterator()
        // The count check above guarantees four bytes per value, so the iterator cannot run dry.
        for _ in 0..<dimension {
            var bits: UInt32 = 0
            for shift in stride(from: 0, to: 32, by: 8) {
                bits |= UInt32(iterator.next()!) << shift
            }
            vector.append(Float(bitPattern: bits))
        }
        if let index = vector.firstIndex(where: { !$0.isFinite }) {
            throw nonFinite(index: index, value: vector[index])
        }
        return vector
    }

    // The helpers below take the caller's position, so that an error names the public function that threw it.

    private static func check(
        dimension: Int,
        function: String = #function,
        line: Int = #line
    ) throws(EventCodingError) {
        guard (1...dimensionMax).contains(dimension) else {
            throw error("dimension \(dimension) is outside 1...\(dimensionMax)", function: function, line: line)
        }
    }

    private static func nonFinite(
        index: Int,
        value: Float,
        function: String = #function,
        line: Int = #line
    ) -> EventCodingError {
        error("value \(index) of the vector is \(value); vectors must be finite", function: function, line: line)
    }

    private static func error(
        _ message: String,
        function: String = #function,
        line: Int = #line
    ) -> EventCodingError {
        EventCodingError(
            code: .malformedAttachment,
            message: message,
            eventType: EventType.chunkEmbedded.rawValue,
            schemaVersion: Annals_Events_V1_ChunkEmbedded.schemaVersion,
            function: function,
            line: line
        )
    }
}
