import AnnalsEvents
import AnnalsProjections
import SwiftProtobuf
import Testing

@Suite("Metrics projection")
struct MetricsProjectionTests {
    @Test("counters and the duration histogram follow the events")
    func counters() throws {
        var script = EventScript()
        script.upload("d1", size: 100)
        script.upload("d2", size: 50)
        script.reject("r1", reason: .tooLarge)
        script.reject("r2", reason: .tooLarge)
        script.reject("r3", reason: .overloaded)
        script.start("d1", attempt: 1)
        script.chunk("d1", attempt: 1, index: 0, vector: [1])
        script.complete("d1", attempt: 1, chunks: 1, durationMicros: 3_000)
        script.start("d2", attempt: 1)
        script.fail("d2", attempt: 1, retryAt: nil, stage: .extract, code: "extract.pdf_encrypted")
        script.deadLetter("d2", attempts: 1)
        script.requeue("d2")
        script.start("d2", attempt: 2)
        script.abandon("d2", attempt: 2)
        script.start("d2", attempt: 3)
        script.complete("d2", attempt: 3, chunks: 0, durationMicros: 120_000_000)
        script.delete("d1")
        script.checkpoint(at: 3)
        let metrics = projected(MetricsProjection.self, script.events)
        #expect(metrics.uploadsTotal == 2)
        #expect(metrics.uploadBytesTotal == 150)
        #expect(metrics.uploadsRejectedTotal == ["too_large": 2, "overloaded": 1])
        #expect(metrics.jobsStartedTotal == 4)
        #expect(metrics.chunksEmbeddedTotal == 1)
        #expect(metrics.documentsCompletedTotal == 2)
        #expect(metrics.jobFailuresTotal == [.init(stage: "extract", code: "extract.pdf_encrypted"): 1])
        #expect(metrics.deadLetteredTotal == 1)
        #expect(metrics.requeuedTotal == 1)
        #expect(metrics.abandonedTotal == 1)
        #expect(metrics.deletedTotal == 1)
        #expect(metrics.checkpointsTotal == 1)
        #expect(metrics.eventsTotal(.jobStarted) == 4)
        #expect(metrics.eventsTotal[.uploadRejected] == 3)
        #expect(metrics.eventsTotal[.serviceStopped] == 0)
        let histogram = metrics.processingDuration
        #expect(histogram.count == 2)
        #expect(histogram.sumMicros == 120_003_000)
        #expect(histogram.upperBoundsSeconds.first == 0.005)
        #expect(histogram.upperBoundsSeconds.last == 60)
        // 3 ms falls in the first bucket; 120 s only in +Inf.
        #expect(histogram.cumulativeCounts.first == 1)
        #expect(histogram.cumulativeCounts.dropLast().last == 1)
        #expect(histogram.cumulativeCounts.last == 2)
        #expect(MetricsProjection.uploadRejectReasons.contains("type_mismatch"))

        let restored = try MetricsProjection(snapshot: metrics.snapshot())
        #expect(restored.digest == metrics.digest)
        #expect(restored.processingDuration == metrics.processingDuration)
        #expect(restored.jobFailuresTotal == metrics.jobFailuresTotal)
    }
}

@Suite("Keys projection")
struct KeysProjectionTests {
    @Test("keys authenticate by secret hash until revoked")
    func keys() throws {
        var script = EventScript()
        script.createKey("k1", tenant: "tenant-a", secretSHA256: "s1")
        script.createKey("k2", tenant: "tenant-b", secretSHA256: "s2")
        script.createKey("k1", tenant: "tenant-z", secretSHA256: "s9")
        script.createKey("k3", tenant: "tenant-z", secretSHA256: "s1")
        var keys = projected(KeysProjection.self, script.events)
        #expect(keys.count == 3)
        #expect(keys.key(secretSHA256: "s1")?.id == "k1")
        #expect(keys.key(secretSHA256: "s1")?.tenantId == "tenant-a")
        #expect(keys.key(secretSHA256: "s9") == nil)
        #expect(keys.key(secretSHA256: "s2")?.scopes == ["documents:write", "search"])
        #expect(keys.keys(tenant: "tenant-b").map(\.id) == ["k2"])
        #expect(keys.ignoredEvents == 1)
        keys.apply(script.revokeKey("k1"))
        #expect(keys.key(secretSHA256: "s1") == nil)
        #expect(keys.key(id: "k1")?.revoked == true)
        keys.apply(script.revokeKey("k1"))
        keys.apply(script.revokeKey("nobody"))
        #expect(keys.ignoredEvents == 3)
        #expect(keys.key(secretSHA256: "s2", now: 0)?.id == "k2")

        let restored = try KeysProjection(snapshot: keys.snapshot())
        #expect(restored.digest == keys.digest)
        #expect(restored.key(secretSHA256: "s1") == nil)
        #expect(restored.key(secretSHA256: "s2")?.id == "k2")
    }

    @Test("an expired key is refused when the time is given")
    func expiry() {
        var script = EventScript()
        script.add(
            .apiKeyCreated(
                .with {
                    $0.keyID = "k1"
                    $0.tenantID = "t"
                    $0.secretSha256 = "s"
                    $0.expiresAtMicros = 1_000
                }))
        let keys = projected(KeysProjection.self, script.events)
        #expect(keys.key(secretSHA256: "s", now: 999)?.id == "k1")
        #expect(keys.key(secretSHA256: "s", now: 1_000) == nil)
        #expect(keys.key(secretSHA256: "s")?.expiresAt == 1_000)
    }
}
