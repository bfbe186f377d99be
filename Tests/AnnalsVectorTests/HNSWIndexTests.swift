import AnnalsChecksum
import AnnalsTesting
import AnnalsVector
import Testing

/// `count` unit vectors around `clusters` random centres (each a centre plus uniform noise, normalised), the shape
/// of real embeddings, which are far from uniformly spread.
func clusteredVectors(
    count: Int, dimension: Int, clusters: Int, noise: Float = 0.08, seed: UInt64
) -> [[Float]] {
    var rng = SeededGenerator(seed: seed)
    let centres = (0..<clusters).map { _ in randomUnitVector(dimension, &rng) }
    return (0..<count).map { _ in
        let centre = centres[Int.random(in: 0..<clusters, using: &rng)]
        let raw = centre.map { $0 + Float.random(in: -noise...noise, using: &rng) }
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return raw.map { $0 / norm }
    }
}

/// `count` clustered vectors for an index and `queries` more from the same clusters, as real queries are.
func clusteredData(
    count: Int, queries: Int, dimension: Int, clusters: Int, seed: UInt64
) -> (vectors: [[Float]], queries: [[Float]]) {
    let all = clusteredVectors(count: count + queries, dimension: dimension, clusters: clusters, seed: seed)
    return (Array(all.prefix(count)), Array(all.suffix(queries)))
}

/// The mean share of the exact top 10 that the index returns, over `queries`.
func recallAt10(_ index: HNSWIndex, _ exact: ExactIndex, _ queries: [[Float]], efSearch: Int? = nil) throws -> Double {
    var found = 0
    for query in queries {
        let truth = Set(try exact.search(query: query, k: 10).map(\.id))
        let answer = try index.search(query: query, k: 10, efSearch: efSearch)
        found += answer.filter { truth.contains($0.id) }.count
    }
    return Double(found) / Double(10 * queries.count)
}

/// Builds an HNSW index and an exact one over the same vectors (ids `0..<count`).
func twinIndexes(
    _ vectors: [[Float]], configuration: HNSWIndex.Configuration = .init()
) throws -> (HNSWIndex, ExactIndex) {
    let dimension = vectors[0].count
    var hnsw = try HNSWIndex(dimension: dimension, configuration: configuration)
    var exact = try ExactIndex(dimension: dimension)
    for (id, vector) in vectors.enumerated() {
        try hnsw.add(id: UInt64(id), vector: vector)
        try exact.add(id: UInt64(id), vector: vector)
    }
    return (hnsw, exact)
}

/// A snapshot with `patch` written at `offset` and its checksum recomputed, so that only the structural checks stand
/// between it and a search.
func resealed(_ bytes: [UInt8], at offset: Int, with patch: [UInt8]) -> [UInt8] {
    var copy = bytes
    copy.replaceSubrange(offset..<offset + patch.count, with: patch)
    let body = copy.count - 8
    let checksum = copy.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[..<body])) }
    withUnsafeBytes(of: checksum.littleEndian) { copy.replaceSubrange(body..<copy.count, with: $0) }
    return copy
}

