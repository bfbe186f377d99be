import AnnalsEvents
import AnnalsLog
import AnnalsProjections
import AnnalsTesting
import Foundation
import Testing

/// Replay speed, measured only when `ANNALS_PERF` is set (a release build is what counts:
/// `ANNALS_PERF=1 swift test -c release --filter ReplaySpeed`). Not a benchmark suite: a quick figure for the
/// "at least 1,000,000 events/s" target of documents, queue and metrics.
@Suite("Replay speed", .serialized, .enabled(if: ProcessInfo.processInfo.environment["ANNALS_PERF"] != nil))
struct ReplaySpeedTests {
    /// A document's typical life without chunks: upload, start, completion; every tenth fails once first.
    static func lifecycleEvents(documents: Int) -> [ProjectedEvent] {
        var script = EventScript()
        script.events.reserveCapacity(documents * 4)
        for index in 0..<documents {
            let id = "0190c3a2-7b1e-7000-8000-\(String(index, radix: 16))"
            script.upload(id, tenant: "tenant-\(index % 10)")
            script.start(id, attempt: 1)
            if index % 10 == 0 {
                script.fail(id, attempt: 1, retryAt: script.time + 1_000_000)
                script.start(id, attempt: 2)
                script.complete(id, attempt: 2, chunks: 3)
            } else {
                script.complete(id, attempt: 1, chunks: 3)
            }
        }
        return script.events
    }

    @Test("documents, queue and metrics apply decoded events")
    func inMemory() {
        let events = Self.lifecycleEvents(documents: 250_000)
        print(
            "sizes: DocumentInfo \(MemoryLayout<DocumentInfo>.size), JobStateMachine "
                + "\(MemoryLayout<JobStateMachine>.size), ProjectedEvent \(MemoryLayout<ProjectedEvent>.size)")
        func measure<P: Projection>(_ type: P.Type) -> P {
            var projection = P()
            let start = ContinuousClock.now
            // Indexes rather than `for event in events`, which would copy (retain) each event.
            for index in events.indices { projection.apply(events[index]) }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            print("replay (decoded, \(P.name)): \(Int(Double(events.count) / seconds)) events/s")
            return projection
        }
        _ = measure(DocumentsProjection.self)
        let queue = measure(QueueProjection.self)
        _ = measure(MetricsProjection.self)
        _ = measure(VectorsProjection.self)
        _ = measure(KeysProjection.self)
        var documents = DocumentsProjection()
        var queue3 = QueueProjection()
        var metrics = MetricsProjection()
        let start = ContinuousClock.now
        for index in events.indices {
            documents.apply(events[index])
            queue3.apply(events[index])
            metrics.apply(events[index])
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print(
            "replay (decoded, documents+queue+metrics): \(events.count) events in \(seconds) s = "
                + "\(Int(Double(events.count) / seconds)) events/s")
        #expect(queue.stats(now: .max).done == 250_000)

        // The whole set, in batches as the engine applies them.
        let batches = stride(from: 0, to: events.count, by: ProjectionEngine.catchUpBatchCountMax).map {
            Array(events[$0..<min($0 + ProjectionEngine.catchUpBatchCountMax, events.count)])
        }
        var set = ProjectionSet()
        let setStart = ContinuousClock.now
        for batch in batches { set.apply(contentsOf: batch) }
        let setSeconds = (ContinuousClock.now - setStart) / .seconds(1)
        print("replay (decoded, all five, batched): \(Int(Double(events.count) / setSeconds)) events/s")
        #expect(set.queue.stats(now: .max).done == 250_000)
    }

    @Test("the engine replays a real log")
    func fromLog() async throws {
        let directory = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: directory.child("log"))
        let events = Self.lifecycleEvents(documents: 250_000)
        try await append(events, to: log, batch: 20_000)
        let engine = ProjectionEngine(log: log, logger: testLogger)
        let start = ContinuousClock.now
        let applied = try engine.catchUp()
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print(
            "replay (LMDB scan + decode + all five projections): \(applied) events in \(seconds) s = "
                + "\(Int(Double(applied) / seconds)) events/s")
        #expect(applied == UInt64(events.count))

        // Decode only, for comparison: what the scan and protobuf cost without projections.
        let decodeStart = ContinuousClock.now
        var decoded = 0
        _ = try log.scan(from: 1) { view in
            if (try? Event(type: view.type, schemaVersion: view.schemaVersion, payload: view.storedPayload)) != nil {
                decoded += 1
            }
            return true
        }
        let decodeSeconds = (ContinuousClock.now - decodeStart) / .seconds(1)
        print(
            "scan + decode only: \(decoded) events in \(decodeSeconds) s = "
                + "\(Int(Double(decoded) / decodeSeconds)) events/s")

        let snapshotStart = ContinuousClock.now
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        let files = try store.write(engine.read { $0 })
        let written = ContinuousClock.now - snapshotStart
        let loadStart = ContinuousClock.now
        let restored = try store.load(position: applied, expected: files)
        let loaded = ContinuousClock.now - loadStart
        let bytes = files.reduce(0) { $0 + $1.bytes }
        print("snapshots: \(bytes) bytes written in \(written), loaded in \(loaded)")
        #expect(restored.digests == engine.read(\.digests))
        await log.close()
    }
}
