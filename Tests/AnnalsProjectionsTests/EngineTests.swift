import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import AnnalsTesting
import AnnalsVector
import Logging
import Testing

/// Appends `events` to `log` in batches of `batch`.
func append(_ events: [ProjectedEvent], to log: some EventLog, batch: Int = 500) async throws {
    var start = 0
    while start < events.count {
        let end = min(start + batch, events.count)
        _ = try await log.append(events[start..<end].map(\.draft))
        start = end
    }
}

let testLogger = Logger(label: "annals.projections.tests")

@Suite("Projection engine")
struct EngineTests {
    @Test("catchUp applies the log and is idempotent")
    func catchUp() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.chunk("d1", attempt: 1, index: 0, vector: [1, 0, 0, 0])
        script.complete("d1", attempt: 1, chunks: 1)
        try await append(script.events, to: log)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        #expect(try engine.catchUp() == 4)
        #expect(try engine.catchUp() == 4)
        #expect(engine.appliedPosition == 4)
        let status = engine.read { $0.documents.document(id: "d1")?.status }
        #expect(status == .completed)
        let hits = engine.read { $0.vectors.search(query: [1, 0, 0, 0], k: 1, tenant: "tenant-a") }
        #expect(hits.first?.position == 3)
        #expect(engine.read { $0.metrics.eventsTotal(.uploadReceived) } == 1)
        // Projections see the record's time, not the script's.
        let record = try #require(try log.record(at: 1))
        #expect(engine.read { $0.documents.document(id: "d1")?.createdAt } == record.timestamp)
        await log.close()
    }

    @Test("catchUp skips an event this build cannot decode")
    func skipsUndecodable() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        var script = EventScript()
        script.upload("d1")
        _ = try await log.append(script.events[0].draft)
        _ = try await log.append(EventDraft(streamId: "doc-d1", type: 999, payload: [1, 2, 3]))
        _ = try await log.append(EventDraft(streamId: "doc-d1", type: 3, payload: [0xFF, 0xFF, 0xFF]))
        _ = try await log.append(script.start("d1", attempt: 1).draft)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        #expect(try engine.catchUp() == 4)
        #expect(engine.skippedEvents == 2)
        #expect(engine.read { $0.documents.document(id: "d1")?.status } == .processing)
        await log.close()
    }

    @Test("deflated payloads are decoded too")
    func deflated() async throws {
        let directory = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.deflateThresholdBytes = 16
        let log = try LMDBEventLog.open(directory: directory.child("log"), configuration: configuration)
        var script = EventScript()
        script.upload("a-document-with-a-long-id-so-the-payload-deflates")
        try await append(script.events, to: log)
        let stored = try #require(try log.record(at: 1))
        #expect(stored.storedBytes < stored.payload.count + 200)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        try engine.catchUp()
        #expect(engine.read { $0.documents.count } == 1)
        #expect(engine.skippedEvents == 0)
        await log.close()
    }

    @Test("waitUntilApplied resumes once the tailing engine applies an append")
    func readYourWrites() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        let engine = ProjectionEngine(log: log, logger: testLogger)
        let runner = Task { await engine.run() }
        var script = EventScript()
        for index in 0..<20 {
            let result = try await log.append(script.upload("d\(index)").draft)
            #expect(await engine.waitUntilApplied(result.lastPosition))
            // Read your write: the document is there as soon as the wait returns.
            #expect(engine.read { $0.documents.document(id: "d\(index)") } != nil)
        }
        // A position already applied returns at once.
        #expect(await engine.waitUntilApplied(1))
        runner.cancel()
        await runner.value
        await log.close()
    }

    @Test("waitUntilApplied returns false when cancelled and when the engine stops")
    func waitFailures() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        let engine = ProjectionEngine(log: log, logger: testLogger)
        let waiter = Task { await engine.waitUntilApplied(100) }
        waiter.cancel()
        #expect(await waiter.value == false)

        let runner = Task { await engine.run() }
        let stranded = Task { await engine.waitUntilApplied(100) }
        // However the runner and the waiter interleave, the waiter cannot reach 100 and must be released.
        await Task.yield()
        runner.cancel()
        await runner.value
        #expect(await stranded.value == false)
        #expect(engine.failure == nil)
        await log.close()
    }

    @Test("run ends when the log closes")
    func closedLog() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        let engine = ProjectionEngine(log: log, logger: testLogger)
        let runner = Task { await engine.run() }
        var script = EventScript()
        _ = try await log.append(script.upload("d1").draft)
        await log.close()
        await runner.value
        #expect(await engine.waitUntilApplied(1_000) == false)
    }

    @Test("catchUp(through:) stops at the position asked")
    func catchUpThrough() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        try await append(randomWorkload(seed: 5, documents: 50).events, to: log)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        #expect(try engine.catchUp(through: 10) == 10)
        #expect(engine.read(\.appliedPosition) == 10)
        #expect(try engine.catchUp(through: 5) == 10)
        #expect(try engine.catchUp() == log.head())
        await log.close()
    }

    @Test("a long catch-up, decoded a batch ahead on another thread, equals short ones applied in turn")
    func pipelinedCatchUp() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        try await append(randomWorkload(seed: 11, documents: 2_500).events, to: log)
        let head = try log.head()
        #expect(head > 3 * UInt64(ProjectionEngine.catchUpBatchCountMax))
        let long = ProjectionEngine(log: log, logger: testLogger)
        #expect(try long.catchUp() == head)
        // Steps shorter than one batch never start the decoding thread.
        let short = ProjectionEngine(log: log, logger: testLogger)
        var position: UInt64 = 0
        while position < head { position = try short.catchUp(through: position + 1_000) }
        #expect(long.read(\.digests) == short.read(\.digests))
        #expect(long.read { $0.vectors.chunkCount } > 0)
        await log.close()
    }

    @Test("a damaged record stops a long catch-up after the batches before it, every time, and nothing hangs")
    func damagedRecordInLongCatchUp() async throws {
        let directory = TemporaryDirectory()
        let path = directory.child("log")
        var log = try LMDBEventLog.open(directory: path)
        let script = randomWorkload(seed: 12, documents: 2_500)
        try await append(script.events, to: log)
        let head = try log.head()
        await log.close()
        // The upload of this document is its first record; every record naming it is damaged.
        let victim = "doc-12-1800"
        let damaged =
            try #require(
                script.events.firstIndex {
                    if case .uploadReceived(let upload) = $0.event { upload.documentID == victim } else { false }
                }) + 1
        let batch = ProjectionEngine.catchUpBatchCountMax
        #expect(damaged > 2 * batch)
        try LogSurgery.flipByte(in: path + "/data.mdb", inside: victim, offset: 5)

        log = try LMDBEventLog.open(directory: path)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        for _ in 0..<2 {
            #expect {
                try engine.catchUp()
            } throws: { error in
                (error as? LogError)?.code == .corruptRecord
            }
            // The batches before the damaged record's are applied, nothing of its own batch or after.
            #expect(engine.appliedPosition == UInt64((damaged - 1) / batch * batch))
        }
        #expect(engine.appliedPosition < head)
        await log.close()
    }

    @Test("replaying the same log twice from 0 gives identical digests")
    func deterministicReplay() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        try await append(randomWorkload(seed: 42, documents: 500).events, to: log)
        let first = ProjectionEngine(log: log, logger: testLogger)
        let second = ProjectionEngine(log: log, logger: testLogger)
        try first.catchUp()
        try second.catchUp()
        let digests = first.read(\.digests)
        #expect(digests == second.read(\.digests))
        #expect(first.read(\.digest) == second.read(\.digest))
        #expect(digests.count == 5)
        #expect(first.read { $0.vectors.chunkCount } > 0)
        await log.close()
    }

    @Test("a snapshot at P plus the tail equals a full replay", arguments: [0.1, 0.5, 0.93])
    func snapshotPlusTail(fraction: Double) async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        let script = randomWorkload(seed: 7, documents: 400)
        let cut = cutAfterChunk(script.events, from: Int(Double(script.events.count) * fraction))
        try await append(Array(script.events[..<cut]), to: log)

        // Live: catch up to P, snapshot to disk, keep going.
        let live = ProjectionEngine(log: log, logger: testLogger)
        let position = try live.catchUp()
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        let files = try store.write(live.read { $0 })
        #expect(files.map(\.projection) == ProjectionSet.projectionNames)
        #expect(files.map(\.stateDigest) == ProjectionSet.projectionNames.map { live.read(\.digests)[$0]! })
        try await append(Array(script.events[cut...]), to: log)
        try live.catchUp()

        // Recovery: restore P from disk, replay the tail.
        let recovered = ProjectionEngine(log: log, logger: testLogger)
        recovered.restore(try store.load(position: position, expected: files))
        #expect(recovered.appliedPosition == position)
        try recovered.catchUp()

        // Verification: a replay from 0.
        let replayed = ProjectionEngine(log: log, logger: testLogger)
        try replayed.catchUp()

        #expect(recovered.read(\.digests) == replayed.read(\.digests))
        #expect(live.read(\.digests) == replayed.read(\.digests))
        #expect(recovered.read(\.digest) == replayed.read(\.digest))
        let now = script.time
        #expect(recovered.read { $0.queue.stats(now: now) } == replayed.read { $0.queue.stats(now: now) })
        await log.close()
    }
}

