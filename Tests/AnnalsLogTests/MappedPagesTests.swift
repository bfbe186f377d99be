import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

@Suite("Releasing the log's mapped pages")
struct MappedPagesTests {
    /// The resident pages of the process that belong to files (`RssFile` in /proc/self/status), in kB.
    private func residentFileKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("RssFile:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        }
        return nil
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
        let fileBefore = residentFileKilobytes()
        log.releaseMappedPages()
        // The 8 MiB of attachments read above left the resident set (where /proc tells).
        if let fileBefore, let fileAfter = residentFileKilobytes() { #expect(fileAfter < fileBefore) }
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
}
