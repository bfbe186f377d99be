import AnnalsChecksum
import CAnnalsKernels

// The byte format of a serialised `HNSWIndex`, little-endian throughout. N nodes (removed ones included), D values
// per vector, B upper-level link blocks (the sum of the nodes' levels):
//
// | offset | size | field |
// |---|---|---|
// | 0 | 4 | magic `AVHN` |
// | 4 | 4 | format version (1) |
// | 8 | 4 | dimension D |
// | 12 | 4 | m |
// | 16 | 4 | efConstruction |
// | 20 | 4 | efSearch |
// | 24 | 8 | rebuildDeletedFraction, IEEE 754 binary64 |
// | 32 | 1 | quantisation: 0 none, 1 int8 |
// | 33 | 1 | 1 when the int8 scales are learnt (int8 and N ≥ 1,024), else 0 |
// | 34 | 1 | top level of the graph |
// | 35 | 1 | reserved, 0 |
// | 36 | 4 | entry point (internal index), 0xFFFF_FFFF when N = 0 |
// | 40 | 8 | N |
// | 48 | 8 | removed node count |
// | 56 | 8 | B |
// | 64 | 4 × D × N | vectors, IEEE 754 binary32, in internal order |
// | | 8 × N | ids |
// | | N | levels |
// | | 4 × (1 + 2m) × N | level-0 link lists: count, then 2m slots (slots past the count are kept as they are) |
// | | 4 × (1 + m) × B | upper-level link lists, in internal order then level |
// | | 8 × ⌈N / 64⌉ | tombstones, one bit per node |
// | | 4 × D | int8 scales (only when learnt) |
// | | D × N | int8 codes (only when learnt) |
// | end − 8 | 8 | XXH64 (seed 0) of every byte before it |
//
// A snapshot is the graph itself, not its contents: reading it copies the arrays (no insertion), so a restore runs
// at memory speed, and the restored index is bit for bit the one written (same `graphDigest`, same answers).

extension HNSWIndex {
    static let serializedMagic: [UInt8] = Array("AVHN".utf8)
    static let serializedFormatVersion: UInt32 = 1
    static let serializedHeaderBytes = 64
    static let serializedChecksumBytes = 8

