import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

func draft(_ stream: String, _ text: String, type: UInt16 = 1, attachment: [UInt8] = []) -> EventDraft {
    EventDraft(streamId: stream, type: type, payload: Array(text.utf8), attachment: attachment)
}

@Suite("Appending and reading")
struct AppendReadTests {
    @Test("positions are consecutive from 1 and reads return what was written")
    func appendAndRead() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        let first = try await log.append([draft("doc-a", "one"), draft("doc-b", "two")])
        let second = try await log.append(draft("doc-a", "three", type: 7, attachment: [1, 2, 3, 4]))
        #expect(first.positions == 1...2)
        #expect(second.positions == 3...3)
        #expect(try log.head() == 3)

        let records = try log.read(from: 1, limit: 10)
        #expect(records.map(\.position) == [1, 2, 3])
        #expect(records.map { String(decoding: $0.payload, as: UTF8.self) } == ["one", "two", "three"])
        #expect(records.map(\.streamVersion) == [1, 1, 2])
        #expect(records[2].type == 7)
        #expect(records[2].attachment == [1, 2, 3, 4])
        #expect(records[0].timestamp <= records[2].timestamp)

        let stream = try log.readStream("doc-a", fromVersion: 1, limit: 10)
        #expect(stream.map(\.position) == [1, 3])
        #expect(try log.readStream("doc-a", fromVersion: 2, limit: 10).map(\.position) == [3])
        #expect(try log.streamVersion("doc-a") == 2)
        #expect(try log.streamVersion("nothing") == 0)
        #expect(try log.record(at: 2)?.streamId == "doc-b")
        #expect(try log.record(at: 4) == nil)
        await log.close()
    }

    @Test("large payloads are deflated and read back whole")
    func deflate() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 2000)
        let random = (0..<10_000).map { _ in UInt8.random(in: 0...255) }
        _ = try await log.append([
            draft("s", text), EventDraft(streamId: "s", type: 2, payload: random),
        ])
        let records = try log.read(from: 1, limit: 2)
        #expect(String(decoding: records[0].payload, as: UTF8.self) == text)
        #expect(records[0].storedBytes < text.utf8.count / 4)
        #expect(records[1].payload == random)
        #expect(records[1].storedBytes > random.count)
        #expect(try log.verify().isSound)
        await log.close()
    }

    @Test("scan renews its transaction and stops when asked")
    func scan() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.scanRenewCount = 7
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        for index in 0..<50 { _ = try await log.append(draft("s\(index % 3)", "e\(index)")) }
        var seen: [UInt64] = []
        let last = try log.scan(from: 5, through: 40) { view in
            seen.append(view.position)
            return true
        }
        #expect(seen == Array(5...40))
        #expect(last == 40)
        var stopped: [UInt64] = []
        _ = try log.scan(from: 1) { view in
            stopped.append(view.position)
            return view.position < 3
        }
        #expect(stopped == [1, 2, 3])
        #expect(try log.read(from: 49, limit: 10).map(\.position) == [49, 50])
        #expect(try log.read(from: 51, limit: 10).isEmpty)
        await log.close()
    }

    @Test("bad appends are refused with invalidArgument and write nothing")
    func badInput() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        await #expect(throws: LogError.self) { _ = try await log.append([]) }
        let long = String(repeating: "x", count: RecordLayout.streamIdBytesMax + 1)
        do {
            _ = try await log.append(draft(long, "p"))
            Issue.record("a too long stream id was accepted")
        } catch let error as LogError {
            #expect(error.code == .invalidArgument)
        }
        do {
            _ = try await log.append(draft("", "p"))
            Issue.record("an empty stream id was accepted")
        } catch let error as LogError {
            #expect(error.code == .invalidArgument)
        }
        #expect(try log.head() == 0)
        await log.close()
    }

    @Test("reopening continues the sequence and the chain")
    func reopen() async throws {
        let dir = TemporaryDirectory()
        var log = try LMDBEventLog.open(directory: dir.child("log"))
        _ = try await log.append([draft("a", "1"), draft("b", "2")])
        await log.close()
        log = try LMDBEventLog.open(directory: dir.child("log"))
        let result = try await log.append(draft("a", "3"))
        #expect(result.firstPosition == 3)
        #expect(try log.readStream("a", fromVersion: 1, limit: 5).map(\.streamVersion) == [1, 2])
        let report = try log.verify()
        #expect(report.isSound)
        #expect(report.records == 3)
        #expect(report.chainHead == (try log.chainHead().hash))
        await log.close()
    }

    @Test("a subscription wakes after each commit")
    func subscription() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        var heads = log.subscribe().makeAsyncIterator()
        #expect(await heads.next() == 0)
        _ = try await log.append(draft("a", "1"))
        #expect(await heads.next() == 1)
        _ = try await log.append([draft("a", "2"), draft("a", "3")])
        #expect(await heads.next() == 3)
        await log.close()
        #expect(await heads.next() == nil)
    }

    @Test("a closed log refuses appends")
    func closed() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        await log.close()
        do {
            _ = try await log.append(draft("a", "1"))
            Issue.record("append after close succeeded")
        } catch let error as LogError {
            #expect(error.code == .closed)
        }
    }
}
