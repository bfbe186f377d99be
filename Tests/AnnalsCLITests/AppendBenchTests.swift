import AnnalsTesting
import Foundation
import Testing

@Suite("annals-bench append, through the real binary")
struct AppendBenchTests {
    @Test("an open loop appends every event and never runs ahead of its schedule")
    func openLoop() throws {
        // 8 appenders at 400 events/s in all: each appends every 20 ms, appender i starting i/8 of that late. The
        // last of 40 appends per appender is due 39 7/8 intervals, 797.5 ms, after the start: an appender woken
        // early would end the run sooner.
        let dir = TemporaryDirectory()
        let result = try run(
            Binaries.path("annals-bench"),
            [
                "append", "--data", dir.path, "--events", "320", "--appenders", "8", "--size", "256",
                "--rate", "400", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let row = try #require(try jsonLines(result.stdout).first)
        #expect(row["events"] as? Int == 320)
        #expect(row["target_rate"] as? Int == 400)
        let seconds = row["seconds"] as? Double ?? 0
        #expect(seconds >= 0.7975, "the run took \(seconds) s, less than its schedule")
        let latency = row["latency_ms"] as? [String: Any] ?? [:]
        #expect((latency["p50"] as? Double ?? -1) >= 0 && (latency["max"] as? Double ?? -1) >= 0, "\(row)")
    }

    @Test("a closed loop appends every event as fast as it can")
    func closedLoop() throws {
        let dir = TemporaryDirectory()
        let result = try run(
            Binaries.path("annals-bench"),
            ["append", "--data", dir.path, "--events", "320", "--appenders", "8", "--size", "256", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let row = try #require(try jsonLines(result.stdout).first)
        #expect(row["events"] as? Int == 320)
        #expect(row["target_rate"] is NSNull, "\(row)")
        #expect((row["events_per_second"] as? Double ?? 0) > 0)
    }
}
