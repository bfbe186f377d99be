import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

/// The bytes of the log's data file from `offset` to its end.
func dataFileTail(_ logDirectory: String, from offset: Int) throws -> [UInt8] {
    let handle = try #require(FileHandle(forReadingAtPath: logDirectory + "/data.mdb"))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    return [UInt8](try handle.readToEnd() ?? Data())
}

@Suite("Preallocation of the data file")
struct PreallocationTests {
    // A lead of 1 MiB is reached after four quarter-MiB steps and then topped up again and again.
    @Test("the writer keeps its lead of zeros past the log's last page, and only zeros")
    func zerosAhead() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("log")
        var configuration = LogConfiguration()
        configuration.preallocateAheadBytes = 1 << 20
        let log = try LMDBEventLog.open(directory: path, configuration: configuration)
        for index in 0..<60 {
            _ = try await log.append(EventDraft(streamId: "s", type: 1, payload: randomBytes(3000 + index)))
        }
        let stats = try log.stats()
        let lead = stats.fileBytes - stats.mapUsedBytes
        // The lead, less what the last commit took of it, and at most a step (a quarter MiB) more.
        #expect(lead >= (1 << 20) - (64 << 10))
        #expect(lead <= (1 << 20) + (256 << 10))
        let tail = try dataFileTail(path, from: stats.mapUsedBytes)
        #expect(tail.count == stats.fileBytes - stats.mapUsedBytes)
        #expect(tail.allSatisfy { $0 == 0 })
        await log.close()
        let reopened = try LMDBEventLog.open(directory: path)
        #expect(try reopened.verify().isSound)
        #expect(try reopened.read(from: 1, limit: 100).count == 60)
        await reopened.close()
    }

    // Large records from many appenders outrun a small lead again and again, and the map grows under it: the zeros
    // are written between commits that extend the file themselves, right at the end of their pages. A zero written
    // one page too early, or outside the writer's transaction, would land on a record.
    @Test("zeros written as the log outruns them and the map grows damage no record", .timeLimit(.minutes(1)))
    func outrunAndGrow() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("log")
        var configuration = LogConfiguration()
        configuration.mapSizeInitialBytes = 1 << 20
        configuration.preallocateAheadBytes = 64 << 10
        let log = try LMDBEventLog.open(directory: path, configuration: configuration)
        let payloads = (0..<16).map { _ in (0..<24).map { _ in randomBytes(Int.random(in: 1000...40000)) } }
        let written = try await appendConcurrently(log, payloads)
        #expect(written.map(\.0).sorted() == Array(1...384))
        let stats = try log.stats()
        #expect(stats.mapSizeBytes > 1 << 20)
        #expect(try dataFileTail(path, from: stats.mapUsedBytes).allSatisfy { $0 == 0 })
        await log.close()
        let reopened = try LMDBEventLog.open(directory: path, configuration: .readOnly)
        for (position, payload) in written {
            #expect(try reopened.record(at: position)?.payload == payload)
        }
        let report = try reopened.verify()
        #expect(report.isSound, "\(String(describing: report.failure))")
        await reopened.close()
    }

    @Test("turned off, the data file ends at the log's last page")
    func off() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.preallocateAheadBytes = 0
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        for _ in 0..<20 {
            _ = try await log.append(EventDraft(streamId: "s", type: 1, payload: randomBytes(3000)))
        }
        let stats = try log.stats()
        #expect(stats.fileBytes <= stats.mapUsedBytes)
        await log.close()
    }
}
