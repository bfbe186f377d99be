/// An approximate vector index: a hierarchical navigable small-world graph (Malkov & Yashunin 2018,
/// arXiv 1603.09320), laid out like hnswlib's `hnswalg.h`.
///
/// Scores are dot products, as in `ExactIndex` (vectors are L2-normalised, so a score is the cosine similarity), and
/// results are ordered the same way: descending score, then ascending id. A search visits a few thousand vectors
/// instead of all of them; the price is recall below 1 (about 0.95–0.99 at the default `efSearch` on clustered
/// data), traded against speed with `efSearch`.
///
/// - Determinism: the same additions and removals in the same order give the same graph, bit for bit
///   (`graphDigest()`). A node's level comes from a hash of its id, never from a random generator, and equal
///   distances are ordered by internal index (the order of addition).
/// - Removal marks the node removed (a tombstone): it stays in the graph so searches still route through it, and
///   never appears in results. When removed nodes exceed `rebuildDeletedFraction` of all nodes, the graph is
///   rebuilt from the live nodes in their order of addition, which is deterministic too. That rebuild runs inside
///   the `remove` (or replacing `add`) that crossed the line and costs as much as building the index again.
/// - Filters are applied during the search; see `search(query:k:efSearch:filter:)` for when it falls back to an
///   exact scan.
/// - Value semantics: copies share storage until one of them changes (copy-on-write). Searches do not mutate and
///   may run on several threads at once.
public struct HNSWIndex: VectorIndex {
    /// The most nodes (live and removed) one index holds.
    public static let countMax = ExactIndex.countMax
    /// The largest `m` accepted; hnswlib advises far smaller values (5–48).
    public static let mMax = 256
    /// The largest `efConstruction` or `efSearch` accepted in a configuration.
    public static let efMax = 1 << 16
    /// A filtered search may compute this many times the distances of an unfiltered search with the same `ef`
    /// (`ef × 2m`) while it holds fewer than `ef` passing results; past that, the exact scan is cheaper.
    public static let filteredBudgetFactor = 4

    /// How the graph is built and searched.
    public struct Configuration: Sendable, Equatable {
        /// Links per node on the upper levels; level 0 keeps `2m`. More links raise recall and memory.
        public var m: Int
        /// The beam width while inserting: larger builds a better graph, more slowly.
        public var efConstruction: Int
        /// The default beam width of a search (at least `k` is used): larger raises recall, more slowly.
        public var efSearch: Int
        /// The share of removed nodes past which the graph is rebuilt from the live ones; 1 never rebuilds.
        public var rebuildDeletedFraction: Double
        /// Whether searches walk the graph with int8 codes (see `Quantization`).
        public var quantization: Quantization

        /// A configuration; the defaults are hnswlib's usual ones (`m` 16, `efConstruction` 200) and `efSearch` 64.
        public init(
            m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, rebuildDeletedFraction: Double = 0.2,
            quantization: Quantization = .none
        ) {
            self.m = m
            self.efConstruction = efConstruction
            self.efSearch = efSearch
            self.rebuildDeletedFraction = rebuildDeletedFraction
            self.quantization = quantization
        }

        /// Throws `.invalidConfiguration` when a value is out of range.
        func validate() throws(VectorError) {
            func invalid(_ what: String) -> VectorError { VectorError(.invalidConfiguration, "HNSW \(what)") }
            guard (2...HNSWIndex.mMax).contains(m) else { throw invalid("m \(m) is outside 2...\(HNSWIndex.mMax)") }
            guard (1...HNSWIndex.efMax).contains(efConstruction) else {
                throw invalid("efConstruction \(efConstruction) is outside 1...\(HNSWIndex.efMax)")
            }
            guard (1...HNSWIndex.efMax).contains(efSearch) else {
                throw invalid("efSearch \(efSearch) is outside 1...\(HNSWIndex.efMax)")
            }
            guard (0...1).contains(rebuildDeletedFraction) else {
                throw invalid("rebuildDeletedFraction \(rebuildDeletedFraction) is outside 0...1")
            }
        }
    }

    /// How the vectors are represented during a graph search.
    ///
    /// - `none`: Float32 dot products throughout.
    /// - `int8`: the graph is walked with int8 dot products on per-dimension codes (a quarter of the memory
    ///   traffic), then the best `max(ef, k)` candidates are re-ranked with their Float32 vectors. The Float32
    ///   vectors are kept (for re-ranking, exact scans, insertion and rebuilds), so this mode *adds* one byte per
    ///   value: it buys speed, not memory. The graph itself is always built with Float32 distances, and an index
    ///   of fewer than 1,024 nodes (before the scales are learnt) searches with Float32.
    public enum Quantization: String, Sendable {
        case none
        case int8
    }

    /// The number of values in every vector.
    public let dimension: Int
    /// How the graph is built and searched.
    public let configuration: Configuration
    /// The storage, shared between copies until one of them changes.
    var graph: HNSWGraph

