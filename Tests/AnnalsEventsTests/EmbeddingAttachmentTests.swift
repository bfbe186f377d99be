import AnnalsEvents
import Testing

@Suite("Embedding attachment")
struct EmbeddingAttachmentTests {
    @Test("vectors round-trip")
    func roundTrip() throws {
        let vector: [Float] = (0..<384).map { Float($0) * 0.001 - 0.19 }
        let bytes = try EmbeddingAttachment.encode(vector)
        #expect(bytes.count == 384 * 4)
        #expect(try EmbeddingAttachment.decode(bytes, dimension: 384) == vector)
        #expect(try EmbeddingAttachment.decode(bytes[...], dimension: 384) == vector)
    }

    @Test("values are little-endian IEEE 754 Float32")
    func layout() throws {
        // 1.0 is 0x3F800000 and -2.0 is 0xC0000000.
        #expect(try EmbeddingAttachment.encode([1, -2]) == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        #expect(try EmbeddingAttachment.decode([0x00, 0x00, 0x80, 0x3F], dimension: 1) == [1])
    }

    @Test("a length that does not match the dimension is refused")
    func wrongLength() {
        let error = #expect(throws: EventCodingError.self) {
            try EmbeddingAttachment.decode([0, 0, 0x80, 0x3F, 0], dimension: 1)
        }
        #expect(error?.code == .malformedAttachment)
        #expect(error?.eventType == EventType.chunkEmbedded.rawValue)
        #expect(error?.location.file == "AnnalsEvents/EmbeddingAttachment.swift")
        #expect(error?.location.function.hasPrefix("decode(") == true)
    }

    @Test("dimensions outside 1...dimensionMax are refused", arguments: [0, -1, EmbeddingAttachment.dimensionMax + 1])
    func dimensionRange(dimension: Int) {
        let error = #expect(throws: EventCodingError.self) {
            try EmbeddingAttachment.decode([UInt8](), dimension: dimension)
        }
        #expect(error?.code == .malformedAttachment)
        #expect(throws: EventCodingError.self) { try EmbeddingAttachment.encode([]) }
    }

    @Test("NaN and infinities are refused both ways", arguments: [Float.nan, .infinity, -.infinity])
    func nonFinite(value: Float) {
        let encodeError = #expect(throws: EventCodingError.self) { try EmbeddingAttachment.encode([0, value]) }
        #expect(encodeError?.code == .malformedAttachment)
        let bits = value.bitPattern
        let bytes = [0, 0, 0, 0] + (0..<4).map { UInt8(truncatingIfNeeded: bits >> ($0 * 8)) }
        let decodeError = #expect(throws: EventCodingError.self) {
            try EmbeddingAttachment.decode(bytes, dimension: 2)
        }
        #expect(decodeError?.code == .malformedAttachment)
    }
}
