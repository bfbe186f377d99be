import AnnalsEvents
import AnnalsProjections
import Testing

@Suite("Queue projection")
struct QueueProjectionTests {
    @Test("jobs come out in order of availability, ties in log order")
    func ordering() {
        var script = EventScript()
        script.upload("a")
        script.upload("b")
        script.upload("c")
        var queue = projected(QueueProjection.self, script.events)
        let now = script.time
        #expect(queue.nextReady(now: now)?.documentId == "a")
        #expect(queue.nextReady(now: now)?.nextAttempt == 1)
        #expect(queue.ready(now: now, limit: 10).map(\.documentId) == ["a", "b", "c"])
        #expect(queue.nextReady(now: now, excluding: ["a"])?.documentId == "b")
        #expect(queue.nextReady(now: scriptEpoch)?.documentId == nil)

        // a fails and retries later than c's upload; b starts.
        queue.apply(script.start("a", attempt: 1))
        queue.apply(script.fail("a", attempt: 1, retryAt: script.time + 60_000_000))
        queue.apply(script.start("b", attempt: 1))
        #expect(queue.nextReady(now: script.time)?.documentId == "c")
        queue.apply(script.start("c", attempt: 1))
        #expect(queue.nextReady(now: script.time) == nil)
        let retry = queue.nextReady(now: script.time + 60_000_000)
        #expect(retry?.documentId == "a")
        #expect(retry?.nextAttempt == 2)
    }

    @Test("stats at a given time")
    func stats() {
        var script = EventScript()
        script.upload("a")
        script.upload("b")
        script.upload("c")
        script.upload("d")
        script.upload("e")
        let enqueuedA = script.events[0].timestamp
        script.start("b", attempt: 1)
        script.start("c", attempt: 1)
        let retryAt = script.time + 30_000_000
        script.fail("c", attempt: 1, retryAt: retryAt)
        script.start("d", attempt: 1)
        script.fail("d", attempt: 1, retryAt: nil)
        script.deadLetter("d", attempts: 1)
        script.start("e", attempt: 1)
        script.complete("e", attempt: 1, chunks: 0)
        let queue = projected(QueueProjection.self, script.events)
        let now = script.time + 1_000
        let stats = queue.stats(now: now)
        #expect(stats.depth == 2)
        #expect(stats.pending == 1)
        #expect(stats.retrying == 1)
        #expect(stats.ready == 1)
        #expect(stats.inFlight == 1)
        #expect(stats.dead == 1)
        #expect(stats.done == 1)
        #expect(stats.awaitingDeadLetter == 0)
        #expect(stats.oldestAgeMicros == now - enqueuedA)
        #expect(queue.stats(now: retryAt).ready == 2)
        #expect(QueueProjection().stats(now: now).oldestAgeMicros == 0)
    }

    @Test("in-flight attempts, expired leases, dead letters")
    func inFlight() {
        var script = EventScript()
        script.upload("a")
        script.upload("b")
        script.upload("c")
        script.start("a", attempt: 1, leaseFor: 10_000_000, process: "old")
        script.start("b", attempt: 1, leaseFor: 90_000_000, process: "new")
        script.start("c", attempt: 1)
        script.fail("c", attempt: 1, retryAt: nil, code: "extract.encrypted")
        var queue = projected(QueueProjection.self, script.events)
        #expect(queue.inFlight().map(\.documentId) == ["a", "b"])
        #expect(queue.inFlight().map(\.processId) == ["old", "new"])
        #expect(queue.expiredLeases(now: script.time + 20_000_000).map(\.documentId) == ["a"])
        #expect(queue.awaitingDeadLetter().map(\.documentId) == ["c"])
        #expect(queue.stats(now: script.time).awaitingDeadLetter == 1)
        queue.apply(script.deadLetter("c", attempts: 1, code: "extract.encrypted"))
        #expect(queue.awaitingDeadLetter().isEmpty)
        let dead = queue.deadLettered()
        #expect(dead.map(\.documentId) == ["c"])
        #expect(dead.first?.lastFailure?.code == "extract.encrypted")
        #expect(dead.first?.lastCode == "extract.encrypted")
        #expect(dead.first?.attempts == 1)
        #expect(dead.first?.tenantId == "tenant-a")
        #expect(queue.deadLettered(tenant: "tenant-a").map(\.documentId) == ["c"])
        #expect(queue.deadLettered(tenant: "tenant-b").isEmpty)
        // Recovery abandons the old process's attempt: the job is ready again, attempt 2 next.
        queue.apply(script.abandon("a", attempt: 1, process: "old"))
        #expect(queue.inFlight().map(\.documentId) == ["b"])
        let next = queue.nextReady(now: script.time)
        #expect(next?.documentId == "a")
        #expect(next?.nextAttempt == 2)
    }

    @Test("a deleted job leaves the queue for good")
    func deleted() {
        var script = EventScript()
        script.upload("a")
        script.upload("b")
        script.delete("a")
        var queue = projected(QueueProjection.self, script.events)
        #expect(queue.job("a") == nil)
        #expect(queue.count == 1)
        #expect(queue.nextReady(now: script.time)?.documentId == "b")
        #expect(queue.stats(now: script.time).depth == 1)
        queue.apply(script.upload("a"))
        queue.apply(script.start("a", attempt: 1))
        #expect(queue.job("a") == nil)
        #expect(queue.ignoredEvents == 2)
    }