    /// Creates an empty index of vectors with `dimension` values.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension` when `dimension` is outside
    ///   `1...ExactIndex.dimensionMax`, `.invalidConfiguration` when a configuration value is out of range.
    public init(dimension: Int, configuration: Configuration = Configuration()) throws(VectorError) {
        guard (1...ExactIndex.dimensionMax).contains(dimension) else {
            throw VectorError(.invalidDimension, "dimension \(dimension) is outside 1...\(ExactIndex.dimensionMax)")
        }
        try configuration.validate()
        self.dimension = dimension
        self.configuration = configuration
        graph = Self.emptyGraph(dimension: dimension, configuration: configuration)
    }

    /// An index over a checked graph (used by `init(serialized:)`).
    init(dimension: Int, configuration: Configuration, graph: HNSWGraph) {
        self.dimension = dimension
        self.configuration = configuration
        self.graph = graph
    }

    static func emptyGraph(dimension: Int, configuration: Configuration) -> HNSWGraph {
        HNSWGraph(
            dimension: dimension, m: configuration.m, efConstruction: configuration.efConstruction,
            quantized: configuration.quantization == .int8)
    }

    /// The number of live vectors (removed ones not counted).
    public var count: Int { graph.liveCount }

    /// The number of removed nodes still in the graph (they go at the next rebuild).
    public var deletedCount: Int { graph.deletedCount }

    /// The bytes held by the vectors, int8 codes, links, ids, levels, tombstones, the id map (estimated from its
    /// capacity) and the search scratch kept for reuse. Buffers grow by doubling, so this can be up to twice
    /// the bytes in use; `reserveCapacity` avoids the slack when the final size is known.
    public var memoryBytes: Int { graph.allocatedBytes }

    /// Whether a live vector with this id is in the index.
    public func contains(id: UInt64) -> Bool { graph.nodes[id] != nil }

    /// The vector stored under `id`, or nil.
    public func vector(id: UInt64) -> [Float]? {
        guard let node = graph.nodes[id] else { return nil }
        let view = graph.view()
        // Sound: a live node's vector lies inside the storage.
        return Array(UnsafeBufferPointer(start: view.vector(node), count: dimension))
    }

    /// Every live id, ascending.
    public var allIds: [UInt64] { graph.nodes.keys.sorted() }

    /// Makes room for `count` nodes, so that building a large index does not copy its buffers as they grow.
    public mutating func reserveCapacity(_ count: Int) {
        makeUnique()
        graph.reserve(nodes: min(count, Self.countMax))
    }

    /// Adds `vector` under `id`. An id already present is replaced: its old node is removed (a tombstone) and a
    /// new one inserted, which may trigger a rebuild.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` when `vector.count != dimension`, `.nonFiniteValue`
    ///   when it holds NaN or an infinity, `.capacityExceeded` when the graph holds `countMax` nodes (removed ones
    ///   included). The index is unchanged when it throws.
    public mutating func add(id: UInt64, vector: [Float]) throws(VectorError) {
        try check(vector, what: "vector")
        let level = HNSWGraph.level(for: id, m: configuration.m)
        guard graph.nodeCount < Self.countMax, graph.canAppend(level: level) else {
            throw VectorError(.capacityExceeded, "the index holds \(graph.nodeCount) nodes already")
        }
        makeUnique()
        let replaced = graph.nodes[id]
        if let replaced { graph.markDeleted(replaced) }
        let node = vector.withUnsafeBufferPointer { vector in
            // Sound: the vector holds `dimension` values (checked above), so it has a base address.
            graph.appendNode(id: id, vector: vector.baseAddress!, level: level)
        }
        graph.insert(node)
        if replaced != nil { rebuildIfNeeded() }
    }

    /// Removes the vector stored under `id`; returns false when there was none. May rebuild the graph (see the
    /// type's comment).
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        guard let node = graph.nodes[id] else { return false }
        makeUnique()
        graph.markDeleted(node)
        rebuildIfNeeded()
        return true
    }

    /// Rebuilds the graph from the live nodes now, in their order of addition (what a rebuild triggered by
    /// removals does).
    public mutating func rebuild() {
        let old = graph
        let fresh = Self.emptyGraph(dimension: dimension, configuration: configuration)
        fresh.reserve(nodes: old.liveCount)
        let view = old.view()
        for index in 0..<old.nodeCount {
            let node = UInt32(index)
            guard !view.isDeleted(node) else { continue }
            let copy = fresh.appendNode(id: view.ids[index], vector: view.vector(node), level: Int(view.levels[index]))
            fresh.insert(copy)
        }
        graph = fresh
    }

    private mutating func rebuildIfNeeded() {
        let deleted = Double(graph.deletedCount)
        if deleted > 0, deleted > configuration.rebuildDeletedFraction * Double(graph.nodeCount) { rebuild() }
    }

    /// Copies the storage when another copy of the index shares it, so that a change is seen by this copy only.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&graph) { graph = graph.copy() }
    }

}