    /// The index as one binary snapshot (format above); `init(serialized:)` reads it back.
    public func serialized() -> [UInt8] {
        let graph = graph
        let layout = SnapshotLayout(graph: graph)
        let total = layout.totalBytes
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialised in
            // Sound: the buffer has capacity for `total` bytes, and every section below lies inside the layout's
            // total (the layout computes the offsets from the same counts the copies use).
            let out = UnsafeMutableRawBufferPointer(buffer)
            let base = out.baseAddress!
            out.copyBytes(from: Self.serializedMagic)
            storeLE(Self.serializedFormatVersion, base, 4)
            storeLE(UInt32(dimension), base, 8)
            storeLE(UInt32(configuration.m), base, 12)
            storeLE(UInt32(configuration.efConstruction), base, 16)
            storeLE(UInt32(configuration.efSearch), base, 20)
            storeLE(configuration.rebuildDeletedFraction.bitPattern, base, 24)
            storeLE(UInt8(configuration.quantization == .int8 ? 1 : 0), base, 32)
            storeLE(UInt8(layout.trained ? 1 : 0), base, 33)
            storeLE(UInt8(graph.maxLevel), base, 34)
            storeLE(UInt8(0), base, 35)
            storeLE(graph.entryPoint, base, 36)
            storeLE(UInt64(layout.nodeCount), base, 40)
            storeLE(UInt64(graph.deletedCount), base, 48)
            storeLE(UInt64(layout.upperBlocks), base, 56)
            copyLittleEndian(graph.vectors.base, to: base + layout.vectors, count: layout.valueCount, size: 4)
            copyLittleEndian(graph.ids.base, to: base + layout.ids, count: layout.nodeCount, size: 8)
            copyLittleEndian(graph.levels.base, to: base + layout.levels, count: layout.nodeCount, size: 1)
            copyLittleEndian(graph.links0.base, to: base + layout.links0, count: layout.links0Count, size: 4)
            copyLittleEndian(graph.upperLinks.base, to: base + layout.upperLinks, count: layout.upperCount, size: 4)
            copyLittleEndian(graph.tombstones.base, to: base + layout.tombstones, count: layout.tombstoneWords, size: 8)
            if layout.trained {
                graph.scales.withUnsafeBufferPointer { scales in
                    copyLittleEndian(scales.baseAddress!, to: base + layout.scales, count: dimension, size: 4)
                }
                copyLittleEndian(graph.codes.base, to: base + layout.codes, count: layout.valueCount, size: 1)
            }
            let body = total - Self.serializedChecksumBytes
            storeLE(XXH64.hash(UnsafeRawBufferPointer(rebasing: out[..<body])), base, body)
            initialised = total
        }
    }

    /// Reads an index written by `serialized()`, copying its arrays (no insertion).
    ///
    /// - Throws: `VectorError` with code `.malformedSnapshot` when the bytes are truncated or damaged (the checksum
    ///   differs), have the wrong magic or format version, or describe an impossible graph (a configuration out of
    ///   range, a link to a missing node or to a node without that level, an entry point that is not on the top
    ///   level, a duplicate live id, a NaN or infinite value, an int8 code of -128).
    public init(serialized bytes: [UInt8]) throws(VectorError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(VectorError) -> HNSWIndex in try HNSWIndex(serialized: raw) }
        }
        self = try result.get()
    }

    /// Reads an index written by `serialized()` from memory the caller owns (for example a mapped file); throws as
    /// `init(serialized: [UInt8])`.
    public init(serialized raw: UnsafeRawBufferPointer) throws(VectorError) {
        func malformed(_ what: String) -> VectorError {
            VectorError(.malformedSnapshot, "serialised HNSW index: \(what)")
        }
        let header = Self.serializedHeaderBytes
        guard raw.count >= header + Self.serializedChecksumBytes, let base = raw.baseAddress else {
            throw malformed("\(raw.count) bytes is shorter than the header")
        }
        guard raw[0..<4].elementsEqual(Self.serializedMagic) else { throw malformed("bad magic") }
        let format: UInt32 = loadLE(base, 4)
        guard format == Self.serializedFormatVersion else {
            throw malformed("format version \(format); this build reads \(Self.serializedFormatVersion)")
        }
        let body = raw.count - Self.serializedChecksumBytes
        guard XXH64.hash(UnsafeRawBufferPointer(rebasing: raw[..<body])) == loadLE(base, body) as UInt64 else {
            throw malformed("checksum mismatch (the snapshot is truncated or damaged)")
        }
        let dimension = Int(loadLE(base, 8) as UInt32)
        guard (1...ExactIndex.dimensionMax).contains(dimension) else { throw malformed("dimension \(dimension)") }
        let quantization = loadLE(base, 32) as UInt8
        guard quantization <= 1 else { throw malformed("quantisation \(quantization)") }
        let configuration = Configuration(
            m: Int(loadLE(base, 12) as UInt32), efConstruction: Int(loadLE(base, 16) as UInt32),
            efSearch: Int(loadLE(base, 20) as UInt32),
            rebuildDeletedFraction: Double(bitPattern: loadLE(base, 24)),
            quantization: quantization == 1 ? .int8 : .none)
        do { try configuration.validate() } catch { throw malformed(error.message) }
        let trained = loadLE(base, 33) as UInt8
        let maxLevel = Int(loadLE(base, 34) as UInt8)
        let entryPoint: UInt32 = loadLE(base, 36)
        let storedNodes: UInt64 = loadLE(base, 40)
        let storedDeleted: UInt64 = loadLE(base, 48)
        let storedBlocks: UInt64 = loadLE(base, 56)
        guard loadLE(base, 35) as UInt8 == 0 else { throw malformed("reserved byte is set") }
        // Bound the counts before multiplying, so a damaged count cannot overflow the layout's arithmetic.
        guard storedNodes <= UInt64(Self.countMax), storedBlocks <= storedNodes * UInt64(HNSWGraph.levelMax),
            storedDeleted <= storedNodes, trained <= 1
        else { throw malformed("counts \(storedNodes), \(storedDeleted), \(storedBlocks) are out of range") }
        let nodeCount = Int(storedNodes)
        guard (trained == 1) == (configuration.quantization == .int8 && nodeCount >= Int8Quantization.trainingCount)
        else { throw malformed("int8 scales flag \(trained) does not match \(nodeCount) nodes") }
        let graph = Self.emptyGraph(dimension: dimension, configuration: configuration)
        let layout = SnapshotLayout(
            dimension: dimension, m: configuration.m, nodeCount: nodeCount, upperBlocks: Int(storedBlocks),
            trained: trained == 1)
        guard layout.totalBytes == raw.count else {
            throw malformed("\(raw.count) bytes, expected \(layout.totalBytes) for \(nodeCount) nodes")
        }
        // Sound: the length check above proves that every section lies inside `raw`.
        if let index = graph.vectors.adoptFloats(base + layout.vectors, count: layout.valueCount) {
            throw malformed("value \(index % dimension) of node \(index / dimension) is not finite")
        }
        graph.ids.adopt(base + layout.ids, count: nodeCount)
        graph.levels.adopt(base + layout.levels, count: nodeCount)
        graph.links0.adopt(base + layout.links0, count: layout.links0Count)
        graph.upperLinks.adopt(base + layout.upperLinks, count: layout.upperCount)
        graph.tombstones.adopt(base + layout.tombstones, count: layout.tombstoneWords)
        if layout.trained {
            graph.scales = [Float](unsafeUninitializedCapacity: dimension) { buffer, initialised in
                copyLittleEndian(base + layout.scales, to: buffer.baseAddress!, count: dimension, size: 4)
                initialised = dimension
            }
            graph.codes.adopt(base + layout.codes, count: layout.valueCount)
        }
        graph.deletedCount = Int(storedDeleted)
        graph.entryPoint = entryPoint
        graph.maxLevel = maxLevel
        if let problem = graph.adoptionProblem(upperBlocks: Int(storedBlocks)) { throw malformed(problem) }
        self.init(dimension: dimension, configuration: configuration, graph: graph)
    }

    /// A digest of the graph: vectors, ids, levels, links, tombstones, entry point and counts. Equal for graphs
    /// built by the same additions and removals in the same order, and kept by a snapshot round trip; the
    /// configuration and the int8 codes (which follow from the vectors) are not included.
    public func graphDigest() -> UInt64 {
        let graph = graph
        let layout = SnapshotLayout(graph: graph)
        let sections = [
            XXH64.hash(graph.vectors.initialisedBytes), XXH64.hash(graph.ids.initialisedBytes),
            XXH64.hash(graph.levels.initialisedBytes), XXH64.hash(graph.links0.initialisedBytes),
            XXH64.hash(graph.upperLinks.initialisedBytes), XXH64.hash(graph.tombstones.initialisedBytes),
            UInt64(layout.nodeCount), UInt64(graph.deletedCount), UInt64(graph.entryPoint), UInt64(graph.maxLevel),
        ]
        return sections.map(\.littleEndian).withUnsafeBytes { XXH64.hash($0) }
    }
}

