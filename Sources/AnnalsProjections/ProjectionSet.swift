public import AnnalsVector

/// Every projection at one log position: what the engine maintains, the checkpointer snapshots and recovery restores.
public struct ProjectionSet: Sendable {
    /// The document catalogue.
    public var documents: DocumentsProjection
    /// The job queue.
    public var queue: QueueProjection
    /// The vector index.
    public var vectors: VectorsProjection
    /// The metrics.
    public var metrics: MetricsProjection
    /// The API keys.
    public var keys: KeysProjection
    /// The position of the last event applied (or skipped as undecodable); 0 before any.
    public var appliedPosition: UInt64

    /// The names of the projections, in the order snapshots are written.
    public static let projectionNames: [String] = [
        DocumentsProjection.name, QueueProjection.name, VectorsProjection.name, MetricsProjection.name,
        KeysProjection.name,
    ]

    /// The versions of the projections' logic in this build, by name.
    public static let projectionVersions: [String: UInt32] = [
        DocumentsProjection.name: DocumentsProjection.version, QueueProjection.name: QueueProjection.version,
        VectorsProjection.name: VectorsProjection.version, MetricsProjection.name: MetricsProjection.version,
        KeysProjection.name: KeysProjection.version,
    ]

    /// Every projection empty, at position 0, with the vectors in memory.
    public init() { self.init(vectorBacking: .memory) }

    /// Every projection empty, at position 0, with the vectors in `vectorBacking` and graphs for spaces of
    /// `vectorGraphThreshold` live vectors.
    public init(
        vectorBacking: VectorArena.Backing, vectorGraphThreshold: Int = VectorsProjection.exactThresholdDefault
    ) {
        self.init(
            documents: DocumentsProjection(), queue: QueueProjection(),
            vectors: VectorsProjection(exactThreshold: vectorGraphThreshold, backing: vectorBacking),
            metrics: MetricsProjection(), keys: KeysProjection(), appliedPosition: 0)
    }

    /// A set from restored projections.
    public init(
        documents: DocumentsProjection, queue: QueueProjection, vectors: VectorsProjection,
        metrics: MetricsProjection, keys: KeysProjection, appliedPosition: UInt64
    ) {
        self.documents = documents
        self.queue = queue
        self.vectors = vectors
        self.metrics = metrics
        self.keys = keys
        self.appliedPosition = appliedPosition
    }

    /// Applies `event` to every projection and records its position.
    ///
    /// Events must come in log order: positions at or below `appliedPosition` are ignored, so that applying a batch
    /// twice cannot count anything twice.
    public mutating func apply(_ event: ProjectedEvent) {
        guard event.position > appliedPosition else { return }
        documents.apply(event)
        queue.apply(event)
        vectors.apply(event)
        metrics.apply(event)
        keys.apply(event)
        appliedPosition = event.position
    }

    /// Moves `appliedPosition` past an event no projection could read (an unknown type from a newer writer).
    public mutating func skip(to position: UInt64) {
        appliedPosition = max(appliedPosition, position)
    }

    /// Each projection's state digest, by name.
    public var digests: [String: String] {
        [
            DocumentsProjection.name: documents.digest, QueueProjection.name: queue.digest,
            VectorsProjection.name: vectors.digest, MetricsProjection.name: metrics.digest,
            KeysProjection.name: keys.digest,
        ]
    }

    /// One digest for the whole set: SHA-256 of the position and each projection's name, version and digest, in
    /// `projectionNames` order. Equal sets at equal positions have equal digests.
    public var digest: String {
        let digests = digests
        var text = "position \(appliedPosition)\n"
        for name in Self.projectionNames {
            text += "\(name) \(Self.projectionVersions[name]!) \(digests[name]!)\n"
        }
        return SHA256Hex.of(Array(text.utf8))
    }

    /// Each projection's canonical snapshot payload, by name, in `projectionNames` order.
    func snapshots() -> [(name: String, version: UInt32, payload: SnapshotPayload)] {
        [
            (DocumentsProjection.name, DocumentsProjection.version, SnapshotPayload(documents.snapshot())),
            (QueueProjection.name, QueueProjection.version, SnapshotPayload(queue.snapshot())),
            (VectorsProjection.name, VectorsProjection.version, vectors.snapshotPayload()),
            (MetricsProjection.name, MetricsProjection.version, SnapshotPayload(metrics.snapshot())),
            (KeysProjection.name, KeysProjection.version, SnapshotPayload(keys.snapshot())),
        ]
    }
}
