extension HNSWIndex {
    /// The `k` live vectors most similar to `query` among those whose id passes `filter`, best first, searched with
    /// the configured `efSearch`.
    public func search(
        query: [Float], k: Int, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        try search(query: query, k: k, efSearch: nil, filter: filter)
    }

    /// The `k` live vectors most similar to `query` among those whose id passes `filter`, best first (descending
    /// score, equal scores by ascending id), approximately.
    ///
    /// Greedy descent through the upper levels, then a beam search of width `ef = max(efSearch, k)` on level 0
    /// (`efSearch` nil means the configured one). Removed nodes and nodes whose id fails `filter` are walked
    /// through but never returned; `filter` is called at most once per visited node and must be a pure function of
    /// the id.
    ///
    /// The exact scan (`exactSearch`) answers instead, so that a selective filter still gets `k` results when `k`
    /// pass:
    /// - when `ef` is at least the number of nodes (a beam that wide would visit the whole graph anyway);
    /// - when the beam search ends with fewer than `k` passing results;
    /// - when it has computed `filteredBudgetFactor × ef × 2m` distances (four times what an unfiltered search of
    ///   the same width costs) and still holds fewer than `ef` passing results. With the defaults this happens for
    ///   filters that pass less than about 1% of the nodes.
    ///
    /// Answers without throwing: an empty list when `k <= 0`, when the index is empty, when no id passes the filter,
    /// and when `query` is all zeros (as `ExactIndex` does, so that the two are interchangeable behind
    /// `VectorIndex`). At most `min(k, count)` results.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` when `query.count != dimension`, `.nonFiniteValue`
    ///   when it holds NaN or an infinity.
    public func search(
        query: [Float], k: Int, efSearch: Int?, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        try check(query, what: "query")
        guard k > 0, graph.liveCount > 0, query.contains(where: { $0 != 0 }) else { return [] }
        let ef = max(efSearch ?? configuration.efSearch, k)
        let graph = graph
        return query.withUnsafeBufferPointer { query in
            // Sound: the query holds `dimension` values (checked above), so it has a base address.
            let query = query.baseAddress!
            if ef >= graph.nodeCount { return graph.exactScan(query, k: k, filter: filter) }
            return graph.search(query, k: k, ef: ef, filter: filter)
        }
    }

    /// The exact answer: every live vector scored, using the graph's own storage (no second copy of the vectors).
    /// The same results as an `ExactIndex` holding the same vectors.
    ///
    /// - Throws: as `search(query:k:efSearch:filter:)`.
    public func exactSearch(
        query: [Float], k: Int, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorError) -> [(id: UInt64, score: Float)] {
        try check(query, what: "query")
        guard k > 0, graph.liveCount > 0, query.contains(where: { $0 != 0 }) else { return [] }
        let graph = graph
        return query.withUnsafeBufferPointer { query in
            // Sound: the query holds `dimension` values (checked above).
            graph.exactScan(query.baseAddress!, k: k, filter: filter)
        }
    }
}

extension HNSWGraph {
    /// The graph search behind `HNSWIndex.search`; `query` holds `dimension` values, the graph is not empty.
    func search(
        _ query: UnsafePointer<Float>, k: Int, ef: Int, filter: ((UInt64) -> Bool)?
    ) -> [(id: UInt64, score: Float)] {
        let scratch = scratchPool.take(nodeCount: nodeCount)
        defer { scratchPool.give(scratch) }
        var workspace = scratch.checkOut(nodeCount: nodeCount)
        defer { scratch.checkIn(workspace) }
        let view = self.view()
        let acceptance = Acceptance(everything: false, filter: filter)
        let budget = HNSWIndex.filteredBudgetFactor * ef * linksMax0
        let quantised = !scales.isEmpty
        let complete: Bool
        if quantised {
            workspace.queryCodes.resize(to: dimension)
            let codes = workspace.queryCodes.base
            scales.withUnsafeBufferPointer { scales in
                // Sound: `scales` holds `dimension` values once trained; `codes` was just sized to `dimension`.
                Int8Quantization.encodeQuery(query, scales: scales.baseAddress!, dimension: dimension, into: codes)
            }
            let kernel = Int8Kernel(query: codes, codes: self.codes.base, dimension: dimension)
            complete = view.search(kernel, entry: entryPoint, top: maxLevel, ef: ef, acceptance, budget, &workspace)
        } else {
            let kernel = FloatKernel(query: query, rows: view.rows)
            complete = view.search(kernel, entry: entryPoint, top: maxLevel, ef: ef, acceptance, budget, &workspace)
        }
        guard complete, workspace.results.count >= k else { return exactScan(query, k: k, filter: filter) }
        var top = TopK(k: k)
        for complemented in workspace.results.unordered {
            let key = ~complemented
            let node = CandidateKey.node(key)
            // Float mode: the key's distance is the negated Float32 dot product, so the score is exact. Int8 mode:
            // re-rank with the Float32 vector.
            let score =
                quantised ? DotProduct.dot(view.vector(node), query, count: dimension) : -CandidateKey.distance(key)
            let id = view.ids[Int(node)]
            guard !score.isNaN, top.wouldAccept(id: id, score: score) else { continue }
            top.insert(id: id, score: score)
        }
        return top.sorted()
    }

    /// Every live vector scored against `query`, the best `k` passing `filter` kept.
    func exactScan(
        _ query: UnsafePointer<Float>, k: Int, filter: ((UInt64) -> Bool)?
    ) -> [(id: UInt64, score: Float)] {
        guard liveCount > 0 else { return [] }
        var top = TopK(k: min(k, liveCount))
        let view = self.view()
        for index in 0..<nodeCount {
            let node = UInt32(index)
            if view.isDeleted(node) { continue }
            let score = DotProduct.dot(view.vector(node), query, count: dimension)
            let id = view.ids[index]
            guard !score.isNaN, top.wouldAccept(id: id, score: score) else { continue }
            if let filter, !filter(id) { continue }
            top.insert(id: id, score: score)
        }
        return top.sorted()
    }
}

extension GraphView {
    /// Greedy descent from `entry` through levels `top...1`, then the beam search on level 0; returns whether the
    /// beam search finished within `budget` (see `searchLevel`).
    @inline(__always)
    func search<Kernel: DistanceKernel>(
        _ kernel: Kernel, entry: UInt32, top: Int, ef: Int, _ acceptance: Acceptance, _ budget: Int,
        _ workspace: inout Workspace
    ) -> Bool {
        var start = CandidateKey.make(kernel.distance(to: entry), entry)
        start = greedyDescent(kernel, from: start, top: top, bottom: 0)
        return searchLevel(
            kernel, entry: start, level: 0, ef: ef, acceptance: acceptance, budget: budget, workspace: &workspace)
    }
}
