import AnnalsTesting
import AnnalsVector
import Testing

/// A small deterministic generator (SplitMix64), so failures reproduce.

/// The reference: scores every vector the plain way (same kernel through the index with k = count, then re-sorted
/// here), to check top-k selection; and a scalar dot product to check the kernel.
func scalarDot(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
}

@Suite("Exact index")
struct ExactIndexTests {
    @Test("top-k equals a brute-force reference on random data", arguments: [1, 7, 8, 16, 31, 32, 33, 384])
    func topKMatchesBruteForce(dimension: Int) throws {
        var rng = SeededGenerator(seed: UInt64(dimension))
        var index = try ExactIndex(dimension: dimension)
        var vectors: [UInt64: [Float]] = [:]
        for id in 0..<500 {
            let vector = randomUnitVector(dimension, &rng)
            vectors[UInt64(id) * 3 + 1] = vector
            try index.add(id: UInt64(id) * 3 + 1, vector: vector)
        }
        #expect(index.count == 500)
        for _ in 0..<10 {
            let query = randomUnitVector(dimension, &rng)
            let hits = try index.search(query: query, k: 10)
            let reference = vectors.map { (id: $0.key, score: scalarDot($0.value, query)) }
                .sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            #expect(hits.count == 10)
            // The SIMD kernel adds in another order than the scalar reference: compare ids where the reference's
            // scores are clearly apart, and scores within rounding.
            for (hit, expected) in zip(hits, reference.prefix(10)) {
                #expect(abs(hit.score - expected.score) < 1e-4)
            }
            let all = try index.search(query: query, k: 1000)
            #expect(all.count == 500)
            #expect(Array(all.prefix(10)).map(\.id) == hits.map(\.id))
            for pair in zip(all, all.dropFirst()) {
                #expect(pair.0.score > pair.1.score || (pair.0.score == pair.1.score && pair.0.id < pair.1.id))
            }
            let referenceTop = Set(reference.prefix(10).map(\.id))
            let margin = reference[9].score - reference[10].score
            if margin > 1e-4 { #expect(Set(hits.map(\.id)) == referenceTop) }
        }
    }

    @Test("the kernel agrees with a scalar dot product")
    func kernel() throws {
        var rng = SeededGenerator(seed: 42)
        for dimension in [1, 5, 8, 15, 16, 17, 40, 100, 768] {
            var index = try ExactIndex(dimension: dimension)
            let a = randomUnitVector(dimension, &rng)
            let b = randomUnitVector(dimension, &rng)
            try index.add(id: 1, vector: a)
            let score = try #require(try index.search(query: b, k: 1).first).score
            #expect(abs(score - scalarDot(a, b)) < 1e-5)
        }
    }

    @Test("the kernel adds in its documented order, so every CPU variant gives the same bits")
    func kernelOrder() throws {
        // The order `annals_dot_f32` promises, written out in Swift: 32 partial sums, 16- and 8-value tails, the
        // partial sums added in lane order, then a scalar tail. Any CPU variant that reordered the additions or
        // fused a multiply with an add would differ in the last bits for some of these inputs.
        func reference(_ a: [Float], _ b: [Float]) -> Float {
            var sum0 = [Float](repeating: 0, count: 16)
            var sum1 = [Float](repeating: 0, count: 16)
            var i = 0
            while i + 32 <= a.count {
                for lane in 0..<16 {
                    sum0[lane] += a[i + lane] * b[i + lane]
                    sum1[lane] += a[i + 16 + lane] * b[i + 16 + lane]
                }
                i += 32
            }
            if i + 16 <= a.count {
                for lane in 0..<16 { sum0[lane] += a[i + lane] * b[i + lane] }
                i += 16
            }
            var sum8 = [Float](repeating: 0, count: 8)
            if i + 8 <= a.count {
                for lane in 0..<8 { sum8[lane] = a[i + lane] * b[i + lane] }
                i += 8
            }
            var total: Float = -0.0
            for lane in 0..<16 { total += sum0[lane] + sum1[lane] }
            var tail: Float = -0.0
            for lane in 0..<8 { tail += sum8[lane] }
            total += tail
            while i < a.count {
                total += a[i] * b[i]
                i += 1
            }
            return total
        }
        var rng = SeededGenerator(seed: 77)
        for dimension in [1, 5, 8, 15, 16, 17, 24, 31, 32, 33, 40, 56, 100, 384, 768, 1_000] {
            var index = try ExactIndex(dimension: dimension)
            for id in UInt64(0)..<20 {
                // Values of very different magnitudes make the rounding depend on the order of additions.
                let vector = (0..<dimension).map { _ in
                    Float.random(in: -1...1, using: &rng) * Float(1 << Int.random(in: 0..<20, using: &rng))
                }
                try index.add(id: id, vector: vector)
                let query = (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }
                let score = try #require(index.score(id: id, query: query))
                #expect(score.bitPattern == reference(vector, query).bitPattern, "dimension \(dimension)")
            }
        }
    }

    @Test("removals keep storage dense and results right")
    func removals() throws {
        var rng = SeededGenerator(seed: 7)
        var index = try ExactIndex(dimension: 24)
        var vectors: [UInt64: [Float]] = [:]
        for id in UInt64(0)..<200 {
            let vector = randomUnitVector(24, &rng)
            vectors[id] = vector
            try index.add(id: id, vector: vector)
        }
        for id in stride(from: UInt64(0), to: 200, by: 3) {
            let removed = index.remove(id: id)
            #expect(removed)
            vectors[id] = nil
        }
        let again = index.remove(id: 0)
        #expect(!again)
        #expect(index.count == vectors.count)
        for (id, vector) in vectors { #expect(index.vector(id: id) == vector) }
        let query = randomUnitVector(24, &rng)
        let hits = try index.search(query: query, k: 500)
        #expect(Set(hits.map(\.id)) == Set(vectors.keys))
        #expect(index.allIds == vectors.keys.sorted())
        // Removing everything, including the last slot, leaves an empty index.
        for id in vectors.keys { index.remove(id: id) }
        #expect(index.count == 0)
        #expect(try index.search(query: query, k: 5).isEmpty)
    }

    @Test("adding an existing id replaces its vector")
    func replace() throws {
        var index = try ExactIndex(dimension: 2)
        try index.add(id: 9, vector: [1, 0])
        try index.add(id: 9, vector: [0, 1])
        #expect(index.count == 1)
        #expect(try index.search(query: [0, 1], k: 1).first?.score == 1)
    }

    @Test("the filter excludes ids and ties break by id")
    func filterAndTies() throws {
        var index = try ExactIndex(dimension: 3)
        for id in UInt64(1)...20 { try index.add(id: id, vector: [0, 1, 0]) }
        let hits = try index.search(query: [0, 1, 0], k: 4) { $0 % 2 == 0 }
        #expect(hits.map(\.id) == [2, 4, 6, 8])
        #expect(try index.search(query: [0, 1, 0], k: 4) { _ in false }.isEmpty)
        let unfiltered = try index.search(query: [0, 1, 0], k: 3)
        #expect(unfiltered.map(\.id) == [1, 2, 3])
    }

    @Test("results do not depend on insertion order")
    func determinism() throws {
        var rng = SeededGenerator(seed: 99)
        let items = (UInt64(0)..<300).map { ($0, randomUnitVector(16, &rng)) }
        var forward = try ExactIndex(dimension: 16)
        var backward = try ExactIndex(dimension: 16)
        for (id, vector) in items { try forward.add(id: id, vector: vector) }
        for (id, vector) in items.reversed() { try backward.add(id: id, vector: vector) }
        for _ in 0..<5 {
            let query = randomUnitVector(16, &rng)
            let a = try forward.search(query: query, k: 25)
            let b = try backward.search(query: query, k: 25)
            #expect(a.map(\.id) == b.map(\.id))
            #expect(a.map(\.score) == b.map(\.score))
        }
        #expect(forward.serialized() == backward.serialized())
    }

    @Test("edge cases: k ≤ 0, empty index, zero query, bad queries, bad vectors")
    func edges() throws {
        var index = try ExactIndex(dimension: 4)
        #expect(try index.search(query: [1, 0, 0, 0], k: 3).isEmpty)
        try index.add(id: 1, vector: [1, 0, 0, 0])
        #expect(try index.search(query: [1, 0, 0, 0], k: 0).isEmpty)
        #expect(try index.search(query: [1, 0, 0, 0], k: -1).isEmpty)
        #expect(try index.search(query: [0, 0, 0, 0], k: 3).isEmpty)
        #expect(try index.search(query: [1, 0, 0, 0], k: 3).count == 1)
        do {
            _ = try index.search(query: [1, 0], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .dimensionMismatch) }
        let nanQuery = try? index.search(query: [.nan, 0, 0, 0], k: 1)
        #expect(nanQuery == nil)
        do {
            _ = try index.search(query: [.infinity, 0, 0, 0], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .nonFiniteValue) }
        do {
            try index.add(id: 2, vector: [1, .nan, 0, 0])
            Issue.record("expected a throw")
        } catch { #expect(error.code == .nonFiniteValue) }
        do {
            try index.add(id: 2, vector: [1])
            Issue.record("expected a throw")
        } catch { #expect(error.code == .dimensionMismatch) }
        #expect(index.count == 1)
        do {
            _ = try ExactIndex(dimension: 0)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .invalidDimension) }
        #expect(throws: VectorError.self) { try ExactIndex(dimension: ExactIndex.dimensionMax + 1) }
    }

    @Test("serialised bytes round-trip and are checked")
    func snapshotRoundTrip() throws {
        var rng = SeededGenerator(seed: 3)
        var index = try ExactIndex(dimension: 12)
        for id in UInt64(0)..<64 { try index.add(id: id * 11, vector: randomUnitVector(12, &rng)) }
        index.remove(id: 0)
        index.remove(id: 55)
        let bytes = index.serialized()
        let copy = try ExactIndex(serialized: bytes)
        #expect(copy.count == index.count)
        #expect(copy.dimension == 12)
        #expect(copy.serialized() == bytes)
        for id in index.allIds { #expect(copy.vector(id: id) == index.vector(id: id)) }
        let query = randomUnitVector(12, &rng)
        #expect(try copy.search(query: query, k: 10).map(\.id) == index.search(query: query, k: 10).map(\.id))

        let empty = try ExactIndex(dimension: 5)
        #expect(try ExactIndex(serialized: empty.serialized()).count == 0)

        func refused(_ bytes: [UInt8]) -> Bool {
            do {
                _ = try ExactIndex(serialized: bytes)
                return false
            } catch { return error.code == .malformedSnapshot }
        }
        #expect(refused([]))
        #expect(refused(Array(bytes.dropLast())))
        #expect(refused(bytes + [0]))
        var badMagic = bytes
        badMagic[0] ^= 1
        #expect(refused(badMagic))
        var hugeCount = bytes
        for offset in 16..<24 { hugeCount[offset] = 0xFF }
        #expect(refused(hugeCount))
        var unordered = bytes
        // Swap the first two ids: they are no longer ascending.
        let first = Array(unordered[24..<32])
        unordered.replaceSubrange(24..<32, with: unordered[32..<40])
        unordered.replaceSubrange(32..<40, with: first)
        #expect(refused(unordered))
        var nan = bytes
        let valuesStart = 24 + 8 * index.count
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) {
            nan.replaceSubrange(valuesStart..<valuesStart + 4, with: $0)
        }
        #expect(refused(nan))
    }
}
