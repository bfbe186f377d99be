import AnnalsEvents
public import AnnalsVector

/// One search result: a chunk, its score, and where its text is in the log.
public struct VectorHit: Sendable, Hashable {
    /// The document the chunk belongs to.
    public var documentId: String
    /// The chunk's index within the document, from 0.
    public var chunkIndex: UInt32
    /// The log position of the chunk's `chunk.embedded` event: read the text back from there.
    public var position: UInt64
    /// The dot product of the query with the chunk's vector (the cosine similarity of normalised vectors).
    public var score: Float

    /// Creates a hit.
    public init(documentId: String, chunkIndex: UInt32, position: UInt64, score: Float) {
        self.documentId = documentId
        self.chunkIndex = chunkIndex
        self.position = position
        self.score = score
    }
}

/// A searchable chunk of a document.
public struct VectorChunk: Sendable, Hashable {
    /// The chunk's index within the document, from 0.
    public var chunkIndex: UInt32
    /// The log position of its `chunk.embedded` event.
    public var position: UInt64
    /// The embedder that made its vector.
    public var embedder: String
    /// The vector's dimension.
    public var dimension: Int

    /// Creates a chunk description.
    public init(chunkIndex: UInt32, position: UInt64, embedder: String, dimension: Int) {
        self.chunkIndex = chunkIndex
        self.position = position
        self.embedder = embedder
        self.dimension = dimension
    }
}

/// The vector index: the chunks of each document's completed attempt, searchable per tenant.
///
/// `chunk.embedded` events are buffered per document while their attempt runs; `document.completed` for that
/// attempt replaces the document's previous chunks with the buffered ones, and a failed, abandoned or dead-lettered
/// attempt drops its buffer. Chunk ids are deterministic (the document and the chunk index), so a redone job never
/// leaves duplicates, and a failed attempt's chunks never become searchable. Whether an event belongs to the running
/// attempt is decided by the same `JobStateMachine` the queue and the catalogue run.
///
/// Vectors live in one `AdaptiveIndex` per (tenant, embedder, dimension), keyed by the log position of the chunk
/// event: a search looks only at its tenant's vectors and never compares vectors of different embedders. An index is
/// a flat exact scan below ``exactThreshold`` vectors (by default always: see ``exactThresholdDefault``) and an HNSW
/// graph from then on; the graph is built
/// deterministically (levels from a hash of the id, the switch in ascending id order at the same event), so a replay
/// gives the same graph and the same digest as the run that wrote the log.
public struct VectorsProjection: Projection {
    /// `vectors`.
    public static let name = "vectors"
    /// Version 2: indexes are adaptive (flat, then HNSW) and snapshot as such. A version-1 snapshot is skipped and
    /// the projection rebuilt by replay.
    public static let version: UInt32 = 2

    /// The default number of vectors per index at which it becomes an HNSW graph: never, for now.
    ///
    /// Graphs are built on the apply path: every vector added past the threshold is a graph insertion (about a
    /// millisecond at 384 dimensions), under the engine's write lock. A document of a million chunks then holds the
    /// engine, and every reader, for tens of minutes, and caps ingestion at about a thousand chunks a second. Until
    /// graphs are built off that path, the service keeps exact indexes (exact, and tens of milliseconds per query
    /// at a few hundred thousand vectors); `init(exactThreshold:)` turns graphs on, as the tests do.
    public static let exactThresholdDefault = Int(Int32.max)

    /// The number of vectors at which an index becomes a graph; recorded in snapshots.
    public let exactThreshold: Int
    /// The graphs' construction settings. Part of the projection's definition: changing them changes the graph, so
    /// it takes a new projection version.
    public static let graphConfiguration = HNSWIndex.Configuration(m: 16, efConstruction: 200, efSearch: 64)

    struct IndexKey: Hashable, Comparable {
        var tenant: String
        var embedder: String
        var dimension: Int

        static func < (a: IndexKey, b: IndexKey) -> Bool {
            (a.tenant, a.embedder, a.dimension) < (b.tenant, b.embedder, b.dimension)
        }
    }

