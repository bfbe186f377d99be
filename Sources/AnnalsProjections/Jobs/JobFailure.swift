public import AnnalsEvents

/// Why an attempt ended without a result (or why an upload was refused), as readers see it.
public struct JobFailure: Sendable, Hashable {
    /// The stage that failed: `read_blob`, `extract`, `chunk`, `embed`, `append` (from `JobStage`); `lease` for an
    /// abandoned attempt; `upload` for a refused upload; `unspecified` or `unknown` when the event did not say.
    public var stage: String
    /// The stable, dotted error code (for example `embed.timeout`, `job.abandoned.process_gone`, `upload.too_large`).
    public var code: String
    /// The human-readable message; never parse it.
    public var message: String
    /// The attempt that failed; 0 for a refused upload.
    public var attempt: UInt32
    /// When it failed, in microseconds since 1970-01-01 UTC (the event's time).
    public var failedAt: Int64

    /// Creates a failure.
    public init(stage: String, code: String, message: String, attempt: UInt32, failedAt: Int64) {
        self.stage = stage
        self.code = code
        self.message = message
        self.attempt = attempt
        self.failedAt = failedAt
    }
}

extension JobFailure {
    /// The stable name of a processing stage, as used in failures and metrics labels.
    public static func stageName(_ stage: Annals_Events_V1_JobStage) -> String {
        switch stage {
        case .unspecified: "unspecified"
        case .readBlob: "read_blob"
        case .extract: "extract"
        case .chunk: "chunk"
        case .embed: "embed"
        case .append: "append"
        case .UNRECOGNIZED: "unknown"
        }
    }

    /// The stable name of an abandon reason (`process_gone`, `lease_expired`).
    public static func abandonReasonName(_ reason: Annals_Events_V1_AbandonReason) -> String {
        switch reason {
        case .unspecified: "unspecified"
        case .processGone: "process_gone"
        case .leaseExpired: "lease_expired"
        case .UNRECOGNIZED: "unknown"
        }
    }

    /// The stable name of an upload refusal reason (`too_large`, `type_mismatch`, …), as used in metrics labels.
    public static func rejectReasonName(_ reason: Annals_Events_V1_UploadRejectReason) -> String {
        switch reason {
        case .unspecified: "unspecified"
        case .tooLarge: "too_large"
        case .empty: "empty"
        case .typeNotAllowed: "type_not_allowed"
        case .typeMismatch: "type_mismatch"
        case .malformed: "malformed"
        case .quotaExceeded: "quota_exceeded"
        case .clientAborted: "client_aborted"
        case .overloaded: "overloaded"
        case .storageFailed: "storage_failed"
        case .UNRECOGNIZED: "unknown"
        }
    }

    /// The failure a `job.failed` event reports.
    init(_ failed: Annals_Events_V1_JobFailed, at time: Int64) {
        self.init(
            stage: Self.stageName(failed.stage), code: failed.code, message: failed.message, attempt: failed.attempt,
            failedAt: time)
    }

    /// The failure a `job.abandoned` event stands for.
    init(_ abandoned: Annals_Events_V1_JobAbandoned, at time: Int64) {
        let reason = Self.abandonReasonName(abandoned.reason)
        self.init(
            stage: "lease", code: "job.abandoned.\(reason)",
            message: "attempt \(abandoned.attempt) was abandoned (\(reason)); it ran in process "
                + "\(abandoned.previousProcessID)",
            attempt: abandoned.attempt, failedAt: time)
    }

    /// The last failure a `job.dead_lettered` event reports.
    init(_ dead: Annals_Events_V1_JobDeadLettered, at time: Int64) {
        self.init(
            stage: Self.stageName(dead.lastStage), code: dead.lastCode, message: dead.lastMessage,
            attempt: dead.attempts, failedAt: time)
    }

    /// The refusal an `upload.rejected` event reports.
    init(_ rejected: Annals_Events_V1_UploadRejected, at time: Int64) {
        self.init(
            stage: "upload", code: "upload.\(Self.rejectReasonName(rejected.reason))", message: rejected.detail,
            attempt: 0, failedAt: time)
    }
}
