extension HNSWGraph {
    /// Links a node that was just appended into the graph (Algorithm 1 of Malkov & Yashunin; hnswlib's `addPoint`).
    ///
    /// Greedy descent to the node's top level, then on each level from there down to 0: a beam search with
    /// `efConstruction`, `m` neighbours chosen by the heuristic, and a link back from each neighbour, whose list is
    /// shrunk by the same heuristic when it overflows (`2m` on level 0, `m` above). Removed nodes take part like
    /// any other: they stay in the graph until a rebuild, and routing through them keeps it connected.
    func insert(_ node: UInt32) {
        let level = Int(levels[Int(node)])
        guard entryPoint != Self.noNode else {
            entryPoint = node
            maxLevel = level
            return
        }
        let view = self.view()
        var workspace = buildScratch.checkOut(nodeCount: nodeCount)
        defer { buildScratch.checkIn(workspace) }
        let kernel = FloatKernel(query: view.vector(node), rows: view.rows)
        var entry = CandidateKey.make(kernel.distance(to: entryPoint), entryPoint)
        if maxLevel > level { entry = view.greedyDescent(kernel, from: entry, top: maxLevel, bottom: level) }
        var current = min(level, maxLevel)
        while current >= 0 {
            _ = view.searchLevel(
                kernel, entry: entry, level: current, ef: efConstruction, acceptance: .all, budget: .max,
                workspace: &workspace)
            // The results heap pops the farthest first: fill the sorted buffer from the back.
            var index = workspace.results.count
            workspace.sorted.resize(to: index)
            while !workspace.results.isEmpty {
                index -= 1
                workspace.sorted[index] = ~workspace.results.pop()
            }
            entry = workspace.sorted[0]
            view.selectNeighbors(workspace.sorted, limit: m, into: &workspace.selected)
            let list = view.links(node, level: current)
            let selectedCount = workspace.selected.count
            list[0] = UInt32(selectedCount)
            for i in 0..<selectedCount { list[1 + i] = CandidateKey.node(workspace.selected[i]) }
            let capacity = current == 0 ? linksMax0 : m
            // Iterate over the node's own list: `connect` reuses the workspace's selection buffers.
            for i in 0..<selectedCount {
                view.connect(list[1 + i], to: node, level: current, capacity: capacity, workspace: &workspace)
            }
            current -= 1
        }
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }
}

extension GraphView {
    /// The neighbour-selection heuristic (Algorithm 4 with `keepPrunedConnections` off; hnswlib's
    /// `getNeighborsByHeuristic2`): walks `sorted` (keys whose distance is to the base node, nearest first) and keeps
    /// a candidate only when it is closer to the base than to every candidate kept so far, up to `limit`. When
    /// there are fewer than `limit` candidates all are kept.
    ///
    /// Preferring candidates in other directions over a cluster of near ones keeps long links, which is what makes
    /// the graph navigable on clustered data.
    func selectNeighbors(_ sorted: RawArray<UInt64>, limit: Int, into selected: inout RawArray<UInt64>) {
        selected.removeAll()
        let count = sorted.count
        guard count >= limit else {
            for i in 0..<count { selected.append(sorted[i]) }
            return
        }
        for i in 0..<count {
            guard selected.count < limit else { break }
            let candidate = sorted[i]
            let node = CandidateKey.node(candidate)
            let toBase = CandidateKey.distance(candidate)
            var keep = true
            for j in 0..<selected.count where distance(node, CandidateKey.node(selected[j])) < toBase {
                keep = false
                break
            }
            if keep { selected.append(candidate) }
        }
    }

    /// Adds a link from `node` to `newNode` on `level`; when the list is full (`capacity`), shrinks the list plus
    /// the new link back to `capacity` with the heuristic, by distance from `node`.
    func connect(_ node: UInt32, to newNode: UInt32, level: Int, capacity: Int, workspace: inout Workspace) {
        let list = links(node, level: level)
        let count = Int(list[0])
        if count < capacity {
            list[1 + count] = newNode
            list[0] = UInt32(count + 1)
            return
        }
        workspace.sorted.resize(to: count + 1)
        for i in 0..<count {
            let other = list[1 + i]
            workspace.sorted[i] = CandidateKey.make(distance(node, other), other)
        }
        workspace.sorted[count] = CandidateKey.make(distance(node, newNode), newNode)
        // Sound: the buffer was just resized to hold count + 1 initialised keys.
        var keys = UnsafeMutableBufferPointer(start: workspace.sorted.base, count: count + 1)
        keys.sort()
        selectNeighbors(workspace.sorted, limit: capacity, into: &workspace.selected)
        let kept = workspace.selected.count
        for i in 0..<kept { list[1 + i] = CandidateKey.node(workspace.selected[i]) }
        list[0] = UInt32(kept)
    }
}