    @Test("snapshots list jobs by enqueue position, whatever slots they sit in, and restore to the same bytes")
    func snapshotOrder() throws {
        var script = EventScript()
        script.upload("doc-c")
        script.upload("doc-b")
        script.upload("doc-a")
        // Deleting "doc-c" frees the first slot; "doc-0", uploaded later, takes it.
        script.delete("doc-c")
        script.upload("doc-0")
        script.start("doc-a", attempt: 1)
        let queue = projected(QueueProjection.self, script.events)
        let bytes = queue.snapshot()
        // Enqueue order is b, a, 0: neither slot order (0, b, a) nor id order (0, a, b).
        let order = ["doc-b", "doc-a", "doc-0"].map { bytes.firstRange(of: Array($0.utf8))?.lowerBound }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
        // A restored queue (slots in snapshot order) writes the same bytes, and goes on alike.
        var restored = try QueueProjection(snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        var live = queue
        for event in [script.complete("doc-a", attempt: 1, chunks: 1), script.upload("doc-e")] {
            live.apply(event)
            restored.apply(event)
        }
        #expect(restored.snapshot() == live.snapshot())
    }

    @Test("requeue of a dead job with and without resetting attempts")
    func requeue() {
        var script = EventScript()
        script.upload("a")
        script.start("a", attempt: 1)
        script.fail("a", attempt: 1, retryAt: nil)
        script.deadLetter("a", attempts: 1)
        var queue = projected(QueueProjection.self, script.events)
        #expect(queue.nextReady(now: script.time + 1_000_000_000) == nil)
        queue.apply(script.requeue("a", reset: false))
        #expect(queue.nextReady(now: script.time)?.nextAttempt == 2)
        var reset = queue
        reset.apply(script.requeue("a", reset: true))
        #expect(reset.nextReady(now: script.time)?.nextAttempt == 1)
    }

    /// The reference: every answer computed by scanning all jobs.
    struct Model {
        var jobs: [String: JobStateMachine] = [:]

        mutating func apply(_ event: ProjectedEvent) {
            switch event.event {
            case .uploadReceived(let upload):
                // The model ignores re-uploads only of ids it knows, deleted ones included.
                guard jobs[upload.documentID] == nil else { return }
                jobs[upload.documentID] = JobStateMachine(enqueuedAt: event.timestamp, position: event.position)
            default:
                guard let id = documentId(event.event), jobs[id] != nil else { return }
                jobs[id]!.apply(event)
            }
        }

        func nextReady(now: Int64) -> String? {
            jobs.compactMap { id, job in job.availability.map { (id, $0.at, $0.position) } }
                .filter { $0.1 <= now }
                .min { ($0.1, $0.2) < ($1.1, $1.2) }?.0
        }

        func ready(now: Int64) -> Int {
            jobs.values.filter { ($0.availability?.at ?? .max) <= now }.count
        }

        func oldestAge(now: Int64) -> Int64 {
            jobs.values.filter { $0.availability != nil }.map { max(0, now - $0.enqueuedAt) }.max() ?? 0
        }
    }

    @Test("answers match a brute-force model over a random workload", arguments: [UInt64(1), 2, 3])
    func matchesModel(seed: UInt64) throws {
        let script = randomWorkload(seed: seed, documents: 400)
        var queue = QueueProjection()
        var model = Model()
        for (index, event) in script.events.enumerated() {
            queue.apply(event)
            model.apply(event)
            guard index % 7 == 0 else { continue }
            for now in [event.timestamp, event.timestamp + 5_000_000, event.timestamp + 1_000_000_000] {
                #expect(queue.nextReady(now: now)?.documentId == model.nextReady(now: now))
                let stats = queue.stats(now: now)
                #expect(stats.ready == model.ready(now: now))
                #expect(stats.oldestAgeMicros == model.oldestAge(now: now))
            }
        }
        let live = model.jobs.filter { $0.value.phase != .deleted }
        #expect(queue.count == live.count)
        #expect(queue.inFlight().map(\.documentId) == live.filter { $0.value.lease != nil }.keys.sorted())
        let now = script.time + 1_000_000_000
        let order = queue.ready(now: now, limit: 10_000).map(\.documentId)
        let expected = live.compactMap { id, job in job.availability.map { (id, $0.at, $0.position) } }
            .sorted { ($0.1, $0.2) < ($1.1, $1.2) }.map(\.0)
        #expect(order == expected)

        // A restored queue answers the same.
        let restored = try QueueProjection(snapshot: queue.snapshot())
        #expect(restored.digest == queue.digest)
        #expect(restored.ready(now: now, limit: 10_000).map(\.documentId) == order)
        #expect(restored.stats(now: now) == queue.stats(now: now))
    }

    @Test("many retries and deletions keep the heaps bounded and right")
    func churn() {
        var script = EventScript()
        var queue = QueueProjection()
        for index in 0..<3_000 {
            queue.apply(script.upload("d\(index)"))
            queue.apply(script.start("d\(index)", attempt: 1))
            queue.apply(script.fail("d\(index)", attempt: 1, retryAt: script.time + Int64(index % 17) * 1_000))
            if index % 3 == 0 { queue.apply(script.delete("d\(index)")) }
        }
        let stats = queue.stats(now: script.time + 1_000_000)
        #expect(stats.depth == 2_000)
        #expect(stats.ready == 2_000)
        #expect(queue.ready(now: script.time + 1_000_000, limit: 5_000).count == 2_000)
    }
}

private func documentId(_ event: Event) -> String? {
    switch event {
    case .jobStarted(let e): e.documentID
    case .jobFailed(let e): e.documentID
    case .documentCompleted(let e): e.documentID
    case .jobAbandoned(let e): e.documentID
    case .jobDeadLettered(let e): e.documentID
    case .jobRequeued(let e): e.documentID
    case .documentDeleted(let e): e.documentID
    default: nil
    }
}
