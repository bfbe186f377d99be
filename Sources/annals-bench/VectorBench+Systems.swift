import AnnalsBenchSupport
import AnnalsVector

/// One built index under test, seen the same way whatever its kind, so the harness measures every system alike.
///
/// Implementation requirements: `search` returns the ids of the `k` best vectors for one query, best first, and is
/// safe to call from several threads at once (indexes are values; searching reads them only).
protocol BenchIndex: Sendable {
    /// The index's own estimate of the memory it holds, in bytes.
    var memoryBytes: Int { get }

    /// The ids of the `k` best vectors for `query`; `efSearch` is nil for indexes without the parameter.
    func search(_ query: [Float], k: Int, efSearch: Int?) throws -> [UInt64]

    /// Whether `search(batch:k:)` is a real batched search, worth measuring beside single queries.
    var hasBatchSearch: Bool { get }

    /// The ids of the `k` best vectors for each query, in one call.
    func search(batch queries: [[Float]], k: Int) throws -> [[UInt64]]
}

extension BenchIndex {
    var hasBatchSearch: Bool { false }

    func search(batch queries: [[Float]], k: Int) throws -> [[UInt64]] {
        try queries.map { try search($0, k: k, efSearch: nil) }
    }
}

/// A system the benchmark measures: its name, the `efSearch` values to sweep (`[nil]` for an index without the
/// parameter) and how to build it from the base vectors, whose ids are their positions.
struct BenchSystem {
    var name: String
    var efSearches: [Int?]
    var build: (VectorSet) throws -> any BenchIndex
}

/// The exact index: one flat scan per query, and a batched scan.
struct ExactBenchIndex: BenchIndex {
    let index: ExactIndex

    init(base: VectorSet) throws {
        var index = try ExactIndex(dimension: base.dimension)
        index.reserveCapacity(base.count)
        for position in 0..<base.count { try index.add(id: UInt64(position), vector: base[position]) }
        self.index = index
    }

    var memoryBytes: Int { index.memoryBytes }

    func search(_ query: [Float], k: Int, efSearch: Int?) throws -> [UInt64] {
        try index.search(query: query, k: k).map(\.id)
    }

    var hasBatchSearch: Bool { true }

    func search(batch queries: [[Float]], k: Int) throws -> [[UInt64]] {
        try index.search(queries: queries, k: k).map { $0.map(\.id) }
    }
}

/// The HNSW index, Float32 or int8 search, swept over `efSearch`.
struct HNSWBenchIndex: BenchIndex {
    let index: HNSWIndex

    init(base: VectorSet, configuration: HNSWIndex.Configuration) throws {
        var index = try HNSWIndex(dimension: base.dimension, configuration: configuration)
        for position in 0..<base.count { try index.add(id: UInt64(position), vector: base[position]) }
        self.index = index
    }

    var memoryBytes: Int { index.memoryBytes }

    func search(_ query: [Float], k: Int, efSearch: Int?) throws -> [UInt64] {
        try index.search(query: query, k: k, efSearch: efSearch, filter: nil).map(\.id)
    }
}

/// The graph the service uses: a `SlotGraph` over a `VectorArena` holding the vectors in slot order (slot = id),
/// built by one thread in slot order as the service's graph builder does, reading the vectors in place.
struct SlotGraphBenchIndex: BenchIndex {
    let arena: VectorArena
    let graph: SlotGraph

    init(base: VectorSet, configuration: HNSWIndex.Configuration) throws {
        arena = try VectorArena(dimension: base.dimension)
        for position in 0..<base.count { try arena.append(base[position]) }
        graph = try SlotGraph(dimension: base.dimension, configuration: configuration)
        graph.extend(from: arena.prefix(arena.count), limit: .max)
    }

    /// The graph's links and levels plus the arena's vectors.
    var memoryBytes: Int { graph.memoryBytes + arena.storedBytes }

    func search(_ query: [Float], k: Int, efSearch: Int?) throws -> [UInt64] {
        query.withUnsafeBufferPointer { query in
            graph.search(query: query.baseAddress!, k: k, efSearch: efSearch) { _ in true }.hits.map {
                UInt64($0.slot)
            }
        }
    }
}

// MARK: - The systems measured
//
// To add an index: write an adapter conforming to `BenchIndex` (as `ExactBenchIndex` above), add its name to
// `systemNames` and a line to `benchSystems()`.

extension VectorBench {
    /// The names `--systems` accepts, in the order they are measured.
    static let systemNames = ["annals-exact", "annals-hnsw", "annals-hnsw-int8", "annals-slot-graph"]

    /// Every system the benchmark can measure, in the order of `systemNames`.
    func benchSystems() -> [BenchSystem] {
        func graph(_ quantization: HNSWIndex.Quantization) -> HNSWIndex.Configuration {
            HNSWIndex.Configuration(
                m: m, efConstruction: efConstruction, efSearch: efSearch.values[0], quantization: quantization)
        }
        return [
            BenchSystem(name: "annals-exact", efSearches: [nil]) { try ExactBenchIndex(base: $0) },
            BenchSystem(name: "annals-hnsw", efSearches: efSearch.values) {
                try HNSWBenchIndex(base: $0, configuration: graph(.none))
            },
            BenchSystem(name: "annals-hnsw-int8", efSearches: efSearch.values) {
                try HNSWBenchIndex(base: $0, configuration: graph(.int8))
            },
            BenchSystem(name: "annals-slot-graph", efSearches: efSearch.values) {
                try SlotGraphBenchIndex(base: $0, configuration: graph(.none))
            },
        ]
    }
}
