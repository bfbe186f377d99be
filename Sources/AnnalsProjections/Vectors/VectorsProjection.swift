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
/// `chunk.embedded` events are collected per document while their attempt runs; `document.completed` for that
/// attempt replaces the document's previous chunks with them, and a failed, abandoned or dead-lettered attempt drops
/// them. Chunk ids are deterministic (the document and the chunk index), so a redone job never leaves duplicates, and
/// a failed attempt's chunks never become searchable. Whether an event belongs to the running attempt is decided by
/// the same `JobStateMachine` the queue and the catalogue run.
///
/// Vectors live in one *space* per (tenant, embedder, dimension): a search looks only at its tenant's vectors and
/// never compares vectors of different embedders. A space keeps its vectors in a `VectorArena`, outside the heap
/// (in an unlinked file for the service: see `VectorArena.Backing`), in slots numbered in the order their events
/// came. Each slot's record (the chunk event's position, the document, the chunk index) lives in a second arena of
/// 16-byte records beside the vectors; the heap holds one byte per slot (its state) and a document's chunks as runs of
/// consecutive slots. A chunk's vector is written to the arena when its event applies, so an attempt's pending
/// chunks take no heap either, and completing an attempt only flips the states of its slots. Slots of failed
/// attempts, replaced chunks and deleted documents are dead; once they are a quarter of a space (and at least
/// ``compactionDeadSlotsMin``), the space is compacted. Every step is a function of the events alone, so a replay
/// lays out the slots exactly as the run that wrote the log did.
///
/// A space is scanned exactly below ``exactThreshold`` live vectors and gets an HNSW graph (`SlotGraph`) from then
/// on. The graph is not part of the state: it is an index over the space's slots in slot order, reading the
/// vectors in the arena, extended off the apply path (`graphWork()`, run by the engine's graph builder) while the
/// events keep applying. A search walks the graph over the slots it holds and scans the slots after them exactly,
/// so it never misses a vector the graph has not reached yet; slot states decide what may be returned (the graph
/// holds pending and dead slots too). A compaction renumbers the slots, so the space gets a new, empty graph.
///
/// The arenas are shared between copies of a projection as long as only one of them appends; a copy that appends
/// after another did first copies its arena (so copies behave as values).
public struct VectorsProjection: Projection {
    /// `vectors`.
    public static let name = "vectors"
    /// Version 4: graphs are no longer part of the state. Snapshots of versions 1 to 3 are skipped and the
    /// projection rebuilt by replay.
    public static let version: UInt32 = 4

    /// The default number of live vectors per space at which it gets an HNSW graph. Below it an exact scan of a
    /// space takes a few milliseconds (384 dimensions, one core); a graph costs about a millisecond of one core per
    /// vector to build and answers in about one.
    public static let exactThresholdDefault = 50_000

    /// A `SlotRecord` is stored as this many 4-byte values of a record arena.
    static let recordFloats = MemoryLayout<SlotRecord>.size / MemoryLayout<Float>.size

    /// A space is compacted when its dead slots are at least this many and at least a quarter of its slots.
    public static let compactionDeadSlotsMin = 1024

    /// The number of live vectors at which a space gets a graph. A setting, not state: a snapshot restores with
    /// any threshold.
    public let exactThreshold: Int
    /// Where new arenas keep their vectors. Not part of the state: a snapshot restores into any backing.
    public let backing: VectorArena.Backing
    /// The graphs' construction settings.
    public static let graphConfiguration = HNSWIndex.Configuration(m: 16, efConstruction: 200, efSearch: 64)

    struct SpaceKey: Hashable {
        var tenant: String
        var embedder: String
        var dimension: Int
    }

    /// A slot's state.
    enum SlotState: UInt8 {
        /// Written by a running attempt, not searchable yet.
        case pending = 0
        /// Searchable.
        case live = 1
        /// Of a failed attempt, replaced or deleted; removed by the next compaction.
        case dead = 2
    }

    /// A chunk's place: its space and slot.
    struct SlotRef: Hashable {
        var space: UInt32
        var slot: UInt32
    }

    /// What a slot holds besides its vector, in the space's record arena (16 bytes, outside the heap).
    struct SlotRecord: BitwiseCopyable {
        var position: UInt64
        var document: UInt32
        var chunkIndex: UInt32
    }

    struct Space {
        var key: SpaceKey
        var arena: VectorArena
        /// Each slot's `SlotRecord`, as 4 "floats" of raw bits: append-only like the vectors.
        var records: VectorArena
        /// The slots this copy owns; the arenas may hold more when another copy appended.
        var slots: Int { states.count }
        var states = PagedColumn<UInt8>()
        var live = 0
        var dead = 0
        /// The space's graph once it has one; shared by copies of the projection (its slots are those of the
        /// vectors, whoever appends them) and replaced by a compaction.
        var graph: SlotGraph?