/// The offsets of a snapshot's sections (see the format above).
struct SnapshotLayout {
    let nodeCount: Int
    let upperBlocks: Int
    let trained: Bool
    let valueCount: Int
    let links0Count: Int
    let upperCount: Int
    let tombstoneWords: Int
    let vectors: Int
    let ids: Int
    let levels: Int
    let links0: Int
    let upperLinks: Int
    let tombstones: Int
    let scales: Int
    let codes: Int
    let totalBytes: Int

    init(dimension: Int, m: Int, nodeCount: Int, upperBlocks: Int, trained: Bool) {
        self.nodeCount = nodeCount
        self.upperBlocks = upperBlocks
        self.trained = trained
        valueCount = nodeCount * dimension
        links0Count = nodeCount * (1 + 2 * m)
        upperCount = upperBlocks * (1 + m)
        tombstoneWords = (nodeCount + 63) / 64
        vectors = HNSWIndex.serializedHeaderBytes
        ids = vectors + 4 * valueCount
        levels = ids + 8 * nodeCount
        links0 = levels + nodeCount
        upperLinks = links0 + 4 * links0Count
        tombstones = upperLinks + 4 * upperCount
        scales = tombstones + 8 * tombstoneWords
        codes = scales + (trained ? 4 * dimension : 0)
        totalBytes = codes + (trained ? valueCount : 0) + HNSWIndex.serializedChecksumBytes
    }

    init(graph: HNSWGraph) {
        self.init(
            dimension: graph.dimension, m: graph.m, nodeCount: graph.nodeCount,
            upperBlocks: graph.upperLinks.count / graph.strideUpper, trained: !graph.scales.isEmpty)
    }
}

extension RawArray where Element == Float {
    /// Replaces the contents with `count` little-endian floats copied from `source`; returns the index of the first
    /// NaN or infinity, or nil.
    mutating func adoptFloats(_ source: UnsafeRawPointer, count: Int) -> Int? {
        #if _endian(little)
            removeAll()
            resize(to: count)
            // Sound: the buffer now holds `count` floats; the caller guarantees `source` holds `4 × count` bytes.
            let bad = annals_copy_finite_f32(base, source, count)
            return bad < 0 ? nil : bad
        #else
            adopt(source, count: count)
            return (0..<count).first { !base[$0].isFinite }
        #endif
    }
}

