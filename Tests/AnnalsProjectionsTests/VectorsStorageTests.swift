import AnnalsEvents
import AnnalsProjections
import AnnalsTesting
import AnnalsVector
import Foundation
import Testing

@Suite("Vectors projection storage")
struct VectorsStorageTests {
    /// One document, "big", of tenant-a, uploaded, processed and completed with `chunks` random vectors.
    func bigDocument(chunks: UInt32, dimension: Int, _ generator: inout SeededGenerator) -> EventScript {
        var script = EventScript()
        script.upload("big")
        script.start("big", attempt: 1)
        for index in UInt32(0)..<chunks {
            script.chunk("big", attempt: 1, index: index, vector: randomUnitVector(dimension, &generator))
        }
        script.complete("big", attempt: 1, chunks: chunks)
        return script
    }

    @Test("vectors in a file give the same state, digest and answers as vectors in memory")
    func fileBacking() throws {
        let directory = TemporaryDirectory()
        let events = randomWorkload(seed: 31, documents: 250, dimension: 12).events
        let memory = projected(VectorsProjection.self, events)
        var file = VectorsProjection(backing: .file(directory: directory.path))
        for event in events { file.apply(event) }
        #expect(file.digest == memory.digest)
        #expect(file.chunkCount == memory.chunkCount && memory.chunkCount > 0)
        var generator = SeededGenerator(seed: 9)
        for tenant in ["tenant-a", "tenant-b", "tenant-c"] {
            let query = randomUnitVector(12, &generator)
            #expect(
                file.search(query: query, k: 9, tenant: tenant) == memory.search(query: query, k: 9, tenant: tenant))
        }
        // Restoring a snapshot into a file behaves like the original too.
        let restored = try VectorsProjection(snapshot: try memory.snapshot(), backing: .file(directory: directory.path))
        #expect(restored.digest == memory.digest)
    }

    /// Document "big" fails an attempt of `failed` chunks written before "small" completes 200: the failure makes
    /// the space mostly dead, so it is compacted and "small"'s slots are renumbered.
    private func compactionScript(failed: UInt32) -> (script: EventScript, smallVectors: [[Float]]) {
        var script = EventScript()
        var generator = SeededGenerator(seed: 4)
        script.upload("big")
        script.upload("small")
        script.start("big", attempt: 1)
        for index in 0..<failed {
            script.chunk("big", attempt: 1, index: index, vector: randomUnitVector(8, &generator))
        }
        script.start("small", attempt: 1)
        var smallVectors: [[Float]] = []
        for index in UInt32(0)..<200 {
            let vector = randomUnitVector(8, &generator)
            smallVectors.append(vector)
            script.chunk("small", attempt: 1, index: index, vector: vector)
        }
        script.complete("small", attempt: 1, chunks: 200)
        script.fail("big", attempt: 1, retryAt: nil)
        return (script, smallVectors)
    }

    @Test("dead slots are compacted away; chunks, searches and snapshots stay right")
    func compaction() throws {
        let (script, smallVectors) = compactionScript(failed: 1500)
        let events = script.events
        let vectors = projected(VectorsProjection.self, events)
        // 1,500 dead of 1,700 slots: compacted to the 200 live ones.
        #expect(vectors.storedVectors.count == 200)
        #expect(vectors.chunkCount == 200)
        let chunks = vectors.chunks(of: "small")
        #expect(chunks.map(\.chunkIndex) == Array(0..<200))
        for index in [0, 77, 199] {
            let hits = vectors.search(query: smallVectors[index], k: 1, tenant: "tenant-a")
            #expect(hits.first?.documentId == "small" && hits.first?.chunkIndex == UInt32(index))
            #expect(hits.first?.position == chunks[index].position)
            let filtered = vectors.search(query: smallVectors[index], k: 1, tenant: "tenant-a", documentIds: ["small"])
            #expect(filtered == hits)
        }
        // A snapshot taken before the compaction replays through it to the same state.
        let cut = events.count - 2
        var restored = try VectorsProjection(
            snapshot: try projected(VectorsProjection.self, Array(events[..<cut])).snapshot())
        for event in events[cut...] { restored.apply(event) }
        #expect(restored.digest == vectors.digest)
        // Fewer dead slots than the minimum are kept.
        let (small, _) = compactionScript(failed: 1000)
        #expect(projected(VectorsProjection.self, small.events).storedVectors.count == 1200)
    }

    @Test("copies behave as values: each keeps its own vectors when both go on")
    func copies() throws {
        var script = EventScript()
        script.upload("d1")
        script.start("d1", attempt: 1)
        script.chunk("d1", attempt: 1, index: 0, vector: [1, 0, 0])
        var first = projected(VectorsProjection.self, script.events)
        var second = first
        var tail = script
        first.apply(tail.chunk("d1", attempt: 1, index: 1, vector: [0, 1, 0]))
        first.apply(tail.complete("d1", attempt: 1, chunks: 2))
        var other = script
        second.apply(other.chunk("d1", attempt: 1, index: 1, vector: [0, 0, 1]))
        second.apply(other.complete("d1", attempt: 1, chunks: 2))
        #expect(first.search(query: [0, 1, 0], k: 1, tenant: "tenant-a").first?.score == 1)
        #expect(second.search(query: [0, 0, 1], k: 1, tenant: "tenant-a").first?.score == 1)
        #expect(first.digest == projected(VectorsProjection.self, tail.events).digest)
        #expect(second.digest == projected(VectorsProjection.self, other.events).digest)
    }

    @Test("a snapshot store with file-backed vectors writes and loads the same state")
    func storeRoundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(
            directory: directory.child("snapshots"), vectorBacking: .file(directory: directory.path))
        var set = ProjectionSet(vectorBacking: .file(directory: directory.path))
        for event in randomWorkload(seed: 12, documents: 150).events { set.apply(event) }
        let files = try store.write(set)
        let loaded = try store.load(position: set.appliedPosition, expected: files)
        #expect(loaded.digests == set.digests)
        #expect(files.first { $0.projection == VectorsProjection.name }?.stateDigest == set.vectors.digest)
    }

    @Test("vectors larger than a read block restore whole, though blocks split vectors")
    func largeRestore() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(
            directory: directory.child("snapshots"), vectorBacking: .file(directory: directory.path))
        var generator = SeededGenerator(seed: 8)
        // 3,000 × 384 floats are 4.6 MB: more than one 4 MiB block, which is not a whole number of vectors.
        let script = bigDocument(chunks: 3000, dimension: 384, &generator)
        var set = ProjectionSet(vectorBacking: .file(directory: directory.path))
        for event in script.events { set.apply(event) }
        let files = try store.write(set)
        let loaded = try store.load(position: set.appliedPosition, expected: files)
        #expect(loaded.vectors.digest == set.vectors.digest)
        #expect(loaded.vectors.chunkCount == 3000)
        let query = randomUnitVector(384, &generator)
        #expect(
            loaded.vectors.search(query: query, k: 5, tenant: "tenant-a")
                == set.vectors.search(query: query, k: 5, tenant: "tenant-a"))
    }

    @Test("a restore uses the snapshot file's vectors in place, past a segment, and goes on like the original")
    func restoreInPlace() throws {
        let directory = TemporaryDirectory()
        let backing = VectorArena.Backing.file(directory: directory.path)
        let store = try SnapshotStore(directory: directory.child("snapshots"), vectorBacking: backing)
        var generator = SeededGenerator(seed: 9)
        // 4,096 floats are 16 KiB: 4,096 vectors fill a 64 MiB segment; 4,100 start a second.
        let script = bigDocument(chunks: 4100, dimension: 4096, &generator)
        var set = ProjectionSet(vectorBacking: backing)
        for event in script.events { set.apply(event) }
        let files = try store.write(set)
        var loaded = try store.load(position: set.appliedPosition, expected: files)
        // The vectors' two segments and the records' one, none copied.
        #expect(loaded.vectors.restoredSegments == 3)
        #expect(loaded.digests == set.digests)
        // Pruning the files does not take the mapped vectors away.
        for file in files { try FileManager.default.removeItem(atPath: directory.child("snapshots/\(file.file)")) }
        let query = randomUnitVector(4096, &generator)
        #expect(
            loaded.vectors.search(query: query, k: 5, tenant: "tenant-a")
                == set.vectors.search(query: query, k: 5, tenant: "tenant-a"))
        // The same events after the restore give the same state as after the original.
        var more = EventScript()
        more.position = set.appliedPosition
        more.time = script.time
        more.upload("small")
        more.start("small", attempt: 1)
        more.chunk("small", attempt: 1, index: 0, vector: randomUnitVector(4096, &generator))
        more.complete("small", attempt: 1, chunks: 1)
        for event in more.events {
            set.apply(event)
            loaded.apply(event)
        }
        #expect(loaded.digests == set.digests)
        // And a snapshot of the restored state, read partly through the mapping, is the same file.
        #expect(try store.write(loaded) == store.write(set))
    }

    @Test("slot tables past one page, and documents whose chunks interleave, keep every chunk in place")
    func pagesAndRuns() throws {
        var script = EventScript()
        script.upload("long")
        script.upload("other")
        script.start("long", attempt: 1)
        script.start("other", attempt: 1)
        // 70,000 chunks cross the 65,536-slot page of the slot tables; "other" interleaves its chunks in threes.
        var otherIndex: UInt32 = 0
        for index in UInt32(0)..<70_000 {
            let angle = Float(index) / 70_000 * .pi / 2
            // The last chunk points the other way, so that a search finds it alone.
            let vector: [Float] = index == 69_999 ? [0, -1] : [cos(angle), sin(angle)]
            script.chunk("long", attempt: 1, index: index, vector: vector)
            if index % 1000 == 0 {
                for _ in 0..<3 {
                    script.chunk("other", attempt: 1, index: otherIndex, vector: [-1, 0])
                    otherIndex += 1
                }
            }
        }
        script.complete("long", attempt: 1, chunks: 70_000)
        script.complete("other", attempt: 1, chunks: otherIndex)
        let vectors = projected(VectorsProjection.self, script.events)
        #expect(vectors.chunkCount == 70_000 + Int(otherIndex))
        #expect(vectors.chunks(of: "long").map(\.chunkIndex) == Array(0..<70_000))
        #expect(vectors.chunks(of: "other").count == Int(otherIndex))
        let last = vectors.search(query: [0, -1], k: 1, tenant: "tenant-a")
        #expect(last.first?.documentId == "long" && last.first?.chunkIndex == 69_999)
        let other = vectors.search(query: [-1, 0], k: 2, tenant: "tenant-a", documentIds: ["other"])
        #expect(other.count == 2 && other.allSatisfy { $0.documentId == "other" })
        let restored = try VectorsProjection(snapshot: try vectors.snapshot())
        #expect(restored.digest == vectors.digest)
        #expect(restored.chunks(of: "long") == vectors.chunks(of: "long"))
    }
}