        init(key: SpaceKey, arena: VectorArena, records: VectorArena) {
            self.key = key
            self.arena = arena
            self.records = records
        }

        func record(_ slot: Int) -> SlotRecord { records.load(slot, as: SlotRecord.self) }
        func position(_ slot: Int) -> UInt64 { record(slot).position }
        func document(_ slot: Int) -> UInt32 { record(slot).document }
        func chunkIndex(_ slot: Int) -> UInt32 { record(slot).chunkIndex }
    }

    struct DocumentState {
        var tenant: String
        var ordinal: UInt32
        var job: JobStateMachine
        /// The running attempt's chunks in event order (a chunk index may repeat: the last wins); nil while no
        /// attempt runs.
        var pending: SlotRuns?
        /// The completed attempt's chunks, by chunk index.
        var chunks = SlotRuns()
    }

    private var documents: [String: DocumentState] = [:]
    /// Every document id ever uploaded, by ordinal (the slot tables refer to documents by ordinal).
    private var documentIds: [String] = []
    /// Ids of deleted documents, so that late events cannot bring their chunks back.
    private var tombstones: Set<String> = []
    private var spaces: [Space] = []
    /// Derived: the number of each key's space.
    private var spaceNumbers: [SpaceKey: UInt32] = [:]
    /// Derived: each tenant's space numbers.
    private var tenantSpaces: [String: [UInt32]] = [:]
    /// The number of events that named a document but did not apply (unknown document, stale attempt, duplicate).
    public private(set) var ignoredEvents: UInt64 = 0
    /// The number of `chunk.embedded` events whose vector could not be used (wrong length, NaN, bad dimension).
    public private(set) var malformedChunks: UInt64 = 0
    /// How many times an arena's file could not grow (disk full) and its vectors moved to anonymous memory. Not part
    /// of the state (the vectors are the same wherever they live); the service exports it so that it is noticed.
    public private(set) var storageFallbacks = 0

    /// An empty projection with the default threshold, its vectors in memory.
    public init() { self.init(exactThreshold: Self.exactThresholdDefault) }

    /// An empty projection whose spaces get graphs at `exactThreshold` live vectors (tests use a small one), and
    /// whose vectors live in `backing`.
    public init(exactThreshold: Int, backing: VectorArena.Backing = .memory) {
        precondition(exactThreshold >= 0, "a negative threshold")
        self.exactThreshold = exactThreshold
        self.backing = backing
    }

    /// An empty projection with the default threshold, its vectors in `backing`.
    public init(backing: VectorArena.Backing) {
        self.init(exactThreshold: Self.exactThresholdDefault, backing: backing)
    }

    /// The number of searchable chunks.
    public var chunkCount: Int { spaces.reduce(0) { $0 + $1.live } }

    /// Segments of the arenas whose bytes are a snapshot file's mapped pages (see `VectorArena.restore`): how much
    /// of the state a restore did not copy.
    public var restoredSegments: Int {
        spaces.reduce(0) { $0 + $1.arena.adoptedSegments + $1.records.adoptedSegments }
    }

    /// The number of vectors held, pending and dead ones included, and their bytes in the arenas.
    public var storedVectors: (count: Int, bytes: Int) {
        spaces.reduce((0, 0)) { total, space in
            (total.0 + space.slots, total.1 + space.slots * space.key.dimension * MemoryLayout<Float>.stride)
        }
    }

    /// Drops the pages of file-backed arenas that reads mapped in (searches, records read while applying) from the
    /// process's resident set; they stay in the page cache. See `VectorArena.releaseMappedPages()`.
    public func releaseMappedPages() {
        for space in spaces {
            space.records.releaseMappedPages()
            space.arena.releaseMappedPages()
        }
    }

    /// What a graph builder has to do: the graphs that hold fewer slots than their space, with the vectors to insert.
    /// Take it with shared access to the projection (the engine's read lock); run it (`GraphTarget.extend`) without
    /// any: it reads only vectors the projection no longer writes.
    public func graphWork() -> [GraphTarget] {
        graphTargets().filter { $0.remaining > 0 }
    }

    /// Every space's graph with the space's vectors and records as they are now: what extending, saving or
    /// restoring it needs (see `GraphTarget`). Take it with shared access to the projection; use it without.
    public func graphTargets() -> [GraphTarget] {
        spaces.compactMap { space in
            guard let graph = space.graph else { return nil }
            return GraphTarget(
                tenant: space.key.tenant, embedder: space.key.embedder, dimension: space.key.dimension, graph: graph,
                vectors: space.arena.prefix(space.slots), records: space.records.prefix(space.slots))
        }
    }

    /// Brings every graph up to its space's slots now, on this thread (tools and tests; the service builds them in
    /// the background).
    public func buildGraphs() {
        for work in graphWork() { work.extend(limit: .max) }
    }

