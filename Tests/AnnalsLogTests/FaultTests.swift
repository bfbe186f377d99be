import AnnalsChecksum
import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

@Suite("Faults and bad input")
struct FaultTests {
    @Test("a flipped byte inside a record: verify names its position and reads refuse it")
    func flippedByte() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("log")
        var log = try LMDBEventLog.open(directory: path)
        for index in 1...30 {
            _ = try await log.append(draft("doc-\(index % 4)", "payload-marker-\(String(format: "%04d", index))"))
        }
        await log.close()
        try LogSurgery.flipByte(in: path + "/data.mdb", inside: "payload-marker-0017")

        log = try LMDBEventLog.open(directory: path, configuration: .readOnly)
        let report = try log.verify()
        #expect(!report.isSound)
        #expect(report.failure?.position == 17)
        #expect(report.failure?.reason.contains("17") == true)
        for read in [
            { _ = try log.read(from: 1, limit: 100) }, { _ = try log.record(at: 17) },
            { _ = try log.readStream("doc-1", fromVersion: 1, limit: 100) },
        ] {
            do {
                try read()
                Issue.record("a damaged record was returned")
            } catch let error as LogError {
                #expect(error.code == .corruptRecord)
                #expect(error.position == 17)
                #expect(error.message.contains("17"))
            }
        }
        // Records before the damage are still readable.
        #expect(try log.read(from: 1, limit: 16).count == 16)
        await log.close()
    }

    @Test("a record whose content was rewritten with a valid checksum still breaks the hash chain")
    func tamperedChain() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("log")
        var log = try LMDBEventLog.open(directory: path)
        for index in 1...10 { _ = try await log.append(draft("doc", "tamper-\(index)-xxxxxxxx")) }
        await log.close()
        // Rewrite record 6 in place: new content, recomputed checksum, but the chain is not recomputed.
        let file = path + "/data.mdb"
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let ranges = LogSurgery.occurrences(of: "tamper-6-xxxxxxxx", in: data)
        #expect(!ranges.isEmpty)
        for range in ranges {
            data.replaceSubrange(range, with: Data("tamper-6-yyyyyyyy".utf8))
            let recordStart = try #require(
                data.range(of: Data([0x41, 0x4E, 0x4C, 0x52]), options: .backwards, in: 0..<range.lowerBound)
            ).lowerBound
            let length = RecordLayout.overheadBytes + 3 + "tamper-6-xxxxxxxx".utf8.count
            let checksumStart = recordStart + length - RecordLayout.checksumBytes
            let body = data.subdata(in: recordStart..<checksumStart)
            let checksum = body.withUnsafeBytes { XXH64.hash($0) }
            withUnsafeBytes(of: checksum.littleEndian) {
                data.replaceSubrange(checksumStart..<recordStart + length, with: $0)
            }
        }
        try data.write(to: URL(fileURLWithPath: file))

        log = try LMDBEventLog.open(directory: path, configuration: .readOnly)
        #expect(try log.record(at: 6).map { String(decoding: $0.payload, as: UTF8.self) } == "tamper-6-yyyyyyyy")
        let report = try log.verify()
        #expect(report.failure?.position == 7)
        #expect(report.failure?.reason.contains("hash chain") == true)
        await log.close()
    }

    @Test("a streams entry that disagrees with the records: verify reports it and stream reads refuse the chain")
    func streamsDisagree() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("log")
        var log = try LMDBEventLog.open(directory: path)
        for index in 1...6 { _ = try await log.append(draft(index % 2 == 0 ? "even" : "odd", "e\(index)")) }
        await log.close()
        // Claim that stream "even" ends at position 5 (an "odd" record), version 3.
        var value = [UInt8](repeating: 0, count: 16)
        value[0] = 3
        value[8] = 5
        try LogSurgery.overwrite(path, database: "streams", key: Array("even".utf8), value: value)
        log = try LMDBEventLog.open(directory: path, configuration: .readOnly)
        let report = try log.verify()
        #expect(report.failure?.reason.contains("streams database") == true)
        do {
            _ = try log.readStream("even", fromVersion: 1, limit: 10)
            Issue.record("a broken stream chain was followed")
        } catch let error as LogError {
            #expect(error.code == .corruptRecord)
            #expect(error.position == 5)
        }
        #expect(try log.readStream("odd", fromVersion: 2, limit: 10).map(\.position) == [3, 5])
        await log.close()
    }

    @Test("the map fills, grows, and the append succeeds")
    func mapGrows() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.mapSizeInitialBytes = 1 << 20
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        let big = randomBytes(3 << 20)
        let result = try await log.append(EventDraft(streamId: "big", type: 1, payload: big))
        #expect(result.positions == 1...1)
        #expect(try log.stats().mapSizeBytes > 1 << 20)
        #expect(try log.record(at: 1)?.payload == big)
        #expect(try log.verify().isSound)
        await log.close()
    }

    @Test("the map at its maximum: a clear mapFull error, nothing written, smaller appends still work")
    func mapAtMaximum() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.mapSizeInitialBytes = 1 << 20
        configuration.mapSizeMaxBytes = 2 << 20
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        _ = try await log.append(draft("a", "before"))
        do {
            _ = try await log.append(
                EventDraft(
                    streamId: "big", type: 1,
                    payload: randomBytes(4 << 20)))
            Issue.record("an append larger than the map's maximum succeeded")
        } catch let error as LogError {
            #expect(error.code == .mapFull)
        }
        _ = try await log.append(draft("a", "after"))
        #expect(
            try log.read(from: 1, limit: 5).map { String(decoding: $0.payload, as: UTF8.self) } == [
                "before", "after",
            ])
        #expect(try log.verify().isSound)
        await log.close()
    }

    @Test("not a log, a newer format: one clear error each")
    func notALog() async throws {
        let dir = TemporaryDirectory()
        func code(_ open: () throws -> LMDBEventLog) -> LogError.Code? {
            do {
                _ = try open()
                return nil
            } catch let error as LogError {
                #expect(!error.message.isEmpty && !error.message.contains("\n"))
                return error.code
            } catch {
                return nil
            }
        }
        #expect(code { try LMDBEventLog.open(directory: dir.child("missing"), configuration: .readOnly) } == .notALog)

        let stranger = dir.child("stranger")
        try FileManager.default.createDirectory(atPath: stranger, withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: stranger + "/notes.txt"))
        #expect(code { try LMDBEventLog.open(directory: stranger) } == .notALog)

        let garbage = dir.child("garbage")
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try Data(repeating: 0x5A, count: 64 << 10).write(to: URL(fileURLWithPath: garbage + "/data.mdb"))
        #expect(code { try LMDBEventLog.open(directory: garbage) } == .notALog)
        #expect(code { try LMDBEventLog.open(directory: garbage, configuration: .readOnly) } == .notALog)

        let file = dir.child("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(code { try LMDBEventLog.open(directory: file) } == .notALog)

        let newer = dir.child("newer")
        let log = try LMDBEventLog.open(directory: newer)
        _ = try await log.append(draft("a", "1"))
        await log.close()
        try LogSurgery.overwriteMeta(newer, key: "format", value: [2, 0, 0, 0])
        #expect(code { try LMDBEventLog.open(directory: newer) } == .newerFormat)
        #expect(code { try LMDBEventLog.open(directory: newer, configuration: .readOnly) } == .newerFormat)
    }
}

/// Incompressible bytes, so that deflate cannot shrink a test's record below the size it needs.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