    struct PendingChunk {
        var position: UInt64
        var embedder: String
        var vector: [Float]
    }

    struct StoredChunk {
        var chunkIndex: UInt32
        var position: UInt64
        /// The number of the index holding the vector, in `indexKeys` and `indexes`.
        var index: Int32
    }

    struct DocumentState {
        var tenant: String
        var job: JobStateMachine
        /// The running attempt's chunks by chunk index; nil while no attempt runs.
        var pending: [UInt32: PendingChunk]?
        /// The completed attempt's chunks, by chunk index.
        var chunks: [StoredChunk] = []
    }

    private var documents: [String: DocumentState] = [:]
    /// Ids of deleted documents, so that late events cannot bring their chunks back.
    private var tombstones: Set<String> = []
    private var indexKeys: [IndexKey] = []
    private var indexes: [AdaptiveIndex] = []
    /// Derived: the number of each key's index.
    private var indexNumbers: [IndexKey: Int32] = [:]
    /// Derived: each tenant's index numbers.
    private var tenantIndexes: [String: [Int32]] = [:]
    /// Derived: the document and chunk index of every searchable chunk, by position.
    private var chunkRefs: [UInt64: (documentId: String, chunkIndex: UInt32)] = [:]
    /// The number of events that named a document but did not apply (unknown document, stale attempt, duplicate).
    public private(set) var ignoredEvents: UInt64 = 0
    /// The number of `chunk.embedded` events whose vector could not be used (wrong length, NaN, bad dimension).
    public private(set) var malformedChunks: UInt64 = 0

    /// An empty projection with the default threshold.
    public init() { self.init(exactThreshold: Self.exactThresholdDefault) }

    /// An empty projection whose indexes become graphs at `exactThreshold` vectors (tests use a small one).
    public init(exactThreshold: Int) {
        precondition(exactThreshold >= 0, "a negative threshold")
        self.exactThreshold = exactThreshold
    }

    /// The number of searchable chunks.
    public var chunkCount: Int { chunkRefs.count }

    /// The searchable chunks of `documentId`, by chunk index; empty for an unknown, deleted or unprocessed document.
    public func chunks(of documentId: String) -> [VectorChunk] {
        guard let document = documents[documentId] else { return [] }
        return document.chunks.map { chunk in
            let key = indexKeys[Int(chunk.index)]
            return VectorChunk(
                chunkIndex: chunk.chunkIndex, position: chunk.position, embedder: key.embedder,
                dimension: key.dimension)
        }
    }

    /// Filters that leave at most this many chunks are scored chunk by chunk, not by scanning the index.
    static let directScoringChunksMax = 4096

