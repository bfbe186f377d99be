import AnnalsBenchSupport
import AnnalsEvents
import AnnalsLog
import ArgumentParser
import Foundation

/// `annals-bench scan`: sequential read of the log, checked, and decoded.
struct ScanBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Read every record of a log: checked (magic, lengths, XXH64 checksum), then also protobuf-decoded."
    )

    @Option(help: "Data directory holding the log to read (DIR/log). A fresh one is filled when omitted.")
    var data: String?
    @Option(help: "Events to write first when no --data is given.")
    var events = 1_000_000
    @Option(help: "Payload bytes per event when writing first.")
    var size = 1024
    @Option(help: "Passes over the log; the best is reported.")
    var passes = 3
    @Flag(help: "Print JSON lines.")
    var json = false

    func run() async throws {
        let temporary = data == nil
        let directory = data ?? NSTemporaryDirectory() + "annals-scan-\(getpid())"
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        if temporary { try await fill(directory) }
        let log = try LMDBEventLog.open(directory: directory + "/log", configuration: .readOnly)
        let clock = ContinuousClock()
        var results: [(String, Double, Int, UInt64)] = []
        for mode in ["checked", "decoded"] {
            var best = Double.infinity
            var records = 0
            var bytes: UInt64 = 0
            for _ in 0..<passes {
                records = 0
                bytes = 0
                let start = clock.now
                _ = try log.scan(from: 1) { view in
                    records += 1
                    bytes += UInt64(view.raw.count)
                    if mode == "decoded" {
                        let payload = try EventCatalog.decode(
                            type: view.type, schemaVersion: view.schemaVersion,
                            payload: view.storedPayload)
                        _ = payload
                    }
                    return true
                }
                best = min(best, (clock.now - start).seconds)
            }
            results.append((mode, best, records, bytes))
        }
        await log.close()
        for (mode, seconds, records, bytes) in results {
            let rate = Double(records) / seconds
            let throughput = Double(bytes) / seconds / 1e6
            if json {
                print(
                    String(
                        format: "{\"system\":\"annals\",\"workload\":\"scan-%@\",\"records\":%d,\"bytes\":%llu,"
                            + "\"seconds\":%.3f,\"records_per_second\":%.0f,\"mb_per_second\":%.1f}", mode, records,
                        bytes,
                        seconds, rate, throughput))
            } else {
                print(
                    String(
                        format: "scan (%@): %d records, %.1f MB in %.3f s: %.0f records/s, %.0f MB/s", mode,
                        records, Double(bytes) / 1e6, seconds, rate, throughput))
            }
        }
    }

    /// Writes `events` events in large batches (this is not what is measured).
    private func fill(_ directory: String) async throws {
        let log = try LMDBEventLog.open(directory: directory + "/log")
        var generator = SplitMix64(state: 7)
        var written = 0
        while written < events {
            let count = min(10_000, events - written)
            let drafts = (0..<count).map {
                Workload.chunkEvent(
                    document: (written + $0) / 50, index: (written + $0) % 50, bytes: size,
                    generator: &generator)
            }
            _ = try await log.append(drafts)
            written += count
        }
        await log.close()
    }
}
