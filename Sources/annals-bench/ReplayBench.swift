import AnnalsBenchSupport
import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import AnnalsVector
import ArgumentParser
import Foundation
import Logging

/// `annals-bench replay`: how fast a real, vector-carrying log replays into the projections, as recovery and
/// `annals replay` do it.
struct ReplayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Write a log of processed documents (the events the service appends, vectors attached), then "
            + "replay it into the projections and print events/s.",
        discussion: """
            Each document is an upload.received, a job.started, CHUNKS chunk.embedded events (TEXT bytes of text and
            a DIM-dimension vector each) and a document.completed; every FAILURE-EVERY-th document first fails its
            extraction once (job.failed, then a second job.started). When DATA already holds a log, it is replayed
            as it is.

            Four figures: the full replay (every projection, through ProjectionEngine, as at start-up); the replay
            of documents, queue and metrics alone through the engine (`annals replay --projections`); the scan and
            a full protobuf decode alone; and applying decoded events to documents, queue and metrics alone. --checkpoint also writes a checkpoint at the head (snapshot files and checkpoint.written) as the
            service's checkpointer does, so that `annals serve --data DATA` restores from it.
            """
    )

    @Option(help: "Data directory; its log is DATA/log. A temporary one (removed afterwards) when omitted.")
    var data: String?
    @Option(help: "Documents to write when the log is new.")
    var documents = 142_857
    @Option(help: "Chunks per document.")
    var chunks = 4
    @Option(help: "Dimension of the vectors.")
    var dim = 384
    @Option(help: "Bytes of text per chunk.")
    var text = 700
    @Option(help: "Every Nth document fails once before it completes (0: none).")
    var failureEvery = 50
    @Option(help: "Replay passes; the best is reported.")
    var passes = 3
    @Flag(help: "Write a checkpoint at the head after replaying.")
    var checkpoint = false
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard documents > 0, chunks >= 0, (1...ExactIndex.dimensionMax).contains(dim), text >= 0, passes > 0,
            failureEvery >= 0
        else { throw ValidationError("need --documents > 0, --chunks >= 0, --dim in 1...\(ExactIndex.dimensionMax)") }
    }

    func run() async throws {
        let temporary = data == nil
        let directory = data ?? NSTemporaryDirectory() + "annals-replay-\(getpid())"
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        let logDirectory = directory + "/log"
        var written: (events: Int, seconds: Double)?
        if !FileManager.default.fileExists(atPath: logDirectory + "/data.mdb") {
            let log = try LMDBEventLog.open(directory: logDirectory, configuration: LogConfiguration())
            written = try await write(to: log)
            await log.close()
        }

        let log = try LMDBEventLog.open(directory: logDirectory, configuration: .readOnly)
        let head = try log.head()
        let logger = Logger(label: "annals-bench.replay")

        // The full replay, as recovery does it (vectors in memory, as `annals replay` without --scratch).
        var full: [Double] = []
        var fullCPU: [Double] = []
        var vectorsStored = 0
        var digests: [String: String] = [:]
        for _ in 0..<passes {
            let engine = ProjectionEngine(log: log, logger: logger)
            let cpu = ProcessMemory.cpuSeconds()
            let start = ContinuousClock.now
            try engine.catchUp()
            full.append((ContinuousClock.now - start).seconds)
            fullCPU.append(ProcessMemory.cpuSeconds() - cpu)
            vectorsStored = engine.read { $0.vectors.chunkCount }
            digests = engine.read { $0.digests }
        }

        // Documents, queue and metrics alone, through the engine, as `annals replay --projections
        // documents,queue,metrics` rebuilds them.
        var partial: [Double] = []
        var partialCPU: [Double] = []
        let partialNames = [DocumentsProjection.name, QueueProjection.name, MetricsProjection.name]
        for _ in 0..<passes {
            let engine = ProjectionEngine(log: log, logger: logger, selection: [.documents, .queue, .metrics])
            let cpu = ProcessMemory.cpuSeconds()
            let start = ContinuousClock.now
            try engine.catchUp()
            partial.append((ContinuousClock.now - start).seconds)
            partialCPU.append(ProcessMemory.cpuSeconds() - cpu)
            let partialDigests = engine.read { $0.digests }
            guard partialDigests.count == 3, partialNames.allSatisfy({ partialDigests[$0] == digests[$0] }) else {
                throw ValidationError("replaying three projections gave other digests than the full replay")
            }
        }

        // The scan and decode alone, then applying the decoded events to documents, queue and metrics.
        var scans: [Double] = []
        var applies: [Double] = []
        for _ in 0..<passes {
            var events: [ProjectedEvent] = []
            events.reserveCapacity(Int(head))
            var start = ContinuousClock.now
            _ = try log.scan(from: 1, through: head) { view in
                let payload = view.isDeflated ? try view.payload() : Array(view.storedPayload)
                let event = try Event(type: view.type, schemaVersion: view.schemaVersion, payload: payload)
                events.append(
                    ProjectedEvent(
                        position: view.position, timestamp: view.timestamp, event: event))
                return true
            }
            scans.append((ContinuousClock.now - start).seconds)
            var documents = DocumentsProjection()
            var queue = QueueProjection()
            var metrics = MetricsProjection()
            start = ContinuousClock.now
            for event in events {
                documents.apply(event)
                queue.apply(event)
                metrics.apply(event)
            }
            applies.append((ContinuousClock.now - start).seconds)
            guard documents.digest == digests[DocumentsProjection.name], queue.digest == digests[QueueProjection.name]
            else { throw ValidationError("applying the events alone gave other digests than the full replay") }
        }

        var checkpointSeconds: Double?
        var checkpointBytes: UInt64 = 0
        if checkpoint {
            await log.close()
            let start = ContinuousClock.now
            checkpointBytes = try await writeCheckpoint(directory: directory)
            checkpointSeconds = (ContinuousClock.now - start).seconds
        } else {
            await log.close()
        }

        let fullBest = full.min()!
        let partialBest = partial.min()!
        let scanBest = scans.min()!
        let applyBest = applies.min()!
        let events = Double(head)
        if json {
            var fields: [(String, String)] = [
                ("events", "\(head)"), ("documents", "\(documents)"), ("chunks_per_document", "\(chunks)"),
                ("dimension", "\(dim)"), ("vectors", "\(vectorsStored)"),
                ("replay_seconds", String(format: "%.3f", fullBest)),
                ("replay_cpu_seconds", String(format: "%.3f", fullCPU[full.firstIndex(of: fullBest)!])),
                ("replay_events_per_second", String(format: "%.0f", events / fullBest)),
                ("replay_documents_queue_metrics_seconds", String(format: "%.3f", partialBest)),
                ("replay_documents_queue_metrics_events_per_second", String(format: "%.0f", events / partialBest)),
                (
                    "replay_documents_queue_metrics_cpu_seconds",
                    String(format: "%.3f", partialCPU[partial.firstIndex(of: partialBest)!])
                ),
                ("scan_decode_events_per_second", String(format: "%.0f", events / scanBest)),
                ("apply_documents_queue_metrics_events_per_second", String(format: "%.0f", events / applyBest)),
            ]
            if let written {
                fields.append(
                    ("write_events_per_second", String(format: "%.0f", Double(written.events) / written.seconds)))
            }
            if let checkpointSeconds {
                fields.append(("checkpoint_seconds", String(format: "%.3f", checkpointSeconds)))
                fields.append(("checkpoint_bytes", "\(checkpointBytes)"))
            }
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            if let written {
                print(
                    String(
                        format: "wrote %d events in %.1f s (%.0f events/s)", written.events, written.seconds,
                        Double(written.events) / written.seconds))
            }
            print("log: \(head) events, \(vectorsStored) chunk vectors of \(dim) dimensions")
            print(
                String(
                    format: "  full replay (every projection): %.3f s, %.0f events/s (best of %d), %.2f CPU-s",
                    fullBest, events / fullBest, passes, fullCPU[full.firstIndex(of: fullBest)!]))
            print(
                String(
                    format:
                        "  replay of documents, queue, metrics (engine): %.3f s, %.0f events/s (best of %d), %.2f CPU-s",
                    partialBest, events / partialBest, passes, partialCPU[partial.firstIndex(of: partialBest)!]))
            print(String(format: "  scan + decode alone (full protobuf): %.0f events/s", events / scanBest))
            print(String(format: "  apply to documents, queue, metrics alone: %.0f events/s", events / applyBest))
            if let checkpointSeconds {
                print(
                    String(
                        format: "  checkpoint at %llu: %.1f MB written in %.2f s", head, Double(checkpointBytes) / 1e6,
                        checkpointSeconds))
            }
        }
    }

    /// Appends the documents' events, many documents per append (the service appends each attempt's chunks in
    /// batches of its own; the records are the same).
    private func write(to log: LMDBEventLog) async throws -> (events: Int, seconds: Double) {
        var generator = SplitMix64(state: 7)
        // A pool of unit vectors, reused: the replay's cost does not depend on the values.
        let pool: [[UInt8]] = try (0..<256).map { _ in
            var vector = (0..<dim).map { _ in Float(Double(generator.next() >> 11) / 9_007_199_254_740_992) - 0.5 }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for index in vector.indices { vector[index] /= norm }
            return try EmbeddingAttachment.encode(vector)
        }
        let words = ["the", "log", "of", "events", "is", "replayed", "into", "projections", "after", "a", "crash"]
        var chunkText = ""
        while chunkText.utf8.count < text { chunkText += words.randomElement(using: &generator)! + " " }
        chunkText = String(chunkText.utf8.prefix(text))!
        let start = ContinuousClock.now
        var batch: [EventDraft] = []
        var total = 0
        func add<P: EventPayload>(_ payload: P, attachment: [UInt8] = []) throws {
            batch.append(
                EventDraft(
                    streamId: payload.streamID, type: P.eventType.rawValue, schemaVersion: P.schemaVersion,
                    payload: try EventCatalog.serializedBytes(payload), attachment: attachment))
        }
        let micros: Int64 = 1_764_000_000_000_000
        for document in 0..<documents {
            let id = String(format: "%08x-0000-4000-8000-%012x", document, generator.next() & 0xffff_ffff_ffff)
            var upload = Annals_Events_V1_UploadReceived()
            upload.documentID = id
            upload.tenantID = "tenant-\(document % 16)"
            upload.filename = "report-\(document).txt"
            upload.declaredContentType = "text/plain"
            upload.detectedContentType = "text/plain"
            upload.sizeBytes = UInt64(chunks * text)
            upload.sha256 = (0..<4).map { _ in String(format: "%016llx", generator.next()) }.joined()
            upload.blobKey = upload.sha256
            upload.apiKeyID = "key-admin"
            try add(upload)
            var attempt: UInt32 = 1
            var started = Annals_Events_V1_JobStarted()
            started.documentID = id
            started.attempt = attempt
            started.leaseExpiresAtMicros = micros + 300_000_000
            started.workerID = "worker-\(document % 4)"
            started.processID = "bench"
            try add(started)
            if failureEvery > 0 && document % failureEvery == failureEvery - 1 {
                var failed = Annals_Events_V1_JobFailed()
                failed.documentID = id
                failed.attempt = attempt
                failed.stage = .extract
                failed.code = "io_error"
                failed.message = "the blob could not be read"
                failed.retryAtMicros = micros + 1_000_000
                failed.workerID = started.workerID
                try add(failed)
                attempt += 1
                started.attempt = attempt
                try add(started)
            }
            for index in 0..<chunks {
                var chunk = Annals_Events_V1_ChunkEmbedded()
                chunk.documentID = id
                chunk.chunkIndex = UInt32(index)
                chunk.text = chunkText
                chunk.charOffset = UInt64(index * text)
                chunk.charLength = UInt32(text)
                chunk.embedder = "hashing-v1"
                chunk.dimension = UInt32(dim)
                chunk.attempt = attempt
                try add(chunk, attachment: pool[(document &* 31 &+ index) & 255])
            }
            var completed = Annals_Events_V1_DocumentCompleted()
            completed.documentID = id
            completed.attempt = attempt
            completed.chunkCount = UInt32(chunks)
            completed.extractedChars = UInt64(chunks * text)
            completed.durationMicros = 40_000
            try add(completed)
            if batch.count >= 4096 || document == documents - 1 {
                _ = try await log.append(batch)
                total += batch.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        return (total, (ContinuousClock.now - start).seconds)
    }

    /// Restores the projections at the head and writes a checkpoint there, as the service's checkpointer does.
    private func writeCheckpoint(directory: String) async throws -> UInt64 {
        let log = try LMDBEventLog.open(directory: directory + "/log", configuration: LogConfiguration())
        let scratch = directory + "/blobs/tmp"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let engine = ProjectionEngine(
            log: log, logger: Logger(label: "annals-bench.replay"), vectorBacking: .file(directory: scratch))
        let position = try engine.catchUp()
        let store = try SnapshotStore(directory: directory + "/snapshots", vectorBacking: .file(directory: scratch))
        let files = try store.write(engine.read { SnapshotStore.encode($0) })
        var event = Annals_Events_V1_CheckpointWritten()
        event.position = position
        event.processID = "annals-bench"
        event.snapshots = files.map(\.checkpointSnapshot)
        _ = try await log.append(
            EventDraft(
                streamId: EventStreamID.checkpoint, type: EventType.checkpointWritten.rawValue,
                payload: try EventCatalog.serializedBytes(event)))
        await log.close()
        return files.reduce(0) { $0 + $1.bytes }
    }
}
