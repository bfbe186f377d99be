import AnnalsEvents
import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

@Suite("annals audit and backup, through the real binary")
struct AuditCommandTests {
    @Test("verify: exit 0 and a summary on a sound log; JSON on request")
    func verifySound() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let text = try annals("audit", "verify", "--data", dir.path)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("log sound: 8 records"))
        let json = try jsonLines(try annals("audit", "verify", "--data", dir.path, "--json").stdout)
        #expect(json.first?["sound"] as? Bool == true)
        #expect(json.first?["records"] as? Int == 8)
        #expect(json.first?["idempotency_keys"] as? Int == 3)
    }

    @Test("verify: a flipped byte gives a non-zero exit naming the position")
    func verifyDamaged() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        // LMDB keeps stale copies of rewritten pages: damage every copy of the record so the live one is hit.
        var data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/log/data.mdb"))
        var start = data.startIndex
        while let range = data.range(of: Data("chunk text of document 2".utf8), in: start..<data.endIndex) {
            data[range.lowerBound + 6] ^= 0x01
            start = range.upperBound
        }
        try data.write(to: URL(fileURLWithPath: dir.path + "/log/data.mdb"))
        let result = try annals("audit", "verify", "--data", dir.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("damaged at position 5"), "\(result.stderr)")
        let json = try jsonLines(try annals("audit", "verify", "--data", dir.path, "--json").stdout)
        #expect(json.first?["first_bad_position"] as? Int == 5)
        // Listing events stops at the damaged record with an error naming it, never printing its content.
        let events = try annals("audit", "events", "--data", dir.path, "--json")
        #expect(events.status == 2)
        #expect(events.stderr.contains("record 5"))
        #expect(try jsonLines(events.stdout).count == 4)
    }

    @Test("events: filters by type, stream, position, time and limit; JSON lines carry envelope and payload")
    func events() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let all = try jsonLines(try annals("audit", "events", "--data", dir.path, "--json").stdout)
        #expect(all.map { $0["position"] as? Int } == Array(1...8))
        #expect(all[1]["type"] as? String == "upload.received")
        #expect(all[1]["idempotency_key"] as? String == "upload-d1")
        #expect((all[1]["payload"] as? [String: Any])?["filename"] as? String == "file-1.txt")
        #expect(all[2]["attachment_bytes"] as? Int == 16)

        let uploads = try jsonLines(
            try annals("audit", "events", "--data", dir.path, "--json", "--type", "upload.received").stdout)
        #expect(uploads.map { $0["position"] as? Int } == [2, 4, 6])
        let stream = try jsonLines(
            try annals("audit", "events", "--data", dir.path, "--json", "--stream", "doc-d2").stdout)
        #expect(stream.map { $0["stream_version"] as? Int } == [1, 2, 3])
        #expect(stream.last?["type"] as? String == "job.failed")
        let window = try jsonLines(
            try annals("audit", "events", "--data", dir.path, "--json", "--from", "3", "--to", "5").stdout)
        #expect(window.map { $0["position"] as? Int } == [3, 4, 5])
        let limited = try jsonLines(try annals("audit", "events", "--data", dir.path, "--json", "--limit", "2").stdout)
        #expect(limited.count == 2)
        let future = try annals("audit", "events", "--data", dir.path, "--json", "--since", "2999-01-01T00:00:00Z")
        #expect(future.status == 0)
        #expect(future.stdout.isEmpty)
        let past = try jsonLines(
            try annals("audit", "events", "--data", dir.path, "--json", "--since", "2000-01-01").stdout)
        #expect(past.count == 8)

        let table = try annals("audit", "events", "--data", dir.path)
        #expect(table.stdout.hasPrefix("POSITION"))
        #expect(table.stdout.contains("job.failed"))

        let bad = try annals("audit", "events", "--data", dir.path, "--type", "no.such.type")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("unknown event type"))
    }

    @Test("events --follow prints events committed after it started")
    func follow() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let output = dir.child("follow.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.path("annals"))
        process.arguments = ["audit", "events", "--data", dir.path, "--json", "--follow", "--from", "9"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let log = try LMDBEventLog.open(directory: dir.path + "/log")
        _ = try await log.append(EventDraft(streamId: "service", type: 15, payload: []))
        await log.close()
        var lines: [[String: Any]] = []
        for _ in 0..<100 where lines.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            lines = try jsonLines(
                String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self))
        }
        #expect(lines.first?["position"] as? Int == 9)
        #expect(lines.first?["type"] as? String == "service.stopped")
    }

    @Test("stats: counts and bytes by type, head and map use")
    func stats() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let json = try #require(try jsonLines(try annals("audit", "stats", "--data", dir.path, "--json").stdout).first)
        #expect(json["head"] as? Int == 8)
        let types = try #require(json["types"] as? [[String: Any]])
        let counts = Dictionary(uniqueKeysWithValues: types.map { ($0["type"] as! String, $0["events"] as! Int) })
        #expect(counts == ["service.started": 1, "upload.received": 3, "chunk.embedded": 3, "job.failed": 1])
        #expect((json["map_used_bytes"] as? Int ?? 0) > 0)
        let table = try annals("audit", "stats", "--data", dir.path)
        #expect(table.status == 0)
        #expect(table.stdout.contains("upload.received"))
    }

    @Test("backup: a verified copy taken while another process appends")
    func backupWhileWriting() async throws {
        let dir = TemporaryDirectory()
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: Binaries.path("annals-bench"))
        writer.arguments = ["crash-writer", "--data", dir.path, "--run", "backup"]
        writer.standardOutput = FileHandle.nullDevice
        try writer.run()
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        try await Task.sleep(for: .milliseconds(500))
        let result = try annals("backup", "--data", dir.path, "--to", dir.child("copy"), "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try jsonLines(result.stdout).first)
        #expect(json["verified"] as? Bool == true)
        #expect((json["records"] as? Int ?? 0) > 0)
        let again = try annals("backup", "--data", dir.path, "--to", dir.child("copy"))
        #expect(again.status == 2)
        #expect(again.stderr.contains("not empty"))
    }

    @Test("not a log, a newer format, no permission: one clear line and a non-zero exit")
    func refusals() async throws {
        let dir = TemporaryDirectory()
        let missing = try annals("audit", "verify", "--data", dir.child("nothing"))
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no Annals log"))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        try FileManager.default.createDirectory(atPath: dir.child("junk/log"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: dir.child("junk/log/data.mdb")))
        let junk = try annals("audit", "stats", "--data", dir.child("junk"))
        #expect(junk.status == 2)
        #expect(junk.stderr.contains("not an LMDB environment"))

        try await writeSampleHistory(data: dir.child("newer"))
        try LogSurgery.overwriteMeta(dir.child("newer/log"), key: "format", value: [9, 0, 0, 0])
        let newer = try annals("audit", "verify", "--data", dir.child("newer"))
        #expect(newer.status == 2)
        #expect(newer.stderr.contains("format version 9"))
        #expect(newer.stderr.contains("upgrade annals"))

        // Permission: the tests run as root, who may read anything; run the binary as an unprivileged user.
        try await writeSampleHistory(data: dir.child("private"))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir.child("private/log"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let denied = try run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", Binaries.path("annals"), "audit", "verify",
                "--data",
                dir.child("private"),
            ],
            // A coverage build's binary would try to write its profile where the unprivileged user may not.
            environment: ["LLVM_PROFILE_FILE": "/dev/null"])
        #expect(denied.status == 2, "\(denied.stderr)")
        #expect(denied.stderr.contains("permission denied"), "\(denied.stderr)")
        #expect(denied.stderr.split(separator: "\n").count == 1)
    }
}

