import AnnalsChecksum
import AnnalsTesting
import AnnalsVector
import Testing

/// An arena holding `vectors` in slot order.
private func arena(_ vectors: [[Float]], backing: VectorArena.Backing = .memory) throws -> VectorArena {
    let arena = try VectorArena(dimension: vectors[0].count, backing: backing)
    for vector in vectors { try arena.append(vector) }
    return arena
}

/// The graph's answer for `query` (every slot accepted unless `accept` says otherwise).
private func search(
    _ graph: SlotGraph, _ query: [Float], k: Int, efSearch: Int? = nil, accept: (Int) -> Bool = { _ in true }
) -> (hits: [(slot: Int, score: Float)], indexed: Int) {
    query.withUnsafeBufferPointer { graph.search(query: $0.baseAddress!, k: k, efSearch: efSearch, accept: accept) }
}

@Suite("Slot graph")
struct SlotGraphTests {
    @Test("a graph extended while its arena grows finds the exact top 10 with recall of at least 0.95")
    func recallWhileGrowing() throws {
        let (vectors, queries) = clusteredData(count: 4_000, queries: 50, dimension: 48, clusters: 40, seed: 3)
        let store = try VectorArena(dimension: 48)
        var exact = try ExactIndex(dimension: 48)
        let graph = try SlotGraph(dimension: 48, configuration: .init(efConstruction: 64))
        // Appends and extensions interleave, as the projection and the builder do.
        for (slot, vector) in vectors.enumerated() {
            try store.append(vector)
            try exact.add(id: UInt64(slot), vector: vector)
            if slot % 97 == 0 { graph.extend(from: store.prefix(store.count), limit: 50) }
        }
        #expect(graph.count < vectors.count)
        while graph.extend(from: store.prefix(store.count), limit: 500) > 0 {}
        #expect(graph.count == vectors.count)
        var found = 0
        for query in queries {
            let truth = Set(try exact.search(query: query, k: 10).map { Int($0.id) })
            let answer = search(graph, query, k: 10)
            #expect(answer.indexed == vectors.count && answer.hits.count == 10)
            found += answer.hits.filter { truth.contains($0.slot) }.count
            // Scores are the exact kernel's, best first.
            for hit in answer.hits { #expect(exact.score(id: UInt64(hit.slot), query: query) == hit.score) }
            #expect(zip(answer.hits, answer.hits.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
        #expect(Double(found) / Double(10 * queries.count) >= 0.95)
    }

    @Test("the graph over the same vectors is the same, however many extensions built it and from which copy")
    func deterministic() throws {
        let vectors = clusteredVectors(count: 1_500, dimension: 32, clusters: 20, seed: 8)
        let original = try arena(vectors)
        let once = try SlotGraph(dimension: 32, configuration: .init(efConstruction: 40))
        #expect(once.extend(from: original.prefix(original.count), limit: .max) == 1_500)
        let pieces = try SlotGraph(dimension: 32, configuration: .init(efConstruction: 40))
        let partial = try arena(Array(vectors.prefix(700)))
        pieces.extend(from: partial.prefix(700), limit: 300)
        pieces.extend(from: partial.prefix(700), limit: .max)
        // The rest from another arena holding the same vectors (a copy, as a projection makes).
        let copy = try original.copy(slots: 1_500, backing: .memory)
        for _ in 0..<20 { pieces.extend(from: copy.prefix(1_500), limit: 41) }
        pieces.extend(from: copy.prefix(1_500), limit: .max)
        #expect(pieces.count == 1_500)
        #expect(once.graphDigest() == pieces.graphDigest())
        let other = try SlotGraph(dimension: 32, configuration: .init(efConstruction: 40))
        other.extend(from: try arena(Array(vectors.reversed())).prefix(1_500), limit: .max)
        #expect(other.graphDigest() != once.graphDigest())
    }

    @Test("slots that accept refuses are never returned, and k come back when k pass")
    func acceptance() throws {
        let (vectors, queries) = clusteredData(count: 3_000, queries: 20, dimension: 24, clusters: 30, seed: 5)
        let store = try arena(vectors)
        let graph = try SlotGraph(dimension: 24, configuration: .init(efConstruction: 48))
        graph.extend(from: store.prefix(store.count), limit: .max)
        // Half the slots (dead ones, say), then a very selective filter: 12 slots in 3,000.
        let chosen = Set((0..<12).map { $0 * 250 + 7 })
        for query in queries {
            let even = search(graph, query, k: 10) { $0 % 2 == 0 }
            #expect(even.hits.count == 10 && even.hits.allSatisfy { $0.slot % 2 == 0 })
            let few = search(graph, query, k: 10) { chosen.contains($0) }
            #expect(few.hits.count == 10 && few.hits.allSatisfy { chosen.contains($0.slot) })
            let none = search(graph, query, k: 10) { _ in false }
            #expect(none.hits.isEmpty && none.indexed == 3_000)
        }
    }

    @Test("vectors past an arena's first segment are read in place: a wide search equals the exact one")
    func acrossSegments() throws {
        // 4,096 values: 4,096 slots fill a 64 MiB segment, so 4,200 vectors span two.
        var rng = SeededGenerator(seed: 12)
        let vectors = clusteredVectors(count: 4_200, dimension: 4_096, clusters: 30, seed: 12)
        let directory = TemporaryDirectory()
        let store = try arena(vectors, backing: .file(directory: directory.path))
        #expect(store.slotsPerSegment == 4_096)
        let graph = try SlotGraph(dimension: 4_096, configuration: .init(m: 8, efConstruction: 32))
        graph.extend(from: store.prefix(store.count), limit: .max)
        var exact = try ExactIndex(dimension: 4_096)
        for (slot, vector) in vectors.enumerated() { try exact.add(id: UInt64(slot), vector: vector) }
        for query in [vectors[4_150], vectors[10], randomUnitVector(4_096, &rng)] {
            // ef past the node count: the graph's slots are scored one by one, through its segment table.
            let wide = search(graph, query, k: 5, efSearch: 5_000)
            let truth = try exact.search(query: query, k: 5)
            #expect(wide.hits.map(\.slot) == truth.map { Int($0.id) })
            #expect(wide.hits.map(\.score) == truth.map(\.score))
        }
        // The graph itself walks into the second segment: stored vectors there find themselves.
        for slot in [4_100, 4_150, 4_199] {
            #expect(search(graph, vectors[slot], k: 1, efSearch: 200).hits.first?.slot == slot)
        }
    }

    @Test("a serialised graph restores over the same vectors: same digest, same answers; damage is refused")
    func serialization() throws {
        let (vectors, queries) = clusteredData(count: 2_000, queries: 10, dimension: 16, clusters: 20, seed: 6)
        let store = try arena(vectors)
        let graph = try SlotGraph(dimension: 16, configuration: .init(efConstruction: 40))
        graph.extend(from: store.prefix(1_800), limit: .max)
        #expect(graph.serialized(slotsMax: 1_799) == nil)
        let (bytes, slots) = try #require(graph.serialized(slotsMax: 1_800))
        #expect(slots == 1_800)
        let restored = try SlotGraph(dimension: 16, configuration: .init(efConstruction: 40))
        #expect(try bytes.withUnsafeBytes { try restored.restore(serialized: $0, from: store.prefix(2_000)) } == 1_800)
        #expect(restored.graphDigest() == graph.graphDigest())
        for query in queries {
            #expect(search(restored, query, k: 10).hits.map(\.slot) == search(graph, query, k: 10).hits.map(\.slot))
        }
        // It goes on from there like the original.
        graph.extend(from: store.prefix(2_000), limit: .max)
        restored.extend(from: store.prefix(2_000), limit: .max)
        #expect(restored.graphDigest() == graph.graphDigest())

        func refused(
            _ damaged: [UInt8], prefix: Int = 2_000, configuration: HNSWIndex.Configuration = .init(efConstruction: 40)
        ) throws -> Bool {
            let target = try SlotGraph(dimension: 16, configuration: configuration)
            do {
                try damaged.withUnsafeBytes { _ = try target.restore(serialized: $0, from: store.prefix(prefix)) }
                return false
            } catch let error as VectorError {
                return error.code == .malformedSnapshot && target.count == 0
            }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(try refused(flipped))
        #expect(try refused(Array(bytes.dropLast(9))))
        #expect(try refused(bytes, prefix: 1_000))
        #expect(try refused(bytes, configuration: .init(efConstruction: 41)))
        // A link past the last node, with the checksum made valid again: the structural checks refuse it.
        var forged = bytes
        let linkOffset = 48 + 1_800 + 4
        forged.replaceSubrange(linkOffset..<(linkOffset + 4), with: [0xFF, 0xFF, 0, 0])
        let body = forged.count - 8
        let checksum = forged.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[..<body])) }
        withUnsafeBytes(of: checksum.littleEndian) { forged.replaceSubrange(body..<forged.count, with: $0) }
        #expect(try refused(forged))
    }

    @Test("an empty graph answers nothing and says it holds no slot; int8 is refused")
    func edges() throws {
        let graph = try SlotGraph(dimension: 8, configuration: .init())
        let answer = search(graph, [1, 0, 0, 0, 0, 0, 0, 0], k: 3)
        #expect(answer.hits.isEmpty && answer.indexed == 0)
        #expect(graph.extend(from: try VectorArena(dimension: 8).prefix(0), limit: 10) == 0)
        #expect(throws: VectorError.self) { try SlotGraph(dimension: 8, configuration: .init(quantization: .int8)) }
        #expect(throws: VectorError.self) { try SlotGraph(dimension: 0, configuration: .init()) }
    }
}
