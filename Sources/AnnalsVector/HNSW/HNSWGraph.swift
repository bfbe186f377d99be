/// The storage of an `HNSWIndex`: vectors, ids, levels, links and tombstones in flat buffers indexed by internal
/// index (the order in which nodes were added), in the layout of hnswlib's `hnswalg.h`.
///
/// - Level 0: `links0` holds `1 + 2m` UInt32 per node: the number of links, then the slots.
/// - Upper levels: a node of level `L ≥ 1` owns `L` blocks of `1 + m` UInt32 in `upperLinks` (level `l` is block
///   `upperStarts[node] + l - 1`). Blocks are handed out in internal order, so `upperStarts` is the running sum
///   of the levels and need not be stored in snapshots. About one node in `m` has upper levels.
/// - Tombstones: one bit per node. A removed node keeps its vector and links, so searches still route through
///   it, and never appears in results.
///
/// `@unchecked Sendable` is sound because a graph is mutated only through an `HNSWIndex` that holds the only
/// reference to it (the index copies the graph first when the reference is shared), so concurrent readers never
/// see a mutation; the scratch pool, the one thing searches change, is behind a mutex.
final class HNSWGraph: @unchecked Sendable {
    /// The highest level a node can have; the level of a node comes from its id, and a level past this one would
    /// only add an almost empty layer.
    static let levelMax = 15
    /// An internal index that designates no node.
    static let noNode = UInt32.max

    let dimension: Int
    /// Links per node on the upper levels; level 0 keeps `2m`.
    let m: Int
    let efConstruction: Int
    /// Whether the graph keeps int8 codes for searches.
    let quantized: Bool

    /// `nodeCount × dimension` values, node `n` at `n × dimension`.
    var vectors: RawArray<Float>
    var ids: RawArray<UInt64>
    var levels: RawArray<UInt8>
    var links0: RawArray<UInt32>
    var upperStarts: RawArray<UInt32>
    var upperLinks: RawArray<UInt32>
    /// One bit per node, set when the node is removed.
    var tombstones: RawArray<UInt64>
    var deletedCount = 0
    var entryPoint = HNSWGraph.noNode
    var maxLevel = 0
    /// The internal index of every live id. Consulted only at the edges (add, remove, results), never while
    /// walking the graph.
    var nodes: [UInt64: UInt32] = [:]
    /// Per-dimension int8 scales; empty until the graph holds `Int8Quantization.trainingCount` nodes.
    var scales: [Float] = []
    /// `nodeCount × dimension` int8 codes once `scales` is set.
    var codes: RawArray<Int8>

    let scratchPool = ScratchPool()
    /// The scratch used by insertions, which are never concurrent (they need the only reference to the graph).
    let buildScratch: SearchScratch
    /// Where the vectors are when they are not in `vectors`: an arena's segments, whose slots are the nodes
    /// (`SlotGraph`). Such a graph keeps no id map (a node's id is its slot) and no int8 codes.
    let external: ArenaRows?

    init(dimension: Int, m: Int, efConstruction: Int, quantized: Bool, external: ArenaRows? = nil) {
        precondition(external == nil || !quantized, "a graph over an arena keeps no int8 codes")
        self.dimension = dimension
        self.m = m
        self.efConstruction = efConstruction
        self.quantized = quantized
        self.external = external
        vectors = RawArray()
        ids = RawArray()
        levels = RawArray()
        links0 = RawArray()
        upperStarts = RawArray()
        upperLinks = RawArray()
        tombstones = RawArray()
        codes = RawArray()
        buildScratch = SearchScratch(nodeCapacity: 0)
    }

    deinit {
        vectors.deallocate()
        ids.deallocate()
        levels.deallocate()
        links0.deallocate()
        upperStarts.deallocate()
        upperLinks.deallocate()
        tombstones.deallocate()
        codes.deallocate()
    }

    /// Links per node on level 0.
    var linksMax0: Int { 2 * m }
    /// UInt32 per node in `links0`.
    var stride0: Int { 1 + 2 * m }
    /// UInt32 per block in `upperLinks`.
    var strideUpper: Int { 1 + m }
    /// Nodes in the graph, removed ones included.
    var nodeCount: Int { ids.count }
    /// Nodes that are not removed.
    var liveCount: Int { external == nil ? nodes.count : nodeCount - deletedCount }

    /// A deep copy, for copy-on-write.
    func copy() -> HNSWGraph {
        let copy = HNSWGraph(dimension: dimension, m: m, efConstruction: efConstruction, quantized: quantized)
        copy.vectors.deallocate()
        copy.vectors = vectors.copy()
        copy.ids.deallocate()
        copy.ids = ids.copy()
        copy.levels.deallocate()
        copy.levels = levels.copy()
        copy.links0.deallocate()
        copy.links0 = links0.copy()
        copy.upperStarts.deallocate()
        copy.upperStarts = upperStarts.copy()
        copy.upperLinks.deallocate()
        copy.upperLinks = upperLinks.copy()
        copy.tombstones.deallocate()
        copy.tombstones = tombstones.copy()
        copy.codes.deallocate()
        copy.codes = codes.copy()
        copy.deletedCount = deletedCount
        copy.entryPoint = entryPoint
        copy.maxLevel = maxLevel
        copy.nodes = nodes
        copy.scales = scales
        return copy
    }

