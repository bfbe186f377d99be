import Foundation
import Synchronization

/// One measurement of `annals-bench vectors`: a system, a search mode and setting, a thread count.
struct VectorBenchRow {
    var system: String
    /// `single` (one query per call) or `batch` (all of a thread's queries in one call).
    var mode: String
    var n: Int
    var dim: Int
    var k: Int
    var queries: Int
    var efSearch: Int?
    var threads: Int
    /// Mean |result ∩ truth| / k over the queries.
    var recall: Double
    /// Queries per second over all threads, wall clock.
    var qps: Double
    /// Queries per CPU-second of the process (all threads): what a query costs in CPU, which other load on the
    /// machine disturbs less than the wall clock.
    var cpuQps: Double
    var buildSeconds: Double
    /// The index's own estimate.
    var memoryBytes: Int
    /// Resident memory after building minus before; nil where the kernel does not say.
    var rssDeltaBytes: Int?
    /// How it was measured, for the peers' table.
    var client: String

    /// The system, mode and setting, for progress lines.
    var label: String {
        "\(system) \(mode)" + (efSearch.map { " ef \($0)" } ?? "")
    }

    /// One JSON object on one line; the recall key names k (`recall_at_10` by default).
    var json: String {
        "{\"system\":\"\(system)\",\"mode\":\"\(mode)\",\"n\":\(n),\"dim\":\(dim),\"k\":\(k),\"queries\":\(queries),"
            + "\"ef_search\":\(efSearch.map(String.init) ?? "null"),\"threads\":\(threads),"
            + "\"recall_at_\(k)\":\(format(recall, 4)),\"qps\":\(format(qps, 1)),\"cpu_qps\":\(format(cpuQps, 1)),"
            + "\"build_seconds\":\(format(buildSeconds, 3)),\"memory_bytes\":\(memoryBytes),"
            + "\"rss_delta_bytes\":\(rssDeltaBytes.map(String.init) ?? "null"),\"client\":\"\(client)\"}"
    }

    /// The rows as a table for a person: one line per system, mode and setting, a queries/s column per thread count.
    static func table(_ rows: [VectorBenchRow], threads: [Int]) -> String {
        var groups: [[VectorBenchRow]] = []
        for row in rows {
            if let last = groups.last?.last, last.system == row.system, last.mode == row.mode,
                last.efSearch == row.efSearch
            {
                groups[groups.count - 1].append(row)
            } else {
                groups.append([row])
            }
        }
        let k = rows.first?.k ?? 10
        let headings =
            ["system", "mode", "ef", "recall@\(k)"] + threads.map { "q/s \($0) thr" }
            + ["q/CPU-s 1 thr", "build s", "index MB", "RSS Δ MB"]
        let lines: [[String]] = groups.map { group in
            let first = group[0]
            let perThreads = threads.map { count in
                group.first { $0.threads == count }.map { format($0.qps, 0) } ?? "-"
            }
            return [first.system, first.mode, first.efSearch.map(String.init) ?? "-", format(first.recall, 4)]
                + perThreads
                + [group.first { $0.threads == 1 }.map { format($0.cpuQps, 0) } ?? "-"]
                + [
                    format(first.buildSeconds, 2), format(Double(first.memoryBytes) / 1e6, 1),
                    first.rssDeltaBytes.map { format(Double($0) / 1e6, 1) } ?? "-",
                ]
        }
        let widths = headings.indices.map { column in
            ([headings[column]] + lines.map { $0[column] }).map(\.count).max() ?? 0
        }
        // Names left-aligned, figures right-aligned.
        func render(_ cells: [String]) -> String {
            cells.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - cells[column].count)
                return column < 2 ? cells[column] + padding : padding + cells[column]
            }.joined(separator: "  ")
        }
        return ([render(headings), render(widths.map { String(repeating: "-", count: $0) })] + lines.map(render))
            .joined(separator: "\n")
    }
}

/// Runs `body(part)` for every part in `0..<parts`, each on its own OS thread, all at once, and returns the results
/// in part order and the wall time from before the first start to after the last end.
///
/// OS threads rather than tasks: the cooperative pool has one thread per core, so tasks could not measure more
/// threads than cores, and a search that blocks its thread for milliseconds is what a thread is for.
func onThreads<Value: Sendable>(_ parts: Int, _ body: @escaping @Sendable (Int) throws -> Value) throws
    -> ([Value], Double)
{
    let collected = Collected<Value>(parts)
    let group = DispatchGroup()
    let clock = ContinuousClock()
    let start = clock.now
    for part in 0..<parts {
        group.enter()
        Thread {
            collected.set(part, Result { try body(part) })
            group.leave()
        }.start()
    }
    group.wait()
    let seconds = (clock.now - start).seconds
    return (try collected.values(), seconds)
}

/// The outcomes of `onThreads`' parts, each set once by its own thread.
private final class Collected<Value: Sendable>: Sendable {
    private let slots: Mutex<[Result<Value, any Error>?]>

    init(_ count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func set(_ part: Int, _ outcome: Result<Value, any Error>) {
        slots.withLock { $0[part] = outcome }
    }

    /// Every part's value in order, or the first part's error.
    func values() throws -> [Value] {
        try slots.withLock { slots in slots.map { $0! } }.map { try $0.get() }
    }
}