@Suite("HNSW index")
struct HNSWIndexTests {
    @Test("recall@10 is at least 0.95 against the exact index on 5,000 clustered vectors")
    func recall() throws {
        let (vectors, queries) = clusteredData(count: 5_000, queries: 100, dimension: 64, clusters: 50, seed: 11)
        let (hnsw, exact) = try twinIndexes(vectors, configuration: .init(efConstruction: 64))
        #expect(hnsw.count == 5_000)
        #expect(try recallAt10(hnsw, exact, queries) >= 0.95)
        // Even a narrow beam finds nearly everything on queries from the data's clusters.
        #expect(try recallAt10(hnsw, exact, queries, efSearch: 16) >= 0.95)
        // The scores are the exact index's scores (same kernel), in the same order.
        for query in queries.prefix(10) {
            let answer = try hnsw.search(query: query, k: 10)
            #expect(answer.count == 10)
            for hit in answer { #expect(exact.score(id: hit.id, query: query) == hit.score) }
            for pair in zip(answer, answer.dropFirst()) {
                #expect(pair.0.score > pair.1.score || (pair.0.score == pair.1.score && pair.0.id < pair.1.id))
            }
        }
        // Queries from elsewhere (other clusters) are the hard case: far from every vector, so many are about as
        // close. A wide beam still finds nearly all.
        let strangers = clusteredVectors(count: 100, dimension: 64, clusters: 50, seed: 12)
        #expect(try recallAt10(hnsw, exact, strangers, efSearch: 200) >= 0.97)
    }

    @Test("int8 quantisation keeps recall@10 at least 0.9")
    func int8Recall() throws {
        let (vectors, queries) = clusteredData(count: 3_000, queries: 100, dimension: 64, clusters: 30, seed: 21)
        let (hnsw, exact) = try twinIndexes(vectors, configuration: .init(efConstruction: 64, quantization: .int8))
        #expect(try recallAt10(hnsw, exact, queries) >= 0.9)
        #expect(try recallAt10(hnsw, exact, queries, efSearch: 16) >= 0.9)
        // Re-ranked with Float32: the scores are exact.
        let answer = try hnsw.search(query: queries[0], k: 5)
        for hit in answer { #expect(exact.score(id: hit.id, query: queries[0]) == hit.score) }
        // The int8 codes are extra memory, not a saving.
        let (plain, _) = try twinIndexes(vectors, configuration: .init(efConstruction: 64))
        #expect(hnsw.memoryBytes > plain.memoryBytes)
        // A snapshot keeps the codes: same answers after a round trip.
        let copy = try HNSWIndex(serialized: hnsw.serialized())
        #expect(copy.configuration.quantization == .int8)
        for query in queries.prefix(20) {
            #expect(try copy.search(query: query, k: 10).map(\.id) == hnsw.search(query: query, k: 10).map(\.id))
        }
    }

    @Test("a removed id is never returned, before and after a rebuild")
    func removals() throws {
        let (vectors, queries) = clusteredData(count: 800, queries: 40, dimension: 16, clusters: 8, seed: 31)
        var (hnsw, exact) = try twinIndexes(vectors, configuration: .init(m: 8, efConstruction: 64))
        var removed = Set<UInt64>()
        // 150 removals stay under the 20% rebuild line (160 of 800): tombstones only.
        for id in stride(from: UInt64(0), to: 750, by: 5) {
            let wasPresent = hnsw.remove(id: id)
            #expect(wasPresent)
            exact.remove(id: id)
            removed.insert(id)
        }
        #expect(hnsw.deletedCount == 150)
        #expect(hnsw.count == 650)
        let again = hnsw.remove(id: 0)
        #expect(!again)
        #expect(!hnsw.contains(id: 5))
        for query in queries {
            let answer = try hnsw.search(query: query, k: 50)
            #expect(answer.count == 50)
            #expect(answer.allSatisfy { !removed.contains($0.id) })
        }
        #expect(try recallAt10(hnsw, exact, queries) >= 0.9)
        // Eleven more cross the line: the graph is rebuilt from the live nodes.
        for id in stride(from: UInt64(1), to: 56, by: 5) {
            hnsw.remove(id: id)
            exact.remove(id: id)
            removed.insert(id)
        }
        #expect(hnsw.deletedCount == 0)
        #expect(hnsw.count == 800 - removed.count)
        for query in queries {
            let answer = try hnsw.search(query: query, k: 50)
            #expect(answer.allSatisfy { !removed.contains($0.id) })
        }
        #expect(try recallAt10(hnsw, exact, queries) >= 0.9)
        // Removing everything leaves an empty index that answers nothing.
        for id in hnsw.allIds { hnsw.remove(id: id) }
        #expect(hnsw.count == 0)
        #expect(try hnsw.search(query: queries[0], k: 5).isEmpty)
        try hnsw.add(id: 7, vector: vectors[7])
        #expect(try hnsw.search(query: vectors[7], k: 5).map(\.id) == [7])
    }

    @Test("adding an existing id replaces its vector")
    func replace() throws {
        var index = try HNSWIndex(dimension: 2)
        try index.add(id: 9, vector: [1, 0])
        try index.add(id: 9, vector: [0, 1])
        #expect(index.count == 1)
        #expect(index.vector(id: 9) == [0, 1])
        let hits = try index.search(query: [0, 1], k: 5)
        #expect(hits.map(\.id) == [9])
        #expect(hits.first?.score == 1)
    }

    @Test("filters never return a failing id and still return k when k pass")
    func filters() throws {
        let (vectors, queries) = clusteredData(count: 2_000, queries: 20, dimension: 16, clusters: 10, seed: 41)
        let (hnsw, exact) = try twinIndexes(vectors, configuration: .init(m: 8, efConstruction: 64))
        for modulus in [UInt64(2), 7, 50, 400] {
            let passes: (UInt64) -> Bool = { $0 % modulus == 1 }
            for query in queries {
                let answer = try hnsw.search(query: query, k: 5, filter: passes)
                #expect(answer.count == 5)
                #expect(answer.allSatisfy { passes($0.id) })
                // Very selective filters fall back to the exact scan: the same answer as the exact index.
                if modulus >= 400 {
                    #expect(answer.map(\.id) == (try exact.search(query: query, k: 5, filter: passes).map(\.id)))
                }
            }
        }
        // Fewer pass than k: all of them.
        let few: (UInt64) -> Bool = { $0 == 17 || $0 == 1_017 }
        #expect(Set(try hnsw.search(query: queries[0], k: 10, filter: few).map(\.id)) == [17, 1_017])
        #expect(try hnsw.search(query: queries[0], k: 10) { _ in false }.isEmpty)
        // Removed nodes pass no filter.
        var copy = hnsw
        copy.remove(id: 3)
        #expect(try copy.search(query: vectors[3], k: 3) { $0 == 3 }.isEmpty)
    }

    @Test("exact search over the graph's storage equals the exact index")
    func exactSearch() throws {
        let vectors = clusteredVectors(count: 500, dimension: 24, clusters: 5, seed: 51)
        var (hnsw, exact) = try twinIndexes(vectors, configuration: .init(m: 6, efConstruction: 32))
        hnsw.remove(id: 10)
        exact.remove(id: 10)
        for query in clusteredVectors(count: 10, dimension: 24, clusters: 5, seed: 52) {
            let a = try hnsw.exactSearch(query: query, k: 20)
            let b = try exact.search(query: query, k: 20)
            #expect(a.map(\.id) == b.map(\.id))
            #expect(a.map(\.score) == b.map(\.score))
        }
    }

    @Test("the same additions in the same order give the same graph")
    func determinism() throws {
        let vectors = clusteredVectors(count: 600, dimension: 16, clusters: 6, seed: 61)
        func build(_ order: [Int]) throws -> HNSWIndex {
            var index = try HNSWIndex(dimension: 16, configuration: .init(m: 8, efConstruction: 48))
            for i in order { try index.add(id: UInt64(i) * 3, vector: vectors[i]) }
            for i in stride(from: 0, to: 600, by: 9) { index.remove(id: UInt64(i) * 3) }
            return index
        }
        let forward = Array(0..<600)
        let a = try build(forward)
        let b = try build(forward)
        #expect(a.graphDigest() == b.graphDigest())
        #expect(a.serialized() == b.serialized())
        // Another order builds another graph (the digest sees the difference); the answers stay good.
        let reversed = try build(forward.reversed())
        #expect(reversed.graphDigest() != a.graphDigest())
        #expect(reversed.count == a.count)
    }

    @Test("copies are independent (copy-on-write)")
    func copyOnWrite() throws {
        let vectors = clusteredVectors(count: 300, dimension: 8, clusters: 3, seed: 71)
        let (original, _) = try twinIndexes(vectors, configuration: .init(m: 4, efConstruction: 16))
        let digest = original.graphDigest()
        var copy = original
        try copy.add(id: 10_000, vector: vectors[0])
        copy.remove(id: 1)
        #expect(original.graphDigest() == digest)
        #expect(original.count == 300)
        #expect(!original.contains(id: 10_000))
        #expect(copy.count == 300)
    }

    @Test("concurrent searches give the same answers as sequential ones")
    func concurrentSearches() async throws {
        let (vectors, queries) = clusteredData(count: 1_000, queries: 32, dimension: 16, clusters: 10, seed: 81)
        let (index, _) = try twinIndexes(vectors, configuration: .init(m: 8, efConstruction: 48))
        let expected = try queries.map { try index.search(query: $0, k: 10).map(\.id) }
        let answers = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for (i, query) in queries.enumerated() {
                group.addTask { (i, try index.search(query: query, k: 10).map(\.id)) }
            }
            var answers = [[UInt64]](repeating: [], count: queries.count)
            for try await (i, ids) in group { answers[i] = ids }
            return answers
        }
        #expect(answers == expected)
    }

    @Test("snapshots round-trip: same answers, same digest, same bytes")
    func snapshotRoundTrip() throws {
        let vectors = clusteredVectors(count: 700, dimension: 12, clusters: 7, seed: 91)
        var (index, _) = try twinIndexes(vectors, configuration: .init(m: 6, efConstruction: 40, efSearch: 20))
        index.remove(id: 3)
        index.remove(id: 500)
        let bytes = index.serialized()
        let copy = try HNSWIndex(serialized: bytes)
        #expect(copy.graphDigest() == index.graphDigest())
        #expect(copy.serialized() == bytes)
        #expect(copy.configuration == index.configuration)
        #expect(copy.count == index.count)
        #expect(copy.deletedCount == 2)
        #expect(!copy.contains(id: 3))
        for query in clusteredVectors(count: 20, dimension: 12, clusters: 7, seed: 92) {
            let a = try copy.search(query: query, k: 10)
            let b = try index.search(query: query, k: 10)
            #expect(a.map(\.id) == b.map(\.id))
            #expect(a.map(\.score) == b.map(\.score))
        }
        // The copy keeps working as an index.
        var grown = copy
        try grown.add(id: 9_999, vector: vectors[0])
        #expect(grown.contains(id: 9_999))
        let empty = try HNSWIndex(dimension: 5)
        let emptyCopy = try HNSWIndex(serialized: empty.serialized())
        #expect(emptyCopy.count == 0)
        #expect(emptyCopy.graphDigest() == empty.graphDigest())
    }

    @Test("truncated, damaged and inconsistent snapshots are refused")
    func snapshotRefusals() throws {
        let vectors = clusteredVectors(count: 200, dimension: 8, clusters: 4, seed: 101)
        let (index, _) = try twinIndexes(vectors, configuration: .init(m: 4, efConstruction: 16))
        let bytes = index.serialized()
        func refused(_ bytes: [UInt8]) -> Bool {
            do {
                _ = try HNSWIndex(serialized: bytes)
                return false
            } catch { return error.code == .malformedSnapshot }
        }
        #expect(refused([]))
        #expect(refused(Array(bytes.prefix(40))))
        #expect(refused(Array(bytes.dropLast())))
        #expect(refused(bytes + [0]))
        var magic = bytes
        magic[1] ^= 0xFF
        #expect(refused(magic))
        // A flipped bit anywhere in the body is caught by the checksum.
        for offset in [8, 64, 64 + 4 * 8 * 100, bytes.count / 2, bytes.count - 9] {
            var damaged = bytes
            damaged[offset] ^= 0x10
            #expect(refused(damaged))
        }
        // With a valid checksum, the structural checks still refuse an impossible graph.
        let vectorsEnd = 64 + 4 * 8 * 200
        let levelsStart = vectorsEnd + 8 * 200
        let links0Start = levelsStart + 200
        // A level-0 link to a node that does not exist.
        #expect(refused(resealed(bytes, at: links0Start + 4, with: [0xFF, 0, 0, 0])))
        // More links than the list holds.
        #expect(refused(resealed(bytes, at: links0Start, with: [99])))
        // A NaN in a vector.
        #expect(refused(resealed(bytes, at: 64, with: [0, 0, 0xC0, 0x7F])))
        // Two live nodes with one id (node 0 takes node 1's).
        #expect(refused(resealed(bytes, at: vectorsEnd, with: [1])))
        // An entry point out of range.
        #expect(refused(resealed(bytes, at: 36, with: [0x00, 0x10])))
        // A configuration out of range (m = 1).
        #expect(refused(resealed(bytes, at: 12, with: [1])))
        // A node count that does not match the length.
        #expect(refused(resealed(bytes, at: 40, with: [201])))
        // A tombstone the header does not count (the four tombstone words end just before the checksum).
        #expect(refused(resealed(bytes, at: bytes.count - 8 - 4 * 8, with: [1])))
        // Resealing the unchanged bytes gives a snapshot that loads, so the checks above refused the patches.
        #expect(!refused(resealed(bytes, at: 0, with: [])))
    }

    @Test("edge cases: empty index, k > count, k ≤ 0, zero and non-finite queries, bad configurations")
    func edges() throws {
        var index = try HNSWIndex(dimension: 4)
        #expect(try index.search(query: [1, 0, 0, 0], k: 3).isEmpty)
        for id in UInt64(1)...5 { try index.add(id: id, vector: [Float(id), 1, 0, 0]) }
        #expect(try index.search(query: [1, 0, 0, 0], k: 100).count == 5)
        #expect(try index.search(query: [1, 0, 0, 0], k: 100, efSearch: 1).count == 5)
        #expect(try index.search(query: [1, 0, 0, 0], k: 0).isEmpty)
        #expect(try index.search(query: [1, 0, 0, 0], k: -1).isEmpty)
        #expect(try index.search(query: [0, 0, 0, 0], k: 3).isEmpty)
        for bad: Float in [.nan, .infinity, -.infinity] {
            do {
                _ = try index.search(query: [bad, 0, 0, 0], k: 1)
                Issue.record("expected a throw")
            } catch { #expect(error.code == .nonFiniteValue) }
            do {
                try index.add(id: 99, vector: [0, bad, 0, 0])
                Issue.record("expected a throw")
            } catch { #expect(error.code == .nonFiniteValue) }
        }
        do {
            _ = try index.search(query: [1, 0], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .dimensionMismatch) }
        do {
            try index.add(id: 99, vector: [1, 0, 0, 0, 0])
            Issue.record("expected a throw")
        } catch { #expect(error.code == .dimensionMismatch) }
        #expect(index.count == 5)
        // A zero vector is stored (an embedder gives one for text without features) and scores 0.
        try index.add(id: 6, vector: [0, 0, 0, 0])
        #expect(index.contains(id: 6))
        do {
            _ = try HNSWIndex(dimension: 0)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .invalidDimension) }
        for configuration in [
            HNSWIndex.Configuration(m: 1), .init(m: HNSWIndex.mMax + 1), .init(efConstruction: 0),
            .init(efSearch: 0), .init(rebuildDeletedFraction: 1.5), .init(rebuildDeletedFraction: .nan),
        ] {
            do {
                _ = try HNSWIndex(dimension: 4, configuration: configuration)
                Issue.record("expected a throw for \(configuration)")
            } catch { #expect(error.code == .invalidConfiguration) }
        }
    }

    @Test("memory is reported and grows with the contents")
    func memory() throws {
        var index = try HNSWIndex(dimension: 32)
        let empty = index.memoryBytes
        var rng = SeededGenerator(seed: 5)
        for id in UInt64(0)..<500 { try index.add(id: id, vector: randomUnitVector(32, &rng)) }
        // At least the vectors (500 × 32 × 4 bytes) and the level-0 links (500 × 33 × 4 bytes).
        #expect(index.memoryBytes >= 500 * (32 * 4 + 33 * 4))
        #expect(index.memoryBytes > empty)
    }
}