    /// The `k` chunks of `tenant` most similar to `query`, best first (equal scores by ascending position).
    ///
    /// Only vectors of the query's dimension are compared, and only those of `embedder` when given (pass it whenever
    /// more than one embedder has been used: scores of different embedders mean different things). `documentIds`
    /// restricts the search to those documents (of the tenant); an empty set finds nothing.
    ///
    /// `mode` picks the exact scan or the graph for indexes large enough to have one (`auto`: the graph); `efSearch`
    /// widens or narrows a graph search (nil: the configured 64).
    ///
    /// Never throws: the answer is an empty list when `k <= 0`, when the tenant has no vectors of the query's
    /// dimension, when the query is all zeros (no direction), and when it holds NaN or an infinity (the caller
    /// validates queries it takes from clients; an embedder never makes such a vector).
    public func search(
        query: [Float],
        k: Int,
        tenant: String,
        documentIds: Set<String>? = nil,
        embedder: String? = nil,
        mode: AdaptiveIndex.SearchMode = .auto,
        efSearch: Int? = nil
    ) -> [VectorHit] {
        guard query.allSatisfy(\.isFinite), query.contains(where: { $0 != 0 }) else { return [] }
        guard k > 0, let numbers = tenantIndexes[tenant] else { return [] }
        var allowed: Set<UInt64>?
        if let documentIds {
            var chunks: [(position: UInt64, index: Int)] = []
            for id in documentIds {
                guard let document = documents[id], document.tenant == tenant else { continue }
                for chunk in document.chunks { chunks.append((chunk.position, Int(chunk.index))) }
            }
            guard !chunks.isEmpty else { return [] }
            // A selective filter scores its few chunks directly instead of scanning the tenant's whole index.
            if chunks.count <= Self.directScoringChunksMax {
                var scored: [(id: UInt64, score: Float)] = []
                for chunk in chunks {
                    let key = indexKeys[chunk.index]
                    guard key.dimension == query.count, embedder == nil || key.embedder == embedder,
                        let score = indexes[chunk.index].score(id: chunk.position, query: query)
                    else { continue }
                    scored.append((chunk.position, score))
                }
                scored.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                return scored.prefix(k).compactMap { hit in
                    guard let ref = chunkRefs[hit.id] else { return nil }
                    return VectorHit(
                        documentId: ref.documentId, chunkIndex: ref.chunkIndex, position: hit.id, score: hit.score)
                }
            }
            let positions = Set(chunks.map(\.position))
            allowed = positions
        }
        let filter: ((UInt64) -> Bool)? = allowed.map { allowed in { allowed.contains($0) } }
        var merged: [(id: UInt64, score: Float)] = []
        for number in numbers {
            let key = indexKeys[Int(number)]
            guard key.dimension == query.count, embedder == nil || key.embedder == embedder else { continue }
            // Cannot throw: the dimension matches (checked above) and every value is finite (checked on entry).
            merged +=
                (try? indexes[Int(number)].search(
                    query: query, k: k, mode: mode, efSearch: efSearch, filter: filter)) ?? []
        }
        merged.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return merged.prefix(k).compactMap { hit in
            guard let ref = chunkRefs[hit.id] else { return nil }
            return VectorHit(documentId: ref.documentId, chunkIndex: ref.chunkIndex, position: hit.id, score: hit.score)
        }
    }

    // MARK: Applying

    /// Applies the next event.
    public mutating func apply(_ event: ProjectedEvent) {
        switch event.event {
        case .uploadReceived(let upload):
            guard !upload.documentID.isEmpty, documents[upload.documentID] == nil,
                tombstones.isEmpty || !tombstones.contains(upload.documentID)
            else {
                ignoredEvents += 1
                return
            }
            growIfFull(&documents)
            documents[upload.documentID] = DocumentState(
                tenant: upload.tenantID, job: JobStateMachine(enqueuedAt: event.timestamp, position: event.position))
        case .chunkEmbedded(let chunk):
            buffer(chunk, event)
        case .jobStarted(let started):
            guard let index = transition(event, started.documentID) else { return }
            documents.values[index].pending = [:]
        case .jobFailed(let failed):
            guard let index = transition(event, failed.documentID) else { return }
            documents.values[index].pending = nil
        case .jobAbandoned(let abandoned):
            guard let index = transition(event, abandoned.documentID) else { return }
            documents.values[index].pending = nil
        case .jobDeadLettered(let dead):
            guard let index = transition(event, dead.documentID) else { return }
            documents.values[index].pending = nil
        case .jobRequeued(let requeued):
            _ = transition(event, requeued.documentID)
        case .documentCompleted(let completed):
            guard let index = transition(event, completed.documentID) else { return }
            commit(index, chunkCount: completed.chunkCount)
        case .documentDeleted(let deleted):
            guard let index = transition(event, deleted.documentID) else { return }
            replaceChunks(index, with: [])
            documents.remove(at: index)
            tombstones.insert(deleted.documentID)
        case .uploadRejected, .checkpointWritten, .apiKeyCreated, .apiKeyRevoked, .serviceStarted, .serviceStopped:
            break
        }
    }

    /// Runs a job event through the document's machine; returns the document's index when it applied.
    private mutating func transition(_ event: ProjectedEvent, _ documentId: String) -> Dictionary<
        String, DocumentState
    >.Index? {
        guard let index = documents.index(forKey: documentId),
            documents.values[index].job.apply(event) == .applied
        else {
            ignoredEvents += 1
            return nil
        }
        return index
    }

