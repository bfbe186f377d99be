import AnnalsBenchSupport
import AnnalsLog
import ArgumentParser
import Foundation

/// `annals-bench append`: durable appends from concurrent appenders.
struct AppendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append N durable events of a given size from K concurrent appenders; print throughput and latency."
    )

    @Option(help: "Data directory; its log is DIR/log. A fresh temporary one (removed afterwards) when omitted.")
    var data: String?
    @Option(help: "Events to append in all.")
    var events = 200_000
    @Option(help: "Concurrent appenders.")
    var appenders = 64
    @Option(help: "Payload bytes per event.")
    var size = 1024
    @Option(help: "Events per append call.")
    var batch = 1
    @Option(
        help:
            "Open loop: target events/s in all. Latency is then measured from each append's scheduled time, and an appender is never woken before it."
    )
    var rate: Double?
    @Option(help: "The writer's gather window in microseconds (see LogConfiguration.gatherWindow).")
    var gatherMicroseconds = 200
    @Option(help: "Zeros the writer keeps ahead of the log's end (LogConfiguration.preallocateAheadBytes); 0: none.")
    var preallocateBytes = LogConfiguration().preallocateAheadBytes
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard events > 0, appenders > 0, size >= 64, batch > 0, preallocateBytes >= 0 else {
            throw ValidationError(
                "--events, --appenders and --batch must be positive, --size at least 64, --preallocate-bytes not negative"
            )
        }
    }

    func run() async throws {
        let temporary = data == nil
        let directory = data ?? NSTemporaryDirectory() + "annals-bench-\(getpid())"
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        var configuration = LogConfiguration()
        configuration.gatherWindow = .microseconds(gatherMicroseconds)
        configuration.preallocateAheadBytes = preallocateBytes
        let log = try LMDBEventLog.open(directory: directory + "/log", configuration: configuration)
        // Build every event first, so that the timed part is the log alone.
        var generator = SplitMix64(state: 42)
        let perAppender = events / appenders
        let drafts: [[EventDraft]] = (0..<appenders).map { appender in
            (0..<perAppender).map { index in
                Workload.chunkEvent(document: appender, index: index, bytes: size, generator: &generator)
            }
        }
        let total = perAppender * appenders
        let interval = rate.map { Duration.seconds(Double(appenders * batch) / $0) }
        let clock = ContinuousClock()
        // Open loop: one thread wakes the appenders due (see `Pacer`).
        let pacer = interval.map { _ in Pacer() }
        defer { pacer?.stop() }
        let cpuStart = ProcessMemory.cpuSeconds()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for appender in 0..<appenders {
                let mine = drafts[appender]
                group.addTask {
                    var samples: [Double] = []
                    samples.reserveCapacity(mine.count / batch + 1)
                    var index = 0
                    var call = 0
                    // Stagger open-loop appenders so they do not all fire at once.
                    let offset = interval.map { $0 * (Double(appender) / Double(appenders)) } ?? .zero
                    while index < mine.count {
                        let end = min(index + batch, mine.count)
                        var scheduled = clock.now
                        if let interval {
                            scheduled = start + offset + interval * call
                            if let pacer, scheduled > clock.now {
                                await pacer.sleep(until: scheduled)
                                // The pacer does not see cancellation (another appender failed): stop here.
                                try Task.checkCancellation()
                            }
                        }
                        _ = try await log.append(Array(mine[index..<end]))
                        samples.append((clock.now - scheduled).milliseconds)
                        index = end
                        call += 1
                    }
                    return samples
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all
        }
        let elapsed = (clock.now - start).seconds
        // CPU per event (every thread, user and system) moves much less than throughput with the machine's state.
        let cpuMicros = (ProcessMemory.cpuSeconds() - cpuStart) / Double(total) * 1e6
        await log.close()
        let percentiles = Percentiles(latencies)
        let throughput = Double(total) / elapsed
        if json {
            print(
                "{\"system\":\"annals\",\"workload\":\"append\",\"events\":\(total),\"appenders\":\(appenders),"
                    + "\"payload_bytes\":\(size),\"batch\":\(batch),"
                    + "\"target_rate\":\(rate.map { String(format: "%.0f", $0) } ?? "null"),"
                    + String(
                        format: "\"seconds\":%.3f,\"events_per_second\":%.0f,\"cpu_us_per_event\":%.2f,", elapsed,
                        throughput, cpuMicros)
                    + "\"latency_ms\":\(percentiles.json)}")
        } else {
            print(
                String(
                    format:
                        "append: %d events of %d bytes from %d appenders (batch %d) in %.2f s: %.0f events/s, "
                        + "%.2f CPU-µs per event",
                    total, size, appenders, batch, elapsed, throughput, cpuMicros))
            print(
                String(
                    format: "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f", percentiles.p50,
                    percentiles.p90, percentiles.p99, percentiles.p999, percentiles.max))
        }
    }
}
