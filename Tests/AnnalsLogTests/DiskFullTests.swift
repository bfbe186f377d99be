import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

/// Mounts a size-limited tmpfs at `path`, runs `body`, and unmounts it.
func withSmallFileSystem<R>(at path: String, sizeBytes: Int, _ body: (_ resize: (Int) throws -> Void) async throws -> R)
    async throws -> R
{
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(sizeBytes)", "tmpfs", path])
    guard mounted.status == 0 else {
        throw LogError(.storage, "the disk-full test needs to mount a tmpfs (run as root): \(mounted.stderr)")
    }
    defer { _ = try? run("/bin/umount", [path]) }
    return try await body { newSize in
        let resized = try run("/bin/mount", ["-o", "remount,size=\(newSize)", path])
        guard resized.status == 0 else { throw LogError(.storage, "remount failed: \(resized.stderr)") }
    }
}

@Suite("Disk full")
struct DiskFullTests {
    @Test("a full disk fails the append clearly, damages nothing, and appends work again once space is back")
    func diskFull() async throws {
        let dir = TemporaryDirectory()
        let mount = dir.child("small")
        try await withSmallFileSystem(at: mount, sizeBytes: 2 << 20) { resize in
            var configuration = LogConfiguration()
            configuration.mapSizeInitialBytes = 64 << 20
            let log = try LMDBEventLog.open(directory: mount + "/log", configuration: configuration)
            var written = 0
            var failure: LogError?
            let payload = randomBytes(64 << 10)
            for _ in 0..<200 {
                do {
                    _ = try await log.append(EventDraft(streamId: "fill", type: 1, payload: payload))
                    written += 1
                } catch let error as LogError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "the small file system never filled")
            #expect(error.code == .diskFull)
            #expect(written > 0)
            // What was acknowledged before is intact.
            #expect(try log.head() == UInt64(written))
            #expect(try log.read(from: 1, limit: 1000).count == written)
            #expect(try log.verify().isSound)
            // A further append still fails cleanly while the disk is full.
            await #expect(throws: LogError.self) {
                _ = try await log.append(EventDraft(streamId: "fill", type: 1, payload: payload))
            }
            try resize(64 << 20)
            let after = try await log.append(EventDraft(streamId: "fill", type: 1, payload: payload))
            #expect(after.firstPosition == UInt64(written) + 1)
            let report = try log.verify()
            #expect(report.isSound, "\(String(describing: report.failure))")
            #expect(report.records == UInt64(written) + 1)
            // Zeros ahead of the log (see `LogConfiguration.preallocateAheadBytes`) are not written while less than
            // 32 MiB is free; once space is back they are, after a pause of a second. Past a failed commit the file
            // may hold a group's worth beyond the last page, but not a step of zeros.
            try await Task.sleep(for: .milliseconds(1100))
            _ = try await log.append(EventDraft(streamId: "fill", type: 1, payload: payload))
            let stats = try log.stats()
            #expect(stats.fileBytes - stats.mapUsedBytes > 128 << 10)
            await log.close()
        }
    }
}
