import Synchronization

/// A candidate in a graph search, packed into one integer: the distance in the high 32 bits (mapped so that integer
/// order is numeric order) and the node's internal index in the low 32 bits.
///
/// Comparing two keys compares distances and breaks ties by internal index, which keeps searches and construction
/// deterministic, and costs one integer comparison in the heaps.
enum CandidateKey {
    /// The key of `node` at `distance`.
    @inline(__always)
    static func make(_ distance: Float, _ node: UInt32) -> UInt64 {
        let bits = distance.bitPattern
        // IEEE 754 order as unsigned integers: flip every bit of negatives, set the sign bit of positives.
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(ordered) << 32 | UInt64(node)
    }

    /// The node of a key.
    @inline(__always)
    static func node(_ key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: key) }

    /// The distance of a key (the inverse of the mapping in `make`).
    @inline(__always)
    static func distance(_ key: UInt64) -> Float {
        let ordered = UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }
}

/// A binary min-heap of candidate keys on a raw buffer that is reused across searches: after the first few searches
/// it never allocates. A max-heap is the same heap holding complemented keys (`~key`).
struct KeyHeap {
    private var storage: RawArray<UInt64>

    init(capacity: Int) { storage = RawArray(capacity: capacity) }

    var count: Int { storage.count }
    var isEmpty: Bool { storage.count == 0 }
    /// The smallest key; the heap must not be empty.
    var top: UInt64 { storage[0] }
    var allocatedBytes: Int { storage.allocatedBytes }

    mutating func removeAll() { storage.removeAll() }

    /// Frees the heap's memory; called once by the owning scratch.
    func deallocate() { storage.deallocate() }

    @inline(__always)
    mutating func push(_ key: UInt64) {
        storage.append(key)
        let base = storage.base
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            let parentKey = base[parent]
            guard key < parentKey else { break }
            base[child] = parentKey
            child = parent
        }
        base[child] = key
    }

    /// Removes and returns the smallest key; the heap must not be empty.
    @inline(__always)
    @discardableResult
    mutating func pop() -> UInt64 {
        let base = storage.base
        let result = base[0]
        let last = storage.removeLast()
        let count = storage.count
        guard count > 0 else { return result }
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count, base[child + 1] < base[child] { child += 1 }
            guard base[child] < last else { break }
            base[parent] = base[child]
            parent = child
        }
        base[parent] = last
        return result
    }

    /// The keys in heap order (not sorted).
    var unordered: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(start: storage.base, count: storage.count) }
}

/// The visited set of a search: a node is visited when its stamp equals the current generation, so starting a new
/// search costs one increment rather than clearing a stamp per node (hnswlib's `VisitedList`).
struct VisitedSet {
    private(set) var stamps: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private var generation: UInt16 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        stamps = .allocate(capacity: self.capacity)
        stamps.initialize(repeating: 0, count: self.capacity)
    }

    /// Empties the set.
    mutating func reset() {
        generation &+= 1
        if generation == 0 {
            // The stamps wrapped around: old stamps could equal the new generation, so clear them once.
            stamps.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Makes room for nodes below `nodeCount`, emptying the set.
    mutating func reserve(_ nodeCount: Int) {
        guard nodeCount > capacity else { return }
        stamps.deallocate()
        self = VisitedSet(capacity: max(nodeCount, capacity * 2))
    }

    /// Marks `node` visited; returns whether it already was. `node` is below `capacity`.
    @inline(__always)
    func visit(_ node: UInt32) -> Bool {
        let slot = stamps + Int(node)
        if slot.pointee == generation { return true }
        slot.pointee = generation
        return false
    }

    /// Frees the stamps; called once by the owning scratch.
    func deallocate() { stamps.deallocate() }
}

/// The buffers of one search or insertion, checked out of a `SearchScratch` as plain values so that the hot loops
/// touch local variables rather than class properties (which would cost an exclusivity check per access).
struct Workspace {
    var visited: VisitedSet
    /// Nodes to expand, nearest first.
    var candidates: KeyHeap
    /// The best accepted nodes so far, as complemented keys so that the root is the worst one.
    var results: KeyHeap
    /// Neighbour selection: candidates sorted by distance, and the selection.
    var sorted: RawArray<UInt64>
    var selected: RawArray<UInt64>
    /// The int8 codes of the query.
    var queryCodes: RawArray<Int8>
    /// The unvisited neighbours of the node being expanded; room for `HNSWIndex.mMax × 2` of them.
    var pending: RawArray<UInt32>
}

/// The memory one graph search needs, kept between searches: visited stamps, heaps and selection buffers.
///
/// `@unchecked Sendable` is sound because a scratch is only ever used by one thread at a time: it is either in a
/// `ScratchPool` (behind its mutex), or held by the single search that took it out, or owned by a graph for
/// insertions, which need the only reference to the graph.
final class SearchScratch: @unchecked Sendable {
    private var visited: VisitedSet
    private var candidates = KeyHeap(capacity: 256)
    private var results = KeyHeap(capacity: 256)
    private var sorted = RawArray<UInt64>(capacity: 256)
    private var selected = RawArray<UInt64>(capacity: 64)
    private var queryCodes = RawArray<Int8>(capacity: 64)
    private var pending = RawArray<UInt32>(capacity: 2 * HNSWIndex.mMax)

    init(nodeCapacity: Int) { visited = VisitedSet(capacity: nodeCapacity) }

    deinit {
        visited.deallocate()
        candidates.deallocate()
        results.deallocate()
        sorted.deallocate()
        selected.deallocate()
        queryCodes.deallocate()
        pending.deallocate()
    }

    var allocatedBytes: Int {
        visited.capacity * 2 + candidates.allocatedBytes + results.allocatedBytes + sorted.allocatedBytes
            + selected.allocatedBytes + queryCodes.allocatedBytes + pending.allocatedBytes
    }

    /// The buffers for searches over `nodeCount` nodes. Give them back with `checkIn` (a buffer may have moved
    /// while growing). The caller resets the visited set and empties the heaps before each layer search.
    func checkOut(nodeCount: Int) -> Workspace {
        visited.reserve(nodeCount)
        return Workspace(
            visited: visited, candidates: candidates, results: results, sorted: sorted, selected: selected,
            queryCodes: queryCodes, pending: pending)
    }

    /// Takes back the buffers handed out by `checkOut`.
    func checkIn(_ workspace: Workspace) {
        visited = workspace.visited
        candidates = workspace.candidates
        results = workspace.results
        sorted = workspace.sorted
        selected = workspace.selected
        queryCodes = workspace.queryCodes
        pending = workspace.pending
    }
}

/// Scratch spaces reused by concurrent searches: a search takes one (or makes one when none is free) and gives it
/// back, so a steady stream of searches allocates nothing.
final class ScratchPool: Sendable {
    /// At most this many idle scratches are kept; more concurrent searches allocate and drop their own.
    static let idleMax = 16

    private let idle = Mutex<[SearchScratch]>([])

    init() {}

    /// A scratch for a search over `nodeCount` nodes.
    func take(nodeCount: Int) -> SearchScratch {
        let reused = idle.withLock { $0.popLast() }
        return reused ?? SearchScratch(nodeCapacity: nodeCount)
    }

    /// Gives a scratch back for reuse.
    func give(_ scratch: SearchScratch) {
        idle.withLock { idle in
            if idle.count < Self.idleMax { idle.append(scratch) }
        }
    }

    /// The bytes held by idle scratches.
    var allocatedBytes: Int { idle.withLock { $0.reduce(0) { $0 + $1.allocatedBytes } } }
}
