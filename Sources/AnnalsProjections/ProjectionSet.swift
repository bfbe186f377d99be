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
    /// The projections this set maintains: every one for the service; fewer for a replay that verifies some of
    /// them (`annals replay --projections`). The others stay empty, and have no digest and no snapshot.
    public private(set) var selection: ProjectionSelection

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

    /// The projections of `selection` (every one by default) empty, at position 0, with the vectors in
    /// `vectorBacking` and graphs for spaces of `vectorGraphThreshold` live vectors.
    public init(
        vectorBacking: VectorArena.Backing, vectorGraphThreshold: Int = VectorsProjection.exactThresholdDefault,
        selection: ProjectionSelection = .all
    ) {
        self.init(
            documents: DocumentsProjection(), queue: QueueProjection(),
            vectors: VectorsProjection(exactThreshold: vectorGraphThreshold, backing: vectorBacking),
            metrics: MetricsProjection(), keys: KeysProjection(), appliedPosition: 0)
        self.selection = selection
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
        selection = .all
    }

    /// Applies `event` to every projection and records its position.
    ///
    /// Events must come in log order: positions at or below `appliedPosition` are ignored, so that applying a batch
    /// twice cannot count anything twice.
    public mutating func apply(_ event: ProjectedEvent) {
        guard event.position > appliedPosition else { return }
        if selection.contains(.documents) { documents.apply(event) }
        if selection.contains(.queue) { queue.apply(event) }
        if selection.contains(.vectors) { vectors.apply(event) }
        if selection.contains(.metrics) { metrics.apply(event) }
        if selection.contains(.keys) { keys.apply(event) }
        appliedPosition = event.position
    }

    /// Moves `appliedPosition` past an event no projection could read (an unknown type from a newer writer).
    public mutating func skip(to position: UInt64) {
        appliedPosition = max(appliedPosition, position)
    }

    /// Each maintained projection's state digest, by name.
    public var digests: [String: String] {
        var digests: [String: String] = [:]
        if selection.contains(.documents) { digests[DocumentsProjection.name] = documents.digest }
        if selection.contains(.queue) { digests[QueueProjection.name] = queue.digest }
        if selection.contains(.vectors) { digests[VectorsProjection.name] = vectors.digest }
        if selection.contains(.metrics) { digests[MetricsProjection.name] = metrics.digest }
        if selection.contains(.keys) { digests[KeysProjection.name] = keys.digest }
        return digests
    }

    /// One digest for the whole set: SHA-256 of the position and each maintained projection's name, version and
    /// digest, in `projectionNames` order. Equal sets at equal positions have equal digests.
    public var digest: String {
        let digests = digests
        var text = "position \(appliedPosition)\n"
        for name in Self.projectionNames {
            guard let digest = digests[name] else { continue }
            text += "\(name) \(Self.projectionVersions[name]!) \(digest)\n"
        }
        return SHA256Hex.of(Array(text.utf8))
    }

    /// Each maintained projection's canonical snapshot payload, by name, in `projectionNames` order.
    func snapshots() -> [(name: String, version: UInt32, payload: SnapshotPayload)] {
        var snapshots: [(name: String, version: UInt32, payload: SnapshotPayload)] = []
        if selection.contains(.documents) {
            snapshots.append(
                (DocumentsProjection.name, DocumentsProjection.version, SnapshotPayload(documents.snapshot())))
        }
        if selection.contains(.queue) {
            snapshots.append((QueueProjection.name, QueueProjection.version, SnapshotPayload(queue.snapshot())))
        }
        if selection.contains(.vectors) {
            snapshots.append((VectorsProjection.name, VectorsProjection.version, vectors.snapshotPayload()))
        }
        if selection.contains(.metrics) {
            snapshots.append((MetricsProjection.name, MetricsProjection.version, SnapshotPayload(metrics.snapshot())))
        }
        if selection.contains(.keys) {
            snapshots.append((KeysProjection.name, KeysProjection.version, SnapshotPayload(keys.snapshot())))
        }
        return snapshots
    }
}

/// A choice of projections, by name: what a `ProjectionSet` maintains.
public struct ProjectionSelection: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let documents = ProjectionSelection(rawValue: 1 << 0)
    public static let queue = ProjectionSelection(rawValue: 1 << 1)
    public static let vectors = ProjectionSelection(rawValue: 1 << 2)
    public static let metrics = ProjectionSelection(rawValue: 1 << 3)
    public static let keys = ProjectionSelection(rawValue: 1 << 4)
    /// Every projection.
    public static let all: ProjectionSelection = [.documents, .queue, .vectors, .metrics, .keys]

    private static let byName: [(String, ProjectionSelection)] = [
        (DocumentsProjection.name, .documents), (QueueProjection.name, .queue), (VectorsProjection.name, .vectors),
        (MetricsProjection.name, .metrics), (KeysProjection.name, .keys),
    ]

    /// The projection called `name` (one of `ProjectionSet.projectionNames`), nil for any other name.
    public init?(name: String) {
        guard let found = Self.byName.first(where: { $0.0 == name }) else { return nil }
        self = found.1
    }

    /// The names of the projections chosen, in `ProjectionSet.projectionNames` order.
    public var names: [String] { Self.byName.filter { contains($0.1) }.map(\.0) }
}
