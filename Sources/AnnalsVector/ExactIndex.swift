import CAnnalsKernels

/// A flat vector index: every vector in one contiguous `[Float]`, searched by scanning all of them.
///
/// Exact (recall 1.0) and simple; a scan of 100,000 × 384 floats is about 150 MB of memory traffic, a few
/// milliseconds per query. Ids are chosen by the caller (the projections use the log position of the chunk event).
///
/// Scores are dot products; vectors are L2-normalised by the embedder, so a score is the cosine similarity. Results
/// are ordered by descending score, then ascending id.
///
/// Storage stays dense: removing a vector moves the last one into its slot. The order of slots is an internal detail
/// that never shows in results (ties are broken by id) nor in `serialized()` (written in id order).
public struct ExactIndex: VectorIndex {
    /// The largest dimension accepted; matches the largest vector a `chunk.embedded` record may carry.
    public static let dimensionMax = 16_384

    /// The most vectors one index holds; beyond it, shard the data (and an exact scan would be too slow anyway).
    public static let countMax = 1 << 31

    /// The number of values in every vector.
    public let dimension: Int
    /// `count × dimension` values: the vector in slot `s` is `storage[s * dimension ..< (s + 1) * dimension]`.
    private var storage: [Float] = []
    /// The id of the vector in each slot.
    private var ids: [UInt64] = []
    /// The slot of each id.
    private var slots: [UInt64: Int] = [:]

    /// Creates an empty index of vectors with `dimension` values.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension` when `dimension` is outside `1...dimensionMax`.
    public init(dimension: Int) throws(VectorError) {
        guard (1...Self.dimensionMax).contains(dimension) else {
            throw VectorError(.invalidDimension, "dimension \(dimension) is outside 1...\(Self.dimensionMax)")
        }
        self.dimension = dimension
    }

    /// Creates an index from checked parts (used by `init(serialized:)`).
    init(dimension: Int, storage: [Float], ids: [UInt64]) {
        self.dimension = dimension
        self.storage = storage
        self.ids = ids
        slots.reserveCapacity(ids.count)
        for (slot, id) in ids.enumerated() { slots[id] = slot }
    }

    /// The vectors scored per kernel call in a search: their scores (4 KiB) stay in the L1 cache while the top k is
    /// updated from them.
    static let scoreBlockCount = 1024

    /// The dot-product kernel this CPU runs: `avx512`, `avx2`, or `portable` (Swift's, for the target's baseline).
    /// All give the same scores, bit for bit; they differ in speed only.
    public static var kernel: String { DotProduct.kernel }

    /// The number of vectors in the index.
    public var count: Int { ids.count }

    /// An estimate of the memory the index holds, in bytes: the vector storage and id arrays at their capacity, and
    /// the id-to-slot table (a hash table of 16-byte entries, counted at its capacity).
    public var memoryBytes: Int {
        storage.capacity * MemoryLayout<Float>.stride + ids.capacity * MemoryLayout<UInt64>.stride
            + slots.capacity * (MemoryLayout<UInt64>.stride + MemoryLayout<Int>.stride)
    }

    /// Makes room for `count` vectors in all, so that adding that many allocates once instead of growing by doubling
    /// (which briefly holds the old and the new storage, and may leave up to half the capacity unused).
    public mutating func reserveCapacity(_ count: Int) {
        growStorage(toHold: count * dimension)
        ids.reserveCapacity(count)
        slots.reserveCapacity(count)
    }

    /// Moves the storage into a new allocation of at least `values` floats, advised to use huge pages before it is
    /// written (so its pages are huge from the first fault), when the current one is smaller.
    ///
    /// The index grows its storage itself rather than leaving it to `Array.append`, whose new buffer would be
    /// written before any advice could apply. A scan reads every page of the storage, and with 4 KiB pages the TLB
    /// misses cost as much as the arithmetic: with 2 MiB pages a 100,000 × 384 scan ran 1.7 times as fast here.
    private mutating func growStorage(toHold values: Int) {
        guard values > storage.capacity else { return }
        let old = storage
        storage = [Float](unsafeUninitializedCapacity: values) { buffer, initialised in
            // Sound: the buffer has room for `values` >= old.count floats, all of it ours until this returns.
            annals_advise_huge_pages(buffer.baseAddress, buffer.count * MemoryLayout<Float>.stride)
            _ = buffer.initialize(fromContentsOf: old)
            initialised = old.count
        }
    }

    /// Whether a vector with this id is in the index.
    public func contains(id: UInt64) -> Bool { slots[id] != nil }

    /// The vector stored under `id`, or nil.
    /// The dot product of `query` with the vector stored under `id`, or nil when there is none or the dimension
    /// differs. Lets a caller score a few known ids without scanning the index.
    public func score(id: UInt64, query: [Float]) -> Float? {
        guard query.count == dimension, let slot = slots[id] else { return nil }
        return storage.withUnsafeBufferPointer { stored in
            query.withUnsafeBufferPointer { probe in
                // Sound: `slot * dimension + dimension <= storage.count` holds for every slot in `slots`.
                DotProduct.dot(stored.baseAddress! + slot * dimension, probe.baseAddress!, count: dimension)
            }
        }
    }

