import AnnalsProjections
import AnnalsVector
import Testing

@Suite("Projection set")
struct ProjectionSetTests {
    @Test(
        "a batch applied on two threads, or on one, gives the same state as events applied one by one",
        arguments: [true, false])
    func parallelBatch(parallel: Bool) {
        let events = randomWorkload(seed: 99, documents: 600).events
        #expect(events.count > 4 * ProjectionSet.parallelApplyCountMin)
        var serial = ProjectionSet()
        for event in events { serial.apply(event) }
        var batched = ProjectionSet()
        var start = 0
        for size in [3, 700, 1, 2_000, 300] where start < events.count {
            batched.apply(contentsOf: Array(events[start..<min(start + size, events.count)]), parallel: parallel)
            start += size
        }
        batched.apply(contentsOf: Array(events[start...]), parallel: parallel)
        #expect(batched.appliedPosition == serial.appliedPosition)
        #expect(batched.digests == serial.digests)
        // Applying the same events again changes nothing.
        batched.apply(contentsOf: events, parallel: parallel)
        #expect(batched.digest == serial.digest)
    }

    @Test("a set of some projections maintains those as the full set does, and has no digest of the others")
    func selection() {
        let events = randomWorkload(seed: 98, documents: 600).events
        var full = ProjectionSet()
        full.apply(contentsOf: events)
        let chosen: ProjectionSelection = [.documents, .queue, .metrics]
        #expect(chosen.names == ["documents", "queue", "metrics"])
        var some = ProjectionSet(vectorBacking: .memory, selection: chosen)
        some.apply(contentsOf: events)
        var oneByOne = ProjectionSet(vectorBacking: .memory, selection: chosen)
        for event in events { oneByOne.apply(event) }
        let fullDigests = full.digests
        #expect(some.digests == fullDigests.filter { chosen.names.contains($0.key) })
        #expect(oneByOne.digests == some.digests)
        #expect(some.digest == oneByOne.digest && some.digest != full.digest)
        #expect(some.appliedPosition == full.appliedPosition)
        // The others stay empty.
        #expect(full.vectors.chunkCount > 0 && some.vectors.chunkCount == 0)
        #expect(ProjectionSelection(name: "vectors") == .vectors && ProjectionSelection(name: "nope") == nil)
        #expect(ProjectionSelection.all.names == ProjectionSet.projectionNames)
    }

    @Test("skipping moves the position without touching the projections")
    func skip() {
        var set = ProjectionSet()
        var script = EventScript()
        set.apply(script.upload("d1"))
        let digests = set.digests
        set.skip(to: 10)
        #expect(set.appliedPosition == 10)
        #expect(set.digests == digests)
        set.skip(to: 4)
        #expect(set.appliedPosition == 10)
        #expect(ProjectionSet.projectionNames == ["documents", "queue", "vectors", "metrics", "keys"])
    }
}
