public import AnnalsEvents

/// Counters and histograms computed from the events, so that they survive restarts and can be computed for any past
/// position (`annals metrics export`). Plain data: the HTTP layer renders it as Prometheus text.
///
/// Every event counts, whatever the other projections make of it: these are counts of what happened in the log.
public struct MetricsProjection: Projection {
    /// `metrics`.
    public static let name = "metrics"
    /// Version 1.
    public static let version: UInt32 = 1

    /// The processing-duration buckets, in seconds: 5 ms to 60 s.
    public static let processingDurationBucketsSeconds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    /// Every reason an upload can be refused for, as used in `uploadsRejectedTotal` (so a renderer can export 0 for
    /// each known series).
    public static let uploadRejectReasons: [String] = [
        Annals_Events_V1_UploadRejectReason.unspecified, .tooLarge, .empty, .typeNotAllowed, .typeMismatch,
        .malformed, .quotaExceeded, .clientAborted, .overloaded, .storageFailed,
    ].map(JobFailure.rejectReasonName)

    /// A failure's labels: the stage and the error code.
    public struct FailureKey: Sendable, Hashable, Comparable {
        /// The stage name (see `JobFailure.stage`).
        public var stage: String
        /// The error code.
        public var code: String

        /// Creates a key.
        public init(stage: String, code: String) {
            self.stage = stage
            self.code = code
        }

        /// Orders by stage, then code.
        public static func < (a: FailureKey, b: FailureKey) -> Bool { (a.stage, a.code) < (b.stage, b.code) }
    }

    /// `upload.received` events.
    public private(set) var uploadsTotal: UInt64 = 0
    /// Bytes of accepted uploads.
    public private(set) var uploadBytesTotal: UInt64 = 0
    /// `upload.rejected` events by reason (see `uploadRejectReasons`).
    public private(set) var uploadsRejectedTotal: [String: UInt64] = [:]
    /// `job.started` events.
    public private(set) var jobsStartedTotal: UInt64 = 0
    /// `chunk.embedded` events.
    public private(set) var chunksEmbeddedTotal: UInt64 = 0
    /// `document.completed` events.
    public private(set) var documentsCompletedTotal: UInt64 = 0
    /// `job.failed` events by stage and code.
    public private(set) var jobFailuresTotal: [FailureKey: UInt64] = [:]
    /// `job.dead_lettered` events.
    public private(set) var deadLetteredTotal: UInt64 = 0
    /// `job.abandoned` events.
    public private(set) var abandonedTotal: UInt64 = 0
    /// `job.requeued` events.
    public private(set) var requeuedTotal: UInt64 = 0
    /// `document.deleted` events.
    public private(set) var deletedTotal: UInt64 = 0
    /// `checkpoint.written` events.
    public private(set) var checkpointsTotal: UInt64 = 0
    /// `service.started` events.
    public private(set) var serviceStartsTotal: UInt64 = 0
    /// `apikey.created` events.
    public private(set) var apiKeysCreatedTotal: UInt64 = 0
    /// `apikey.revoked` events.
    public private(set) var apiKeysRevokedTotal: UInt64 = 0
    /// Processing durations of completed attempts (`document.completed.duration_micros`).
    public private(set) var processingDuration = Histogram(
        upperBoundsMicros: processingDurationBucketsSeconds.map { Int64(($0 * 1_000_000).rounded()) })
    /// Events applied by type code; index `code` holds the count of that code (index 0 is unused).
    private var eventCounts = [UInt64](repeating: 0, count: Self.eventCodeCount)

    private static let eventCodeCount = Int(EventType.allCases.map(\.rawValue).max()!) + 1

    /// All counters at zero.
    public init() {}

    /// Events applied, by type; every known type is present, with 0 when none was seen.
    public var eventsTotal: [EventType: UInt64] {
        Dictionary(uniqueKeysWithValues: EventType.allCases.map { ($0, eventCounts[Int($0.rawValue)]) })
    }

    /// The number of events of `type` applied.
    public func eventsTotal(_ type: EventType) -> UInt64 { eventCounts[Int(type.rawValue)] }