@Suite("annals replay, through the real binary")
struct ReplayCommandTests {
    @Test("vectors rebuilt in a scratch directory give the same digests as in memory, and leave no file behind")
    func scratch() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let scratch = dir.child("scratch")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let inMemory = try annals("replay", "--data", dir.path, "--json")
        let inFiles = try annals("replay", "--data", dir.path, "--scratch", scratch, "--json")
        #expect(inMemory.status == 0 && inFiles.status == 0, "\(inMemory.stderr) \(inFiles.stderr)")
        let memory = try jsonLines(inMemory.stdout).first
        let files = try jsonLines(inFiles.stdout).first
        #expect(memory?["events"] as? Int == 8)
        let memoryDigest = (memory?["digests"] as? [String: Any])?["vectors"] as? String
        let filesDigest = (files?["digests"] as? [String: Any])?["vectors"] as? String
        #expect(memoryDigest?.count == 64 && filesDigest == memoryDigest)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
        let missing = try annals("replay", "--data", dir.path, "--scratch", dir.child("missing"))
        #expect(missing.status != 0 && missing.stderr.contains("is not a writable directory"), "\(missing.stderr)")
    }

    @Test("--projections rebuilds and verifies only the projections named; an unknown name is refused")
    func someProjections() async throws {
        let dir = TemporaryDirectory()
        try await writeSampleHistory(data: dir.path)
        let all = try annals("replay", "--data", dir.path, "--json")
        #expect(all.status == 0, "\(all.stderr)")
        let digests = try #require(try jsonLines(all.stdout).first?["digests"] as? [String: String])
        #expect(digests.count == 5)

        // A checkpoint whose documents digest is right and whose vectors digest is not.
        var checkpoint = Annals_Events_V1_CheckpointWritten()
        checkpoint.position = 8
        for name in ["documents", "vectors"] {
            var snapshot = Annals_Events_V1_CheckpointWritten.Snapshot()
            snapshot.projection = name
            snapshot.stateDigest = name == "documents" ? digests[name]! : String(repeating: "0", count: 64)
            checkpoint.snapshots.append(snapshot)
        }
        let log = try LMDBEventLog.open(directory: dir.path + "/log")
        let event = Event.checkpointWritten(checkpoint)
        _ = try await log.append(
            EventDraft(
                streamId: event.streamID, type: event.type.rawValue, schemaVersion: event.schemaVersion,
                payload: try event.serializedPayload()))
        await log.close()

        let some = try annals("replay", "--data", dir.path, "--verify", "--projections", "documents,queue", "--json")
        #expect(some.status == 0, "\(some.stderr)")
        let result = try #require(try jsonLines(some.stdout).first)
        #expect(result["verified"] as? Bool == true)
        let someDigests = try #require(result["digests"] as? [String: String])
        #expect(someDigests == ["documents": digests["documents"]!, "queue": digests["queue"]!])

        let every = try annals("replay", "--data", dir.path, "--verify")
        #expect(every.status == 1 && every.stderr.contains("digest differs: vectors"), "\(every.stderr)")

        let unknown = try annals("replay", "--data", dir.path, "--projections", "documents,nope")
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown projection 'nope'"), "\(unknown.stderr)")
    }
}
