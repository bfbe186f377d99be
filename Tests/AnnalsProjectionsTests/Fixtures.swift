import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import AnnalsTesting
import SwiftProtobuf

/// The start of every script's clock: 2023-11-14, in microseconds.
let scriptEpoch: Int64 = 1_700_000_000_000_000

/// Builds a sequence of events with consecutive positions and increasing times, as a log would hold them.
struct EventScript {
    var position: UInt64 = 0
    var time: Int64 = scriptEpoch
    var events: [ProjectedEvent] = []

    /// Appends `event`, `advance` microseconds after the previous one.
    @discardableResult
    mutating func add(_ event: Event, attachment: [UInt8] = [], advance: Int64 = 1_000) -> ProjectedEvent {
        position += 1
        time += advance
        let projected = ProjectedEvent(position: position, timestamp: time, event: event, attachment: attachment)
        events.append(projected)
        return projected
    }

    @discardableResult
    mutating func upload(
        _ id: String, tenant: String = "tenant-a", sha256: String? = nil, size: UInt64 = 1_000
    ) -> ProjectedEvent {
        add(
            .uploadReceived(
                .with {
                    $0.documentID = id
                    $0.tenantID = tenant
                    $0.filename = "\(id).txt"
                    $0.declaredContentType = "text/plain"
                    $0.detectedContentType = "text/plain"
                    $0.sizeBytes = size
                    $0.sha256 = sha256 ?? "sha-\(id)"
                    $0.blobKey = "blob-\(id)"
                    $0.apiKeyID = "key-1"
                }))
    }

    @discardableResult
    mutating func reject(
        _ id: String, tenant: String = "tenant-a", reason: Annals_Events_V1_UploadRejectReason = .tooLarge
    )
        -> ProjectedEvent
    {
        add(
            .uploadRejected(
                .with {
                    $0.documentID = id
                    $0.tenantID = tenant
                    $0.reason = reason
                    $0.detail = "refused"
                    $0.sizeBytes = 5
                }))
    }

    @discardableResult
    mutating func start(
        _ id: String, attempt: UInt32, leaseFor: Int64 = 60_000_000, process: String = "process-1",
        worker: String = "worker-1"
    ) -> ProjectedEvent {
        let leaseEnd = time + 1_000 + leaseFor
        return add(
            .jobStarted(
                .with {
                    $0.documentID = id
                    $0.attempt = attempt
                    $0.leaseExpiresAtMicros = leaseEnd
                    $0.processID = process
                    $0.workerID = worker
                }))
    }

    @discardableResult
    mutating func chunk(
        _ id: String, attempt: UInt32, index: UInt32, vector: [Float], embedder: String = "hashing-v1"
    ) -> ProjectedEvent {
        add(
            .chunkEmbedded(
                .with {
                    $0.documentID = id
                    $0.attempt = attempt
                    $0.chunkIndex = index
                    $0.text = "chunk \(index) of \(id)"
                    $0.embedder = embedder
                    $0.dimension = UInt32(vector.count)
                }),
            attachment: try! EmbeddingAttachment.encode(vector))
    }

    @discardableResult
    mutating func complete(_ id: String, attempt: UInt32, chunks: UInt32, durationMicros: Int64 = 20_000)
        -> ProjectedEvent
    {
        add(
            .documentCompleted(
                .with {
                    $0.documentID = id
                    $0.attempt = attempt
                    $0.chunkCount = chunks
                    $0.extractedChars = UInt64(chunks) * 100
                    $0.durationMicros = durationMicros
                }))
    }

    @discardableResult
    mutating func fail(
        _ id: String, attempt: UInt32, retryAt: Int64?, stage: Annals_Events_V1_JobStage = .embed,
        code: String = "embed.timeout"
    ) -> ProjectedEvent {
        add(
            .jobFailed(
                .with {
                    $0.documentID = id
                    $0.attempt = attempt
                    $0.stage = stage
                    $0.code = code
                    $0.message = "the embedder did not answer"
                    if let retryAt { $0.retryAtMicros = retryAt }
                    $0.workerID = "worker-1"
                }))
    }

    @discardableResult
    mutating func deadLetter(_ id: String, attempts: UInt32, code: String = "embed.timeout") -> ProjectedEvent {
        add(
            .jobDeadLettered(
                .with {
                    $0.documentID = id
                    $0.attempts = attempts
                    $0.lastStage = .embed
                    $0.lastCode = code
                    $0.lastMessage = "gave up"
                }))
    }

    @discardableResult
    mutating func abandon(_ id: String, attempt: UInt32, process: String = "process-1") -> ProjectedEvent {
        add(
            .jobAbandoned(
                .with {
                    $0.documentID = id
                    $0.attempt = attempt
                    $0.previousProcessID = process
                    $0.reason = .processGone
                    $0.detectedByProcessID = "process-2"
                }))
    }

    @discardableResult
    mutating func requeue(
        _ id: String, reset: Bool = false, from: Annals_Events_V1_RequeueFrom = .deadLettered
    ) -> ProjectedEvent {
        add(
            .jobRequeued(
                .with {
                    $0.documentID = id
                    $0.resetAttempts = reset
                    $0.fromState = from
                    $0.reason = "redrive"
                }))
    }

    @discardableResult
    mutating func delete(_ id: String, tenant: String = "tenant-a") -> ProjectedEvent {
        add(
            .documentDeleted(
                .with {
                    $0.documentID = id
                    $0.tenantID = tenant
                    $0.reason = "asked"
                }))
    }