    /// Buffers a chunk of the running attempt; chunks of any other attempt are ignored.
    private mutating func buffer(_ chunk: Annals_Events_V1_ChunkEmbedded, _ event: ProjectedEvent) {
        guard let index = documents.index(forKey: chunk.documentID),
            documents.values[index].job.lease?.attempt == chunk.attempt,
            documents.values[index].pending != nil
        else {
            ignoredEvents += 1
            return
        }
        let vector: [Float]
        do {
            vector = try EmbeddingAttachment.decode(event.attachment, dimension: Int(chunk.dimension))
        } catch {
            malformedChunks += 1
            return
        }
        // A chunk index seen twice in one attempt (a retried append) keeps the later event.
        documents.values[index].pending![chunk.chunkIndex] = PendingChunk(
            position: event.position, embedder: chunk.embedder, vector: vector)
    }

    /// Makes the completed attempt's buffered chunks (indexes below `chunkCount`) the document's searchable ones.
    private mutating func commit(_ index: Dictionary<String, DocumentState>.Index, chunkCount: UInt32) {
        let pending = documents.values[index].pending ?? [:]
        documents.values[index].pending = nil
        let chunks = pending.filter { $0.key < chunkCount }.sorted { $0.key < $1.key }
        replaceChunks(index, with: chunks.map { (chunkIndex: $0.key, chunk: $0.value) })
    }

    private mutating func replaceChunks(
        _ index: Dictionary<String, DocumentState>.Index,
        with chunks: [(chunkIndex: UInt32, chunk: PendingChunk)]
    ) {
        let documentId = documents.keys[index]
        let tenant = documents.values[index].tenant
        for old in documents.values[index].chunks {
            indexes[Int(old.index)].remove(id: old.position)
            chunkRefs[old.position] = nil
        }
        var stored: [StoredChunk] = []
        stored.reserveCapacity(chunks.count)
        for (chunkIndex, chunk) in chunks {
            let number = indexNumber(IndexKey(tenant: tenant, embedder: chunk.embedder, dimension: chunk.vector.count))
            do {
                try indexes[Int(number)].add(id: chunk.position, vector: chunk.vector)
            } catch {
                // Unreachable: the attachment decoder checked the dimension's range and every value.
                malformedChunks += 1
                continue
            }
            chunkRefs[chunk.position] = (documentId, chunkIndex)
            stored.append(StoredChunk(chunkIndex: chunkIndex, position: chunk.position, index: number))
        }
        documents.values[index].chunks = stored
    }

    /// The number of the index for `key`, created empty on first use.
    private mutating func indexNumber(_ key: IndexKey) -> Int32 {
        if let number = indexNumbers[key] { return number }
        let number = Int32(indexes.count)
        // The dimension was checked against the same range by the attachment decoder.
        indexes.append(
            try! AdaptiveIndex(
                dimension: key.dimension, exactThreshold: exactThreshold, configuration: Self.graphConfiguration))
        indexKeys.append(key)
        indexNumbers[key] = number
        tenantIndexes[key.tenant, default: []].append(number)
        return number
    }
}

// MARK: Snapshot

