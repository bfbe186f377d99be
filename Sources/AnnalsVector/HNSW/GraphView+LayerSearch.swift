import CAnnalsKernels

/// How far a node is from the query of a search; smaller is closer.
///
/// A protocol rather than a closure so that the layer search is specialised for each kernel and the distance is
/// inlined into the inner loop.
protocol DistanceKernel {
    func distance(to node: UInt32) -> Float
    /// Asks the CPU to start loading what `distance(to:)` will read for `node`.
    func prefetch(_ node: UInt32)
}

/// The size of a cache line on the CPUs this runs on (x86-64 and arm64 servers).
let cacheLineBytes = 64

/// Prefetches the `bytes` bytes at `address`, one request per cache line.
@inline(__always)
func prefetch(_ address: UnsafeRawPointer, bytes: Int) {
    var offset = 0
    while offset < bytes {
        // A prefetch never faults and changes no result (see CAnnalsKernels.h).
        annals_prefetch(address + offset)
        offset += cacheLineBytes
    }
}

/// The negated Float32 dot product with the query.
struct FloatKernel: DistanceKernel {
    let query: UnsafePointer<Float>
    let rows: VectorRows

    @inline(__always)
    func distance(to node: UInt32) -> Float {
        // Sound: `node` is below the graph's node count, so its vector lies inside the buffer.
        -DotProduct.dot(rows.row(node), query, count: rows.dimension)
    }

    /// Only the first cache line: the hardware prefetcher streams the rest of the vector once the dot product
    /// reads it in order, and asking for every line of every neighbour (24 lines for 384 values) saturated the
    /// CPU's queue of outstanding loads and measured slower.
    @inline(__always)
    func prefetch(_ node: UInt32) {
        AnnalsVector.prefetch(rows.row(node), bytes: cacheLineBytes)
    }
}

/// The negated int8 dot product with the quantised query (see `Int8Quantization`).
struct Int8Kernel: DistanceKernel {
    let query: UnsafePointer<Int8>
    let codes: UnsafePointer<Int8>
    let dimension: Int

    @inline(__always)
    func distance(to node: UInt32) -> Float {
        // Sound: `node` is below the graph's node count, and the graph holds codes for every node once trained.
        // The Int32 sum converts to Float exactly below 2^24, which holds for dimensions up to 1,031 (127² × D).
        -Float(Int8Quantization.dot(codes + Int(node) * dimension, query, count: dimension))
    }

    /// The whole code: a quarter of a Float32 vector, a few cache lines.
    @inline(__always)
    func prefetch(_ node: UInt32) {
        AnnalsVector.prefetch(codes + Int(node) * dimension, bytes: dimension)
    }
}

/// Which nodes a layer search may return. Nodes that are not accepted are still visited and expanded: they route.
struct Acceptance {
    /// Accept every node, removed ones included (used while building, where removed nodes stay in the graph).
    let everything: Bool
    /// Called at most once per visited node with its id.
    let filter: ((UInt64) -> Bool)?

    static var all: Acceptance { Acceptance(everything: true, filter: nil) }

    @inline(__always)
    func accepts(_ node: UInt32, in view: GraphView) -> Bool {
        if everything { return true }
        if view.isDeleted(node) { return false }
        if let filter { return filter(view.ids[Int(node)]) }
        return true
    }
}

extension GraphView {
    /// Greedy descent (the upper levels of Algorithm 5 in Malkov & Yashunin): on each level from `top` down to
    /// `bottom + 1`, move to the closest neighbour until no neighbour is closer. Returns the key of the node reached.
    @inline(__always)
    func greedyDescent<Kernel: DistanceKernel>(
        _ kernel: Kernel, from entry: UInt64, top: Int, bottom: Int
    ) -> UInt64 {
        var best = entry
        var level = top
        while level > bottom {
            var changed = true
            while changed {
                changed = false
                let list = links(CandidateKey.node(best), level: level)
                let count = Int(list[0])
                var i = 1
                while i <= count {
                    let neighbor = list[i]
                    let key = CandidateKey.make(kernel.distance(to: neighbor), neighbor)
                    if key < best {
                        best = key
                        changed = true
                    }
                    i += 1
                }
            }
            level -= 1
        }
        return best
    }

    /// Beam search on one level (Algorithm 2; hnswlib's `searchBaseLayerST`): leaves in `workspace.results` the
    /// `ef` closest accepted nodes reachable from `entry`, as complemented keys.
    ///
    /// Stops when the closest unexpanded candidate is farther than the worst of `ef` results. While fewer than `ef`
    /// nodes have been accepted (a filter or removed nodes rejected the others) it keeps expanding, until the
    /// candidates run out or `budget` distances have been computed. Returns false when the budget ran out.
    @inline(__always)
    func searchLevel<Kernel: DistanceKernel>(
        _ kernel: Kernel, entry: UInt64, level: Int, ef: Int, acceptance: Acceptance, budget: Int,
        workspace: inout Workspace
    ) -> Bool {
        workspace.visited.reset()
        workspace.candidates.removeAll()
        workspace.results.removeAll()
        let visited = workspace.visited
        let entryNode = CandidateKey.node(entry)
        _ = visited.visit(entryNode)
        workspace.candidates.push(entry)
        if acceptance.accepts(entryNode, in: self) { workspace.results.push(~entry) }
        var computed = 0
        let pending = workspace.pending.base
        while !workspace.candidates.isEmpty {
            let current = workspace.candidates.top
            if workspace.results.count >= ef, current > ~workspace.results.top { break }
            workspace.candidates.pop()
            let list = links(CandidateKey.node(current), level: level)
            let count = Int(list[0])
            // First collect the neighbours not yet visited and ask for their vectors, so that the memory loads
            // overlap instead of each distance waiting for its own (the search is bound by memory latency).
            var pendingCount = 0
            var i = 1
            while i <= count {
                let neighbor = list[i]
                i += 1
                if visited.visit(neighbor) { continue }
                pending[pendingCount] = neighbor
                pendingCount += 1
                kernel.prefetch(neighbor)
            }
            computed += pendingCount
            var j = 0
            while j < pendingCount {
                let neighbor = pending[j]
                j += 1
                let key = CandidateKey.make(kernel.distance(to: neighbor), neighbor)
                if workspace.results.count < ef || key < ~workspace.results.top {
                    workspace.candidates.push(key)
                    if acceptance.accepts(neighbor, in: self) {
                        workspace.results.push(~key)
                        if workspace.results.count > ef { workspace.results.pop() }
                    }
                }
            }
            if computed > budget, workspace.results.count < ef { return false }
        }
        return true
    }
}
