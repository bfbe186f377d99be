import AnnalsBenchSupport
import AnnalsLog
import ArgumentParser
import Foundation

/// `annals-bench crash-writer`: appends until killed, reporting each acknowledged append on standard output.
///
/// The crash test runs it, kills it with SIGKILL at a random moment, and checks that every append it reported is
/// in the log after reopening.
struct CrashWriter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer",
        abstract: "Append in a loop until killed; print 'ack FIRST COUNT KEY' for each durable append.",
        shouldDisplay: false
    )

    @Option(help: "Data directory (DIR/log).")
    var data: String
    @Option(help: "Concurrent appenders.")
    var appenders = 8
    @Option(help: "A prefix for idempotency keys, unique per run.")
    var run = "run"

    func run() async throws {
        let log = try LMDBEventLog.open(directory: data + "/log")
        // Announce readiness only once the log is open, so the parent can kill during appends, not during open.
        write(line: "ready")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var generator = SplitMix64(state: UInt64(appender + 1) &* 0x1234_5678_9ABC)
                    var index = 0
                    while true {
                        let count = Int.random(in: 1...4, using: &generator)
                        let size = Int.random(in: 100...3000, using: &generator)
                        let drafts = (0..<count).map {
                            Workload.chunkEvent(
                                document: appender, index: index + $0, bytes: size,
                                generator: &generator)
                        }
                        let key = "\(run)-\(appender)-\(index)"
                        let result = try await log.append(drafts, expectedVersions: [:], idempotencyKey: key)
                        write(line: "ack \(result.firstPosition) \(result.count) \(key)")
                        index += count
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Writes a line to standard output at once, unbuffered, so that what the parent reads is all that was acked.
func write(line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
