import AnnalsChecksum
public import AnnalsVector

/// One space's graph, with the space's vectors and slot records as they were when it was taken: what extending the
/// graph (the graph builder), saving it to a file or restoring it from one needs (`VectorsProjection.graphTargets()`,
/// `GraphFiles`).
///
/// A saved graph is valid for a space exactly when the space's first N slots still hold the vectors it was built
/// on. Within one log, slots only change by compaction, which renumbers them: a space whose slot N − 1 holds the
/// chunk of the same log position holds the same first N slots (positions grow with slots, and a compaction that
/// removed any slot before it would have moved another chunk there). Against a file from another data directory,
/// whose positions may match by chance, the file also records a fingerprint: an XXH64 over the records and vectors
/// of 65 slots spread over the N.
///
/// File format, little-endian: magic `ANNALSVG`, format version (u32, 1), tenant and embedder (u32 length, UTF-8),
/// dimension (u32), N (u64), the position of slot N − 1 (u64), the fingerprint (u64), the graph
/// (`SlotGraph.serialized`, with its own checksum), and an XXH64 of every byte before it.
public struct GraphTarget: Sendable {
    /// The space's tenant.
    public let tenant: String
    /// The space's embedder.
    public let embedder: String
    /// The space's dimension.
    public let dimension: Int
    /// The graph.
    public let graph: SlotGraph
    let vectors: VectorArena.Prefix
    let records: VectorArena.Prefix

    /// The slots the graph lacks of those taken.
    public var remaining: Int { max(0, vectors.slots - graph.count) }

    /// Inserts up to `limit` of the slots the graph lacks; returns how many it inserted.
    @discardableResult
    public func extend(limit: Int) -> Int { graph.extend(from: vectors, limit: limit) }

    static let magic = Array("ANNALSVG".utf8)
    static let formatVersion: UInt32 = 1

    /// The file name of the space's graph: a hash of the space's key, so that any tenant or embedder name is safe.
    public var fileName: String {
        let key = Array(tenant.utf8) + [0] + Array(embedder.utf8) + [0] + Array(String(dimension).utf8)
        let hash = key.withUnsafeBytes { XXH64.hash($0) }
        let hex = String(hash, radix: 16)
        return "space-" + String(repeating: "0", count: 16 - hex.count) + hex + ".graph"
    }

    /// The file's bytes; nil when the graph holds no slot, or more slots than this target's records (the builder
    /// went on after the target was taken: the next save gets it).
    public func encoded() -> [UInt8]? {
        guard let (graph, nodes) = graph.serialized(slotsMax: records.slots), nodes > 0 else { return nil }
        var writer = SnapshotWriter(capacity: graph.count + 128)
        for byte in Self.magic { writer.u8(byte) }
        writer.u32(Self.formatVersion)
        writer.string(tenant)
        writer.string(embedder)
        writer.u32(UInt32(dimension))
        writer.u64(UInt64(nodes))
        writer.u64(records.load(nodes - 1, as: VectorsProjection.SlotRecord.self).position)
        writer.u64(fingerprint(nodes))
        var bytes = writer.bytes + graph
        let checksum = bytes.withUnsafeBytes { XXH64.hash($0) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// An XXH64 over the records and vectors of 65 slots spread over the first `nodes` (see the type's comment).
    func fingerprint(_ nodes: Int) -> UInt64 {
        var sampled: [UInt8] = []
        var seen = Set<Int>()
        for step in 0...64 {
            let slot = (nodes - 1) * step / 64
            guard seen.insert(slot).inserted else { continue }
            records.withBytes(of: slot) { sampled.append(contentsOf: $0) }
            vectors.withBytes(of: slot) { sampled.append(contentsOf: $0) }
        }
        return sampled.withUnsafeBytes { XXH64.hash($0) }
    }

    /// Fills the (empty) graph from a file's bytes; returns the slots it holds.
    ///
    /// - Throws: `ProjectionError` with code `.malformedSnapshot` when the bytes are damaged, of another format or
    ///   space, or were built on other vectors (a compaction since, or slots this space does not have yet); the
    ///   graph stays empty and the builder builds it.
    @discardableResult
    public func restore(from bytes: [UInt8]) throws(ProjectionError) -> Int {
        var reader = SnapshotReader(bytes, projection: "vectors graph")
        guard bytes.count > 8 + Self.magic.count else { throw reader.malformed("\(bytes.count) bytes") }
        let body = bytes.count - 8
        let stored = bytes.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt64.self))
        }
        guard bytes.withUnsafeBytes({ XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[..<body])) }) == stored else {
            throw reader.malformed("checksum mismatch (the file is truncated or damaged)")
        }
        for byte in Self.magic where try reader.u8() != byte { throw reader.malformed("not a graph file") }
        let format = try reader.u32()
        guard format == Self.formatVersion else { throw reader.malformed("format version \(format)") }
        let storedTenant = try reader.string()
        let storedEmbedder = try reader.string()
        let storedDimension = Int(try reader.u32())
        guard storedTenant == tenant, storedEmbedder == embedder, storedDimension == dimension else {
            throw reader.malformed("the graph of another space")
        }
        let nodes = try reader.u64()
        let position = try reader.u64()
        let print = try reader.u64()
        guard nodes > 0, nodes <= UInt64(records.slots),
            records.load(Int(nodes) - 1, as: VectorsProjection.SlotRecord.self).position == position,
            fingerprint(Int(nodes)) == print
        else {
            throw reader.malformed("built on other vectors (\(nodes) slots to position \(position))")
        }
        let start = reader.consumed
        let restored = bytes.withUnsafeBytes { raw in
            Result { () throws(VectorError) in
                try graph.restore(serialized: UnsafeRawBufferPointer(rebasing: raw[start..<body]), from: vectors)
            }
        }
        do throws(VectorError) {
            return try restored.get()
        } catch {
            throw reader.malformed(error.message)
        }
    }
}