    @discardableResult
    mutating func createKey(_ id: String, tenant: String = "tenant-a", secretSHA256: String) -> ProjectedEvent {
        add(
            .apiKeyCreated(
                .with {
                    $0.keyID = id
                    $0.tenantID = tenant
                    $0.name = "key \(id)"
                    $0.secretSha256 = secretSHA256
                    $0.secretPrefix = "ak_"
                    $0.scopes = ["documents:write", "search"]
                    $0.createdBy = "cli:test"
                }))
    }

    @discardableResult
    mutating func revokeKey(_ id: String) -> ProjectedEvent {
        add(.apiKeyRevoked(.with { $0.keyID = id }))
    }

    @discardableResult
    mutating func checkpoint(at position: UInt64) -> ProjectedEvent {
        add(.checkpointWritten(.with { $0.position = position }))
    }

    /// The events as log drafts, for appending to a real log.
    var drafts: [EventDraft] { events.map(\.draft) }
}

extension ProjectedEvent {
    /// The event as a draft for `EventLog.append`.
    var draft: EventDraft {
        EventDraft(
            streamId: event.streamID, type: event.type.rawValue, schemaVersion: event.schemaVersion,
            payload: try! event.serializedPayload(), attachment: attachment)
    }
}

/// A projection after applying `events` in order.
func projected<P: Projection>(_ type: P.Type = P.self, _ events: [ProjectedEvent]) -> P {
    var projection = P()
    for event in events { projection.apply(event) }
    return projection
}

/// A random but reproducible workload over many documents that exercises every event type and the odd sequences
/// projections must tolerate: retries, dead letters, requeues, abandons, deletions, duplicates, stale attempts,
/// events for unknown documents, keys and checkpoints.
func randomWorkload(seed: UInt64, documents: Int, dimension: Int = 8) -> EventScript {
    var rng = SeededGenerator(seed: seed)
    var script = EventScript()
    var attempts: [String: UInt32] = [:]
    var live: [String] = []
    let tenants = ["tenant-a", "tenant-b", "tenant-c"]
    for index in 0..<documents {
        let id = "doc-\(seed)-\(index)"
        let tenant = tenants[Int.random(in: 0..<tenants.count, using: &rng)]
        // Some uploads share content, to exercise deduplication.
        let sha = String(repeating: "ab", count: 28) + String(format4(index % 7))
        script.upload(id, tenant: tenant, sha256: sha, size: UInt64.random(in: 1...100_000, using: &rng))
        live.append(id)
        attempts[id] = 0
        if Int.random(in: 0..<10, using: &rng) == 0 { script.reject("rejected-\(seed)-\(index)", tenant: tenant) }
        if Int.random(in: 0..<25, using: &rng) == 0 {
            script.createKey("key-\(seed)-\(index)", tenant: tenant, secretSHA256: "secret-\(index % 5)")
        }
        // Work on a few random live documents.
        for _ in 0..<2 {
            guard let document = live.randomElement(using: &rng) else { break }
            let attempt = attempts[document]! + 1
            switch Int.random(in: 0..<12, using: &rng) {
            case 0...4:
                script.start(document, attempt: attempt)
                attempts[document] = attempt
                let chunks = UInt32.random(in: 0...3, using: &rng)
                for chunk in 0..<chunks {
                    script.chunk(document, attempt: attempt, index: chunk, vector: randomUnitVector(dimension, &rng))
                }
                if Bool.random(using: &rng) {
                    script.complete(document, attempt: attempt, chunks: chunks)
                } else {
                    script.fail(document, attempt: attempt, retryAt: script.time + 5_000_000)
                }
            case 5:
                script.start(document, attempt: attempt)
                attempts[document] = attempt
                script.fail(document, attempt: attempt, retryAt: nil)
                script.deadLetter(document, attempts: attempt)
            case 6:
                script.start(document, attempt: attempt)
                attempts[document] = attempt
                script.abandon(document, attempt: attempt)
            case 7:
                script.requeue(document, reset: Bool.random(using: &rng))
            case 8:
                // A stale chunk and completion of an older attempt, and a duplicate start.
                script.chunk(
                    document, attempt: max(attempt, 2) - 1, index: 9, vector: randomUnitVector(dimension, &rng))
                script.complete(document, attempt: max(attempt, 2) - 1, chunks: 10)
                script.start(document, attempt: attempt)
                script.start(document, attempt: attempt)
                attempts[document] = attempt
            case 9:
                script.delete(document)
                live.removeAll { $0 == document }
            case 10:
                script.complete("unknown-\(index)", attempt: 1, chunks: 1)
                script.start("unknown-\(index)", attempt: 1)
            default:
                script.checkpoint(at: script.position)
                if let key = script.events.first(where: {
                    if case .apiKeyCreated = $0.event { return true } else { return false }
                }), case .apiKeyCreated(let created) = key.event {
                    script.revokeKey(created.keyID)
                }
            }
        }
    }
    return script
}

/// The first index at or after `start` that directly follows a `chunk.embedded`: a cut there leaves an attempt in
/// flight with buffered chunks, the state a snapshot most easily gets wrong.
func cutAfterChunk(_ events: [ProjectedEvent], from start: Int) -> Int {
    for index in max(start, 1)..<events.count {
        if case .chunkEmbedded = events[index - 1].event { return index }
    }
    return start
}

private func format4(_ value: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, 8 - text.count)) + text
}
