import AnnalsEvents
import AnnalsProjections
import Testing

@Suite("Documents projection")
struct DocumentsProjectionTests {
    @Test("happy path: queued, processing, completed")
    func happyPath() throws {
        var script = EventScript()
        let upload = script.upload("d1", sha256: "abc", size: 42)
        var documents = projected(DocumentsProjection.self, script.events)
        var document = try #require(documents.document(id: "d1"))
        #expect(document.status == .queued)
        #expect(document.tenantId == "tenant-a")
        #expect(document.size == 42)
        #expect(document.sha256 == "abc")
        #expect(document.contentType == "text/plain")
        #expect(document.position == upload.position)
        #expect(document.createdAt == upload.timestamp)
        #expect(document.attempts == 0)

        documents.apply(script.start("d1", attempt: 1))
        #expect(documents.document(id: "d1")?.status == .processing)
        #expect(documents.document(id: "d1")?.attempts == 1)
        documents.apply(script.chunk("d1", attempt: 1, index: 0, vector: [1, 0]))
        #expect(documents.document(id: "d1")?.status == .processing)
        let completed = script.complete("d1", attempt: 1, chunks: 1)
        documents.apply(completed)
        document = try #require(documents.document(id: "d1"))
        #expect(document.status == .completed)
        #expect(document.chunkCount == 1)
        #expect(document.completedAt == completed.timestamp)
        #expect(document.updatedAt == completed.timestamp)
        #expect(document.lastError == nil)
        #expect(documents.ignoredEvents == 0)
    }

