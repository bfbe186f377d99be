extension ExactIndex {
    /// The bytes of stored vectors compared with a group of queries before moving on: with the group's queries they
    /// fit a core's L2 cache (256 KiB is the smallest L2 of current x86 and ARM server cores; recent ones have 1–2
    /// MiB), so each block comes from memory once per group and from cache for every query of it.
    static let batchBlockBytes = 256 * 1024

    /// The queries searched together in one pass over the index: 64 queries of 384 floats are 96 KiB, and their
    /// scores for one block (64 × 170 floats at 384 dimensions) 43 KiB. One pass over memory serves 64 queries.
    static let batchGroupCount = 64

    /// The `k` best vectors for each of `queries`, as `search(query:k:filter:)` would answer them one at a time,
    /// but faster: groups of queries are compared with cache-sized blocks of the index, so memory is read once per
    /// group instead of once per query, and the kernel reuses each load for several queries and vectors.
    ///
    /// The answers are exactly those of single searches (the same dot products added in the same order, so the same
    /// scores and the same ties), one list per query in the order given; a zero query gets an empty list. `filter`
    /// is called as `search(query:k:filter:)` calls it, possibly more than once for an id.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` or `.nonFiniteValue` for the first bad query; nothing
    ///   is searched then.
    public func search(
        queries: [[Float]],
        k: Int,
        filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [[(id: UInt64, score: Float)]] {
        for query in queries { try check(query, what: "query") }
        var results: [[(id: UInt64, score: Float)]] = Array(repeating: [], count: queries.count)
        let count = count
        guard k > 0, count > 0 else { return results }
        // Zero queries have no direction and get no results (as in the single search); the rest are packed
        // together so the kernel reads one contiguous array.
        let active = queries.indices.filter { queries[$0].contains { $0 != 0 } }
        guard !active.isEmpty else { return results }
        let dimension = dimension
        var packed: [Float] = []
        packed.reserveCapacity(active.count * dimension)
        for index in active { packed.append(contentsOf: queries[index]) }
        var tops = active.map { _ in TopK(k: min(k, count)) }
        let perBlock = max(1, Self.batchBlockBytes / (dimension * MemoryLayout<Float>.stride))
        let ids = slotIds
        withStorage { vectors in
            packed.withUnsafeBufferPointer { packed in
                ids.withUnsafeBufferPointer { ids in
                    tops.withUnsafeMutableBufferPointer { tops in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.batchGroupCount * perBlock) {
                            scores in
                            // Sound: the index is not empty and there is an active query, so every buffer has a
                            // base address. A block of n vectors from slot s reads n × dimension floats from
                            // s × dimension, inside the storage (count × dimension values) because s + n <= count;
                            // a group of g queries from q reads g × dimension floats from q × dimension, inside the
                            // packed queries (tops.count × dimension values) because q + g <= tops.count; the
                            // kernel writes g × n <= batchGroupCount × perBlock scores; ids and tops are indexed
                            // below their counts.
                            let base = vectors.baseAddress!
                            for groupStart in stride(from: 0, to: tops.count, by: Self.batchGroupCount) {
                                let g = min(Self.batchGroupCount, tops.count - groupStart)
                                for blockStart in stride(from: 0, to: count, by: perBlock) {
                                    let n = min(perBlock, count - blockStart)
                                    DotProduct.batchScores(
                                        base + blockStart * dimension, count: n, dimension: dimension,
                                        queries: packed.baseAddress! + groupStart * dimension, queryCount: g,
                                        into: scores.baseAddress!)
                                    for member in 0..<g {
                                        let query = groupStart + member
                                        // Most scores fall below the k-th best: one comparison rejects them.
                                        var threshold = tops[query].threshold
                                        for offset in 0..<n {
                                            let score = scores[member * n + offset]
                                            if score < threshold { continue }
                                            let id = ids[blockStart + offset]
                                            guard !score.isNaN, tops[query].wouldAccept(id: id, score: score) else {
                                                continue
                                            }
                                            if let filter, !filter(id) { continue }
                                            tops[query].insert(id: id, score: score)
                                            threshold = tops[query].threshold
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for (position, index) in active.enumerated() { results[index] = tops[position].sorted() }
        return results
    }
}
