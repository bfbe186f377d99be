import AnnalsEvents
import AnnalsProjections
import AnnalsTesting
import AnnalsVector
import Foundation
import Testing

@Suite("Vectors projection")
struct VectorsProjectionTests {
    @Test("chunks become searchable when their attempt completes")
    func completedAttempt() throws {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        let first = script.chunk("d1", attempt: 1, index: 0, vector: [1, 0, 0])
        script.chunk("d1", attempt: 1, index: 1, vector: [0, 1, 0])
        var vectors = projected(VectorsProjection.self, script.events)
        #expect(vectors.chunkCount == 0)
        #expect(vectors.search(query: [1, 0, 0], k: 5, tenant: "tenant-a").isEmpty)
        vectors.apply(script.complete("d1", attempt: 1, chunks: 2))
        #expect(vectors.chunkCount == 2)
        let hits = vectors.search(query: [1, 0, 0], k: 5, tenant: "tenant-a")
        #expect(hits.map(\.chunkIndex) == [0, 1])
        #expect(hits.first == VectorHit(documentId: "d1", chunkIndex: 0, position: first.position, score: 1))
        #expect(vectors.chunks(of: "d1").map(\.chunkIndex) == [0, 1])
        #expect(vectors.chunks(of: "d1").first?.embedder == "hashing-v1")
        #expect(vectors.chunks(of: "d1").first?.dimension == 3)
    }

    @Test("chunks of a failed or abandoned attempt never appear")
    func failedAttempt() throws {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.chunk("d1", attempt: 1, index: 0, vector: [1, 0])
        script.fail("d1", attempt: 1, retryAt: script.time + 1)
        script.start("d1", attempt: 2)
        script.chunk("d1", attempt: 2, index: 0, vector: [0, 1])
        script.abandon("d1", attempt: 2)
        // A late completion of the abandoned attempt does not publish its chunks.
        script.complete("d1", attempt: 2, chunks: 1)
        let vectors = projected(VectorsProjection.self, script.events)
        #expect(vectors.chunkCount == 0)
        #expect(vectors.search(query: [1, 0], k: 5, tenant: "tenant-a").isEmpty)
    }

    @Test("a redone job replaces the document's chunks without duplicates")
    func redone() throws {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        for index in UInt32(0)..<3 { script.chunk("d1", attempt: 1, index: index, vector: [1, 0]) }
        script.complete("d1", attempt: 1, chunks: 3)
        script.requeue("d1", from: .completed)
        script.start("d1", attempt: 2)
        script.chunk("d1", attempt: 2, index: 0, vector: [0, 1])
        // The same chunk appended twice (a retried append) counts once, the later one winning.
        let second = script.chunk("d1", attempt: 2, index: 1, vector: [0, 1])
        let again = script.chunk("d1", attempt: 2, index: 1, vector: [0, 1])
        var vectors = projected(VectorsProjection.self, script.events)
        // Until attempt 2 completes, attempt 1's chunks stay searchable.
        #expect(vectors.chunkCount == 3)
        vectors.apply(script.complete("d1", attempt: 2, chunks: 2))
        #expect(vectors.chunkCount == 2)
        let hits = vectors.search(query: [0, 1], k: 10, tenant: "tenant-a")
        #expect(hits.map(\.chunkIndex) == [0, 1])
        #expect(hits.map(\.position).contains(again.position))
        #expect(!hits.map(\.position).contains(second.position))
        // A duplicated completion changes nothing.
        let before = vectors.digest
        vectors.apply(script.complete("d1", attempt: 2, chunks: 2))
        #expect(vectors.digest != before)  // only the ignored-event counter moved
        #expect(vectors.chunkCount == 2)
        #expect(vectors.ignoredEvents == 1)
    }

    @Test("chunks beyond the completed count, of stale attempts or malformed are left out")
    func oddChunks() {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.chunk("d1", attempt: 1, index: 0, vector: [1, 0])
        script.chunk("d1", attempt: 1, index: 5, vector: [1, 0])
        script.chunk("d1", attempt: 7, index: 1, vector: [1, 0])
        script.chunk("ghost", attempt: 1, index: 0, vector: [1, 0])
        var malformed = script.chunk("d1", attempt: 1, index: 2, vector: [1, 0])
        malformed.attachment = [1, 2, 3]
        script.events[script.events.count - 1] = malformed
        script.complete("d1", attempt: 1, chunks: 3)
        let vectors = projected(VectorsProjection.self, script.events)
        #expect(vectors.chunks(of: "d1").map(\.chunkIndex) == [0])
        #expect(vectors.malformedChunks == 1)
        #expect(vectors.ignoredEvents == 2)
    }

