import AnnalsProjections
import AnnalsTesting
import Foundation
import Testing

@Suite("Snapshot store")
struct SnapshotStoreTests {
    func sampleSet() -> ProjectionSet {
        var set = ProjectionSet()
        for event in randomWorkload(seed: 3, documents: 120).events { set.apply(event) }
        return set
    }

    func refusal(_ body: () throws -> ProjectionSet) -> ProjectionError.Code? {
        do {
            _ = try body()
            return nil
        } catch let error as ProjectionError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test("written files load back into the same state")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        let set = sampleSet()
        let files = try store.write(set)
        #expect(files.count == 5)
        #expect(files.map(\.file).contains("queue-\(set.appliedPosition).snap"))
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: directory.child("snapshots/\(file.file)"))[
                .size]
            #expect((size as? NSNumber)?.uint64Value == file.bytes)
            #expect(file.version == ProjectionSet.projectionVersions[file.projection])
            #expect(file.digest.count == 64)
            #expect(SnapshotFile(checkpointSnapshot: file.checkpointSnapshot) == file)
        }
        let loaded = try store.load(position: set.appliedPosition, expected: files)
        #expect(loaded.digests == set.digests)
        #expect(loaded.appliedPosition == set.appliedPosition)
        #expect(try store.positions() == [set.appliedPosition])
        // Writing the same state again gives the same files.
        #expect(try store.write(set) == files)
    }

    @Test("damaged, missing, mismatched files are refused with the right code")
    func refusals() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        let set = sampleSet()
        let position = set.appliedPosition
        let files = try store.write(set)
        let queueFile = try #require(files.first { $0.projection == "queue" })
        let queuePath = directory.child("snapshots/\(queueFile.file)")
        let original = try Data(contentsOf: URL(fileURLWithPath: queuePath))

        // A flipped byte in the payload.
        var flipped = original
        flipped[flipped.count - 3] ^= 0x40
        try flipped.write(to: URL(fileURLWithPath: queuePath))
        #expect(refusal { try store.load(position: position, expected: files) } == .digestMismatch)
        // A truncated file.
        try original.dropLast(10).write(to: URL(fileURLWithPath: queuePath))
        #expect(refusal { try store.load(position: position, expected: files) } == .digestMismatch)
        // A file whose recorded digest matches but whose own header is inconsistent (bad magic).
        var badMagic = original
        badMagic[0] = 0x58
        try badMagic.write(to: URL(fileURLWithPath: queuePath))
        var recorded = files
        let index = recorded.firstIndex { $0.projection == "queue" }!
        recorded[index].digest = SnapshotStore.sha256Hex(Array(badMagic))
        #expect(refusal { try store.load(position: position, expected: recorded) } == .malformedSnapshot)
        try original.write(to: URL(fileURLWithPath: queuePath))
        #expect(refusal { try store.load(position: position, expected: files) } == nil)

        // Another version of the projection's logic.
        var otherVersion = files
        otherVersion[index].version = QueueProjection.version + 1
        #expect(refusal { try store.load(position: position, expected: otherVersion) } == .versionMismatch)
        // A checkpoint without a queue snapshot; a file that is gone.
        #expect(
            refusal { try store.load(position: position, expected: files.filter { $0.projection != "queue" }) }
                == .missingSnapshot)
        try FileManager.default.removeItem(atPath: queuePath)
        #expect(refusal { try store.load(position: position, expected: files) } == .missingSnapshot)
        try original.write(to: URL(fileURLWithPath: queuePath))
        // A checkpoint before the files' position cannot list them (a later checkpoint may: see the reuse test).
        #expect(refusal { try store.load(position: position - 1, expected: files) } == .positionMismatch)
        // A path instead of a name.
        var escaping = files
        escaping[index].file = "../queue.snap"
        #expect(refusal { try store.load(position: position, expected: escaping) } == .invalidArgument)
    }

    @Test("an unchanged projection keeps the previous checkpoint's file; the files load at the later position")
    func reuse() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        var set = sampleSet()
        let first = try store.write(set)
        let firstPosition = set.appliedPosition
        // An event that changes only the metrics (they count every event).
        var script = EventScript()
        script.position = firstPosition
        set.apply(script.checkpoint(at: firstPosition))
        let second = try store.write(SnapshotStore.encode(set), reusing: first)
        let kept = second.filter { first.contains($0) }.map(\.projection).sorted()
        #expect(kept == ["documents", "keys", "queue", "vectors"])
        #expect(second.first { $0.projection == "metrics" }?.file == "metrics-\(firstPosition + 1).snap")
        #expect(second.first { $0.projection == "vectors" }?.file == "vectors-\(firstPosition).snap")
        let loaded = try store.load(position: firstPosition + 1, expected: second)
        #expect(loaded.digests == set.digests && loaded.appliedPosition == firstPosition + 1)

        // Pruning to the newest position keeps the older files that its checkpoint lists.
        let removed = try store.prune(keep: 1, referenced: Set(second.map(\.file)))
        #expect(removed == ["metrics-\(firstPosition).snap"])
        #expect(refusal { try store.load(position: firstPosition + 1, expected: second) } == nil)

        // A kept file that is gone is written again; the others are still kept.
        try FileManager.default.removeItem(atPath: directory.child("snapshots/vectors-\(firstPosition).snap"))
        set.apply(script.checkpoint(at: firstPosition + 1))
        let third = try store.write(SnapshotStore.encode(set), reusing: second)
        #expect(third.first { $0.projection == "vectors" }?.file == "vectors-\(firstPosition + 2).snap")
        #expect(third.first { $0.projection == "keys" }?.file == "keys-\(firstPosition).snap")
        #expect(refusal { try store.load(position: firstPosition + 2, expected: third) } == nil)
    }

    @Test("prune keeps the newest positions and removes temporary files")
    func prune() throws {
        let directory = TemporaryDirectory()
        let store = try SnapshotStore(directory: directory.child("snapshots"))
        var set = ProjectionSet()
        var script = EventScript()
        for index in 0..<4 {
            set.apply(script.upload("d\(index)"))
            _ = try store.write(set)
        }
        try Data([1]).write(to: URL(fileURLWithPath: directory.child("snapshots/queue-9.snap.tmp")))
        try Data([1]).write(to: URL(fileURLWithPath: directory.child("snapshots/notes.txt")))
        #expect(try store.positions() == [4, 3, 2, 1])
        let removed = try store.prune(keep: 2)
        #expect(removed.count == 11)
        #expect(try store.positions() == [4, 3])
        #expect(FileManager.default.fileExists(atPath: directory.child("snapshots/notes.txt")))
        #expect(throws: ProjectionError.self) { try store.prune(keep: 0) }
        #expect(try SnapshotStore(directory: directory.child("nothing")).positions().isEmpty)
        #expect(throws: ProjectionError.self) { try SnapshotStore(directory: directory.child("no/such/parent")) }
    }
}
