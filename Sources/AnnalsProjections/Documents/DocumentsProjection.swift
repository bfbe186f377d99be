import AnnalsEvents

/// The document catalogue: every document's metadata and status, by id, by tenant and by content.
///
/// Status follows `JobStateMachine` (the same machine the queue runs, so the two always agree). Events of unknown
/// documents, duplicates and stale attempts are ignored and counted in `ignoredEvents`.
public struct DocumentsProjection: Projection {
    /// `documents`.
    public static let name = "documents"
    /// Version 2 (documents in upload order in snapshots; version 1 sorted them by id).
    public static let version: UInt32 = 2

    /// A tenant and the SHA-256 of some content: the key of content deduplication. Both parts carry their hash
    /// (`HashedKey`), for the same reason the tables of ids do.
    struct ContentKey: Hashable {
        let tenant: HashedKey
        let sha256: HashedKey

        init(tenant: String, sha256: String) {
            self.tenant = HashedKey(tenant)
            self.sha256 = HashedKey(sha256)
        }

        /// Both carried hashes mixed with the table's seed, without a `Hasher` (see `HashedKey._rawHashValue`).
        func _rawHashValue(seed: Int) -> Int {
            let sha = sha256.carriedHash
            return HashedKey.mix(
                tenant.carriedHash ^ (sha << 31 | sha >> 33) ^ UInt64(UInt(bitPattern: seed)))
        }
    }

    /// Every document, refused uploads and deleted documents included, in upload order (ascending position).
    ///
    /// A dense array with an index by id rather than a dictionary of documents: a document is a few hundred bytes,
    /// and a dictionary moves every value each time it grows; here growing moves only ids and slot numbers.
    private var storage: [DocumentInfo] = []
    /// The slot of each document in `storage`.
    private var slotOf: [HashedKey: Int32] = [:]
    /// Each tenant's slots, in upload order. Derived: rebuilt on restore.
    private var byTenant: [String: [Int32]] = [:]
    /// The oldest live document with some content for one tenant. Derived: rebuilt on restore.
    private var byContent: [ContentKey: Int32] = [:]
    /// The younger live documents with the same content as the one in `byContent`, oldest first; kept apart so that
    /// the common case (content seen once) costs no array. Derived: rebuilt on restore.
    private var moreByContent: [ContentKey: [Int32]] = [:]
    /// The number of events that named a document but did not apply (unknown document, stale attempt, duplicate).
    public private(set) var ignoredEvents: UInt64 = 0

    /// An empty catalogue.
    public init() {}

    /// The number of documents known, refused uploads and deleted documents included.
    public var count: Int { storage.count }

    /// Whether no document was ever uploaded or refused.
    public var isEmpty: Bool { storage.isEmpty }

    /// The document `id`, whatever its status (deleted and refused included: the caller decides what to show).
    public func document(id: String) -> DocumentInfo? { slotOf[HashedKey(id)].map { storage[Int($0)] } }

    /// The oldest live document of `tenant` whose stored bytes have this SHA-256: an upload of the same content can
    /// answer with it instead of storing a second copy. Deleted documents and refused uploads never match; a dead one
    /// does (the caller may requeue it rather than store the bytes again).
    public func documentId(tenant: String, sha256: String) -> String? {
        byContent[ContentKey(tenant: tenant, sha256: sha256)].map { storage[Int($0)].id }
    }

    /// Up to `limit` documents of `tenant`, in upload order, starting after the document at log position `after`
    /// (a cursor: pass the last `position` of the previous page), with a status in `statuses` (every status but
    /// `deleted` when nil).
    public func documents(
        tenant: String,
        after: UInt64 = 0,
        limit: Int,
        statuses: Set<DocumentStatus>? = nil
    ) -> [DocumentInfo] {
        guard limit > 0, let slots = byTenant[tenant] else { return [] }
        // Slots are in ascending position: binary-search the first one after the cursor.
        var low = 0
        var high = slots.count
        while low < high {
            let middle = (low + high) / 2
            if storage[Int(slots[middle])].position <= after { low = middle + 1 } else { high = middle }
        }
        var page: [DocumentInfo] = []
        for slot in slots[low...] {
            let document = storage[Int(slot)]
            let status = document.status
            if let statuses {
                guard statuses.contains(status) else { continue }
            } else if status == .deleted {
                continue
            }
            page.append(document)
            if page.count == limit { break }
        }
        return page
    }

