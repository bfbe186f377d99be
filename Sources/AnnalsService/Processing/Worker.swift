import AnnalsEmbedding
import AnnalsEvents
import AnnalsExtract
import AnnalsLog
import AnnalsProjections
import Foundation
import Logging

/// A failure of one processing stage, with the stable code recorded in `job.failed`.
struct StageFailure: Error {
    var stage: Annals_Events_V1_JobStage
    var code: String
    var message: String
}

/// One processing worker: claims the next ready job, processes it, records the outcome as events.
///
/// Claiming is an append of `job.started` that expects the document's stream to be at the version the worker
/// read: when two workers (or two processes) race for a job, exactly one append succeeds.
struct Worker: Sendable {
    let core: AnnalsCore
    let workerId: String

    /// How long an idle worker waits before looking at the queue again.
    static let idleWait: Duration = .milliseconds(25)

    /// Runs until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                if let claim = try await claimNext() {
                    await process(claim)
                } else {
                    try await Task.sleep(for: Self.idleWait)
                }
            } catch is CancellationError {
                return
            } catch {
                core.logger.error(
                    "worker error", metadata: ["worker.id": "\(workerId)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    struct Claim {
        var documentId: String
        var attempt: Int
        var startedAt: ContinuousClock.Instant
    }

    /// Takes the next ready job, or returns nil when none is ready.
    func claimNext() async throws -> Claim? {
        for _ in 0..<8 {
            let now = AnnalsCore.nowMicros()
            let (applied, ready) = core.engine.read { ($0.appliedPosition, $0.queue.nextReady(now: now)) }
            guard let next = ready else { return nil }
            let stream = EventStreamID.document(next.documentId)
            // The claim must expect the stream version the queue decided on, not whatever the log holds now:
            // when the stream moved past what the projections had applied (another worker claimed it a moment
            // ago), catch up and decide again, or two workers would both "win" with different expectations.
            guard let head = try core.log.streamHead(stream) else { return nil }
            if head.position > applied {
                try core.engine.catchUp()
                continue
            }
            let version = head.version
            var started = Annals_Events_V1_JobStarted()
            started.documentID = next.documentId
            started.attempt = next.nextAttempt
            started.leaseExpiresAtMicros = now + core.configuration.leaseDuration.wholeMicroseconds
            started.workerID = workerId
            started.processID = core.processId
            do {
                try await core.append([(.jobStarted(started), [])], expected: [stream: .exact(version)])
                return Claim(documentId: next.documentId, attempt: Int(next.nextAttempt), startedAt: .now)
            } catch let error as LogError where error.code == .wrongExpectedVersion {
                continue  // Another worker took it first; look again.
            }
        }
        return nil
    }

    /// Processes one claimed job and appends its outcome; never throws.
    func process(_ claim: Claim) async {
        do {
            try await run(claim)
        } catch let failure as StageFailure {
            await recordFailure(claim, failure)
        } catch {
            await recordFailure(
                claim, StageFailure(stage: .append, code: "internal", message: String(describing: error)))
        }
    }

    private func run(_ claim: Claim) async throws {
        guard let document = core.engine.read({ $0.documents.document(id: claim.documentId) }) else {
            throw StageFailure(stage: .readBlob, code: "unknown_document", message: "no such document")
        }
        // Read the document a bounded piece at a time through the extractor and the chunker, embedding and
        // appending a batch of chunks at a time: memory stays bounded by the read size and the batch, whatever the
        // document's size.
        let reader: DocumentReader
        do {
            reader = try DocumentReader(
                path: core.blobs.path(of: document.blobKey), mediaType: document.contentType,
                encoding: document.contentEncoding, declaredContentType: document.declaredContentType,
                configuration: core.configuration.extraction,
                scratchDirectory: core.blobs.temporaryDirectory)
        } catch {
            let stage: Annals_Events_V1_JobStage = error.code == .malformed ? .readBlob : .extract
            throw StageFailure(stage: stage, code: error.code.description, message: error.message)
        }
        defer { reader.close() }
        var chunker: Chunker
        do {
            chunker = try Chunker(
                configuration: Chunker.Configuration(
                    targetCharacters: core.configuration.chunkCharacters,
                    overlapCharacters: core.configuration.chunkOverlapCharacters))
        } catch {
            throw StageFailure(stage: .chunk, code: "configuration", message: "\(error)")
        }
        let batchSize = core.configuration.chunkBatchCountMax
        var pending: [Chunk] = []
        var chunkCount = 0
        var characters = 0
        var finished = false
        let deadline = claim.startedAt + core.configuration.processingTimeMax
        while !finished {
            try Task.checkCancellation()
            if ContinuousClock.now > deadline {
                throw StageFailure(
                    stage: .extract, code: ExtractionError.Code.timeLimit.description,
                    message: "processing took longer than \(core.configuration.processingTimeMax)")
            }
            let next: [TextPiece]?
            do {
                next = try reader.next()
            } catch {
                throw StageFailure(stage: .extract, code: error.code.description, message: error.message)
            }
            finished = next == nil
            for piece in next ?? [] {
                if case .text(let text) = piece { characters += text.unicodeScalars.count }
                pending += chunker.feed(piece)
            }
            if finished { pending += chunker.finish() }
            while pending.count >= batchSize || (finished && !pending.isEmpty) {
                let batch = Array(pending.prefix(batchSize))
                pending.removeFirst(batch.count)
                try await embedAndAppend(batch, claim)
                chunkCount += batch.count
            }
        }
        var completed = Annals_Events_V1_DocumentCompleted()
        completed.documentID = claim.documentId
        completed.attempt = UInt32(claim.attempt)
        completed.chunkCount = UInt32(chunkCount)
        completed.extractedChars = UInt64(characters)
        completed.durationMicros = (ContinuousClock.now - claim.startedAt).wholeMicroseconds
        try await appendStage { try await core.append(.documentCompleted(completed)) }
    }

    /// Embeds one batch of chunks and appends their events.
    private func embedAndAppend(_ batch: [Chunk], _ claim: Claim) async throws {
        let vectors: [[Float]]
        do {
            vectors = try await core.embedder.embed(batch.map(\.text))
        } catch let error as EmbeddingError {
            throw StageFailure(stage: .embed, code: error.code.description, message: error.message)
        } catch {
            throw StageFailure(stage: .embed, code: "embed_failed", message: "\(error)")
        }
        guard vectors.count == batch.count else {
            throw StageFailure(
                stage: .embed, code: "bad_response",
                message: "the embedder returned \(vectors.count) vectors for \(batch.count) chunks")
        }
        var events: [(event: Event, attachment: [UInt8])] = []
        for (chunk, vector) in zip(batch, vectors) {
            var event = Annals_Events_V1_ChunkEmbedded()
            event.documentID = claim.documentId
            event.chunkIndex = UInt32(chunk.index)
            event.text = chunk.text
            event.charOffset = UInt64(chunk.characterOffset)
            event.charLength = UInt32(chunk.characterLength)
            if let page = chunk.page { event.page = UInt32(page) }
            event.embedder = core.embedder.identifier
            event.dimension = UInt32(core.embedder.dimension)
            event.attempt = UInt32(claim.attempt)
            events.append((.chunkEmbedded(event), try EmbeddingAttachment.encode(vector)))
        }
        try await appendStage { try await core.append(events) }
    }

    private func appendStage(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as LogError {
            throw StageFailure(stage: .append, code: error.code.description, message: error.message)
        }
    }

    /// Appends `job.failed`, with a retry time unless the attempts are used up (then also `job.dead_lettered`).
    private func recordFailure(_ claim: Claim, _ failure: StageFailure) async {
        let final = claim.attempt >= core.configuration.attemptsMax
        var failed = Annals_Events_V1_JobFailed()
        failed.documentID = claim.documentId
        failed.attempt = UInt32(claim.attempt)
        failed.stage = failure.stage
        failed.code = failure.code
        failed.message = String(failure.message.prefix(1000))
        failed.workerID = workerId
        var events: [(event: Event, attachment: [UInt8])] = []
        if final {
            events.append((.jobFailed(failed), []))
            var dead = Annals_Events_V1_JobDeadLettered()
            dead.documentID = claim.documentId
            dead.attempts = UInt32(claim.attempt)
            dead.lastStage = failure.stage
            dead.lastCode = failure.code
            dead.lastMessage = failed.message
            events.append((.jobDeadLettered(dead), []))
        } else {
            let backoff = Backoff(
                base: core.configuration.retryDelayBase, maximum: core.configuration.retryDelayMax)
            failed.retryAtMicros = AnnalsCore.nowMicros() + backoff.delayMicros(afterAttempt: claim.attempt)
            events.append((.jobFailed(failed), []))
        }
        core.logger.warning(
            "processing failed",
            metadata: [
                "document.id": "\(claim.documentId)", "job.attempt": "\(claim.attempt)",
                "job.stage": "\(failure.stage)", "job.code": "\(failure.code)", "job.final": "\(final)",
            ])
        do {
            try await core.append(events)
        } catch {
            // The failure could not be recorded (the log is full or closing); the lease will run out and the job
            // be taken over, so nothing is lost.
            core.logger.error(
                "could not record a failure", metadata: ["document.id": "\(claim.documentId)", "error": "\(error)"])
        }
    }
}
