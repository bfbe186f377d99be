/// A vector index that is exact while small and approximate once large: an `ExactIndex` below `exactThreshold`
/// vectors, an `HNSWIndex` from then on.
///
/// Below the threshold a flat scan is both exact and fast (20,000 × 384 values is about 30 MB, a few milliseconds),
/// and a graph would only cost memory and insertion time. The switch is deterministic: the `add` that brings the
/// count to `exactThreshold` builds the graph from the vectors present, in ascending id order (the order of the log
/// positions the projections use as ids), so equal contents always give the same graph. That `add` takes as long as
/// building the graph (seconds for 20,000 vectors of 384 values).
///
/// Once built, the graph stays, even if removals bring the count back under the threshold: switching back and forth
/// around the threshold would rebuild the graph each time, and `SearchMode.exact` gives exact answers from the
/// graph's own storage anyway.
public struct AdaptiveIndex: VectorIndex {
    /// Which structure answers a search.
    public enum SearchMode: String, Sendable, CaseIterable {
        /// The exact scan while the index is exact, the graph once it is approximate.
        case auto
        /// Always every vector scored (from the graph's storage when the index is approximate).
        case exact
        /// The graph when there is one; below the threshold there is none, and the exact scan answers.
        case approximate
    }

    /// The default threshold: at 20,000 vectors a scan is still a few milliseconds.
    public static let exactThresholdDefault = 20_000

    /// The number of values in every vector.
    public let dimension: Int
    /// The count at which the graph is built; 0 builds it from the first vector.
    public let exactThreshold: Int
    /// The graph's configuration.
    public let configuration: HNSWIndex.Configuration
    // Exactly one of the two is set. Two optionals rather than an enum with payloads, so that a mutation through
    // optional chaining changes the index in place instead of copying it out of the enum first.
    private var exact: ExactIndex?
    private var approximate: HNSWIndex?

    /// Creates an empty index.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension` when `dimension` is outside
    ///   `1...ExactIndex.dimensionMax`, `.invalidConfiguration` when `exactThreshold` is negative or a configuration
    ///   value is out of range.
    public init(
        dimension: Int, exactThreshold: Int = AdaptiveIndex.exactThresholdDefault,
        configuration: HNSWIndex.Configuration = HNSWIndex.Configuration()
    ) throws(VectorError) {
        guard exactThreshold >= 0 else {
            throw VectorError(.invalidConfiguration, "exact threshold \(exactThreshold) is negative")
        }
        // Validates the dimension and the configuration even while the graph is not needed yet.
        let graph = try HNSWIndex(dimension: dimension, configuration: configuration)
        self.dimension = dimension
        self.exactThreshold = exactThreshold
        self.configuration = configuration
        if exactThreshold == 0 {
            approximate = graph
        } else {
            exact = try ExactIndex(dimension: dimension)
        }
    }

    /// Whether the graph has been built (searches in `auto` mode are approximate).
    public var isApproximate: Bool { approximate != nil }

    /// The number of vectors in the index.
    public var count: Int { exact?.count ?? approximate?.count ?? 0 }

    /// Whether a vector with this id is in the index.
    public func contains(id: UInt64) -> Bool { exact?.contains(id: id) ?? approximate?.contains(id: id) ?? false }

    /// The vector stored under `id`, or nil.
    public func vector(id: UInt64) -> [Float]? { exact?.vector(id: id) ?? approximate?.vector(id: id) }

    /// The dot product of `query` with the vector stored under `id`, or nil when there is none or the dimension
    /// differs. Lets a caller score a few known ids (a selective filter) without a search.
    public func score(id: UInt64, query: [Float]) -> Float? {
        if let exact { return exact.score(id: id, query: query) }
        guard query.count == dimension, let vector = approximate?.vector(id: id) else { return nil }
        return vector.withUnsafeBufferPointer { stored in
            query.withUnsafeBufferPointer { probe in
                // Sound: both buffers hold `dimension` values (checked above; stored vectors have that length).
                DotProduct.dot(stored.baseAddress!, probe.baseAddress!, count: dimension)
            }
        }
    }

    /// The bytes held by the index: the graph's `memoryBytes`, or for the flat index its vectors, ids and id map
    /// (estimated as `HNSWIndex.memoryBytes` estimates its map).
    public var memoryBytes: Int {
        if let approximate { return approximate.memoryBytes }
        let count = exact?.count ?? 0
        return count * (dimension * 4 + 8) + count * 4 / 3 * 17
    }