    /// Applies the next event.
    public mutating func apply(_ event: ProjectedEvent) {
        // Each case counts its own type: `event.event.type` would box the payload in an existential on every event.
        switch event.event {
        case .uploadReceived(let upload):
            count(.uploadReceived)
            uploadsTotal += 1
            uploadBytesTotal &+= upload.sizeBytes
        case .uploadRejected(let rejected):
            count(.uploadRejected)
            uploadsRejectedTotal[JobFailure.rejectReasonName(rejected.reason), default: 0] += 1
        case .jobStarted:
            count(.jobStarted)
            jobsStartedTotal += 1
        case .chunkEmbedded:
            count(.chunkEmbedded)
            chunksEmbeddedTotal += 1
        case .documentCompleted(let completed):
            count(.documentCompleted)
            documentsCompletedTotal += 1
            processingDuration.observe(micros: completed.durationMicros)
        case .jobFailed(let failed):
            count(.jobFailed)
            jobFailuresTotal[FailureKey(stage: JobFailure.stageName(failed.stage), code: failed.code), default: 0] += 1
        case .jobDeadLettered:
            count(.jobDeadLettered)
            deadLetteredTotal += 1
        case .jobAbandoned:
            count(.jobAbandoned)
            abandonedTotal += 1
        case .jobRequeued:
            count(.jobRequeued)
            requeuedTotal += 1
        case .documentDeleted:
            count(.documentDeleted)
            deletedTotal += 1
        case .checkpointWritten:
            count(.checkpointWritten)
            checkpointsTotal += 1
        case .apiKeyCreated:
            count(.apiKeyCreated)
            apiKeysCreatedTotal += 1
        case .apiKeyRevoked:
            count(.apiKeyRevoked)
            apiKeysRevokedTotal += 1
        case .serviceStarted:
            count(.serviceStarted)
            serviceStartsTotal += 1
        case .serviceStopped:
            count(.serviceStopped)
        }
    }

    @inline(__always)
    private mutating func count(_ type: EventType) { eventCounts[Int(type.rawValue)] += 1 }
}

// MARK: Snapshot

extension MetricsProjection {
    /// The state as canonical bytes: the version, every counter in a fixed order, labelled counters sorted by label.
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 512)
        writer.u32(Self.version)
        for counter in scalarCounters { writer.u64(counter) }
        writer.count(eventCounts.count)
        for count in eventCounts { writer.u64(count) }
        writer.count(uploadsRejectedTotal.count)
        for (reason, count) in uploadsRejectedTotal.sorted(by: { $0.key < $1.key }) {
            writer.string(reason)
            writer.u64(count)
        }
        writer.count(jobFailuresTotal.count)
        for (key, count) in jobFailuresTotal.sorted(by: { $0.key < $1.key }) {
            writer.string(key.stage)
            writer.string(key.code)
            writer.u64(count)
        }
        writer.count(processingDuration.upperBoundsMicros.count)
        for bound in processingDuration.upperBoundsMicros { writer.i64(bound) }
        for count in processingDuration.bucketCounts { writer.u64(count) }
        writer.i64(processingDuration.sumMicros)
        return writer.bytes
    }

    /// Restores counters from `snapshot()` bytes.
    ///
    /// - Throws: `ProjectionError` with code `.versionMismatch` or `.malformedSnapshot`.
    public init(snapshot: [UInt8]) throws(ProjectionError) {
        var reader = SnapshotReader(snapshot, projection: Self.name)
        try reader.expectVersion(Self.version)
        var scalars: [UInt64] = []
        for _ in 0..<Self.scalarCounterCount { scalars.append(try reader.u64()) }
        setScalarCounters(scalars)
        let codes = try reader.count(elementBytes: 8)
        guard codes == Self.eventCodeCount else { throw reader.malformed("\(codes) event type counters") }
        for code in 0..<codes { eventCounts[code] = try reader.u64() }
        let reasons = try reader.count(elementBytes: 12)
        for _ in 0..<reasons { uploadsRejectedTotal[try reader.string()] = try reader.u64() }
        let failures = try reader.count(elementBytes: 16)
        for _ in 0..<failures {
            jobFailuresTotal[FailureKey(stage: try reader.string(), code: try reader.string())] = try reader.u64()
        }
        let bounds = try reader.count(elementBytes: 16)
        var upperBounds: [Int64] = []
        for _ in 0..<bounds { upperBounds.append(try reader.i64()) }
        var buckets: [UInt64] = []
        for _ in 0...bounds { buckets.append(try reader.u64()) }
        let sum = try reader.i64()
        guard upperBounds == processingDuration.upperBoundsMicros,
            let histogram = Histogram(upperBoundsMicros: upperBounds, bucketCounts: buckets, sumMicros: sum)
        else { throw reader.malformed("the processing-duration buckets differ from this build's") }
        processingDuration = histogram
        try reader.finish()
    }

    private static let scalarCounterCount = 13

    /// The unlabelled counters in their snapshot order.
    private var scalarCounters: [UInt64] {
        [
            uploadsTotal, uploadBytesTotal, jobsStartedTotal, chunksEmbeddedTotal, documentsCompletedTotal,
            deadLetteredTotal, abandonedTotal, requeuedTotal, deletedTotal, checkpointsTotal, serviceStartsTotal,
            apiKeysCreatedTotal, apiKeysRevokedTotal,
        ]
    }

    private mutating func setScalarCounters(_ values: [UInt64]) {
        uploadsTotal = values[0]
        uploadBytesTotal = values[1]
        jobsStartedTotal = values[2]
        chunksEmbeddedTotal = values[3]
        documentsCompletedTotal = values[4]
        deadLetteredTotal = values[5]
        abandonedTotal = values[6]
        requeuedTotal = values[7]
        deletedTotal = values[8]
        checkpointsTotal = values[9]
        serviceStartsTotal = values[10]
        apiKeysCreatedTotal = values[11]
        apiKeysRevokedTotal = values[12]
    }
}
