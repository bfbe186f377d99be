public import AnnalsEmbedding
public import AnnalsEvents
public import AnnalsLog
public import AnnalsProjections
import AnnalsVector
import Foundation
public import Logging
import Synchronization

/// The running service's state: the log, the projections, the blob store and the embedder, and the ways to
/// append events. Uploads, workers, the checkpointer and recovery are built on it; the HTTP edge calls it.
///
/// `@unchecked Sendable` is sound because every stored property is immutable after `open`, itself `Sendable`,
/// or a `Mutex`.
public final class AnnalsCore: @unchecked Sendable {
    /// The settings the service runs with.
    public let configuration: ServiceConfiguration
    /// The event log.
    public let log: LMDBEventLog
    /// The projections, kept up to date with the log.
    public let engine: ProjectionEngine
    /// Uploaded bytes.
    public let blobs: BlobStore
    /// Snapshot files.
    public let snapshots: SnapshotStore
    /// Saved vector graphs (`DATA/graphs`): a cache the graph builder restores from, written at checkpoints.
    public let graphFiles: GraphFiles
    /// The embedder of chunks and queries.
    public let embedder: any Embedder
    /// This process's id, recorded in the events it writes (which attempts it holds, which start it made).
    public let processId: String
    /// The logger.
    public let logger: Logger
    private let lockDescriptor: Int32
    private let phase = Mutex(Phase.starting)
    private let started = ContinuousClock.now

    /// Where the service is in its life; `/readyz` answers 200 only when `ready`.
    public enum Phase: Sendable, Equatable {
        case starting
        case ready
        case draining
    }

    /// The embedder the configuration names. The HTTP embedder's key is read from the environment variable the
    /// configuration names, so that it never sits in a config file.
    ///
    /// - Throws: `EmbeddingError` with code `.invalidConfiguration` for unusable settings.
    static func makeEmbedder(
        _ configuration: ServiceConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any Embedder {
        switch configuration.embedder {
        case .hashing:
            return try HashingEmbedder(dimension: configuration.embeddingDimension)
        case .http:
            guard let url = URL(string: configuration.embedderURL) else {
                throw EmbeddingError(.invalidConfiguration, "embedder-url '\(configuration.embedderURL)' is not a URL")
            }
            let key = environment[configuration.embedderAPIKeyVariable].flatMap { $0.isEmpty ? nil : $0 }
            return try HTTPEmbedder(
                configuration: HTTPEmbedder.Configuration(
                    baseURL: url, model: configuration.embedderModel, apiKey: key,
                    dimension: configuration.embeddingDimension, batchSize: configuration.embedderBatchSize,
                    timeout: configuration.embedderTimeout, retries: configuration.embedderRetries))
        }
    }

    /// Opens the data directory: takes its lock (one process per data directory), opens the log and the stores.
    ///
    /// - Throws: `ServiceError` when another process holds the directory; `LogError` when the log cannot be opened.
    public static func open(
        configuration: ServiceConfiguration, embedder: (any Embedder)? = nil, logger: Logger
    ) throws -> AnnalsCore {
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let lockPath = data + "/annals.lock"
        let descriptor = Foundation.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ServiceError(.internal, "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        // An exclusive lock for as long as the process lives: two services on one data directory would each
        // think the other's in-flight jobs were abandoned.
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            close(descriptor)
            throw ServiceError(.unavailable, "another annals process is using \(data) (\(lockPath) is locked)")
        }
        do {
            var logConfiguration = LogConfiguration()
            logConfiguration.preallocateAheadBytes = configuration.logPreallocateBytes
            let log = try LMDBEventLog.open(directory: data + "/log", configuration: logConfiguration, logger: logger)
            let blobs = try BlobStore(root: data + "/blobs")
            blobs.removeTemporaryFiles()
            // Vectors live in unlinked files next to the blobs: their pages are the kernel's to write back and
            // reclaim, so the service needs no memory of its own for them (see `VectorArena`).
            let snapshots = try SnapshotStore(
                directory: data + "/snapshots", vectorBacking: .file(directory: blobs.temporaryDirectory),
                vectorGraphThreshold: configuration.vectorGraphThreshold)
            let graphFiles = try GraphFiles(directory: data + "/graphs")
            let chosen = try embedder ?? makeEmbedder(configuration)
            return AnnalsCore(
                configuration: configuration, log: log, blobs: blobs, snapshots: snapshots, graphFiles: graphFiles,
                embedder: chosen, logger: logger, lockDescriptor: descriptor)
        } catch {
            close(descriptor)
            throw error
        }
    }

    private init(
        configuration: ServiceConfiguration, log: LMDBEventLog, blobs: BlobStore, snapshots: SnapshotStore,
        graphFiles: GraphFiles, embedder: any Embedder, logger: Logger, lockDescriptor: Int32
    ) {
        self.configuration = configuration
        self.log = log
        self.engine = ProjectionEngine(
            log: log, logger: logger, vectorBacking: snapshots.vectorBacking,
            vectorGraphThreshold: snapshots.vectorGraphThreshold)
        self.blobs = blobs
        self.snapshots = snapshots
        self.graphFiles = graphFiles
        self.embedder = embedder
        self.logger = logger
        self.lockDescriptor = lockDescriptor
        self.processId = "\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    deinit { close(lockDescriptor) }

    /// Where the service is in its life.
    public var currentPhase: Phase { phase.withLock { $0 } }

    func setPhase(_ next: Phase) { phase.withLock { $0 = next } }

    /// How long this process has run, in microseconds.
    var uptimeMicros: Int64 {
        (ContinuousClock.now - started).wholeMicroseconds
    }

    /// Appends events as one batch and waits until the projections have applied them (read your writes).
    @discardableResult
    public func append(
        _ events: [(event: Event, attachment: [UInt8])], expected: [String: ExpectedVersion] = [:],
        idempotencyKey: String? = nil
    ) async throws -> AppendResult {
        let drafts = try events.map { item in
            EventDraft(
                streamId: item.event.streamID, type: item.event.type.rawValue, schemaVersion: item.event.schemaVersion,
                payload: try item.event.serializedPayload(), attachment: item.attachment)
        }
        let result = try await log.append(drafts, expectedVersions: expected, idempotencyKey: idempotencyKey)
        // Apply on this task rather than wait for the tailer: the answer then never depends on another task being
        // scheduled, and applying a few events is cheap. Concurrent callers serialise on the engine's lock.
        if engine.appliedPosition < result.lastPosition {
            try engine.catchUp(through: result.lastPosition)
        }
        return result
    }

    /// Appends one event (see `append(_:expected:idempotencyKey:)`).
    @discardableResult
    public func append(_ event: Event, expected: ExpectedVersion? = nil) async throws -> AppendResult {
        try await append([(event, [])], expected: expected.map { [event.streamID: $0] } ?? [:])
    }

    /// Embeds a search query with the embedder that embedded the chunks.
    public func embedQuery(_ text: String) async throws -> [Float] {
        guard let vector = try await embedder.embed([text]).first else {
            throw ServiceError(.internal, "the embedder returned no vector")
        }
        return vector
    }

    /// The current time in microseconds since the epoch; read here, at the edge, and carried into events.
    public static func nowMicros() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}
