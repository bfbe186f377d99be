import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

@Suite("Releasing the log's mapped pages")
struct MappedPagesTests {
    /// The resident kilobytes of this process's mappings of `file` (the `Rss:` lines of /proc/self/smaps under each
    /// mapping of it): only this log's pages, whatever other tests running beside this one map.
    private func residentKilobytes(of file: String) -> Int? {
        // Read to the end through a handle: `String(contentsOfFile:)` stops after the first page of a /proc file.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps") else { return nil }
        defer { try? handle.close() }
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let path = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
        var inFile = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inFile = line.hasSuffix(" " + path)
            } else if inFile, line.hasPrefix("Rss:") {
                total += Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
            }
        }
        return total
    }

    /// Releases `log`'s mapped pages and expects at least 8 MiB of `dataFile` resident before and under a quarter of
    /// that after (where /proc tells).
    private func expectReleased(_ log: LMDBEventLog, dataFile: String) {
        let residentBefore = residentKilobytes(of: dataFile)
        log.releaseMappedPages()
        if let residentBefore, let residentAfter = residentKilobytes(of: dataFile) {
            #expect(
                residentBefore >= 8 * 1024 && residentAfter < residentBefore / 4, "\(residentBefore) \(residentAfter)")
        }
    }

    @Test("reads return the same records after a release, also while another task reads")
    func sameRecords() async throws {
        let dir = TemporaryDirectory()
        let log = try LMDBEventLog.open(directory: dir.child("log"))
        let big = [UInt8](repeating: 7, count: 64 * 1024)
        for batch in 0..<16 {
            _ = try await log.append((0..<8).map { draft("doc-\(batch)", "event \(batch) \($0)", attachment: big) })
        }
        let before = try log.read(from: 1, limit: 1000)
        #expect(before.count == 128)
        // The 8 MiB of attachments read above leave the resident set.
        expectReleased(log, dataFile: dir.child("log") + "/data.mdb")
        async let reader: [[UInt8]] = Task.detached {
            var seen: [[UInt8]] = []
            for _ in 0..<20 { seen += try log.read(from: 1, limit: 1000).map(\.attachment) }
            return seen
        }.value
        for _ in 0..<50 { log.releaseMappedPages() }
        let concurrent = try await reader
        #expect(concurrent.count == 20 * 128 && concurrent.allSatisfy { $0 == big })
        let after = try log.read(from: 1, limit: 1000)
        #expect(after.map(\.payload) == before.map(\.payload) && after.map(\.attachment) == before.map(\.attachment))
    }

    @Test("after the map grows, a release finds the new mapping and still lets its pages go")
    func afterGrowth() async throws {
        let dir = TemporaryDirectory()
        var configuration = LogConfiguration()
        configuration.mapSizeInitialBytes = 1 << 20
        let log = try LMDBEventLog.open(directory: dir.child("log"), configuration: configuration)
        let big = [UInt8](repeating: 9, count: 64 * 1024)
        _ = try await log.append([draft("doc-0", "first", attachment: big)])
        _ = try log.read(from: 1, limit: 10)
        // The mapping is found (and kept) before the map grows.
        log.releaseMappedPages()
        for batch in 1...16 {
            _ = try await log.append((0..<8).map { draft("doc-\(batch)", "event \(batch) \($0)", attachment: big) })
        }
        let records = try log.read(from: 1, limit: 1000)
        #expect(records.count == 129 && records.allSatisfy { $0.attachment == big })
        expectReleased(log, dataFile: dir.child("log") + "/data.mdb")
        let again = try log.read(from: 1, limit: 1000)
        #expect(again.map(\.payload) == records.map(\.payload) && again.allSatisfy { $0.attachment == big })
    }
}
