import AnnalsChecksum

// The byte format of a serialised `SlotGraph`, little-endian throughout. N nodes (slots 0..<N), B upper-level link
// blocks (the sum of the nodes' levels); the vectors are not included (they are the arena's):
//
// | offset | size | field |
// |---|---|---|
// | 0 | 4 | magic `AVSG` |
// | 4 | 4 | format version (1) |
// | 8 | 4 | dimension |
// | 12 | 4 | m |
// | 16 | 4 | efConstruction |
// | 20 | 4 | entry point, 0xFFFF_FFFF when N = 0 |
// | 24 | 8 | N |
// | 32 | 8 | B |
// | 40 | 1 | top level of the graph |
// | 41 | 7 | reserved, 0 |
// | 48 | N | levels |
// | | 4 × (1 + 2m) × N | level-0 link lists: count, then 2m slots |
// | | 4 × (1 + m) × B | upper-level link lists, in node order then level |
// | end − 8 | 8 | XXH64 (seed 0) of every byte before it |

extension SlotGraph {
    static let serializedMagic: [UInt8] = Array("AVSG".utf8)
    static let serializedFormatVersion: UInt32 = 1
    static let serializedHeaderBytes = 48

    /// The graph's links and levels (format above) and the number of slots it holds, when that is at most
    /// `slotsMax`; nil when it holds more (the caller can only vouch for the first `slotsMax` vectors: see
    /// `restore(serialized:from:)`).
    public func serialized(slotsMax: Int = .max) -> (bytes: [UInt8], slots: Int)? {
        lock.withReadLock { () -> (bytes: [UInt8], slots: Int)? in
            let nodes = graph.nodeCount
            guard nodes <= slotsMax else { return nil }
            let blocks = graph.upperLinks.count / graph.strideUpper
            let links0 = nodes * graph.stride0
            let upper = graph.upperLinks.count
            let total = Self.serializedHeaderBytes + nodes + 4 * (links0 + upper) + 8
            let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialised in
                // Sound: every section below lies inside `total`, computed from the same counts.
                let out = UnsafeMutableRawBufferPointer(buffer)
                let base = out.baseAddress!
                out.initializeMemory(as: UInt8.self, repeating: 0)
                out.copyBytes(from: Self.serializedMagic)
                storeLE(Self.serializedFormatVersion, base, 4)
                storeLE(UInt32(dimension), base, 8)
                storeLE(UInt32(configuration.m), base, 12)
                storeLE(UInt32(configuration.efConstruction), base, 16)
                storeLE(graph.entryPoint, base, 20)
                storeLE(UInt64(nodes), base, 24)
                storeLE(UInt64(blocks), base, 32)
                storeLE(UInt8(graph.maxLevel), base, 40)
                var offset = Self.serializedHeaderBytes
                copyLittleEndian(graph.levels.base, to: base + offset, count: nodes, size: 1)
                offset += nodes
                copyLittleEndian(graph.links0.base, to: base + offset, count: links0, size: 4)
                offset += 4 * links0
                copyLittleEndian(graph.upperLinks.base, to: base + offset, count: upper, size: 4)
                offset += 4 * upper
                storeLE(XXH64.hash(UnsafeRawBufferPointer(rebasing: out[..<offset])), base, offset)
                initialised = total
            }
            return (bytes, nodes)
        }
    }

    /// Fills this graph, which must be empty, with a serialised one over the first slots of `prefix`; returns the
    /// number of slots it holds then.
    ///
    /// The caller vouches that `prefix`'s first N slots hold the vectors the graph was built on (the vectors
    /// projection checks the position recorded for slot N − 1). No insertion runs: the arrays are copied and
    /// checked, so a restore runs at memory speed.
    ///
    /// - Throws: `VectorError` with code `.malformedSnapshot` when the bytes are damaged or truncated, have another
    ///   magic or format version, were built with another configuration or dimension, hold more slots than
    ///   `prefix`, or describe an impossible graph (a link to a missing node, an entry point off the top level).
    ///   The graph stays empty then.
    @discardableResult
    public func restore(serialized raw: UnsafeRawBufferPointer, from prefix: VectorArena.Prefix) throws(VectorError)
        -> Int
    {
        func malformed(_ what: String) -> VectorError {
            VectorError(.malformedSnapshot, "serialised slot graph: \(what)")
        }
        let header = Self.serializedHeaderBytes
        guard raw.count >= header + 8, let base = raw.baseAddress else { throw malformed("\(raw.count) bytes") }
        guard raw[0..<4].elementsEqual(Self.serializedMagic) else { throw malformed("bad magic") }
        let format: UInt32 = loadLE(base, 4)
        guard format == Self.serializedFormatVersion else {
            throw malformed("format version \(format); this build reads \(Self.serializedFormatVersion)")
        }
        let body = raw.count - 8
        guard XXH64.hash(UnsafeRawBufferPointer(rebasing: raw[..<body])) == loadLE(base, body) as UInt64 else {
            throw malformed("checksum mismatch (the file is truncated or damaged)")
        }
        guard Int(loadLE(base, 8) as UInt32) == dimension, Int(loadLE(base, 12) as UInt32) == configuration.m,
            Int(loadLE(base, 16) as UInt32) == configuration.efConstruction
        else { throw malformed("built with another dimension or configuration") }
        let storedNodes: UInt64 = loadLE(base, 24)
        let storedBlocks: UInt64 = loadLE(base, 32)
        guard storedNodes <= UInt64(prefix.slots), storedBlocks <= storedNodes * UInt64(HNSWGraph.levelMax) else {
            throw malformed("\(storedNodes) slots and \(storedBlocks) blocks, over \(prefix.slots) slots")
        }
        let nodes = Int(storedNodes)
        let links0 = nodes * (1 + 2 * configuration.m)
        let upper = Int(storedBlocks) * (1 + configuration.m)
        guard header + nodes + 4 * (links0 + upper) + 8 == raw.count else {
            throw malformed("\(raw.count) bytes do not hold \(nodes) slots")
        }
        guard prefix.arena.dimension == dimension else { throw malformed("a prefix of another dimension") }
        return try lock.withWriteLock { () throws(VectorError) -> Int in
            guard graph.nodeCount == 0 else { throw VectorError(.invalidConfiguration, "the graph is not empty") }
            var offset = header
            graph.levels.adopt(base + offset, count: nodes)
            offset += nodes
            graph.links0.adopt(base + offset, count: links0)
            offset += 4 * links0
            graph.upperLinks.adopt(base + offset, count: upper)
            graph.ids.removeAll()
            graph.ids.reserve(nodes)
            for slot in 0..<nodes { graph.ids.append(UInt64(slot)) }
            graph.tombstones.removeAll()
            graph.tombstones.append(repeating: 0, count: (nodes + 63) / 64)
            graph.entryPoint = loadLE(base, 20)
            graph.maxLevel = Int(loadLE(base, 40) as UInt8)
            rows.adopt(prefix)
            if let problem = graph.adoptionProblem(upperBlocks: Int(storedBlocks)) {
                graph.empty()
                throw malformed(problem)
            }
            return nodes
        }
    }
}
