import AnnalsEvents
import SwiftProtobuf

/// One event of every type, with every field set to something other than its default, so that a round trip through
/// binary or JSON that dropped a field would show.
enum Fixtures {
    static let documentID = "01JDX4S7Q3W2N8K5V6B9C0D1E2"
    static let keyID = "k_7f3a9c"

    static let events: [Event] = [
        .uploadReceived(
            .with {
                $0.documentID = documentID
                $0.tenantID = "acme"
                $0.filename = "report.pdf"
                $0.declaredContentType = "application/pdf"
                $0.detectedContentType = "application/pdf"
                $0.contentEncoding = "gzip"
                $0.sizeBytes = 1_048_576
                $0.sha256 = String(repeating: "ab", count: 32)
                $0.blobKey = "sha256/ab/" + String(repeating: "ab", count: 32)
                $0.idempotencyKey = "req-42"
                $0.apiKeyID = keyID
            }
        ),
        .uploadRejected(
            .with {
                $0.documentID = documentID
                $0.tenantID = "acme"
                $0.reason = .typeMismatch
                $0.detail = "declared text/plain, detected application/pdf"
                $0.declaredContentType = "text/plain"
                $0.detectedContentType = "application/pdf"
                $0.sizeBytes = 4096
                $0.filename = "notes.txt"
                $0.apiKeyID = keyID
                $0.idempotencyKey = "req-43"
            }
        ),
        .jobStarted(
            .with {
                $0.documentID = documentID
                $0.attempt = 2
                $0.leaseExpiresAtMicros = 1_764_000_000_000_000
                $0.workerID = "worker-3"
                $0.processID = "p-1"
            }
        ),
        .chunkEmbedded(
            .with {
                $0.documentID = documentID
                $0.chunkIndex = 7
                $0.text = "Annals keeps every event. Ünïcödé and emoji 📚 survive.\nA second line."
                $0.charOffset = 12_345
                $0.charLength = 70
                $0.page = 3
                $0.embedder = "hashing-v1"
                $0.dimension = 384
                $0.attempt = 2
            }
        ),
        .documentCompleted(
            .with {
                $0.documentID = documentID
                $0.attempt = 2
                $0.chunkCount = 12
                $0.extractedChars = 9_876
                $0.durationMicros = 1_500_000
                $0.pageCount = 4
            }
        ),
        .jobFailed(
            .with {
                $0.documentID = documentID
                $0.attempt = 1
                $0.stage = .embed
                $0.code = "embed.timeout"
                $0.message = "embedder did not answer within 30 s"
                $0.retryAtMicros = 1_764_000_001_000_000
                $0.workerID = "worker-1"
            }
        ),
        .jobDeadLettered(
            .with {
                $0.documentID = documentID
                $0.attempts = 5
                $0.lastStage = .extract
                $0.lastCode = "extract.pdf_encrypted"
                $0.lastMessage = "the PDF is encrypted"
            }
        ),
        .jobAbandoned(
            .with {
                $0.documentID = documentID
                $0.attempt = 3
                $0.previousProcessID = "p-1"
                $0.previousWorkerID = "worker-2"
                $0.reason = .processGone
                $0.leaseExpiredAtMicros = 1_764_000_002_000_000
                $0.detectedByProcessID = "p-2"
            }
        ),
        .jobRequeued(
            .with {
                $0.documentID = documentID
                $0.reason = "embedder fixed"
                $0.requestedBy = "cli:ops"
                $0.fromState = .deadLettered
                $0.resetAttempts = true
            }
        ),
        .documentDeleted(
            .with {
                $0.documentID = documentID
                $0.tenantID = "acme"
                $0.reason = "customer request"
                $0.requestedBy = keyID
            }
        ),
        .checkpointWritten(
            .with {
                $0.position = 120_000
                $0.snapshots = [
                    .with {
                        $0.projection = "vectors"
                        $0.version = 2
                        $0.file = "vectors-120000.snap"
                        $0.digest = String(repeating: "cd", count: 32)
                        $0.bytes = 153_600_000
                        $0.stateDigest = String(repeating: "ef", count: 32)
                    },
                    .with {
                        $0.projection = "queue"
                        $0.version = 1
                        $0.file = "queue-120000.snap"
                        $0.digest = String(repeating: "01", count: 32)
                        $0.bytes = 2048
                        $0.stateDigest = String(repeating: "23", count: 32)
                    },
                ]
                $0.durationMicros = 250_000
                $0.processID = "p-2"
            }
        ),
        .apiKeyCreated(
            .with {
                $0.keyID = keyID
                $0.tenantID = "acme"
                $0.name = "ingest-pipeline"
                $0.secretSha256 = String(repeating: "9e", count: 32)
                $0.secretPrefix = "ak_9e1f"
                $0.scopes = ["documents:write", "search"]
                $0.createdBy = "cli:ops"
                $0.expiresAtMicros = 1_800_000_000_000_000
            }
        ),
        .apiKeyRevoked(
            .with {
                $0.keyID = keyID
                $0.reason = "leaked in a CI log"
                $0.revokedBy = "cli:ops"
            }
        ),
        .serviceStarted(
            .with {
                $0.processID = "p-2"
                $0.version = "0.1.0"
                $0.host = "annals-1"
                $0.recoveredFromPosition = 120_000
                $0.replayedEvents = 3_456
                $0.abandonedJobs = 2
                $0.recoveryDurationMicros = 800_000
                $0.rejectedSnapshots = [
                    .with {
                        $0.file = "vectors-130000.snap"
                        $0.reason = "digest mismatch"
                    }
                ]
            }
        ),
        .serviceStopped(
            .with {
                $0.processID = "p-2"
                $0.reason = "SIGTERM"
                $0.clean = true
                $0.uptimeMicros = 86_400_000_000
            }
        ),
    ]
}