    /// Across spaces with a graph: the slots their graphs hold and the slots they have, and the bytes the graphs
    /// hold (their vectors stay in the arenas).
    public var graphStatus: (graphs: Int, indexedSlots: Int, slots: Int, bytes: Int) {
        spaces.reduce((0, 0, 0, 0)) { total, space in
            guard let graph = space.graph else { return total }
            return (
                total.0 + 1, total.1 + min(graph.count, space.slots), total.2 + space.slots,
                total.3 + graph.memoryBytes
            )
        }
    }

    /// The searchable chunks of `documentId`, by chunk index; empty for an unknown, deleted or unprocessed document.
    public func chunks(of documentId: String) -> [VectorChunk] {
        guard let document = documents[documentId] else { return [] }
        return document.chunks.map { ref in
            let space = spaces[Int(ref.space)]
            return VectorChunk(
                chunkIndex: space.chunkIndex(Int(ref.slot)), position: space.position(Int(ref.slot)),
                embedder: space.key.embedder, dimension: space.key.dimension)
        }
    }

    /// Filters that leave at most this many chunks are scored chunk by chunk, not by scanning the index.
    static let directScoringChunksMax = 4096
    /// The vectors scored per kernel call in a scan: their scores (4 KiB) stay in the L1 cache.
    static let scoreBlockCount = 1024