    /// The number of documents of `tenant` in each status.
    public func statusCounts(tenant: String) -> [DocumentStatus: Int] {
        var counts: [DocumentStatus: Int] = [:]
        for slot in byTenant[tenant] ?? [] { counts[storage[Int(slot)].status, default: 0] += 1 }
        return counts
    }

    /// Applies the next event.
    public mutating func apply(_ event: ProjectedEvent) {
        switch event.event {
        case .uploadReceived(let upload):
            let slot = Int32(storage.count)
            guard !upload.documentID.isEmpty, insertIfAbsent(&slotOf, HashedKey(upload.documentID), { slot })
            else {
                ignoredEvents += 1
                return
            }
            let document = DocumentInfo(
                id: upload.documentID, tenantId: upload.tenantID, filename: upload.filename,
                contentType: upload.detectedContentType, declaredContentType: upload.declaredContentType,
                contentEncoding: upload.contentEncoding, size: upload.sizeBytes, sha256: upload.sha256,
                blobKey: upload.blobKey, apiKeyId: upload.apiKeyID, idempotencyKey: upload.idempotencyKey,
                chunkCount: 0, extractedChars: 0, pageCount: nil, createdAt: event.timestamp,
                updatedAt: event.timestamp, completedAt: nil, position: event.position,
                job: JobStateMachine(enqueuedAt: event.timestamp, position: event.position), rejection: nil)
            insert(document)
        case .uploadRejected(let rejected):
            let slot = Int32(storage.count)
            guard !rejected.documentID.isEmpty, insertIfAbsent(&slotOf, HashedKey(rejected.documentID), { slot })
            else {
                ignoredEvents += 1
                return
            }
            let document = DocumentInfo(
                id: rejected.documentID, tenantId: rejected.tenantID, filename: rejected.filename,
                contentType: rejected.detectedContentType, declaredContentType: rejected.declaredContentType,
                contentEncoding: "", size: rejected.sizeBytes, sha256: "", blobKey: "", apiKeyId: rejected.apiKeyID,
                idempotencyKey: rejected.idempotencyKey, chunkCount: 0, extractedChars: 0, pageCount: nil,
                createdAt: event.timestamp, updatedAt: event.timestamp, completedAt: nil, position: event.position,
                job: nil, rejection: JobFailure(rejected, at: event.timestamp))
            insert(document)
        case .jobStarted(let started): applyJobEvent(event, to: started.documentID)
        case .jobFailed(let failed): applyJobEvent(event, to: failed.documentID)
        case .jobDeadLettered(let dead): applyJobEvent(event, to: dead.documentID)
        case .jobAbandoned(let abandoned): applyJobEvent(event, to: abandoned.documentID)
        case .jobRequeued(let requeued): applyJobEvent(event, to: requeued.documentID)
        case .documentCompleted(let completed):
            guard let slot = applyJobEvent(event, to: completed.documentID) else { return }
            storage[slot].chunkCount = completed.chunkCount
            storage[slot].extractedChars = completed.extractedChars
            storage[slot].pageCount = completed.hasPageCount ? completed.pageCount : nil
            storage[slot].completedAt = event.timestamp
        case .documentDeleted(let deleted):
            guard let slot = applyJobEvent(event, to: deleted.documentID) else { return }
            removeFromContent(Int32(slot))
        case .chunkEmbedded, .checkpointWritten, .apiKeyCreated, .apiKeyRevoked, .serviceStarted, .serviceStopped:
            break
        }
    }

    /// Runs a job event through the document's machine; returns the document's slot when it applied.
    @discardableResult
    private mutating func applyJobEvent(_ event: ProjectedEvent, to documentId: String) -> Int? {
        guard let slot = slotOf[HashedKey(documentId)].map(Int.init), storage[slot].updateJob(event) == .applied else {
            ignoredEvents += 1
            return nil
        }
        return slot
    }

    /// Adds a new document to the catalogue and to the derived indexes; `slotOf` already maps its id to the next
    /// slot.
    private mutating func insert(_ document: DocumentInfo) {
        let slot = Int32(storage.count)
        storage.append(document)
        byTenant[document.tenantId, default: []].append(slot)
        if document.job != nil, !document.sha256.isEmpty {
            let key = ContentKey(tenant: document.tenantId, sha256: document.sha256)
            if !insertIfAbsent(&byContent, key, { slot }) { moreByContent[key, default: []].append(slot) }
        }
    }