    public func vector(id: UInt64) -> [Float]? {
        guard let slot = slots[id] else { return nil }
        return Array(storage[slot * dimension..<(slot + 1) * dimension])
    }

    /// Every id in the index, ascending.
    public var allIds: [UInt64] { ids.sorted() }

    /// Adds `vector` under `id`, replacing the vector already stored under that id.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` when `vector.count != dimension`, `.nonFiniteValue`
    ///   when it holds NaN or an infinity, `.capacityExceeded` when the index holds `countMax` vectors. The index is
    ///   unchanged when it throws.
    public mutating func add(id: UInt64, vector: [Float]) throws(VectorError) {
        try check(vector, what: "vector")
        if let slot = slots[id] {
            storage.replaceSubrange(slot * dimension..<(slot + 1) * dimension, with: vector)
            return
        }
        guard ids.count < Self.countMax else {
            throw VectorError(.capacityExceeded, "the index holds \(Self.countMax) vectors already")
        }
        if storage.count + dimension > storage.capacity {
            // Doubling, as `append` would, but through the advised allocation.
            growStorage(toHold: max(storage.count + dimension, 2 * storage.capacity))
        }
        slots[id] = ids.count
        ids.append(id)
        storage.append(contentsOf: vector)
    }

    /// Removes the vector stored under `id`; returns false when there was none.
    ///
    /// The last vector moves into the freed slot, so storage stays dense and a scan never skips holes.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        guard let slot = slots.removeValue(forKey: id) else { return false }
        let last = ids.count - 1
        if slot != last {
            let moved = ids[last]
            ids[slot] = moved
            slots[moved] = slot
            let dimension = dimension
            storage.withUnsafeMutableBufferPointer { buffer in
                // Sound: both ranges lie inside the buffer (slot and last are below count, and the buffer holds
                // count × dimension values), and they do not overlap because slot != last.
                let base = buffer.baseAddress!
                (base + slot * dimension).update(from: base + last * dimension, count: dimension)
            }
        }
        ids.removeLast()
        storage.removeLast(dimension)
        return true
    }

    /// Removes every vector, keeping the dimension.
    public mutating func removeAll() {
        storage.removeAll()
        ids.removeAll()
        slots.removeAll()
    }

    /// The `k` vectors with the highest dot product with `query` among those whose id passes `filter`, best first
    /// (equal scores by ascending id).
    ///
    /// Answers without throwing: an empty list when `k <= 0`, when the index is empty, when no id passes the filter,
    /// and when `query` is all zeros (a zero vector has no direction, so no vector is more similar than another;
    /// an embedder gives it for text with no features). At most `min(k, count)` results. A vector whose score is
    /// NaN (possible only when huge finite values overflow) is never returned.
    ///
    /// `filter` is called only for candidates that would enter the current top `k`, in no particular order, and
    /// must be a pure function of the id.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` when `query.count != dimension`, `.nonFiniteValue`
    ///   when it holds NaN or an infinity.
    public func search(
        query: [Float],
        k: Int,
        filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        try check(query, what: "query")
        guard k > 0, !ids.isEmpty, query.contains(where: { $0 != 0 }) else { return [] }
        var top = TopK(k: min(k, ids.count))
        let dimension = dimension
        let count = ids.count
        storage.withUnsafeBufferPointer { vectors in
            query.withUnsafeBufferPointer { query in
                ids.withUnsafeBufferPointer { ids in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.scoreBlockCount) { scores in
                        // Sound: the index is not empty, so the buffers have base addresses. A block of n vectors
                        // from slot s reads n × dimension floats from s × dimension, inside the storage (count ×
                        // dimension values) because s + n <= count; the query holds dimension values (checked
                        // above); the kernel writes n <= scoreBlockCount scores; ids are read below count.
                        let base = vectors.baseAddress!
                        for blockStart in stride(from: 0, to: count, by: Self.scoreBlockCount) {
                            let n = min(Self.scoreBlockCount, count - blockStart)
                            DotProduct.scores(
                                base + blockStart * dimension, count: n, dimension: dimension,
                                query: query.baseAddress!, into: scores.baseAddress!)
                            // Most scores fall below the k-th best: one comparison rejects them.
                            var threshold = top.threshold
                            for offset in 0..<n {
                                let score = scores[offset]
                                if score < threshold { continue }
                                let id = ids[blockStart + offset]
                                guard !score.isNaN, top.wouldAccept(id: id, score: score) else { continue }
                                if let filter, !filter(id) { continue }
                                top.insert(id: id, score: score)
                                threshold = top.threshold
                            }
                        }
                    }
                }
            }
        }
        return top.sorted()
    }

}

extension ExactIndex {
    /// The ids in slot order and the storage, for serialisation.
    var slotIds: [UInt64] { ids }

    /// Calls `body` with the contiguous storage.
    func withStorage<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }
}