    /// Makes room for `count` nodes in every buffer.
    func reserve(nodes count: Int) {
        vectors.reserve(count * dimension)
        ids.reserve(count)
        levels.reserve(count)
        links0.reserve(count * stride0)
        upperStarts.reserve(count)
        tombstones.reserve((count + 63) / 64)
        if quantized { codes.reserve(count * dimension) }
        nodes.reserveCapacity(count)
    }

    /// The level of the node for `id`: `floor(-ln(u) × mL)` with `mL = 1 / ln(m)` and `u` in (0, 1] from a hash of
    /// the id (SplitMix64), so a node's level never depends on a random generator or on the order of additions.
    ///
    /// `floor(-ln(u) / ln(m)) ≥ L` exactly when `u ≤ m^-L`, which is tested by repeated division: no logarithm, so
    /// the level does not depend on the platform's `log`.
    static func level(for id: UInt64, m: Int) -> Int {
        var z = id &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Double((z >> 11) + 1) * 0x1p-53
        let base = Double(m)
        var level = 0
        var threshold = 1 / base
        while level < levelMax, u <= threshold {
            level += 1
            threshold /= base
        }
        return level
    }

    /// Whether appending a node of `level` would overflow a buffer's 32-bit indexing.
    func canAppend(level: Int) -> Bool {
        nodeCount < Int(HNSWGraph.noNode) && upperLinks.count / strideUpper + level <= Int(UInt32.max)
    }

    /// Appends a node with no links and returns its internal index; `canAppend(level:)` must hold. The caller links
    /// it into the graph (`insert`).
    func appendNode(id: UInt64, vector: UnsafePointer<Float>, level: Int) -> UInt32 {
        let node = UInt32(nodeCount)
        if external == nil { vectors.append(from: vector, count: dimension) }
        ids.append(id)
        levels.append(UInt8(level))
        links0.append(repeating: 0, count: stride0)
        upperStarts.append(UInt32(upperLinks.count / strideUpper))
        if level > 0 { upperLinks.append(repeating: 0, count: level * strideUpper) }
        if Int(node) % 64 == 0 { tombstones.append(0) }
        if external == nil { nodes[id] = node }
        if quantized {
            if !scales.isEmpty {
                codes.resize(to: codes.count + dimension)
                scales.withUnsafeBufferPointer { scales in
                    // Sound: the codes were just resized to hold this node's `dimension` codes, and the vector
                    // was just appended; `scales` holds `dimension` values once trained.
                    Int8Quantization.encode(
                        vectors.base + Int(node) * dimension, scales: scales.baseAddress!, dimension: dimension,
                        into: codes.base + Int(node) * dimension)
                }
            } else if nodeCount == Int8Quantization.trainingCount {
                train()
            }
        }
        return node
    }

    /// Learns the int8 scales from every node present and encodes them all.
    private func train() {
        scales = Int8Quantization.scales(vectors: vectors.base, count: nodeCount, dimension: dimension)
        codes.resize(to: nodeCount * dimension)
        scales.withUnsafeBufferPointer { scales in
            for node in 0..<nodeCount {
                // Sound: `codes` and `vectors` both hold `nodeCount × dimension` elements.
                Int8Quantization.encode(
                    vectors.base + node * dimension, scales: scales.baseAddress!, dimension: dimension,
                    into: codes.base + node * dimension)
            }
        }
    }

    /// Removes every node (a restore that failed its checks leaves the graph empty this way).
    func empty() {
        ids.removeAll()
        levels.removeAll()
        links0.removeAll()
        upperStarts.removeAll()
        upperLinks.removeAll()
        tombstones.removeAll()
        codes.removeAll()
        vectors.removeAll()
        nodes.removeAll()
        scales.removeAll()
        deletedCount = 0
        entryPoint = Self.noNode
        maxLevel = 0
    }

    /// Marks a node removed and forgets its id.
    func markDeleted(_ node: UInt32) {
        let index = Int(node)
        tombstones[index >> 6] |= 1 << UInt64(index & 63)
        deletedCount += 1
        nodes[ids[index]] = nil
    }

    /// Pointers into the buffers, valid until the next append.
    func view() -> GraphView {
        GraphView(
            rows: external?.rows ?? VectorRows(contiguous: vectors.base, dimension: dimension), dimension: dimension,
            ids: ids.base, levels: levels.base, links0: links0.base,
            stride0: stride0, upperStarts: upperStarts.base, upperLinks: upperLinks.base, strideUpper: strideUpper,
            tombstones: tombstones.base, nodeCount: nodeCount)
    }