    private mutating func removeFromContent(_ slot: Int32) {
        let document = storage[Int(slot)]
        let key = ContentKey(tenant: document.tenantId, sha256: document.sha256)
        var more = moreByContent.removeValue(forKey: key) ?? []
        if byContent[key] == slot {
            byContent[key] = more.isEmpty ? nil : more.removeFirst()
        } else {
            more.removeAll { $0 == slot }
        }
        if !more.isEmpty { moreByContent[key] = more }
    }
}

extension DocumentInfo {
    /// Runs a job event through the document's machine, stamping `updatedAt` when it applies. A refused upload has
    /// no job, so every job event is ignored for it.
    fileprivate mutating func updateJob(_ event: ProjectedEvent) -> JobStateMachine.Transition {
        guard job != nil, job!.apply(event) == .applied else { return .ignored }
        updatedAt = event.timestamp
        return .applied
    }
}

// MARK: Snapshot

extension DocumentsProjection {
    /// The state as canonical bytes: the version, the ignored-event count, then every document in upload order
    /// (ascending position, the order `storage` keeps: the same after any replay, and the order a restore inserts
    /// them in, so restoring sorts nothing).
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 64 + storage.count * 320)
        writer.u32(Self.version)
        writer.u64(ignoredEvents)
        writer.count(storage.count)
        for document in storage {
            writer.string(document.id)
            writer.string(document.tenantId)
            writer.string(document.filename)
            writer.string(document.contentType)
            writer.string(document.declaredContentType)
            writer.string(document.contentEncoding)
            writer.u64(document.size)
            writer.string(document.sha256)
            writer.string(document.blobKey)
            writer.string(document.apiKeyId)
            writer.string(document.idempotencyKey)
            writer.u32(document.chunkCount)
            writer.u64(document.extractedChars)
            writer.optionalU32(document.pageCount)
            writer.i64(document.createdAt)
            writer.i64(document.updatedAt)
            writer.optionalI64(document.completedAt)
            writer.u64(document.position)
            writer.bool(document.job != nil)
            document.job?.encode(into: &writer)
            writer.bool(document.rejection != nil)
            document.rejection?.encode(into: &writer)
        }
        return writer.bytes
    }

    /// Restores a catalogue from `snapshot()` bytes, rebuilding the per-tenant and per-content indexes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`.
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        try reader.expectVersion(Self.version)
        ignoredEvents = try reader.u64()
        let count = try reader.count(elementBytes: 100)
        storage.reserveCapacity(count)
        slotOf.reserveCapacity(count)
        byContent.reserveCapacity(count)
        // Inserted as they are decoded (no second array of documents), in upload order, as the live projection
        // inserted them, so the derived lists come out in the same order.
        var previous: UInt64 = 0
        for _ in 0..<count {
            let document = DocumentInfo(
                id: try reader.string(), tenantId: try reader.string(), filename: try reader.string(),
                contentType: try reader.string(), declaredContentType: try reader.string(),
                contentEncoding: try reader.string(), size: try reader.u64(), sha256: try reader.string(),
                blobKey: try reader.string(), apiKeyId: try reader.string(), idempotencyKey: try reader.string(),
                chunkCount: try reader.u32(), extractedChars: try reader.u64(), pageCount: try reader.optionalU32(),
                createdAt: try reader.i64(), updatedAt: try reader.i64(), completedAt: try reader.optionalI64(),
                position: try reader.u64(),
                job: try reader.bool() ? try JobStateMachine(from: &reader) : nil,
                rejection: try reader.bool() ? try JobFailure(from: &reader) : nil)
            guard document.position > previous else {
                throw reader.malformed("document \(document.id) is out of upload order")
            }
            previous = document.position
            let slot = Int32(storage.count)
            guard insertIfAbsent(&slotOf, HashedKey(document.id), { slot }) else {
                throw reader.malformed("document \(document.id) appears twice")
            }
            insert(document)
            if document.status == .deleted { removeFromContent(Int32(storage.count - 1)) }
        }
        try reader.finish()
    }
}
