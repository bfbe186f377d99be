import AnnalsBenchSupport
import AnnalsVector
import ArgumentParser
import Foundation

/// `annals-bench graph-restore`: how long a saved vector graph takes to write and to restore, against building it.
struct GraphRestoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-restore",
        abstract: "Build the service's graph (SlotGraph) over N clustered vectors in an arena, serialise it to a "
            + "file, read it back and restore it into an empty graph; prints seconds for each step, the file's "
            + "size, and whether the restored graph equals the built one."
    )

    @Option(help: "Vectors in the graph.")
    var n = 100_000
    @Option(help: "Dimension of the vectors.")
    var dim = 384
    @Option(help: "HNSW: links per node.")
    var m = 16
    @Option(
        help: ArgumentHelp(
            "HNSW: candidate list size while building (200 in the service; smaller builds faster, for measuring "
                + "the restore of large graphs, whose cost does not depend on it)."))
    var efConstruction = 200
    @Option(help: "Seed of the vectors.")
    var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard n > 0, (1...ExactIndex.dimensionMax).contains(dim) else {
            throw ValidationError("need --n > 0 and --dim in 1...\(ExactIndex.dimensionMax)")
        }
    }

    func run() throws {
        let data = ClusteredVectors(dimension: dim, clusters: max(1, n / 100), spread: 0.3, seed: seed)
        let arena = try VectorArena(dimension: dim)
        var made = 0
        while made < n {
            let block = data.sample(count: min(100_000, n - made), stream: UInt64(made))
            try block.values.withUnsafeBytes { try arena.appendBytes($0) }
            made += block.count
        }
        let configuration = HNSWIndex.Configuration(m: m, efConstruction: efConstruction)
        let graph = try SlotGraph(dimension: dim, configuration: configuration)
        var clock = Date()
        graph.extend(from: arena.prefix(n), limit: Int.max)
        let buildSeconds = Date().timeIntervalSince(clock)
        let path = NSTemporaryDirectory() + "annals-graph-\(ProcessInfo.processInfo.processIdentifier).graph"
        defer { try? FileManager.default.removeItem(atPath: path) }
        clock = Date()
        guard let bytes = graph.serialized()?.bytes else { throw ValidationError("the graph did not serialise") }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let writeSeconds = Date().timeIntervalSince(clock)
        clock = Date()
        let read = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let restored = try SlotGraph(dimension: dim, configuration: configuration)
        try read.withUnsafeBytes { _ = try restored.restore(serialized: $0, from: arena.prefix(n)) }
        let restoreSeconds = Date().timeIntervalSince(clock)
        let equal = restored.graphDigest() == graph.graphDigest()
        let result: [String: Any] = [
            "system": "annals", "workload": "graph-restore", "n": n, "dim": dim, "m": m,
            "ef_construction": efConstruction, "build_seconds": buildSeconds, "file_bytes": bytes.count,
            "write_seconds": writeSeconds, "restore_seconds": restoreSeconds, "graph_bytes": restored.memoryBytes,
            "equal": equal,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let build = String(format: "%.2f", buildSeconds)
            let write = String(format: "%.3f", writeSeconds)
            let restore = String(format: "%.3f", restoreSeconds)
            print("graph over \(n) × \(dim) (M \(m), efConstruction \(efConstruction)): built in \(build) s")
            print(
                "file of \(bytes.count) bytes written in \(write) s; read and restored in \(restore) s; equal: \(equal)"
            )
        }
        guard equal else { throw ExitCode(1) }
    }
}
