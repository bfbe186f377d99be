import AnnalsLog
import AnnalsTesting
import Foundation
import Testing

@Suite("Crash safety")
struct CrashTests {
    @Test("SIGKILL at random moments, 20 times: every acknowledged append survives, the chain verifies, no gap")
    func killNine() async throws {
        let dir = TemporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        var acknowledged: [(first: UInt64, count: Int, key: String)] = []
        for round in 0..<20 {
            let output = dir.child("acks-\(round).txt")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: Binaries.path("annals-bench"))
            writer.arguments = ["crash-writer", "--data", dir.path, "--run", "r\(round)"]
            // The writer prints each ack straight to this file with write(2) after the append returned, so the file
            // holds every append it acknowledged before it died, and nothing it did not.
            writer.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            try writer.run()
            var ready = false
            for _ in 0..<400 where !ready {
                try await Task.sleep(for: .milliseconds(10))
                ready = (try? String(contentsOfFile: output, encoding: .utf8))?.hasPrefix("ready") == true
            }
            #expect(ready, "the writer did not start")
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...120, using: &generator)))
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            #expect(writer.terminationReason == .uncaughtSignal)

            let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst()
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 4, let first = UInt64(parts[1]), let count = Int(parts[2]) else {
                    // A line cut by the kill was never completely written, so it was never an acknowledgement.
                    continue
                }
                acknowledged.append((first, count, String(parts[3])))
            }

            let log = try LMDBEventLog.open(directory: dir.path + "/log", configuration: .readOnly)
            let report = try log.verify()
            #expect(report.isSound, "round \(round): \(String(describing: report.failure))")
            for ack in acknowledged {
                let records = try log.read(from: ack.first, limit: ack.count)
                #expect(records.count == ack.count, "round \(round): append at \(ack.first) lost")
                #expect(records.first?.idempotencyKey == ack.key)
                #expect(records.allSatisfy { $0.streamId == records.first?.streamId })
            }
            await log.close()
        }
        #expect(acknowledged.count > 20, "too few appends were acknowledged to prove anything")
        let verify = try run(Binaries.path("annals"), ["audit", "verify", "--data", dir.path])
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}

@Suite("Crash test of the service")
struct ServiceCrashTests {
    @Test("tools/crash-test: 5 SIGKILLs of annals serve under load lose and duplicate nothing")
    func crashTestTool() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let result = try run(
            "/usr/bin/env",
            [
                "python3", root.appendingPathComponent("tools/crash-test").path, "--kills", "5", "--binary",
                Binaries.path("annals"),
            ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("crash-test passed: 5 kills"))
    }
}
