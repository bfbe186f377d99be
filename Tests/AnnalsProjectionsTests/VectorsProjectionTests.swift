import AnnalsEvents
import AnnalsProjections
import AnnalsTesting
import AnnalsVector
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
        var damaged = full.snapshot()
        damaged[damaged.count / 2] ^= 0xFF
        #expect((try? VectorsProjection(snapshot: damaged))?.digest != full.digest)
    }
}
