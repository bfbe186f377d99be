import AnnalsChecksum

/// An HNSW graph over the slots of a `VectorArena`, built in slot order beside the thread that appends to the arena,
/// reading the vectors in place (the graph holds links, levels and a segment table: no copy of the vectors).
///
/// The graph is a function of the vectors alone: slot `s` is node `s`, its level comes from a hash of `s`
/// (`HNSWIndex`'s rule), and slots are inserted in ascending order. So the graph over the first `n` slots is the
/// same whoever built it, whenever, and in how many calls to `extend`. It holds every slot, whatever the owner thinks
/// of it (pending, live, dead): the owner says which slots may be returned, through `search`'s `accept`.
///
/// Concurrency: one thread extends (`extend`); any number search. Each insertion takes the graph's write lock once,
/// so a search waits for at most one insertion (about a millisecond at 384 dimensions), and an insertion for the
/// searches running.
///
/// `@unchecked Sendable` is sound: every stored mutable state (the graph and its segment table) is read under the
/// read lock and changed under the write lock of `lock`; the arena's bytes a node reads are those of slots below
/// the `Prefix` handed to `extend`, which the arena's owner never writes again.
public final class SlotGraph: @unchecked Sendable {
    /// The number of values in every vector.
    public let dimension: Int
    /// How the graph is built and searched.
    public let configuration: HNSWIndex.Configuration
    let lock = ReadWriteLock()
    let rows: ArenaRows
    let graph: HNSWGraph

    /// An empty graph over an arena of `dimension`-value vectors.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension` or `.invalidConfiguration`, as `HNSWIndex.init`; int8
    ///   quantisation is refused (`.invalidConfiguration`): the graph reads the arena's Float32 vectors.
    public init(dimension: Int, configuration: HNSWIndex.Configuration) throws(VectorError) {
        guard (1...ExactIndex.dimensionMax).contains(dimension) else {
            throw VectorError(.invalidDimension, "dimension \(dimension) is outside 1...\(ExactIndex.dimensionMax)")
        }
        try configuration.validate()
        guard configuration.quantization == .none else {
            throw VectorError(.invalidConfiguration, "a graph over an arena has no int8 codes")
        }
        self.dimension = dimension
        self.configuration = configuration
        // Every arena of this dimension has this many slots per segment.
        let slotsPerSegment = try VectorArena(dimension: dimension).slotsPerSegment
        rows = ArenaRows(slotsPerSegment: slotsPerSegment, dimension: dimension)
        graph = HNSWGraph(
            dimension: dimension, m: configuration.m, efConstruction: configuration.efConstruction, quantized: false,
            external: rows)
    }

    /// The number of slots in the graph: it holds slots `0..<count`.
    public var count: Int { lock.withReadLock { graph.nodeCount } }

    /// The bytes the graph holds (links, levels, ids, search scratch); the vectors stay in the arena.
    public var memoryBytes: Int { lock.withReadLock { graph.allocatedBytes } }

    /// Inserts the slots of `prefix` after `count`, in order, at most `limit` of them; returns how many.
    ///
    /// `prefix` must hold the vectors the graph was built on in its first `count` slots: a prefix of the same arena,
    /// or of a copy of it (the arena a copy of a projection appends to). One thread at a time extends a graph.
    @discardableResult
    public func extend(from prefix: VectorArena.Prefix, limit: Int) -> Int {
        precondition(prefix.arena.dimension == dimension, "a prefix of another dimension")
        var added = 0
        var adopted = false
        while added < limit {
            let inserted = lock.withWriteLock { () -> Bool in
                let slot = graph.nodeCount
                let level = HNSWGraph.level(for: UInt64(slot), m: configuration.m)
                guard slot < prefix.slots, graph.canAppend(level: level) else { return false }
                if !adopted {
                    rows.adopt(prefix)
                    adopted = true
                }
                // The pointer is not read: the graph finds its vectors through `rows`.
                let node = graph.appendNode(id: UInt64(slot), vector: rows.rows.row(UInt32(slot)), level: level)
                graph.insert(node)
                return true
            }
            guard inserted else { break }
            added += 1
        }
        return added
    }

    /// The `k` slots most similar to `query` among the graph's that `accept` passes, best first (descending score,
    /// equal scores by ascending slot), and the number of slots the graph held: slots from there on were not
    /// looked at, and the caller scans them.
    ///
    /// `ef = max(efSearch ?? configuration.efSearch, k)`. Like `HNSWIndex.search`, the graph's slots are scanned
    /// exactly instead when `ef` covers them all, or when the beam search ends with fewer than `k` accepted slots or
    /// spends its budget (a selective `accept`). `query` holds `dimension` finite values, not all zero (the caller
    /// checks); `accept` is called at most once per visited slot.
    public func search(
        query: UnsafePointer<Float>, k: Int, efSearch: Int?, accept: (Int) -> Bool
    ) -> (hits: [(slot: Int, score: Float)], indexed: Int) {
        lock.withReadLock {
            let indexed = graph.nodeCount
            guard k > 0, indexed > 0 else { return ([], indexed) }
            let ef = max(efSearch ?? configuration.efSearch, k)
            let found = withoutActuallyEscaping(accept) { accept in
                let filter: (UInt64) -> Bool = { accept(Int($0)) }
                if ef >= indexed { return graph.exactScan(query, k: k, filter: filter) }
                return graph.search(query, k: k, ef: ef, filter: filter)
            }
            return (found.map { (Int($0.id), $0.score) }, indexed)
        }
    }

    /// A digest of the links, levels and entry point (not the vectors, which are the arena's): equal for graphs
    /// built over equal vectors up to the same `count`.
    public func graphDigest() -> UInt64 {
        lock.withReadLock {
            let sections = [
                XXH64.hash(graph.levels.initialisedBytes), XXH64.hash(graph.links0.initialisedBytes),
                XXH64.hash(graph.upperLinks.initialisedBytes), UInt64(graph.nodeCount), UInt64(graph.entryPoint),
                UInt64(graph.maxLevel),
            ]
            return sections.map(\.littleEndian).withUnsafeBytes { XXH64.hash($0) }
        }
    }
}