    /// The bytes held by the graph's buffers and maps (an estimate for the map, whose layout is private).
    var allocatedBytes: Int {
        // A Swift dictionary keeps about 4/3 buckets per element of capacity, each with an 8-byte key, a 4-byte
        // value and a bit of occupancy map.
        let buckets = nodes.capacity * 4 / 3
        let map = buckets * 12 + buckets / 8
        return vectors.allocatedBytes + ids.allocatedBytes + levels.allocatedBytes + links0.allocatedBytes
            + upperStarts.allocatedBytes + upperLinks.allocatedBytes + tombstones.allocatedBytes
            + codes.allocatedBytes + scales.capacity * 4 + map + buildScratch.allocatedBytes
            + scratchPool.allocatedBytes
    }
}

/// Raw pointers into a graph's buffers, taken once per operation so that the inner loops do plain loads.
///
/// Valid while the graph is alive and not appended to (an append may move a buffer). Every index passed to these
/// methods is below `nodeCount`, which the graph's invariants guarantee for every stored link (checked when a
/// snapshot is read).
struct GraphView {
    let rows: VectorRows
    let dimension: Int
    let ids: UnsafePointer<UInt64>
    let levels: UnsafePointer<UInt8>
    let links0: UnsafeMutablePointer<UInt32>
    let stride0: Int
    let upperStarts: UnsafePointer<UInt32>
    let upperLinks: UnsafeMutablePointer<UInt32>
    let strideUpper: Int
    let tombstones: UnsafePointer<UInt64>
    let nodeCount: Int

    /// The link list of `node` on `level` (which is at most the node's level): the count, then the links.
    @inline(__always)
    func links(_ node: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return links0 + Int(node) * stride0 }
        return upperLinks + (Int(upperStarts[Int(node)]) + level - 1) * strideUpper
    }

    /// The vector of `node`.
    @inline(__always)
    func vector(_ node: UInt32) -> UnsafePointer<Float> { rows.row(node) }

    /// Whether `node` is removed.
    @inline(__always)
    func isDeleted(_ node: UInt32) -> Bool {
        let index = Int(node)
        return (tombstones[index >> 6] >> UInt64(index & 63)) & 1 != 0
    }

    /// The distance used inside the graph between two stored nodes: the negated dot product, so that smaller is
    /// closer.
    @inline(__always)
    func distance(_ a: UInt32, _ b: UInt32) -> Float {
        -DotProduct.dot(vector(a), vector(b), count: dimension)
    }
}

/// Where the vectors of a graph's nodes are: one buffer, node after node (a graph's own storage), or the segments of
/// a `VectorArena`, whose slots are the nodes (`SlotGraph`).
struct VectorRows {
    /// The first vector of the one buffer; unused when `segments` is set.
    let base: UnsafePointer<Float>
    /// The first vector of each segment, or nil for one buffer.
    let segments: UnsafePointer<UnsafePointer<Float>>?
    /// log2 of the nodes per segment.
    let shift: Int
    let dimension: Int

    init(contiguous base: UnsafePointer<Float>, dimension: Int) {
        self.base = base
        segments = nil
        shift = 0
        self.dimension = dimension
    }

    init(segments: UnsafePointer<UnsafePointer<Float>>, shift: Int, dimension: Int) {
        // Never read as a vector: `row` uses the segments.
        base = UnsafeRawPointer(segments).assumingMemoryBound(to: Float.self)
        self.segments = segments
        self.shift = shift
        self.dimension = dimension
    }

    /// The vector of `node`.
    @inline(__always)
    func row(_ node: UInt32) -> UnsafePointer<Float> {
        let index = Int(node)
        guard let segments else { return base + index * dimension }
        return segments[index >> shift] + (index & ((1 << shift) - 1)) * dimension
    }
}

/// The segment table of a graph whose nodes are the slots of a `VectorArena` (see `SlotGraph`): a plain array of
/// segment addresses for the inner loops, and the segments themselves, held so that their bytes stay mapped.
final class ArenaRows {
    private(set) var segments: [Segment] = []
    private var table: UnsafeMutablePointer<UnsafePointer<Float>>
    private var capacity = 8
    /// log2 of the arena's slots per segment.
    let shift: Int
    let dimension: Int

    init(slotsPerSegment: Int, dimension: Int) {
        precondition(slotsPerSegment > 0 && slotsPerSegment & (slotsPerSegment - 1) == 0, "not a power of two")
        shift = slotsPerSegment.trailingZeroBitCount
        self.dimension = dimension
        table = .allocate(capacity: capacity)
    }

    deinit { table.deallocate() }

    /// Takes the segments of `prefix`, which must be of the same arena or of a copy holding the same vectors in its
    /// first slots (a copy made when another copy of a projection appended, or a restored segment made the arena's
    /// own): the bytes of every slot already in the graph are equal in both.
    func adopt(_ prefix: VectorArena.Prefix) {
        let fresh = prefix.segments
        if fresh.count == segments.count && zip(fresh, segments).allSatisfy({ $0 === $1 }) { return }
        if fresh.count > capacity {
            table.deallocate()
            capacity = max(fresh.count, capacity * 2)
            table = .allocate(capacity: capacity)
        }
        for (index, segment) in fresh.enumerated() {
            table[index] = UnsafePointer(segment.base.assumingMemoryBound(to: Float.self))
        }
        segments = fresh
    }

    var rows: VectorRows { VectorRows(segments: table, shift: shift, dimension: dimension) }
}