    @Test("search respects tenants, document filters and embedders")
    func filters() throws {
        var script = EventScript()
        for (id, tenant) in [("a1", "tenant-a"), ("a2", "tenant-a"), ("b1", "tenant-b")] {
            script.upload(id, tenant: tenant)
            script.start(id, attempt: 1)
            script.chunk(id, attempt: 1, index: 0, vector: [1, 0])
            script.chunk(id, attempt: 1, index: 1, vector: [0.6, 0.8])
            script.complete(id, attempt: 1, chunks: 2)
        }
        script.upload("a3", tenant: "tenant-a")
        script.start("a3", attempt: 1)
        script.chunk("a3", attempt: 1, index: 0, vector: [1, 0], embedder: "openai:small")
        script.complete("a3", attempt: 1, chunks: 1)
        var vectors = projected(VectorsProjection.self, script.events)
        let tenantA = vectors.search(query: [1, 0], k: 10, tenant: "tenant-a", embedder: "hashing-v1")
        #expect(Set(tenantA.map(\.documentId)) == ["a1", "a2"])
        #expect(tenantA.count == 4)
        #expect(tenantA.map(\.score) == [1, 1, 0.6, 0.6])
        let all = vectors.search(query: [1, 0], k: 10, tenant: "tenant-a")
        #expect(Set(all.map(\.documentId)) == ["a1", "a2", "a3"])
        let tenantB = vectors.search(query: [1, 0], k: 10, tenant: "tenant-b")
        #expect(Set(tenantB.map(\.documentId)) == ["b1"])
        let onlyA2 = vectors.search(query: [1, 0], k: 10, tenant: "tenant-a", documentIds: ["a2", "b1"])
        #expect(Set(onlyA2.map(\.documentId)) == ["a2"])
        #expect(vectors.search(query: [1, 0], k: 10, tenant: "tenant-a", documentIds: []).isEmpty)
        #expect(vectors.search(query: [1, 0], k: 10, tenant: "tenant-a", documentIds: ["b1"]).isEmpty)
        #expect(vectors.search(query: [1, 0, 0], k: 10, tenant: "tenant-a").isEmpty)
        #expect(vectors.search(query: [1, 0], k: 0, tenant: "tenant-a").isEmpty)
        #expect(vectors.search(query: [1, 0], k: 1, tenant: "tenant-a").count == 1)
        #expect(vectors.search(query: [.nan, 0], k: 1, tenant: "tenant-a").isEmpty)
        #expect(vectors.search(query: [0, 0], k: 1, tenant: "tenant-a").isEmpty)

        vectors.apply(script.delete("a1"))
        let afterDelete = vectors.search(query: [1, 0], k: 10, tenant: "tenant-a", embedder: "hashing-v1")
        #expect(Set(afterDelete.map(\.documentId)) == ["a2"])
        #expect(vectors.chunks(of: "a1").isEmpty)
        #expect(vectors.chunkCount == 5)
    }

    @Test("snapshots hold the index and behave like the original")
    func snapshot() throws {
        let script = randomWorkload(seed: 21, documents: 300, dimension: 16)
        let cut = cutAfterChunk(script.events, from: script.events.count / 3)
        let full = projected(VectorsProjection.self, script.events)
        var restored = try VectorsProjection(
            snapshot: projected(VectorsProjection.self, Array(script.events[..<cut])).snapshot())
        for event in script.events[cut...] { restored.apply(event) }
        #expect(restored.digest == full.digest)
        #expect(full.chunkCount > 0)
        var rng = SeededGenerator(seed: 5)
        for tenant in ["tenant-a", "tenant-b", "tenant-c"] {
            let query = randomUnitVector(16, &rng)
            #expect(
                restored.search(query: query, k: 7, tenant: tenant) == full.search(query: query, k: 7, tenant: tenant))
        }
        var damaged = try full.snapshot()
        damaged[damaged.count / 2] ^= 0xFF
        #expect((try? VectorsProjection(snapshot: damaged))?.digest != full.digest)
    }
}