    /// Adds `vector` under `id`, replacing the vector already stored under that id; builds the graph when the count
    /// reaches `exactThreshold`.
    ///
    /// - Throws: as `ExactIndex.add` and `HNSWIndex.add`. The index is unchanged when it throws.
    public mutating func add(id: UInt64, vector: [Float]) throws(VectorError) {
        if approximate != nil {
            try approximate?.add(id: id, vector: vector)
            return
        }
        try exact?.add(id: id, vector: vector)
        if let exact, exact.count >= exactThreshold {
            approximate = Self.graph(from: exact, dimension: dimension, configuration: configuration)
            self.exact = nil
        }
    }

    /// Removes the vector stored under `id`; returns false when there was none.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        if approximate != nil { return approximate?.remove(id: id) ?? false }
        return exact?.remove(id: id) ?? false
    }

    /// The `k` vectors most similar to `query` among those whose id passes `filter`, best first (`SearchMode.auto`).
    public func search(
        query: [Float], k: Int, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        try search(query: query, k: k, mode: .auto, efSearch: nil, filter: filter)
    }

    /// The `k` vectors most similar to `query` among those whose id passes `filter`, best first, answered as `mode`
    /// says; `efSearch` applies to graph searches (nil: the configured one).
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` or `.nonFiniteValue` for a bad query.
    public func search(
        query: [Float], k: Int, mode: SearchMode, efSearch: Int? = nil, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        if let approximate {
            if mode == .exact { return try approximate.exactSearch(query: query, k: k, filter: filter) }
            return try approximate.search(query: query, k: k, efSearch: efSearch, filter: filter)
        }
        // Exactly one of the two indexes is set, and it is not the graph.
        return try exact!.search(query: query, k: k, filter: filter)
    }

    /// The index as bytes: the flat index's `serialized()` while exact, the graph's once approximate (each starts
    /// with its own magic, so `init(serialized:exactThreshold:configuration:)` tells them apart).
    public func serialized() -> [UInt8] {
        if let approximate { return approximate.serialized() }
        return exact?.serialized() ?? []
    }

    /// Reads bytes written by `serialized()`. The threshold and the graph's configuration are the caller's (a
    /// graph's snapshot carries its own configuration, which wins).
    ///
    /// - Throws: `VectorError` with code `.malformedSnapshot` as `ExactIndex.init(serialized:)` and
    ///   `HNSWIndex.init(serialized:)` do, `.invalidConfiguration` as `init(dimension:exactThreshold:configuration:)`.
    public init(
        serialized bytes: [UInt8], exactThreshold: Int = AdaptiveIndex.exactThresholdDefault,
        configuration: HNSWIndex.Configuration = HNSWIndex.Configuration()
    ) throws(VectorError) {
        guard exactThreshold >= 0 else {
            throw VectorError(.invalidConfiguration, "exact threshold \(exactThreshold) is negative")
        }
        try configuration.validate()
        self.exactThreshold = exactThreshold
        if bytes.starts(with: HNSWIndex.serializedMagic) {
            let graph = try HNSWIndex(serialized: bytes)
            dimension = graph.dimension
            self.configuration = graph.configuration
            approximate = graph
        } else {
            let flat = try ExactIndex(serialized: bytes)
            dimension = flat.dimension
            self.configuration = configuration
            exact = flat
            // A flat snapshot at or over the threshold (written with a higher one) gets its graph now.
            if flat.count >= exactThreshold {
                approximate = Self.graph(from: flat, dimension: dimension, configuration: configuration)
                exact = nil
            }
        }
    }

    /// The graph built from a flat index's vectors in ascending id order.
    private static func graph(
        from exact: ExactIndex, dimension: Int, configuration: HNSWIndex.Configuration
    ) -> HNSWIndex {
        do {
            var graph = try HNSWIndex(dimension: dimension, configuration: configuration)
            graph.reserveCapacity(exact.count)
            for id in exact.allIds {
                // Sound: every id of `allIds` has a vector.
                try graph.add(id: id, vector: exact.vector(id: id)!)
            }
            return graph
        } catch {
            // The configuration was validated at init and the flat index accepted every vector, so the graph
            // accepts them too.
            preconditionFailure("building the graph from a flat index failed: \(error)")
        }
    }
}
