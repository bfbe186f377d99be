import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

/// Appends `payloads[k]` one by one to stream `stream-k`, one concurrent appender per k; returns each payload with
/// its position.
func appendConcurrently(_ log: LMDBEventLog, _ payloads: [[[UInt8]]]) async throws -> [(UInt64, [UInt8])] {
    try await withThrowingTaskGroup(of: [(UInt64, [UInt8])].self) { group in
        for (appender, mine) in payloads.enumerated() {
            group.addTask {
                var written: [(UInt64, [UInt8])] = []
                for payload in mine {
                    let result = try await log.append(
                        EventDraft(streamId: "stream-\(appender)", type: 1, payload: payload))
                    written.append((result.firstPosition, payload))
                }
                return written
            }
        }
        var all: [(UInt64, [UInt8])] = []
        for try await written in group { all += written }
        return all
    }
}

@Suite("Group commit, expected versions and idempotency")
struct ConcurrencyTests {
    @Test("64 concurrent appenders leave no gap and a sound chain")
    func concurrentAppenders() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        let positions = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for appender in 0..<64 {
                group.addTask {
                    var mine: [UInt64] = []
                    for index in 0..<40 {
                        let result = try await log.append(draft("stream-\(appender)", "\(appender)-\(index)"))
                        mine.append(result.firstPosition)
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await mine in group { all += mine }
            return all
        }
        #expect(positions.sorted() == Array(1...2560))
        let report = try log.verify()
        #expect(report.isSound, "\(String(describing: report.failure))")
        #expect(report.streams == 64)
        // Within a stream, versions follow the order of its appends.
        let stream = try log.readStream("stream-5", fromVersion: 1, limit: 100)
        #expect(stream.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<40).map { "5-\($0)" })
        await log.close()
    }

    // A batch lost from a group that is written again would leave its appender waiting: the limit turns that into
    // a failure.
    @Test(
        "the map fills while a group is gathered: it grows, and every append lands once, in a sound chain",
        .timeLimit(.minutes(1)))
    func mapGrowsUnderConcurrency() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.mapSizeInitialBytes = 1 << 20
        // A long window, so that groups are gathered while the map fills.
        configuration.gatherWindow = .milliseconds(5)
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        let payloads = (0..<32).map { _ in (0..<12).map { _ in randomBytes(16 << 10) } }
        let written = try await appendConcurrently(log, payloads)
        #expect(written.map(\.0).sorted() == Array(1...384))
        #expect(try log.stats().mapSizeBytes > 1 << 20)
        for (position, payload) in written {
            #expect(try log.record(at: position)?.payload == payload)
        }
        let report = try log.verify()
        #expect(report.isSound, "\(String(describing: report.failure))")
        #expect(report.streams == 32)
        await log.close()
    }

    // After a group of several batches the writer opens the next transaction before any batch arrives, and waits
    // up to the gather window for one. A long window shows that closing the log does not wait it out, and that the
    // log then holds exactly the appends. (That the aborted transaction commits nothing empty is not visible here.)
    @Test("a transaction opened ahead of its batches does not hold up close, and the log holds exactly the appends")
    func earlyTransaction() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.gatherWindow = .seconds(3)
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        let positions = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for appender in 0..<16 {
                group.addTask { try await log.append(draft("stream-\(appender)", "\(appender)")).firstPosition }
            }
            var all: [UInt64] = []
            for try await position in group { all.append(position) }
            return all
        }
        #expect(positions.sorted() == Array(1...16))
        let clock = ContinuousClock()
        let started = clock.now
        await log.close()
        #expect(clock.now - started < .seconds(2))
        let reopened = try LMDBEventLog.open(directory: dir.child("log"), configuration: .readOnly)
        #expect(try reopened.head() == 16)
        let report = try reopened.verify()
        #expect(report.isSound, "\(String(describing: report.failure))")
        await reopened.close()
    }

    // Batches that come one by one, 250 ms apart, after groups of about 16 and with a 10 s window, commit in small
    // groups as they come: the writer does not hold them for a group as large as the last one, nor the last few
    // for the window. (So far apart that a machine busy with other tests does not bunch them.)
    @Test("batches that trickle in commit as they come, without waiting for a group as large as the last")
    func trickle() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.gatherWindow = .seconds(10)
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        // Bursts of 16 until the last group holds at least 8 of them (a group's records share its timestamp): the
        // trickle below is then fewer batches than the last group, and the writer knows how long a commit takes.
        var before: UInt64 = 0
        var lastGroup = 0
        for burst in 0..<5 where lastGroup < 8 {
            _ = try await appendConcurrently(log, (0..<16).map { [Array("burst \(burst), \($0)".utf8)] })
            before = try log.head()
            let burstRecords = try log.read(from: before - 15, limit: 16)
            lastGroup = burstRecords.filter { $0.timestamp == burstRecords.last?.timestamp }.count
        }
        try #require(lastGroup >= 8)
        let clock = ContinuousClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(250 * index))
                    _ = try await log.append(draft("trickle-\(index)", "\(index)"))
                }
            }
            try await group.waitForAll()
        }
        let took = clock.now - started
        let records = try log.read(from: before + 1, limit: 100)
        #expect(records.count == 8)
        // A group's records share its timestamp.
        #expect(Set(records.map(\.timestamp)).count >= 2, "the eight batches were held for one group")
        #expect(took < .seconds(6), "the batches waited for the 10 s window")
        await log.close()
    }

    @Test("an expected version that does not match fails alone and writes nothing")
    func expectedVersion() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        _ = try await log.append(draft("doc", "created"), expectedVersion: .noStream)
        _ = try await log.append(draft("doc", "updated"), expectedVersion: .exact(1))
        do {
            _ = try await log.append(draft("doc", "stale"), expectedVersion: .exact(1))
            Issue.record("a stale expected version was accepted")
        } catch let error as LogError {
            #expect(error.code == .wrongExpectedVersion)
        }
        do {
            _ = try await log.append(draft("doc", "again"), expectedVersion: .noStream)
            Issue.record("noStream was accepted for an existing stream")
        } catch let error as LogError {
            #expect(error.code == .wrongExpectedVersion)
        }
        #expect(try log.head() == 2)
        #expect(try log.verify().isSound)
        await log.close()
    }

    @Test("racing writers with the same expected version: exactly one wins")
    func optimisticRace() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        _ = try await log.append(draft("doc", "v1"))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    (try? await log.append(draft("doc", "racer \(index)"), expectedVersion: .exact(1))) != nil
                }
            }
            var wins = 0
            for await won in group where won { wins += 1 }
            return wins
        }
        #expect(outcomes == 1)
        #expect(try log.streamVersion("doc") == 2)
        await log.close()
    }

    @Test("the same idempotency key returns the first append's positions, also under concurrency")
    func idempotency() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await log.append(
                        [draft("doc", "a"), draft("doc", "b")], expectedVersions: [:],
                        idempotencyKey: "upload-42")
                }
            }
            var all: [AppendResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(Set(results.map(\.positions)) == [1...2])
        #expect(results.filter { !$0.deduplicated }.count == 1)
        #expect(try log.head() == 2)
        #expect(try log.record(at: 1)?.idempotencyKey == "upload-42")
        #expect(try log.record(at: 2)?.idempotencyKey == nil)
        let other = try await log.append([draft("doc", "c")], expectedVersions: [:], idempotencyKey: "upload-43")
        #expect(other.positions == 3...3)
        let report = try log.verify()
        #expect(report.isSound)
        #expect(report.idempotencyKeys == 2)
        await log.close()
    }
}
