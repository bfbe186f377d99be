import AnnalsTesting
import AnnalsVector
import Foundation
import Testing

@Suite("Vector arena")
struct VectorArenaTests {
    static func backings(_ directory: TemporaryDirectory) -> [VectorArena.Backing] {
        [.memory, .file(directory: directory.path)]
    }

    func bytes(of prefix: VectorArena.Prefix) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try prefix.forEachBlock(blockBytes: 7 * 4) { bytes.append(contentsOf: $0) }
        return bytes
    }

    @Test("vectors read back, score, and stream as bytes, in memory and in a file")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        for backing in Self.backings(directory) {
            let arena = try VectorArena(dimension: 5, backing: backing)
            var generator = SeededGenerator(seed: 1)
            let vectors = (0..<40).map { _ in randomUnitVector(5, &generator) }
            for (slot, vector) in vectors.enumerated() { #expect(try arena.append(vector) == slot) }
            #expect(arena.count == 40 && arena.storedBytes == 40 * 5 * 4)
            #expect((0..<40).allSatisfy { arena.vector($0) == vectors[$0] })
            let query = vectors[7]
            let score = query.withUnsafeBufferPointer { arena.score(7, query: $0.baseAddress!) }
            #expect(abs(score - 1) < 1e-5)
            var scored: [Float] = []
            query.withUnsafeBufferPointer { probe in
                arena.forEachScoreBlock(slots: 3..<40, query: probe.baseAddress!) { first, scores in
                    #expect(first == 3 + scored.count)
                    scored += scores
                }
            }
            #expect(scored.count == 37 && abs(scored[4] - 1) < 1e-5)
            let expected = vectors.prefix(30).flatMap { $0 }.flatMap { value in
                withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            }
            // A prefix stays what it was while the owner appends after it.
            let prefix = arena.prefix(30)
            try arena.append([1, 2, 3, 4, 5])
            #expect(try bytes(of: prefix) == expected)
            let copy = try arena.copy(slots: 30, backing: .memory)
            #expect(copy.count == 30 && (0..<30).allSatisfy { copy.vector($0) == vectors[$0] })
        }
    }

    @Test("runs never cross a segment, and slots past the first segment read back")
    func segments() throws {
        // 16,384 values are 64 KiB a vector: 1,024 vectors fill a 64 MiB segment.
        let arena = try VectorArena(dimension: 16_384)
        #expect(arena.slotsPerSegment == 1024)
        for slot in 0..<1030 {
            var vector = [Float](repeating: 0, count: 16_384)
            vector[slot % 16_384] = Float(slot + 1)
            try arena.append(vector)
        }
        #expect(arena.vector(1027)[1027] == 1028)
        var runs: [Range<Int>] = []
        arena.forEachRun(slots: 1000..<1030, runSlotsMax: 16) { first, _, n in runs.append(first..<(first + n)) }
        #expect(runs.map(\.count) == [16, 8, 6])
        #expect(runs.allSatisfy { $0.lowerBound / 1024 == ($0.upperBound - 1) / 1024 })
        var whole: [UInt8] = []
        try arena.prefix(1030).forEachBlock { whole.append(contentsOf: $0) }
        #expect(whole.count == 1030 * 16_384 * 4)
        let restored = try VectorArena(dimension: 16_384)
        try whole.withUnsafeBytes { try restored.appendBytes($0) }
        #expect(restored.count == 1030 && restored.vector(1029) == arena.vector(1029))
    }

    @Test("a file arena's vectors past its first segment read back through the mapping and through pread")
    func fileSegments() throws {
        let directory = TemporaryDirectory()
        // 384 floats are 1,536 bytes: 43,690 fit in 64 MiB, and a segment holds the power of two below, 32,768.
        let arena = try VectorArena(dimension: 384, backing: .file(directory: directory.path))
        #expect(arena.slotsPerSegment == 32_768)
        var vector = [Float](repeating: 0, count: 384)
        for slot in 0..<(arena.slotsPerSegment + 10) {
            vector[slot % 384] = Float(slot)
            try arena.append(vector)
            vector[slot % 384] = 0
        }
        let last = arena.count - 1
        #expect(arena.vector(last)[last % 384] == Float(last))
        #expect(arena.vector(32_769)[32_769 % 384] == 32_769)
        // Blocks read with pread from the second segment hold the same vectors as the mapping.
        var lastBlock: [UInt8] = []
        try arena.prefix(arena.count).forEachBlock { lastBlock = Array($0) }
        let tail = Array(lastBlock.suffix(1536))
        let expected = arena.vector(last).flatMap { value in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        #expect(tail == expected)
    }

    @Test("a restored arena uses a mapped file's segments in place; the first append copies only the last one")
    func restoreFromMapping() throws {
        let directory = TemporaryDirectory()
        // 16,384 values are 64 KiB a vector: 1,024 vectors fill a segment; 1,030 need a second, partial one.
        let dimension = 16_384
        var bytes = [UInt8](repeating: 0x5A, count: 71)  // a header of odd length before the vectors
        for slot in 0..<1030 {
            var vector = [Float](repeating: 0, count: dimension)
            vector[slot % dimension] = Float(slot + 1)
            for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        }
        let path = directory.child("vectors.snap")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for backing in Self.backings(directory) {
            let descriptor = open(path, O_RDONLY)
            let mapping = try MappedFile(descriptor: descriptor, size: bytes.count)
            close(descriptor)
            let region = UnsafeRawBufferPointer(rebasing: mapping.bytes[71...])
            let arena = try VectorArena.restore(
                dimension: dimension, slots: 1030, backing: backing, bytes: region, mapping: mapping)
            #expect(arena.count == 1030 && arena.adoptedSegments == 2)
            #expect(arena.vector(5)[5] == 6 && arena.vector(1029)[1029] == 1030)
            // The first append copies the partial segment into the arena's own storage and continues there; the
            // bytes stream back whole, in order.
            let before = arena.prefix(1030)
            var extra = [Float](repeating: 0, count: dimension)
            extra[0] = -1
            #expect(try arena.append(extra) == 1030)
            #expect(arena.adoptedSegments == 1 && arena.vector(1029)[1029] == 1030)
            var earlier: [UInt8] = []
            try before.forEachBlock { earlier += $0 }
            #expect(earlier == Array(bytes[71...]))
            var streamed: [UInt8] = []
            try arena.prefix(1030).forEachBlock { streamed += $0 }
            #expect(streamed == Array(bytes[71...]))
            arena.releaseMappedPages()
            #expect(arena.vector(1000)[1000] == 1001 && arena.vector(1030)[0] == -1)
            let copy = try arena.copy(slots: 1031, backing: .memory)
            #expect(copy.adoptedSegments == 0 && copy.vector(1023)[1023] == 1024)
        }
        // The mapping outlives the file's removal.
        let descriptor = open(path, O_RDONLY)
        let mapping = try MappedFile(descriptor: descriptor, size: bytes.count)
        close(descriptor)
        let arena = try VectorArena.restore(
            dimension: dimension, slots: 1030, backing: .memory,
            bytes: UnsafeRawBufferPointer(rebasing: mapping.bytes[71...]), mapping: mapping)
        try FileManager.default.removeItem(atPath: path)
        #expect(arena.vector(1023)[1023] == 1024)
        // Bytes that are not the vectors announced are refused.
        let short = #expect(throws: VectorError.self) {
            _ = try VectorArena.restore(
                dimension: dimension, slots: 1031, backing: .memory,
                bytes: UnsafeRawBufferPointer(rebasing: mapping.bytes[71...]), mapping: mapping)
        }
        #expect(short?.code == .malformedSnapshot)
    }

    @Test("releasing mapped pages keeps every vector, in a file and in memory")
    func release() throws {
        let directory = TemporaryDirectory()
        for backing in Self.backings(directory) {
            let arena = try VectorArena(dimension: 64, backing: backing)
            var generator = SeededGenerator(seed: 3)
            let vectors = (0..<500).map { _ in randomUnitVector(64, &generator) }
            for vector in vectors { try arena.append(vector) }
            #expect((0..<500).allSatisfy { arena.vector($0) == vectors[$0] })
            arena.releaseMappedPages()
            #expect((0..<500).allSatisfy { arena.vector($0) == vectors[$0] })
            try arena.append(vectors[0])
            arena.releaseMappedPages()
            #expect(arena.vector(500) == vectors[0] && arena.vector(499) == vectors[499])
        }
    }

    @Test("clear errors: a directory that is missing, bytes that are not whole vectors, a wrong dimension")
    func errors() throws {
        let directory = TemporaryDirectory()
        let missing = #expect(throws: VectorError.self) {
            _ = try VectorArena(dimension: 4, backing: .file(directory: directory.child("missing")))
        }
        #expect(missing?.code == .storage && missing?.message.contains("missing") == true)
        let arena = try VectorArena(dimension: 4, backing: .file(directory: directory.path))
        #expect(throws: VectorError(.dimensionMismatch, "a vector of 3 values, the arena holds 4")) {
            try arena.append([1, 2, 3])
        }
        // Bytes that split a vector are kept until the rest of it comes.
        let head = [UInt8](repeating: 0, count: 10)
        try head.withUnsafeBytes { try arena.appendBytes($0) }
        #expect(arena.count == 0 && arena.partialBytes == 10)
        let rest = [UInt8](repeating: 0, count: 6 + 16)
        try rest.withUnsafeBytes { try arena.appendBytes($0) }
        #expect(arena.count == 2 && arena.partialBytes == 0 && arena.vector(1) == [0, 0, 0, 0])
        #expect(throws: VectorError.self) { _ = try VectorArena(dimension: 0) }
        // The file is unlinked at once: nothing is left in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
}