    /// The `k` chunks of `tenant` most similar to `query`, best first (equal scores by ascending position).
    ///
    /// Only vectors of the query's dimension are compared, and only those of `embedder` when given (pass it whenever
    /// more than one embedder has been used: scores of different embedders mean different things). `documentIds`
    /// restricts the search to those documents (of the tenant); an empty set finds nothing.
    ///
    /// `mode` picks the exact scan or the graph for spaces large enough to have one (`auto`: the graph); `efSearch`
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
        guard k > 0, let numbers = tenantSpaces[tenant] else { return [] }
        func matches(_ number: UInt32) -> Bool {
            let key = spaces[Int(number)].key
            return key.dimension == query.count && (embedder == nil || key.embedder == embedder)
        }
        var allowed: [UInt32: Set<UInt32>]?
        if let documentIds {
            var refs: [SlotRef] = []
            for id in documentIds {
                guard let document = documents[id], document.tenant == tenant else { continue }
                refs += document.chunks.lazy.filter { matches($0.space) }
            }
            guard !refs.isEmpty else { return [] }
            // A selective filter scores its few chunks directly instead of scanning the tenant's whole space.
            if refs.count <= Self.directScoringChunksMax {
                var scored: [(ref: SlotRef, position: UInt64, score: Float)] = []
                query.withUnsafeBufferPointer { probe in
                    for ref in refs {
                        let space = spaces[Int(ref.space)]
                        let score = space.arena.score(Int(ref.slot), query: probe.baseAddress!)
                        guard !score.isNaN else { continue }
                        scored.append((ref, space.position(Int(ref.slot)), score))
                    }
                }
                scored.sort { $0.score > $1.score || ($0.score == $1.score && $0.position < $1.position) }
                return scored.prefix(k).map { hit($0.ref, score: $0.score) }
            }
            allowed = Dictionary(grouping: refs, by: \.space).mapValues { Set($0.map(\.slot)) }
        }
        var merged: [(ref: SlotRef, position: UInt64, score: Float)] = []
        for number in numbers where matches(number) {
            let space = spaces[Int(number)]
            let slotsAllowed = allowed.map { $0[number] ?? [] }
            if slotsAllowed?.isEmpty == true { continue }
            var scanFrom = 0
            if let graph = space.graph, mode != .exact {
                // The graph holds slots of every state, and possibly more slots than this copy of the projection.
                let states = space.states
                let slots = space.slots
                let found = query.withUnsafeBufferPointer { probe in
                    graph.search(query: probe.baseAddress!, k: k, efSearch: efSearch) { slot in
                        slot < slots && states[slot] == SlotState.live.rawValue
                            && (slotsAllowed?.contains(UInt32(slot)) ?? true)
                    }
                }
                for (slot, score) in found.hits {
                    merged.append((SlotRef(space: number, slot: UInt32(slot)), space.position(slot), score))
                }
                // The slots the graph has not reached yet are scanned.
                scanFrom = min(found.indexed, slots)
            }
            for (slot, position, score) in scan(space, query: query, k: k, allowed: slotsAllowed, from: scanFrom) {
                merged.append((SlotRef(space: number, slot: UInt32(slot)), position, score))
            }
        }
        merged.sort { $0.score > $1.score || ($0.score == $1.score && $0.position < $1.position) }
        return merged.prefix(k).map { hit($0.ref, score: $0.score) }
    }

    private func hit(_ ref: SlotRef, score: Float) -> VectorHit {
        let space = spaces[Int(ref.space)]
        let slot = Int(ref.slot)
        return VectorHit(
            documentId: documentIds[Int(space.document(slot))], chunkIndex: space.chunkIndex(slot),
            position: space.position(slot), score: score)
    }

    /// The slot holding `position` in `space`: positions grow with slots, so a binary search finds it.
    private static func slot(of position: UInt64, in space: Space) -> Int? {
        var low = 0
        var high = space.slots
        while low < high {
            let middle = (low + high) / 2
            if space.position(middle) < position { low = middle + 1 } else { high = middle }
        }
        return low < space.slots && space.position(low) == position ? low : nil
    }

    /// The exact top `k` live slots of `space` from slot `from` on (among `allowed` when given), by a block scan of
    /// its arena.
    private func scan(
        _ space: Space, query: [Float], k: Int, allowed: Set<UInt32>?, from: Int = 0
    ) -> [(slot: Int, position: UInt64, score: Float)] {
        guard space.live > 0, from < space.slots else { return [] }
        var top = TopK(k: min(k, space.live))
        let states = space.states
        query.withUnsafeBufferPointer { query in
            // The arena scores slots below `slots`, for which states and positions have entries.
            space.arena.forEachScoreBlock(slots: from..<space.slots, query: query.baseAddress!) { first, scores in
                var threshold = top.threshold
                for offset in 0..<scores.count {
                    let score = scores[offset]
                    if score < threshold { continue }
                    let slot = first + offset
                    guard states[slot] == SlotState.live.rawValue, !score.isNaN else { continue }
                    let position = space.position(slot)
                    guard top.wouldAccept(id: position, score: score) else { continue }
                    if let allowed, !allowed.contains(UInt32(slot)) { continue }
                    top.insert(id: position, score: score)
                    threshold = top.threshold
                }
            }
        }
        // Positions grow with slots, so each hit's slot is found by a binary search.
        return top.sorted().compactMap { hit in
            Self.slot(of: hit.id, in: space).map { ($0, hit.id, hit.score) }
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
                tenant: upload.tenantID, ordinal: UInt32(documentIds.count),
                job: JobStateMachine(enqueuedAt: event.timestamp, position: event.position))
            documentIds.append(upload.documentID)
        case .chunkEmbedded(let chunk):
            collect(chunk, event)
        case .jobStarted(let started):
            guard let index = transition(event, started.documentID) else { return }
            drop(index)
            documents.values[index].pending = SlotRuns()
        case .jobFailed(let failed):
            guard let index = transition(event, failed.documentID) else { return }
            drop(index)
        case .jobAbandoned(let abandoned):
            guard let index = transition(event, abandoned.documentID) else { return }
            drop(index)
        case .jobDeadLettered(let dead):
            guard let index = transition(event, dead.documentID) else { return }
            drop(index)
        case .jobRequeued(let requeued):
            _ = transition(event, requeued.documentID)
        case .documentCompleted(let completed):
            guard let index = transition(event, completed.documentID) else { return }
            commit(index, chunkCount: completed.chunkCount)
        case .documentDeleted(let deleted):
            guard let index = transition(event, deleted.documentID) else { return }
            drop(index)
            let touched = documents.values[index].chunks.spaces
            for ref in documents.values[index].chunks { kill(ref) }
            documents.remove(at: index)
            tombstones.insert(deleted.documentID)
            for number in touched.sorted() { compactIfNeeded(number) }
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

    /// Writes a chunk of the running attempt to its space; chunks of any other attempt are ignored.
    private mutating func collect(_ chunk: Annals_Events_V1_ChunkEmbedded, _ event: ProjectedEvent) {
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
        // Only these two fields are read: a copy of the document would share its pending array, and the append
        // below would then copy that array for every chunk.
        let tenant = documents.values[index].tenant
        let ordinal = documents.values[index].ordinal
        let number = spaceNumber(SpaceKey(tenant: tenant, embedder: chunk.embedder, dimension: vector.count))
        let record = SlotRecord(position: event.position, document: ordinal, chunkIndex: chunk.chunkIndex)
        let slot = append(vector, record, to: number)
        spaces[Int(number)].states.append(SlotState.pending.rawValue)
        documents.values[index].pending!.append(SlotRef(space: number, slot: UInt32(slot)))
    }

    /// Appends `vector` and its record to a space's arenas, first copying them when another copy of the projection
    /// appended to them, and falling back to memory when a file cannot grow (the backing is not part of the state,
    /// so the state stays the same either way). Returns the new slot.
    private mutating func append(_ vector: [Float], _ record: SlotRecord, to number: UInt32) -> Int {
        let slots = spaces[Int(number)].slots
        func store(_ backing: VectorArena.Backing?) throws(VectorError) -> Int {
            let space = spaces[Int(number)]
            if let backing {
                spaces[Int(number)].arena = try space.arena.copy(slots: slots, backing: backing)
                spaces[Int(number)].records = try space.records.copy(slots: slots, backing: backing)
            } else {
                if space.arena.count != slots {
                    spaces[Int(number)].arena = try space.arena.copy(slots: slots, backing: space.arena.backing)
                }
                if space.records.count != slots {
                    spaces[Int(number)].records = try space.records.copy(slots: slots, backing: space.records.backing)
                }
            }
            // A failure between the two appends leaves the vector arena one ahead; the next append copies it back
            // to `slots` first (the count check above), so the slots stay aligned.
            let slot = try spaces[Int(number)].arena.append(vector)
            try withUnsafeBytes(of: record) { raw throws(VectorError) in
                try spaces[Int(number)].records.appendBytes(raw)
            }
            return slot
        }
        do {
            return try store(nil)
        } catch let first {
            do {
                let slot = try store(.memory)
                storageFallbacks += 1
                return slot
            } catch {
                // Anonymous memory could not be mapped either: the process is out of memory.
                fatalError("cannot store a vector in its arena (\(first)) nor in memory (\(error))")
            }
        }
    }

    /// Drops the running attempt's chunks, if any.
    private mutating func drop(_ index: Dictionary<String, DocumentState>.Index) {
        guard let pending = documents.values[index].pending else { return }
        documents.values[index].pending = nil
        for ref in pending { kill(ref) }
        for number in pending.spaces.sorted() { compactIfNeeded(number) }
    }

    /// Makes the completed attempt's chunks (indexes below `chunkCount`, the last event of each) the document's
    /// searchable ones, in place of its previous chunks.
    private mutating func commit(_ index: Dictionary<String, DocumentState>.Index, chunkCount: UInt32) {
        let pending = documents.values[index].pending ?? SlotRuns()
        documents.values[index].pending = nil
        let chosen = Self.completed(pending, chunkCount: chunkCount, spaces: spaces)
        let old = documents.values[index].chunks
        for ref in old { kill(ref) }
        for ref in chosen { revive(ref) }
        // What was not chosen is still pending: a repeated chunk index, or one past the completed count.
        for ref in pending where spaces[Int(ref.space)].states[Int(ref.slot)] == SlotState.pending.rawValue {
            kill(ref)
        }
        documents.values[index].chunks = chosen
        let touched = old.spaces.union(pending.spaces)
        for number in touched.sorted() {
            buildGraphIfDue(number)
            compactIfNeeded(number)
        }
    }

    /// The chunks an attempt completed with: of `pending` (in event order), the last event of each chunk index
    /// below `chunkCount`, by chunk index.
    private static func completed(_ pending: SlotRuns, chunkCount: UInt32, spaces: [Space]) -> SlotRuns {
        func chunkIndex(_ ref: SlotRef) -> UInt32 { spaces[Int(ref.space)].chunkIndex(Int(ref.slot)) }
        // The usual case, chunks in order without repeats, needs no sorting (and no memory beyond the result).
        var ordered = true
        var previous: UInt32?
        for ref in pending {
            let index = chunkIndex(ref)
            if let previous, index <= previous {
                ordered = false
                break
            }
            previous = index
        }
        var chosen = SlotRuns()
        if ordered {
            for ref in pending where chunkIndex(ref) < chunkCount { chosen.append(ref) }
            return chosen
        }
        let keyed = pending.enumerated().map { (order, ref) in
            (chunkIndex: chunkIndex(ref), order: order, ref: ref)
        }.sorted { ($0.chunkIndex, $0.order) < ($1.chunkIndex, $1.order) }
        for (position, item) in keyed.enumerated() {
            let isLastOfIndex = position + 1 == keyed.count || keyed[position + 1].chunkIndex != item.chunkIndex
            if isLastOfIndex && item.chunkIndex < chunkCount { chosen.append(item.ref) }
        }
        return chosen
    }

    /// Makes a pending slot live.
    private mutating func revive(_ ref: SlotRef) {
        let number = Int(ref.space)
        spaces[number].states[Int(ref.slot)] = SlotState.live.rawValue
        spaces[number].live += 1
    }

    /// Makes a slot dead.
    private mutating func kill(_ ref: SlotRef) {
        let number = Int(ref.space)
        let slot = Int(ref.slot)
        let state = spaces[number].states[slot]
        guard state != SlotState.dead.rawValue else { return }
        if state == SlotState.live.rawValue { spaces[number].live -= 1 }
        spaces[number].states[slot] = SlotState.dead.rawValue
        spaces[number].dead += 1
    }

    /// Gives a space an empty graph once its live vectors reach the threshold; `graphWork()` fills it.
    private mutating func buildGraphIfDue(_ number: UInt32) {
        let space = spaces[Int(number)]
        guard space.graph == nil, space.live > 0, space.live >= exactThreshold else { return }
        do {
            spaces[Int(number)].graph = try SlotGraph(
                dimension: space.key.dimension, configuration: Self.graphConfiguration)
        } catch {
            // The configuration is valid and the space's dimension was checked when its first vector applied.
            preconditionFailure("a space's graph cannot be made: \(error)")
        }
    }

    /// Rewrites a space without its dead slots once they are a quarter of it (and at least
    /// `compactionDeadSlotsMin`), renumbering the slots the documents refer to.
    private mutating func compactIfNeeded(_ number: UInt32) {
        let space = spaces[Int(number)]
        guard space.dead >= Self.compactionDeadSlotsMin, space.dead * 4 >= space.slots else { return }
        let arena: VectorArena
        do {
            arena = try VectorArena(dimension: space.key.dimension, backing: space.arena.backing)
        } catch {
            // A file that cannot be created now: compact another time (compaction changes no searchable state).
            return
        }
        let records: VectorArena
        do {
            records = try VectorArena(dimension: Self.recordFloats, backing: space.records.backing)
        } catch {
            return
        }
        var renumbered = [UInt32](repeating: .max, count: space.slots)
        var compacted = Space(key: space.key, arena: arena, records: records)
        do {
            var slot = 0
            while slot < space.slots {
                // Runs of kept slots are copied as one block.
                guard space.states[slot] != SlotState.dead.rawValue else {
                    slot += 1
                    continue
                }
                var end = slot
                while end < space.slots && space.states[end] != SlotState.dead.rawValue { end += 1 }
                for (source, destination) in [(space.arena, arena), (space.records, records)] {
                    try source.forEachRun(slots: slot..<end, runSlotsMax: end - slot) { _, values, n in
                        try destination.appendBytes(
                            UnsafeRawBufferPointer(
                                start: values, count: n * source.dimension * MemoryLayout<Float>.stride))
                    }
                }
                for old in slot..<end {
                    renumbered[old] = UInt32(compacted.slots)
                    compacted.states.append(space.states[old])
                }
                slot = end
            }
        } catch {
            return
        }
        compacted.live = space.live
        // The graph's nodes are the old slots: the compacted space starts a new one.
        spaces[Int(number)] = compacted
        buildGraphIfDue(number)
        for index in documents.indices {
            documents.values[index].chunks.renumber(space: number, renumbered)
            documents.values[index].pending?.renumber(space: number, renumbered)
        }
    }

    /// The number of the space for `key`, created empty on first use.
    private mutating func spaceNumber(_ key: SpaceKey) -> UInt32 {
        if let number = spaceNumbers[key] { return number }
        let number = UInt32(spaces.count)
        func arena(_ dimension: Int) -> VectorArena {
            do {
                return try VectorArena(dimension: dimension, backing: backing)
            } catch {
                // The dimension was checked by the attachment decoder; a file that cannot be created falls back to
                // memory (counted: the service exports it).
                storageFallbacks += 1
                return try! VectorArena(dimension: dimension, backing: .memory)
            }
        }
        spaces.append(Space(key: key, arena: arena(key.dimension), records: arena(Self.recordFloats)))
        spaceNumbers[key] = number
        tenantSpaces[key.tenant, default: []].append(number)
        return number
    }
}