extension RawArray {
    /// Replaces the contents with `count` little-endian elements copied from `source`.
    mutating func adopt(_ source: UnsafeRawPointer, count: Int) {
        removeAll()
        resize(to: count)
        copyLittleEndian(source, to: base, count: count, size: MemoryLayout<Element>.stride)
    }
}

extension HNSWGraph {
    /// Checks the invariants every search relies on after the arrays were copied from a snapshot, and fills in
    /// what is derived from them (upper-level block starts, the id map). Returns a description of the first
    /// problem, or nil.
    ///
    /// The checksum already rejects accidental damage; these checks make sure that even a snapshot with a valid
    /// checksum can never make a search read outside a buffer.
    func adoptionProblem(upperBlocks: Int) -> String? {
        let nodeCount = self.nodeCount
        guard (nodeCount == 0) == (entryPoint == Self.noNode) else { return "entry point \(entryPoint)" }
        if nodeCount > 0 {
            guard Int(entryPoint) < nodeCount, Int(levels[Int(entryPoint)]) == maxLevel else {
                return "entry point \(entryPoint) is not a node of the top level \(maxLevel)"
            }
        }
        // Levels, and the block starts they imply.
        upperStarts.removeAll()
        upperStarts.resize(to: nodeCount)
        var blocks = 0
        for index in 0..<nodeCount {
            let level = Int(levels[index])
            guard level <= maxLevel else { return "node \(index) has level \(level) above the top \(maxLevel)" }
            upperStarts[index] = UInt32(truncatingIfNeeded: blocks)
            blocks += level
        }
        guard blocks == upperBlocks, blocks <= Int(UInt32.max) else {
            return "the levels need \(blocks) upper link blocks, the snapshot has \(upperBlocks)"
        }
        // Links: counts within capacity, targets that exist and have the level.
        let view = self.view()
        for index in 0..<nodeCount {
            let node = UInt32(index)
            for level in 0...Int(levels[index]) {
                let list = view.links(node, level: level)
                let count = Int(list[0])
                guard count <= (level == 0 ? linksMax0 : m) else { return "node \(index) has \(count) links" }
                for i in 0..<count {
                    let target = Int(list[1 + i])
                    guard target < nodeCount, level == 0 || Int(levels[target]) >= level else {
                        return "node \(index) links to \(target) on level \(level)"
                    }
                }
            }
        }
        // Tombstones: the count matches, no bit past the last node.
        var deleted = 0
        for word in 0..<tombstones.count { deleted += tombstones[word].nonzeroBitCount }
        if nodeCount % 64 != 0, tombstones[tombstones.count - 1] >> UInt64(nodeCount % 64) != 0 {
            return "tombstone bits past the last node"
        }
        guard deleted == deletedCount else { return "\(deleted) tombstones, header says \(deletedCount)" }
        // Values (the vectors were checked while copied): every code in -127...127, every scale positive and finite.
        if !scales.isEmpty {
            guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { return "an int8 scale is not positive" }
            for index in 0..<codes.count where codes[index] == -128 { return "int8 code -128 at \(index)" }
        }
        // Ids: unique among the live nodes (a graph over an arena keeps no id map: a node's id is its slot).
        guard external == nil else { return nil }
        nodes.removeAll()
        nodes.reserveCapacity(nodeCount - deletedCount)
        for index in 0..<nodeCount where !view.isDeleted(UInt32(index)) {
            guard nodes.updateValue(UInt32(index), forKey: ids[index]) == nil else {
                return "id \(ids[index]) is live twice"
            }
        }
        return nil
    }
}

/// Copies `count` elements of `size` bytes, converting between the host's byte order and little-endian (the same
/// operation both ways).
func copyLittleEndian(
    _ source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, size: Int
) {
    #if _endian(little)
        destination.copyMemory(from: source, byteCount: count * size)
    #else
        for element in 0..<count {
            for byte in 0..<size {
                destination.storeBytes(
                    of: source.load(fromByteOffset: element * size + size - 1 - byte, as: UInt8.self),
                    toByteOffset: element * size + byte, as: UInt8.self)
            }
        }
    #endif
}

func storeLE<T: FixedWidthInteger>(_ value: T, _ base: UnsafeMutableRawPointer, _ offset: Int) {
    base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
}

func loadLE<T: FixedWidthInteger>(_ base: UnsafeRawPointer, _ offset: Int) -> T {
    T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
}