extension VectorsProjection {
    /// The state as canonical bytes: counters, tombstones sorted, the non-empty indexes sorted by key (each in its own
    /// canonical form), then every document sorted by id with its job, buffered chunks and stored chunks.
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 1024)
        writer.u32(Self.version)
        writer.u64(UInt64(exactThreshold))
        writer.u64(ignoredEvents)
        writer.u64(malformedChunks)
        writer.count(tombstones.count)
        for id in tombstones.sorted() { writer.string(id) }
        // Empty indexes are left out: whether one lingers after its last vector went is not part of the state.
        let live = indexKeys.indices.filter { indexes[$0].count > 0 }.sorted { indexKeys[$0] < indexKeys[$1] }
        var ordinal = [Int32](repeating: -1, count: indexes.count)
        writer.count(live.count)
        for (position, number) in live.enumerated() {
            ordinal[number] = Int32(position)
            writer.string(indexKeys[number].tenant)
            writer.string(indexKeys[number].embedder)
            writer.byteArray(indexes[number].serialized())
        }
        writer.count(documents.count)
        for id in documents.keys.sorted() {
            let document = documents[id]!
            writer.string(id)
            writer.string(document.tenant)
            document.job.encode(into: &writer)
            writer.bool(document.pending != nil)
            if let pending = document.pending {
                writer.count(pending.count)
                for (chunkIndex, chunk) in pending.sorted(by: { $0.key < $1.key }) {
                    writer.u32(chunkIndex)
                    writer.u64(chunk.position)
                    writer.string(chunk.embedder)
                    writer.floats(chunk.vector)
                }
            }
            writer.count(document.chunks.count)
            for chunk in document.chunks {
                writer.u32(chunk.chunkIndex)
                writer.u64(chunk.position)
                writer.u32(UInt32(ordinal[Int(chunk.index)]))
            }
        }
        return writer.bytes
    }

    /// Restores an index from `snapshot()` bytes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot` (including a stored chunk
    ///   whose vector is missing from its index).
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        try reader.expectVersion(Self.version)
        let threshold = try reader.u64()
        guard threshold <= UInt64(Int32.max) else { throw reader.malformed("an exact threshold of \(threshold)") }
        exactThreshold = Int(threshold)
        ignoredEvents = try reader.u64()
        malformedChunks = try reader.u64()
        let tombstoneCount = try reader.count(elementBytes: 4)
        for _ in 0..<tombstoneCount { tombstones.insert(try reader.string()) }
        let indexCount = try reader.count(elementBytes: 40)
        for _ in 0..<indexCount {
            let tenant = try reader.string()
            let embedder = try reader.string()
            let bytes = try reader.byteArray()
            let index: AdaptiveIndex
            do {
                index = try AdaptiveIndex(
                    serialized: bytes, exactThreshold: exactThreshold, configuration: Self.graphConfiguration)
            } catch {
                throw reader.malformed("an index: \(error.message)")
            }
            let key = IndexKey(tenant: tenant, embedder: embedder, dimension: index.dimension)
            guard indexNumbers[key] == nil else { throw reader.malformed("index \(key) appears twice") }
            let number = indexNumber(key)
            indexes[Int(number)] = index
        }
        let documentCount = try reader.count(elementBytes: 40)
        documents.reserveCapacity(documentCount)
        for _ in 0..<documentCount {
            let id = try reader.string()
            var document = DocumentState(tenant: try reader.string(), job: try JobStateMachine(from: &reader))
            if try reader.bool() {
                var pending: [UInt32: PendingChunk] = [:]
                let count = try reader.count(elementBytes: 20)
                for _ in 0..<count {
                    let chunkIndex = try reader.u32()
                    pending[chunkIndex] = PendingChunk(
                        position: try reader.u64(), embedder: try reader.string(), vector: try reader.floats())
                }
                document.pending = pending
            }
            let chunkCount = try reader.count(elementBytes: 16)
            for _ in 0..<chunkCount {
                let chunk = StoredChunk(
                    chunkIndex: try reader.u32(), position: try reader.u64(), index: Int32(bitPattern: try reader.u32())
                )
                guard chunk.index >= 0, Int(chunk.index) < indexes.count,
                    indexes[Int(chunk.index)].contains(id: chunk.position),
                    indexKeys[Int(chunk.index)].tenant == document.tenant, chunkRefs[chunk.position] == nil
                else { throw reader.malformed("chunk \(chunk.chunkIndex) of \(id) is not in its index") }
                document.chunks.append(chunk)
                chunkRefs[chunk.position] = (id, chunk.chunkIndex)
            }
            guard documents[id] == nil else { throw reader.malformed("document \(id) appears twice") }
            documents[id] = document
        }
        try reader.finish()
        let indexed = indexes.reduce(0) { $0 + $1.count }
        guard indexed == chunkRefs.count else {
            throw reader.malformed("the indexes hold \(indexed) vectors but \(chunkRefs.count) chunks refer to them")
        }
    }
}