// MARK: Snapshot

extension VectorsProjection {
    /// The state as a payload: a head with everything but the arenas (counters, tombstones sorted, document ids by
    /// ordinal, each space's slot states, every document sorted by id with its runs of slots), then each
    /// space's slot records and vectors, slot after slot. Equal event sequences give equal payloads: slots are laid out by the events alone.
    public func snapshotPayload() -> SnapshotPayload {
        var writer = SnapshotWriter(capacity: 1024 + spaces.reduce(0) { $0 + $1.slots })
        // The head's length goes first; it is patched in at the end rather than copying the head behind it.
        writer.u64(0)
        writer.u32(Self.version)
        writer.u64(ignoredEvents)
        writer.u64(malformedChunks)
        writer.count(tombstones.count)
        for id in tombstones.sorted() { writer.string(id) }
        writer.count(documentIds.count)
        for id in documentIds { writer.string(id) }
        writer.count(spaces.count)
        for space in spaces {
            writer.string(space.key.tenant)
            writer.string(space.key.embedder)
            writer.u32(UInt32(space.key.dimension))
            writer.count(space.slots)
            writer.count(space.live)
            writer.count(space.dead)
            space.states.write(to: &writer)
        }
        writer.count(documents.count)
        for id in documents.keys.sorted() {
            let document = documents[id]!
            writer.string(id)
            writer.u32(document.ordinal)
            writer.string(document.tenant)
            document.job.encode(into: &writer)
            writer.bool(document.pending != nil)
            if let pending = document.pending { Self.write(pending, to: &writer) }
            Self.write(document.chunks, to: &writer)
        }
        writer.patchU64(at: 0, UInt64(writer.bytes.count - 8))
        // Each space's records, then its vectors, streamed from the arenas.
        let tail = spaces.flatMap { [$0.records.prefix($0.slots), $0.arena.prefix($0.slots)] }
        return SnapshotPayload(head: writer.bytes, tail: tail)
    }

