import AnnalsExtract
import AnnalsTesting
import Foundation
import Testing

@Suite("Inflater and byte sources")
struct InflaterTests {
    private func inflate(
        _ compressed: [UInt8], framing: Inflater.Framing, budget: DecompressionBudget, piece: Int = 1000
    ) throws(ExtractionError) -> [UInt8] {
        let inflater = try Inflater(framing: framing)
        var budget = budget
        var output: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            let end = min(compressed.count, offset + piece)
            try compressed[offset..<end].withUnsafeBufferPointer { (buffer) throws(ExtractionError) in
                try inflater.feed(buffer, budget: &budget) { output.append(contentsOf: $0) }
            }
            offset = end
        }
        try inflater.finish()
        return output
    }

    private let roomy = DecompressionBudget(bytesMax: 1 << 30, ratioMax: 1000, ratioFloorBytes: 1 << 20)

    @Test("round trip in every framing, fed in small pieces", arguments: [Inflater.Framing.gzip, .zlib, .raw])
    func roundTrip(framing: Inflater.Framing) throws {
        var generator = SeededGenerator(seed: 7)
        let original = (0..<300_000).map { _ in UInt8.random(in: 97...104, using: &generator) }
        let compressed = compress(original, framing: framing)
        #expect(try inflate(compressed, framing: framing, budget: roomy, piece: 777) == original)
    }

    @Test("concatenated gzip members are read one after another")
    func gzipMembers() throws {
        let first = Array("first member\n".utf8)
        let second = Array("second member\n".utf8)
        let joined = compress(first, framing: .gzip) + compress(second, framing: .gzip)
        #expect(try inflate(joined, framing: .gzip, budget: roomy, piece: 5) == first + second)
    }

    @Test("a bomb stops at the byte limit, then at the ratio limit, without producing it all")
    func bombs() throws {
        let zeros = [UInt8](repeating: 0, count: 50 << 20)
        let bomb = compress(zeros, framing: .gzip, level: 9)
        #expect(bomb.count < 100_000)
        let small = DecompressionBudget(bytesMax: 10 << 20, ratioMax: 100_000, ratioFloorBytes: 1 << 20)
        #expect(throws: ExtractionError.self) { try inflate(bomb, framing: .gzip, budget: small) }
        do {
            _ = try inflate(bomb, framing: .gzip, budget: small)
        } catch {
            #expect(error.code == .decompressedTooLarge)
        }
        let ratio = DecompressionBudget(bytesMax: 1 << 30, ratioMax: 100, ratioFloorBytes: 1 << 20)
        do {
            _ = try inflate(bomb, framing: .gzip, budget: ratio)
            Issue.record("the ratio limit did not stop the bomb")
        } catch {
            #expect(error.code == .compressionRatio)
        }
    }

    @Test("corrupt and truncated data are malformed")
    func corrupt() throws {
        let compressed = compress(Array(String(repeating: "annals ", count: 1000).utf8), framing: .gzip)
        do {
            _ = try inflate(Array(compressed.prefix(compressed.count / 2)), framing: .gzip, budget: roomy)
            Issue.record("a truncated stream was accepted")
        } catch {
            #expect(error.code == .malformed)
        }
        var damaged = compressed
        damaged[12] ^= 0xFF
        damaged[13] ^= 0xFF
        do {
            _ = try inflate(damaged, framing: .gzip, budget: roomy)
            Issue.record("a damaged stream was accepted")
        } catch {
            #expect(error.code == .malformed)
        }
    }

    @Test("memory and file sources read the same windows")
    func byteSources() throws {
        let directory = TemporaryDirectory()
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = directory.path + "/doc.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try FileByteSource(path: path)
        let memory = MemoryByteSource(bytes)
        #expect(file.size == 10_000)
        for (offset, count) in [(0, 10), (9_990, 100), (5_000, 0), (10_000, 5)] {
            #expect(try file.read(offset: offset, count: count) == memory.read(offset: offset, count: count))
        }
        #expect(try file.read(offset: 9_990, count: 100).count == 10)
        #expect(throws: ExtractionError.self) { try file.read(offset: 10_001, count: 1) }
        #expect(throws: ExtractionError.self) { try FileByteSource(path: directory.path + "/missing") }
    }
}