    @Test("retry then success")
    func retryThenSuccess() {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.fail("d1", attempt: 1, retryAt: script.time + 10_000_000)
        var documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.document(id: "d1")?.status == .failed)
        #expect(documents.document(id: "d1")?.lastError?.code == "embed.timeout")
        #expect(documents.document(id: "d1")?.lastError?.stage == "embed")
        documents.apply(script.start("d1", attempt: 2))
        documents.apply(script.complete("d1", attempt: 2, chunks: 3))
        #expect(documents.document(id: "d1")?.status == .completed)
        #expect(documents.document(id: "d1")?.attempts == 2)
        #expect(documents.document(id: "d1")?.chunkCount == 3)
    }

    @Test("retries exhausted: dead, then requeued")
    func deadLettered() {
        var script = EventScript()
        script.upload("d1")
        for attempt in UInt32(1)...3 {
            script.start("d1", attempt: attempt)
            script.fail("d1", attempt: attempt, retryAt: attempt < 3 ? script.time + 1 : nil, code: "extract.bad")
        }
        var documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.document(id: "d1")?.status == .failed)
        documents.apply(script.deadLetter("d1", attempts: 3, code: "extract.bad"))
        #expect(documents.document(id: "d1")?.status == .dead)
        #expect(documents.document(id: "d1")?.lastError?.code == "extract.bad")
        documents.apply(script.requeue("d1", reset: true))
        #expect(documents.document(id: "d1")?.status == .queued)
        #expect(documents.document(id: "d1")?.attempts == 0)
    }

    @Test("abandoned: queued again with the attempt used")
    func abandoned() {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.abandon("d1", attempt: 1)
        var documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.document(id: "d1")?.status == .queued)
        #expect(documents.document(id: "d1")?.attempts == 1)
        #expect(documents.document(id: "d1")?.lastError?.code == "job.abandoned.process_gone")
        // The abandoned attempt's late completion changes nothing.
        documents.apply(script.complete("d1", attempt: 1, chunks: 2))
        #expect(documents.document(id: "d1")?.status == .queued)
        #expect(documents.document(id: "d1")?.chunkCount == 0)
        #expect(documents.ignoredEvents == 1)
    }

    @Test("deleted documents keep their record but leave listings and deduplication")
    func deleted() {
        var script = EventScript()
        script.upload("d1", sha256: "same")
        script.upload("d2", sha256: "same")
        var documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.documentId(tenant: "tenant-a", sha256: "same") == "d1")
        #expect(documents.documentId(tenant: "tenant-b", sha256: "same") == nil)
        documents.apply(script.delete("d1"))
        #expect(documents.document(id: "d1")?.status == .deleted)
        #expect(documents.documentId(tenant: "tenant-a", sha256: "same") == "d2")
        #expect(documents.documents(tenant: "tenant-a", limit: 10).map(\.id) == ["d2"])
        #expect(documents.documents(tenant: "tenant-a", limit: 10, statuses: [.deleted]).map(\.id) == ["d1"])
        // Nothing brings a deleted document back.
        documents.apply(script.start("d1", attempt: 1))
        documents.apply(script.requeue("d1"))
        #expect(documents.document(id: "d1")?.status == .deleted)
    }

    @Test("duplicates and events for unknown documents are ignored and counted")
    func duplicates() {
        var script = EventScript()
        script.upload("d1", size: 1)
        script.upload("d1", size: 2)
        script.start("d1", attempt: 1)
        script.start("d1", attempt: 1)
        script.complete("d1", attempt: 1, chunks: 1)
        script.complete("d1", attempt: 1, chunks: 1)
        script.start("ghost", attempt: 1)
        script.delete("ghost")
        let documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.count == 1)
        #expect(documents.document(id: "d1")?.size == 1)
        #expect(documents.document(id: "d1")?.status == .completed)
        #expect(documents.ignoredEvents == 5)
    }

    @Test("refused uploads are listed as rejected and never deduplicated")
    func rejected() {
        var script = EventScript()
        script.reject("r1", reason: .typeMismatch)
        script.start("r1", attempt: 1)
        let documents = projected(DocumentsProjection.self, script.events)
        #expect(documents.document(id: "r1")?.status == .rejected)
        #expect(documents.document(id: "r1")?.lastError?.code == "upload.type_mismatch")
        #expect(documents.document(id: "r1")?.lastError?.stage == "upload")
        #expect(documents.documentId(tenant: "tenant-a", sha256: "") == nil)
        #expect(documents.statusCounts(tenant: "tenant-a") == [.rejected: 1])
    }

    @Test("listings are per tenant, in upload order, paged by position")
    func listing() {
        var script = EventScript()
        for index in 0..<10 { script.upload("a\(index)", tenant: "tenant-a") }
        for index in 0..<3 { script.upload("b\(index)", tenant: "tenant-b") }
        let documents = projected(DocumentsProjection.self, script.events)
        let first = documents.documents(tenant: "tenant-a", limit: 4)
        #expect(first.map(\.id) == ["a0", "a1", "a2", "a3"])
        let second = documents.documents(tenant: "tenant-a", after: first.last!.position, limit: 4)
        #expect(second.map(\.id) == ["a4", "a5", "a6", "a7"])
        let third = documents.documents(tenant: "tenant-a", after: second.last!.position, limit: 4)
        #expect(third.map(\.id) == ["a8", "a9"])
        #expect(documents.documents(tenant: "tenant-a", after: third.last!.position, limit: 4).isEmpty)
        #expect(documents.documents(tenant: "tenant-b", limit: 10).map(\.id) == ["b0", "b1", "b2"])
        #expect(documents.documents(tenant: "nobody", limit: 10).isEmpty)
        #expect(documents.documents(tenant: "tenant-a", limit: 0).isEmpty)
    }

    @Test("snapshots round-trip, are canonical and behave like the original")
    func snapshot() throws {
        let script = randomWorkload(seed: 11, documents: 300)
        let half = script.events.count / 2
        let full = projected(DocumentsProjection.self, script.events)
        var restored = try DocumentsProjection(
            snapshot: projected(DocumentsProjection.self, Array(script.events[..<half])).snapshot())
        for event in script.events[half...] { restored.apply(event) }
        #expect(restored.digest == full.digest)
        #expect(restored.snapshot() == full.snapshot())
        for tenant in ["tenant-a", "tenant-b", "tenant-c"] {
            #expect(restored.documents(tenant: tenant, limit: 1000) == full.documents(tenant: tenant, limit: 1000))
        }
        #expect(throws: ProjectionError.self) { try DocumentsProjection(snapshot: Array(full.snapshot().dropLast())) }
        var wrongVersion = full.snapshot()
        wrongVersion[0] = 99
        do {
            _ = try DocumentsProjection(snapshot: wrongVersion)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .versionMismatch) }
    }

    @Test("a snapshot whose documents are out of upload order, or repeat an id, is refused")
    func snapshotOrder() throws {
        func single(_ id: String, after position: UInt64) -> [UInt8] {
            var script = EventScript()
            script.position = position
            script.upload(id)
            return projected(DocumentsProjection.self, script.events).snapshot()
        }
        let early = single("early", after: 0)
        let late = single("late", after: 10)
        let again = single("early", after: 20)
        // The head is the version (4 bytes), the ignored-event count (8) and the document count (8).
        func joined(_ parts: [[UInt8]]) -> [UInt8] {
            var bytes = Array(early[0..<12])
            withUnsafeBytes(of: UInt64(parts.count).littleEndian) { bytes += $0 }
            for part in parts { bytes += part[20...] }
            return bytes
        }
        #expect(try DocumentsProjection(snapshot: joined([early, late])).count == 2)
        for parts in [[late, early], [early, early], [early, again]] {
            do {
                _ = try DocumentsProjection(snapshot: joined(parts))
                Issue.record("expected a throw")
            } catch { #expect(error.code == .malformedSnapshot) }
        }
    }
}