@Suite("Graph builder")
struct GraphBuilderTests {
    @Test("the builder extends graphs beside catch-ups; searches find every chunk while it lags; stop waits for it")
    func buildsInTheBackground() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        var script = EventScript()
        var generator = SeededGenerator(seed: 31)
        var stored: [(document: String, vector: [Float])] = []
        for document in 0..<60 {
            let id = "g\(document)"
            script.upload(id)
            script.start(id, attempt: 1)
            for chunk in UInt32(0)..<10 {
                let vector = randomUnitVector(32, &generator)
                stored.append((id, vector))
                script.chunk(id, attempt: 1, index: chunk, vector: vector)
            }
            script.complete(id, attempt: 1, chunks: 10)
        }
        let engine = ProjectionEngine(log: log, logger: testLogger, vectorGraphThreshold: 100)
        engine.startGraphBuilder()
        // Half the log, then the rest while the builder works: every chunk is found by its own vector throughout.
        let half = script.events.count / 2
        try await append(Array(script.events[..<half]), to: log)
        try engine.catchUp()
        try await append(Array(script.events[half...]), to: log)
        try engine.catchUp()
        for (document, vector) in stored.prefix(600).filter({ _ in Bool.random(using: &generator) }).prefix(40) {
            let hit = engine.read { $0.vectors.search(query: vector, k: 1, tenant: "tenant-a", mode: .approximate) }
            #expect(hit.first?.documentId == document)
        }
        // The builder catches up by itself (nudged by the catch-ups), within a generous bound.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while engine.read({ $0.vectors.graphStatus.indexedSlots }) < 600, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let status = engine.read { $0.vectors.graphStatus }
        #expect(status.graphs == 1 && status.indexedSlots == 600 && status.slots == 600 && status.bytes > 0)
        #expect(engine.graphSlotsInserted == 600)
        engine.stopGraphBuilder()
        engine.stopGraphBuilder()
        await log.close()
    }
}
