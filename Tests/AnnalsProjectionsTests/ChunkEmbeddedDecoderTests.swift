import AnnalsEvents
import Foundation
import SwiftProtobuf
import Testing

@testable import AnnalsProjections

@Suite("Fast chunk.embedded decoding")
struct ChunkEmbeddedDecoderTests {
    @Test("gives the full decoder's fields, without the text")
    func sameFields() throws {
        var chunk = Annals_Events_V1_ChunkEmbedded()
        chunk.documentID = "doc-ünïcode-1"
        chunk.chunkIndex = 300
        chunk.text = String(repeating: "text that is skipped ", count: 50)
        chunk.charOffset = 1 << 40
        chunk.charLength = 1000
        chunk.page = 7
        chunk.embedder = "hashing-v1"
        chunk.dimension = 384
        chunk.attempt = 3
        let bytes: [UInt8] = try chunk.serializedBytes()
        let fast = try #require(bytes.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) })
        var expected = chunk
        expected.text = ""
        #expect(fast == expected)
        // Defaults (absent fields) and an empty payload.
        let empty = try #require([UInt8]().withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) })
        #expect(empty == Annals_Events_V1_ChunkEmbedded())
        // Without the strings: the same numbers, no id and no embedder.
        let numbers = try #require(bytes.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0, strings: false) })
        expected.documentID = ""
        expected.embedder = ""
        #expect(numbers == expected)
    }

    @Test("unknown fields are skipped; malformed payloads and invalid UTF-8 in ids are left to the full decoder")
    func oddPayloads() throws {
        var chunk = Annals_Events_V1_ChunkEmbedded()
        chunk.documentID = "d1"
        chunk.attempt = 2
        var bytes: [UInt8] = try chunk.serializedBytes()
        // Field 20 as a varint, field 21 as 64-bit, field 22 as 32-bit, field 23 length-delimited.
        bytes += [0xA0, 0x01, 0x05, 0xA9, 0x01] + [UInt8](repeating: 1, count: 8) + [0xB5, 0x01, 1, 2, 3, 4]
        bytes += [0xBA, 0x01, 0x02, 0x41, 0x42]
        let fast = try #require(bytes.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) })
        #expect(fast.documentID == "d1")
        #expect(fast.attempt == 2)
        let truncated = Array(bytes.dropLast(1))
        #expect(truncated.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) } == nil)
        let badUTF8: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        #expect(badUTF8.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) } == nil)
        // Checked even when the strings are not kept, in the id and in the embedder.
        #expect(badUTF8.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0, strings: false) } == nil)
        let badEmbedder: [UInt8] = [0x3A, 0x02, 0xC3, 0x28]
        #expect(badEmbedder.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0, strings: false) } == nil)
        let nonASCII: [UInt8] = [0x0A, 0x02, 0xC3, 0xBC]
        #expect(nonASCII.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0, strings: false) } != nil)
        let groupWireType: [UInt8] = [0x0B]
        #expect(groupWireType.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) } == nil)
        // Tags SwiftProtobuf refuses are left to it too: six bytes (however small the field number), and field 0.
        for refused: [UInt8] in [[0x8A, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61], [0x00, 0x01]] {
            #expect(refused.withUnsafeBytes { ChunkEmbeddedDecoder.decode($0) } == nil)
            #expect((try? Annals_Events_V1_ChunkEmbedded(serializedBytes: refused)) == nil)
        }
    }
}
