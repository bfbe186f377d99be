import AnnalsTesting
import AnnalsVector
import Testing

@Suite("Adaptive index")
struct AdaptiveIndexTests {
    let configuration = HNSWIndex.Configuration(m: 8, efConstruction: 48)

    @Test("exact below the threshold, a graph from the threshold on, and it stays")
    func switching() throws {
        let vectors = clusteredVectors(count: 400, dimension: 16, clusters: 4, seed: 201)
        let queries = clusteredVectors(count: 10, dimension: 16, clusters: 4, seed: 202)
        var index = try AdaptiveIndex(dimension: 16, exactThreshold: 300, configuration: configuration)
        var exact = try ExactIndex(dimension: 16)
        for id in 0..<299 {
            try index.add(id: UInt64(id), vector: vectors[id])
            try exact.add(id: UInt64(id), vector: vectors[id])
        }
        #expect(!index.isApproximate)
        for query in queries {
            for mode in AdaptiveIndex.SearchMode.allCases {
                // Below the threshold every mode is the exact scan.
                let answer = try index.search(query: query, k: 10, mode: mode)
                #expect(answer.map(\.id) == (try exact.search(query: query, k: 10).map(\.id)))
            }
        }
        try index.add(id: 299, vector: vectors[299])
        try exact.add(id: 299, vector: vectors[299])
        #expect(index.isApproximate)
        #expect(index.count == 300)
        for id in 300..<400 {
            try index.add(id: UInt64(id), vector: vectors[id])
            try exact.add(id: UInt64(id), vector: vectors[id])
        }
        for query in queries {
            let answer = try index.search(query: query, k: 10, mode: .exact)
            let reference = try exact.search(query: query, k: 10)
            #expect(answer.map(\.id) == reference.map(\.id))
            #expect(answer.map(\.score) == reference.map(\.score))
            let approximate = try index.search(query: query, k: 10, mode: .approximate, efSearch: 100)
            #expect(Set(approximate.map(\.id)).intersection(reference.map(\.id)).count >= 8)
        }
        // Removals below the threshold keep the graph (no rebuild back and forth around the threshold).
        for id in UInt64(0)..<200 {
            let wasPresent = index.remove(id: id)
            #expect(wasPresent)
            exact.remove(id: id)
        }
        #expect(index.isApproximate)
        #expect(index.count == 200)
        #expect(!index.contains(id: 5))
        #expect(index.contains(id: 205))
        let answer = try index.search(query: queries[0], k: 10, mode: .exact)
        #expect(answer.map(\.id) == (try exact.search(query: queries[0], k: 10).map(\.id)))
    }

    @Test("the graph is built in id order, so equal contents give equal graphs")
    func deterministicSwitch() throws {
        let vectors = clusteredVectors(count: 120, dimension: 8, clusters: 3, seed: 211)
        var forward = try AdaptiveIndex(dimension: 8, exactThreshold: 120, configuration: configuration)
        var backward = try AdaptiveIndex(dimension: 8, exactThreshold: 120, configuration: configuration)
        for id in 0..<120 { try forward.add(id: UInt64(id), vector: vectors[id]) }
        for id in (0..<120).reversed() { try backward.add(id: UInt64(id), vector: vectors[id]) }
        #expect(forward.isApproximate && backward.isApproximate)
        for query in clusteredVectors(count: 10, dimension: 8, clusters: 3, seed: 212) {
            let a = try forward.search(query: query, k: 10)
            let b = try backward.search(query: query, k: 10)
            #expect(a.map(\.id) == b.map(\.id))
        }
    }

    @Test("snapshots round-trip in both states")
    func snapshots() throws {
        let vectors = clusteredVectors(count: 150, dimension: 8, clusters: 3, seed: 221)
        let query = vectors[0]
        var index = try AdaptiveIndex(dimension: 8, exactThreshold: 100, configuration: configuration)
        for id in 0..<60 { try index.add(id: UInt64(id), vector: vectors[id]) }
        let flat = try AdaptiveIndex(serialized: index.serialized(), exactThreshold: 100, configuration: configuration)
        #expect(!flat.isApproximate)
        #expect(flat.count == 60)
        #expect(try flat.search(query: query, k: 5).map(\.id) == index.search(query: query, k: 5).map(\.id))
        // Read with a lower threshold, the flat snapshot becomes a graph at once.
        let lowered = try AdaptiveIndex(
            serialized: index.serialized(), exactThreshold: 50, configuration: configuration)
        #expect(lowered.isApproximate)
        for id in 60..<150 { try index.add(id: UInt64(id), vector: vectors[id]) }
        let graph = try AdaptiveIndex(serialized: index.serialized(), exactThreshold: 100, configuration: configuration)
        #expect(graph.isApproximate)
        #expect(graph.count == 150)
        #expect(graph.serialized() == index.serialized())
        #expect(try graph.search(query: query, k: 5).map(\.id) == index.search(query: query, k: 5).map(\.id))
        do {
            _ = try AdaptiveIndex(serialized: [1, 2, 3])
            Issue.record("expected a throw")
        } catch { #expect(error.code == .malformedSnapshot) }
    }

    @Test("threshold 0 starts with a graph; bad arguments are refused")
    func edges() throws {
        var index = try AdaptiveIndex(dimension: 3, exactThreshold: 0, configuration: configuration)
        #expect(index.isApproximate)
        #expect(try index.search(query: [1, 0, 0], k: 1).isEmpty)
        try index.add(id: 4, vector: [1, 0, 0])
        #expect(try index.search(query: [1, 0, 0], k: 1).map(\.id) == [4])
        #expect(index.vector(id: 4) == [1, 0, 0])
        #expect(index.memoryBytes > 0)
        do {
            _ = try AdaptiveIndex(dimension: 3, exactThreshold: -1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .invalidConfiguration) }
        do {
            _ = try AdaptiveIndex(dimension: 0)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .invalidDimension) }
        var small = try AdaptiveIndex(dimension: 3)
        try small.add(id: 1, vector: [0, 1, 0])
        #expect(!small.isApproximate)
        #expect(small.memoryBytes >= 3 * 4)
        do {
            _ = try small.search(query: [.nan, 0, 0], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .nonFiniteValue) }
    }
}
