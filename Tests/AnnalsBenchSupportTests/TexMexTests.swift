import AnnalsBenchSupport
import AnnalsTesting
import Foundation
import Testing

@Suite("TEXMEX vector files")
struct TexMexTests {
    @Test("fvecs and ivecs round-trip, and a limit reads a prefix")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        let vectors = try VectorSet(dimension: 3, values: [1, 2, 3, -0.5, 0, 1e-20, .pi, -7, 65_504])
        try TexMex.writeFvecs(vectors, path: dir.child("base.fvecs"))
        #expect(try TexMex.readFvecs(path: dir.child("base.fvecs")) == vectors)
        #expect(try TexMex.readFvecs(path: dir.child("base.fvecs"), limit: 2) == vectors.prefix(2))

        let rows: [[Int32]] = [[4, 1, 0], [Int32.max, -1, 7]]
        try TexMex.writeIvecs(rows, path: dir.child("groundtruth.ivecs"))
        #expect(try TexMex.readIvecs(path: dir.child("groundtruth.ivecs")) == rows)
        #expect(try TexMex.readIvecs(path: dir.child("groundtruth.ivecs"), limit: 1) == [rows[0]])
    }

    @Test("the bytes are the TEXMEX layout: a little-endian Int32 dimension, then the values")
    func layout() throws {
        let dir = TemporaryDirectory()
        try TexMex.writeFvecs(try VectorSet(dimension: 2, values: [1, -2]), path: dir.child("one.fvecs"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.child("one.fvecs"))))
        // 2 as Int32, 1.0f (0x3F800000), -2.0f (0xC0000000), all little-endian.
        #expect(bytes == [2, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        try TexMex.writeIvecs([[258]], path: dir.child("one.ivecs"))
        let ivecs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.child("one.ivecs"))))
        #expect(ivecs == [1, 0, 0, 0, 2, 1, 0, 0])
    }

    @Test("malformed files are refused with a code")
    func malformed() throws {
        let dir = TemporaryDirectory()
        var files = 0
        func write(_ bytes: [UInt8]) -> String {
            files += 1
            let path = dir.child("file-\(files).fvecs")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            return path
        }
        func code(_ path: String) -> DatasetError.Code? {
            do {
                _ = try TexMex.readFvecs(path: path)
                return nil
            } catch { return error.code }
        }
        let one: [UInt8] = [1, 0, 0, 0, 0, 0, 0x80, 0x3F]
        #expect(code(write(one)) == nil)
        #expect(code(write(Array(one.dropLast()))) == .malformedFile)
        #expect(code(write([1, 0])) == .malformedFile)
        // A second record claiming another dimension.
        #expect(code(write(one + [2, 0, 0, 0, 0, 0, 0x80, 0x3F])) == .malformedFile)
        // A dimension of zero, and a negative one.
        #expect(code(write([0, 0, 0, 0])) == .malformedFile)
        #expect(code(write([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])) == .malformedFile)
        // NaN.
        #expect(code(write([1, 0, 0, 0, 0, 0, 0xC0, 0x7F])) == .malformedFile)
        #expect(code(dir.child("missing.fvecs")) == .io)
        #expect(throws: DatasetError.self) { try TexMex.writeIvecs([[1, 2], [3]], path: dir.child("bad.ivecs")) }
    }
}

@Suite("Recall")
struct RecallTests {
    @Test("recall@k on a hand-made case")
    func handMade() {
        let truth: [[UInt64]] = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
        // 4 of 4, 2 of 4 (order does not matter, extra ids past k are ignored), 0 of 4.
        let found: [[UInt64]] = [[4, 3, 2, 1], [6, 99, 5, 98, 7, 8], [13, 14, 15, 16]]
        #expect(Recall.atK(4, found: found, truth: truth) == (1.0 + 0.5 + 0.0) / 3)
        // At k = 2 only the first two of each list count: {4, 3} ∩ {1, 2}, {6, 99} ∩ {5, 6}, nothing.
        #expect(Recall.atK(2, found: found, truth: truth) == (0.0 + 0.5 + 0.0) / 3)
        // A repeated id counts once.
        #expect(Recall.atK(4, found: [[1, 1, 1, 1]], truth: [[1, 2, 3, 4]]) == 0.25)
        // Fewer results than k lose recall; truth shorter than k is scored against its own length.
        #expect(Recall.atK(4, found: [[1, 2]], truth: [[1, 2, 3, 4]]) == 0.5)
        #expect(Recall.atK(10, found: [[2, 1]], truth: [[1, 2]]) == 1)
    }
}

@Suite("Clustered synthetic vectors")
struct ClusteredVectorsTests {
    @Test("deterministic from the seed, unit length, and queries differ from base vectors")
    func deterministic() {
        let a = ClusteredVectors(dimension: 16, clusters: 4, spread: 1, seed: 7)
        let b = ClusteredVectors(dimension: 16, clusters: 4, spread: 1, seed: 7)
        let base = a.sample(count: 50, stream: 0)
        #expect(base == b.sample(count: 50, stream: 0))
        #expect(base != ClusteredVectors(dimension: 16, clusters: 4, spread: 1, seed: 8).sample(count: 50, stream: 0))
        let queries = a.sample(count: 50, stream: 1)
        #expect(Set(queries.rows).isDisjoint(with: Set(base.rows)))
        for row in base.rows + queries.rows {
            let length = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(length - 1) < 1e-5)
        }
    }

    @Test("with no spread every point is its cluster's centre")
    func centres() {
        let tight = ClusteredVectors(dimension: 8, clusters: 3, spread: 0, seed: 1).sample(count: 200, stream: 0)
        #expect(Set(tight.rows).count <= 3)
    }
}