    private static func write(_ refs: SlotRuns, to writer: inout SnapshotWriter) {
        writer.count(refs.runs.count)
        for run in refs.runs {
            writer.u32(run.space)
            writer.u32(run.first)
            writer.u32(run.count)
        }
    }

    /// The whole payload in one array.
    public func snapshot() throws -> [UInt8] { try snapshotPayload().bytes() }

    /// The lowercase hex SHA-256 of the payload, read block by block (the vectors are never copied into one array).
    public var digest: String {
        do {
            return try snapshotPayload().sha256Hex()
        } catch {
            // Reading an arena's own file failed: the state cannot be digested, a storage fault, not a state.
            preconditionFailure("projection \(Self.name) cannot read its vectors: \(error)")
        }
    }

    /// Restores a state from `snapshot()` bytes, its vectors in memory.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`.
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        try self.init(snapshot: snapshot, backing: .memory)
    }

    /// Restores a state from `snapshot()` bytes, its vectors in `backing`, its spaces getting graphs at
    /// `exactThreshold` live vectors.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`, `.storage`.
    public init(
        snapshot: [UInt8], backing: VectorArena.Backing, exactThreshold: Int = Self.exactThresholdDefault
    ) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        let headLength = try reader.u64()
        guard headLength <= UInt64(snapshot.count - 8) else {
            throw reader.malformed("a head of \(headLength) bytes in \(snapshot.count)")
        }
        let head = Array(snapshot[8..<(8 + Int(headLength))])
        var offset = 8 + Int(headLength)
        try self.init(head: head, backing: backing, exactThreshold: exactThreshold) {
            (dimension: Int, slots: Int) throws(ProjectionError) in
            let count = slots * dimension * MemoryLayout<Float>.stride
            guard count <= snapshot.count - offset else {
                throw ProjectionError(.malformedSnapshot, "snapshot of vectors: the vectors end early")
            }
            let arena = snapshot.withUnsafeBytes { raw in
                Result { () throws(ProjectionError) in
                    try Self.restoredArena(
                        dimension: dimension, slots: slots, backing: backing,
                        bytes: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)]), mapping: nil)
                }
            }
            offset += count
            return try arena.get()
        }
        guard offset == snapshot.count else {
            throw ProjectionError(
                .malformedSnapshot, "snapshot of vectors: \(snapshot.count - offset) bytes after the end")
        }
    }

    /// An arena restored from a snapshot's bytes (see `VectorArena.restore`), with its errors as `ProjectionError`.
    public static func restoredArena(
        dimension: Int, slots: Int, backing: VectorArena.Backing, bytes: UnsafeRawBufferPointer,
        mapping: MappedFile?
    ) throws(ProjectionError) -> VectorArena {
        do throws(VectorError) {
            return try VectorArena.restore(
                dimension: dimension, slots: slots, backing: backing, bytes: bytes, mapping: mapping)
        } catch {
            throw ProjectionError(
                error.code == .storage ? .storage : .malformedSnapshot, "snapshot of vectors: \(error.message)")
        }
    }

    /// Restores a state from its head (the payload's first bytes, after the length) and the arenas that follow it:
    /// `arenas(dimension, slots)` returns the next one in payload order (each space's records, then its vectors),
    /// restored from exactly `slots × dimension × 4` bytes (`restoredArena`).
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`, `.storage`; what `arenas`
    ///   throws.
    public init(
        head: [UInt8], backing: VectorArena.Backing, exactThreshold: Int = Self.exactThresholdDefault,
        arenas: (_ dimension: Int, _ slots: Int) throws(ProjectionError) -> VectorArena
    ) throws(ProjectionError) {
        precondition(exactThreshold >= 0, "a negative threshold")
        var reader = SnapshotReader(head, projection: Self.name)
        try reader.expectVersion(Self.version)
        self.exactThreshold = exactThreshold
        self.backing = backing
        ignoredEvents = try reader.u64()
        malformedChunks = try reader.u64()
        for _ in 0..<(try reader.count(elementBytes: 4)) { tombstones.insert(try reader.string()) }
        let idCount = try reader.count(elementBytes: 4)
        documentIds.reserveCapacity(idCount)
        for _ in 0..<idCount { documentIds.append(try reader.string()) }
        for _ in 0..<(try reader.count(elementBytes: 40)) {
            let tenant = try reader.string()
            let embedder = try reader.string()
            let dimension = Int(try reader.u32())
            let slots = try reader.count(elementBytes: 1)
            let live = try reader.count(elementBytes: 0)
            let dead = try reader.count(elementBytes: 0)
            let key = SpaceKey(tenant: tenant, embedder: embedder, dimension: dimension)
            guard spaceNumbers[key] == nil else { throw reader.malformed("space \(key) appears twice") }
            // Placeholders (anonymous arenas map nothing until written), replaced by the restored ones below.
            let placeholder: (Int) throws(ProjectionError) -> VectorArena = { dimension throws(ProjectionError) in
                do throws(VectorError) {
                    return try VectorArena(dimension: dimension, backing: .memory)
                } catch {
                    throw reader.malformed(error.message)
                }
            }
            var space = Space(key: key, arena: try placeholder(dimension), records: try placeholder(Self.recordFloats))
            space.states = try PagedColumn.read(slots, from: &reader)
            space.live = live
            space.dead = dead
            var counted = [0, 0, 0, 0]
            space.states.forEach { counted[Int(min($0, 3))] += 1 }
            guard counted[3] == 0, counted[1] == live, counted[2] == dead else {
                throw reader.malformed("the slot states of space \(key) are inconsistent")
            }
            spaceNumbers[key] = UInt32(spaces.count)
            tenantSpaces[tenant, default: []].append(UInt32(spaces.count))
            spaces.append(space)
        }
        var referenced = 0
        let documentCount = try reader.count(elementBytes: 40)
        documents.reserveCapacity(documentCount)
        for _ in 0..<documentCount {
            let id = try reader.string()
            let ordinal = try reader.u32()
            var document = DocumentState(
                tenant: try reader.string(), ordinal: ordinal, job: try JobStateMachine(from: &reader))
            guard Int(ordinal) < documentIds.count, documentIds[Int(ordinal)] == id, documents[id] == nil else {
                throw reader.malformed("document \(id) has a wrong ordinal or appears twice")
            }
            if try reader.bool() {
                document.pending = try Self.readRefs(&reader, spaces, ordinal: ordinal, state: .pending)
            }
            document.chunks = try Self.readRefs(&reader, spaces, ordinal: ordinal, state: .live)
            referenced += document.chunks.count
            documents[id] = document
        }
        try reader.finish()
        guard referenced == spaces.reduce(0, { $0 + $1.live }) else {
            throw reader.malformed("\(referenced) chunks refer to the spaces' live vectors")
        }
        for index in spaces.indices {
            let key = spaces[index].key
            let slots = spaces[index].slots
            spaces[index].records = try arenas(Self.recordFloats, slots)
            spaces[index].arena = try arenas(key.dimension, slots)
            let space = spaces[index]
            for arena in [space.records, space.arena] {
                guard arena.count == slots, arena.partialBytes == 0 else {
                    throw ProjectionError(.malformedSnapshot, "snapshot of vectors: space \(key) is missing vectors")
                }
            }
            // The records, now loaded: positions ascending, documents known.
            var previous: UInt64?
            for slot in 0..<space.slots {
                let record = space.record(slot)
                guard previous.map({ record.position > $0 }) ?? true, Int(record.document) < documentIds.count else {
                    throw ProjectionError(
                        .malformedSnapshot,
                        "snapshot of vectors: the slot records of space \(space.key) are inconsistent")
                }
                previous = record.position
            }
        }
        // Every run of a document holds slots of that document.
        for document in documents.values {
            for runs in [document.pending ?? SlotRuns(), document.chunks] {
                for ref in runs where spaces[Int(ref.space)].document(Int(ref.slot)) != document.ordinal {
                    throw ProjectionError(
                        .malformedSnapshot, "snapshot of vectors: a chunk refers to a slot that is not its document's")
                }
            }
        }
        // Graphs are not in snapshots: the spaces large enough get empty ones, which the graph builder fills.
        for number in spaces.indices { buildGraphIfDue(UInt32(number)) }
    }

    private static func readRefs(
        _ reader: inout SnapshotReader, _ spaces: [Space], ordinal: UInt32, state: SlotState
    ) throws(ProjectionError) -> SlotRuns {
        var runs: [SlotRuns.Run] = []
        for _ in 0..<(try reader.count(elementBytes: 12)) {
            let run = SlotRuns.Run(space: try reader.u32(), first: try reader.u32(), count: try reader.u32())
            guard Int(run.space) < spaces.count, run.count > 0,
                Int(run.first) + Int(run.count) <= spaces[Int(run.space)].slots
            else { throw reader.malformed("a chunk refers to a slot that is not its document's") }
            let space = spaces[Int(run.space)]
            for slot in Int(run.first)..<(Int(run.first) + Int(run.count)) {
                guard space.states[slot] == state.rawValue else {
                    throw reader.malformed("a chunk refers to a slot that is not its document's")
                }
            }
            runs.append(run)
        }
        return SlotRuns(runs: runs)
    }
}