@Suite("Vectors projection with graphs")
struct VectorsProjectionGraphTests {
    /// Expects `a` and `b` to give the same approximate answers to `queries` random queries of tenant-a.
    private func expectSameApproximateAnswers(
        _ a: VectorsProjection, _ b: VectorsProjection, queries: Int, k: Int, seed: UInt64
    ) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<queries {
            let query = randomUnitVector(16, &generator)
            #expect(
                a.search(query: query, k: k, tenant: "tenant-a", mode: .approximate)
                    == b.search(query: query, k: k, tenant: "tenant-a", mode: .approximate))
        }
    }

    /// `documents` documents of 10 chunks each (dimension `dimension`), ids `PREFIX0`…, completed in order.
    private func completedDocuments(
        _ documents: Int, prefix: String = "d", dimension: Int = 16, seed: UInt64
    ) -> EventScript {
        var script = EventScript()
        var generator = SeededGenerator(seed: seed)
        for document in 0..<documents {
            let id = "\(prefix)\(document)"
            script.upload(id)
            script.start(id, attempt: 1)
            for chunk in UInt32(0)..<10 {
                script.chunk(id, attempt: 1, index: chunk, vector: randomUnitVector(dimension, &generator))
            }
            script.complete(id, attempt: 1, chunks: 10)
        }
        return script
    }

    /// 30 documents of 10 chunks each (dimension 16): past a threshold of 100 the tenant's index is a graph.
    private func workload() -> EventScript {
        var script = completedDocuments(30, seed: 42)
        // A deletion after the switch: its chunks must never come back.
        script.delete("d3")
        return script
    }

    private func build(_ events: [ProjectedEvent]) -> VectorsProjection {
        var vectors = VectorsProjection(exactThreshold: 100)
        for event in events { vectors.apply(event) }
        return vectors
    }

    @Test("past the threshold: modes agree, deleted chunks never return, filters hold")
    func graphSearch() throws {
        let vectors = build(workload().events)
        #expect(vectors.chunkCount == 290)
        #expect(vectors.graphStatus.graphs == 1 && vectors.graphStatus.indexedSlots == 0)
        vectors.buildGraphs()
        #expect(vectors.graphStatus.indexedSlots == vectors.graphStatus.slots && vectors.graphStatus.slots == 300)
        var generator = SeededGenerator(seed: 7)
        var agreeing = 0
        for _ in 0..<50 {
            let query = randomUnitVector(16, &generator)
            let exact = vectors.search(query: query, k: 10, tenant: "tenant-a", mode: .exact)
            let approximate = vectors.search(query: query, k: 10, tenant: "tenant-a", mode: .approximate)
            #expect(exact.count == 10 && approximate.count == 10)
            #expect(!exact.contains { $0.documentId == "d3" } && !approximate.contains { $0.documentId == "d3" })
            agreeing += Set(exact.map { $0.position }).intersection(approximate.map { $0.position }).count
            let filtered = vectors.search(
                query: query, k: 5, tenant: "tenant-a", documentIds: ["d7", "d3"], mode: .approximate)
            #expect(filtered.count == 5 && filtered.allSatisfy { $0.documentId == "d7" })
        }
        #expect(Double(agreeing) / 500 >= 0.9)
    }

    @Test("a graph that lags its space misses nothing: the slots it has not reached are scanned")
    func laggingGraph() throws {
        var script = workload()
        let vectors = build(script.events)
        let work = vectors.graphWork()
        #expect(work.count == 1 && work[0].remaining == 300)
        #expect(work[0].extend(limit: 120) == 120)
        #expect(vectors.graphStatus.indexedSlots == 120)
        // Every chunk of the last documents (slots past 120) is found by its own vector, with score 1.
        var generator = SeededGenerator(seed: 42)
        var chunkVectors: [[Float]] = []
        for _ in 0..<30 { for _ in 0..<10 { chunkVectors.append(randomUnitVector(16, &generator)) } }
        for slot in [150, 233, 299] {
            let hit = vectors.search(query: chunkVectors[slot], k: 1, tenant: "tenant-a", mode: .approximate)
            #expect(hit.first?.documentId == "d\(slot / 10)" && hit.first?.chunkIndex == UInt32(slot % 10))
        }
        // A copy of the projection taken now, and the original going on: the shared graph serves both.
        var later = vectors
        let before = script.events.count
        script.upload("late")
        script.start("late", attempt: 1)
        let lateVector = randomUnitVector(16, &generator)
        script.chunk("late", attempt: 1, index: 0, vector: lateVector)
        script.complete("late", attempt: 1, chunks: 1)
        for event in script.events[before...] { later.apply(event) }
        later.buildGraphs()
        #expect(later.search(query: lateVector, k: 1, tenant: "tenant-a").first?.documentId == "late")
        #expect(vectors.search(query: lateVector, k: 1, tenant: "tenant-a").first?.documentId != "late")
    }

    @Test("a compaction renumbers the slots: the space starts a new graph, and searches stay right meanwhile")
    func compactionRestartsTheGraph() throws {
        var script = completedDocuments(220, prefix: "c", dimension: 8, seed: 4)
        var generator = SeededGenerator(seed: 5)
        var vectors = VectorsProjection(exactThreshold: 100)
        for event in script.events { vectors.apply(event) }
        vectors.buildGraphs()
        let built = vectors.graphWork()
        #expect(built.isEmpty && vectors.graphStatus.indexedSlots == 2_200)
        let before = script.events.count
        // 120 documents deleted: the 103rd makes 1,030 dead slots of 2,200, past the minimum and a quarter, and
        // the compaction keeps 1,170 slots; the 17 after it leave 170 dead ones.
        for document in 0..<120 { script.delete("c\(document)") }
        for event in script.events[before...] { vectors.apply(event) }
        #expect(vectors.storedVectors.count == 1_170)
        #expect(vectors.graphStatus.slots == 1_170 && vectors.graphStatus.indexedSlots == 0)
        let query = randomUnitVector(8, &generator)
        let exact = vectors.search(query: query, k: 10, tenant: "tenant-a", mode: .exact)
        #expect(vectors.search(query: query, k: 10, tenant: "tenant-a", mode: .approximate) == exact)
        vectors.buildGraphs()
        #expect(vectors.graphStatus.indexedSlots == 1_170)
        let approximate = vectors.search(query: query, k: 10, tenant: "tenant-a", mode: .approximate, efSearch: 100)
        #expect(approximate.allSatisfy { Int($0.documentId.dropFirst())! >= 120 })
        #expect(Set(approximate.map(\.position)).intersection(exact.map(\.position)).count >= 9)
    }

    @Test("saved graphs restore into a restored projection; a file of other vectors, or a damaged one, means a rebuild")
    func graphFiles() throws {
        let directory = TemporaryDirectory()
        let files = try GraphFiles(directory: directory.child("graphs"))
        let events = workload().events
        let whole = build(events)
        #expect(try files.save(whole.graphTargets()).files == 0)  // an empty graph is not saved
        whole.buildGraphs()
        let saved = try files.save(whole.graphTargets())
        #expect(saved.files == 1 && saved.bytes > 300 * 33 * 4)
        #expect(try files.save(whole.graphTargets()).files == 0)  // unchanged since
        let restored = try VectorsProjection(snapshot: whole.snapshot(), backing: .memory, exactThreshold: 100)
        let fresh = try GraphFiles(directory: directory.child("graphs"))
        let result = fresh.restore(restored.graphTargets())
        #expect(result.graphs == 1 && result.slots == 300 && result.skipped.isEmpty)
        #expect(restored.graphWork().isEmpty)
        #expect(restored.graphTargets()[0].graph.graphDigest() == whole.graphTargets()[0].graph.graphDigest())
        expectSameApproximateAnswers(restored, whole, queries: 5, k: 5, seed: 3)
        // A restore into a graph that is not empty does nothing.
        #expect(fresh.restore(restored.graphTargets()).graphs == 0)

        // The file of another log whose space has the same positions but other vectors does not fit: skipped.
        var other = completedDocuments(30, seed: 77)
        other.delete("d3")
        let stranger = build(other.events)
        let skipped = try GraphFiles(directory: directory.child("graphs")).restore(stranger.graphTargets())
        #expect(skipped.graphs == 0 && skipped.skipped.count == 1 && skipped.skipped[0].contains("other vectors"))

        // A damaged file: skipped.
        let path = directory.child("graphs") + "/" + whole.graphTargets()[0].fileName
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 3] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        let again = try VectorsProjection(snapshot: whole.snapshot(), backing: .memory, exactThreshold: 100)
        let damaged = try GraphFiles(directory: directory.child("graphs")).restore(again.graphTargets())
        #expect(damaged.graphs == 0 && damaged.skipped.first?.contains("checksum") == true)
        #expect(again.graphStatus.indexedSlots == 0)
        again.buildGraphs()
        #expect(again.graphTargets()[0].graph.graphDigest() == whole.graphTargets()[0].graph.graphDigest())
    }

    @Test("graphs are not state: building them changes no digest, a restore starts them anew, answers agree")
    func snapshotAndReplay() throws {
        let events = workload().events
        let middle = events.count * 2 / 3
        let whole = build(events)
        let before = whole.digest
        whole.buildGraphs()
        #expect(whole.digest == before)
        let early = build(Array(events[..<middle]))
        early.buildGraphs()
        var restored = try VectorsProjection(snapshot: early.snapshot(), backing: .memory, exactThreshold: 100)
        #expect(restored.graphStatus.graphs == 1 && restored.graphStatus.indexedSlots == 0)
        for event in events[middle...] { restored.apply(event) }
        #expect(try restored.snapshot() == whole.snapshot())
        restored.buildGraphs()
        // Both graphs were built from the same slots in the same order: the same graph, the same answers.
        expectSameApproximateAnswers(restored, whole, queries: 10, k: 10, seed: 9)
    }
}
