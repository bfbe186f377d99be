import AnnalsBenchSupport
import AnnalsVector
import ArgumentParser
import Foundation

/// `annals-bench vectors`: recall, query throughput, build time and memory of the vector indexes on one data set.
///
/// The data set is clustered synthetic vectors (or real embeddings from an `.fvecs` file); the ground truth is the
/// exact top k by inner product. `--export` writes the data set and its ground truth in the TEXMEX formats, so that
/// `tools/bench/vector-peers` measures hnswlib and FAISS on exactly the same vectors.
struct VectorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Measure recall@k, queries/s (one query at a time, on 1..T threads), build time and memory of the "
            + "vector indexes."
    )

    @Option(help: "Base vectors (default 100000; with --vectors, the first N of the file, all when omitted).")
    var n: Int?
    @Option(help: "Dimension of synthetic vectors (default 384; with --vectors it comes from the file).")
    var dim: Int?
    @Option(help: "Query vectors.")
    var queries = 1000
    @Option(help: "Neighbours per query; recall is measured at this k.")
    var k = 10
    /// 1,000 clusters of 100 vectors at the default size, like the chunks of a thousand documents: hnswlib (M 16,
    /// efConstruction 200) then reaches recall@10 0.95 at ef 16 and 0.99 at ef 32. With 100 clusters of 1,000
    /// points, isotropic noise in 384 dimensions makes neighbours nearly equidistant and HNSW much weaker (0.69 at
    /// ef 16), unlike real embeddings, which lie near low-dimensional structure.
    @Option(help: "Cluster centres of the synthetic data.")
    var clusters = 1000
    @Option(help: "Length of a synthetic point's Gaussian offset from its unit centre, before normalising.")
    var spread: Float = 1.0
    @Option(help: "Seed of the synthetic data.")
    var seed: UInt64 = 42
    @Option(help: "HNSW: links per node.")
    var m = 16
    @Option(help: "HNSW: candidate list size while building.")
    var efConstruction = 200
    @Option(help: "HNSW: candidate list sizes to measure searches with, comma-separated.")
    var efSearch = IntList([16, 32, 64, 128])
    @Option(help: "Thread counts to measure single-query throughput on, comma-separated.")
    var threads = IntList([1, 2])
    @Option(help: "Systems to measure, comma-separated (default: all of \(VectorBench.systemNames)).")
    var systems: String?
    @Option(help: "Real embeddings in .fvecs format (L2-normalised on reading) instead of synthetic data.")
    var vectors: String?
    @Option(help: "Queries in .fvecs format; without it, --queries vectors after the base ones in --vectors.")
    var queryVectors: String?
    @Option(help: "Write base.fvecs, query.fvecs and groundtruth.ivecs (TEXMEX formats) into this directory.")
    var export: String?
    @Flag(help: "Print JSON lines.")
    var json = false

    /// Searches a part of the queries, returning each query's ids.
    typealias Searcher = @Sendable ([[Float]]) throws -> [[UInt64]]

    /// Warm-up queries before each timed run, so first-touch page faults and cold caches are not measured.
    static let warmUpQueriesMax = 20

    /// The most threads one measurement starts: far past any core count this is meant for, low enough that a typo
    /// does not start a million threads.
    static let threadsMax = 256

    func validate() throws {
        guard queries > 0, k > 0, clusters > 0, m > 1, efConstruction > 0, spread >= 0 else {
            throw ValidationError("--queries, --k, --clusters, --ef-construction must be positive, --m at least 2")
        }
        if let n, n < k { throw ValidationError("--n must be at least --k") }
        if let dim, !(1...ExactIndex.dimensionMax).contains(dim) {
            throw ValidationError("--dim must be in 1...\(ExactIndex.dimensionMax)")
        }
        guard efSearch.values.allSatisfy({ $0 > 0 }), threads.values.allSatisfy({ (1...Self.threadsMax).contains($0) })
        else {
            throw ValidationError("--ef-search takes positive integers, --threads integers in 1...\(Self.threadsMax)")
        }
        if queryVectors != nil, vectors == nil { throw ValidationError("--query-vectors needs --vectors") }
        if vectors != nil, dim != nil { throw ValidationError("--dim comes from the file with --vectors") }
        for name in selectedNames where !Self.systemNames.contains(name) {
            throw ValidationError("unknown system \(name); known: \(Self.systemNames)")
        }
    }

    /// The systems asked for by `--systems`, all when it is omitted.
    var selectedNames: [String] {
        systems.map { $0.split(separator: ",").map(String.init) } ?? Self.systemNames
    }

    func run() throws {
        let clock = ContinuousClock()
        var start = clock.now
        let (base, queryVectors, description) = try loadData()
        progress("data: \(description) in \(format((clock.now - start).seconds, 1)) s")

        start = clock.now
        let truth = try groundTruth(base: base, queries: queryVectors)
        let truthSeconds = (clock.now - start).seconds
        progress("ground truth (exact top \(k), batched) in \(format(truthSeconds, 1)) s")
        if let export { try exportData(to: export, base: base, queries: queryVectors, truth: truth) }

        let queryRows = queryVectors.rows
        var rows: [VectorBenchRow] = []
        for system in benchSystems() where selectedNames.contains(system.name) {
            progress("\(system.name): building over \(base.count) vectors")
            let rssBefore = ProcessMemory.residentBytes()
            start = clock.now
            let index = try system.build(base)
            let buildSeconds = (clock.now - start).seconds
            let rssAfter = ProcessMemory.residentBytes()
            let rssDelta = rssBefore.flatMap { before in rssAfter.map { $0 - before } }
            progress("\(system.name): built in \(format(buildSeconds, 2)) s, \(index.memoryBytes) bytes")
            let common = VectorBenchRow(
                system: system.name, mode: "single", n: base.count, dim: base.dimension, k: k,
                queries: queryRows.count, efSearch: nil, threads: 1, recall: 0, qps: 0, cpuQps: 0,
                buildSeconds: buildSeconds, memoryBytes: index.memoryBytes, rssDeltaBytes: rssDelta,
                client: "annals-bench, in-process, T OS threads, dot-product kernel \(ExactIndex.kernel)")
            func record(mode: String, ef: Int?, threads: Int, _ search: @escaping Searcher) throws {
                let (found, seconds, cpuSeconds) = try measure(threads: threads, queries: queryRows, search)
                var row = common
                row.mode = mode
                row.efSearch = ef
                row.threads = threads
                row.recall = Recall.atK(k, found: found, truth: truth)
                row.qps = Double(queryRows.count) / seconds
                row.cpuQps = Double(queryRows.count) / cpuSeconds
                rows.append(row)
                progress("\(row.label) on \(threads) threads: \(format(row.qps, 0)) q/s")
            }
            for ef in system.efSearches {
                for query in queryRows.prefix(Self.warmUpQueriesMax) { _ = try index.search(query, k: k, efSearch: ef) }
                for threadCount in threads.values {
                    try record(mode: "single", ef: ef, threads: threadCount) { part in
                        try part.map { query in try index.search(query, k: k, efSearch: ef) }
                    }
                }
            }
            guard index.hasBatchSearch else { continue }
            for threadCount in threads.values {
                try record(mode: "batch", ef: nil, threads: threadCount) { part in try index.search(batch: part, k: k) }
            }
        }
        if json {
            for row in rows { print(row.json) }
        } else {
            print("data: \(description); ground truth in \(format(truthSeconds, 1)) s")
            print("dot-product kernel: \(ExactIndex.kernel)")
            print(VectorBenchRow.table(rows, threads: threads.values))
        }
    }

    /// The base vectors, the queries, and a line saying what they are.
    private func loadData() throws -> (VectorSet, VectorSet, String) {
        if let path = vectors {
            let held = queryVectors == nil ? queries : 0
            var all = try TexMex.readFvecs(path: path, limit: n.map { $0 + held })
            guard all.count >= k + held else {
                throw ValidationError("\(path) holds \(all.count) vectors, fewer than --k plus the held-out queries")
            }
            all.normalize()
            var queries: VectorSet
            let base: VectorSet
            if let queryPath = queryVectors {
                queries = try TexMex.readFvecs(path: queryPath, limit: self.queries)
                guard queries.dimension == all.dimension else {
                    throw ValidationError("\(queryPath) has dimension \(queries.dimension), \(path) \(all.dimension)")
                }
                queries.normalize()
                base = all
            } else {
                base = all.prefix(all.count - held)
                queries = all.dropFirst(all.count - held)
            }
            return (base, queries, "\(base.count) × \(base.dimension) from \(path), \(queries.count) queries")
        }
        let dimension = dim ?? 384
        let count = n ?? 100_000
        let generator = ClusteredVectors(dimension: dimension, clusters: clusters, spread: spread, seed: seed)
        let base = generator.sample(count: count, stream: 0)
        let queries = generator.sample(count: queries, stream: 1)
        return (
            base, queries,
            "\(count) × \(dimension) synthetic (\(clusters) clusters, spread \(spread), seed \(seed)), "
                + "\(queries.count) queries"
        )
    }

    /// The exact top `k` of every query, by the exact index's batched search.
    private func groundTruth(base: VectorSet, queries: VectorSet) throws -> [[UInt64]] {
        try ExactBenchIndex(base: base).search(batch: queries.rows, k: k)
    }

    private func exportData(to directory: String, base: VectorSet, queries: VectorSet, truth: [[UInt64]]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try TexMex.writeFvecs(base, path: directory + "/base.fvecs")
        try TexMex.writeFvecs(queries, path: directory + "/query.fvecs")
        // Ids are the vectors' positions in base.fvecs, below countMax, so they fit the format's Int32.
        try TexMex.writeIvecs(truth.map { $0.map { Int32($0) } }, path: directory + "/groundtruth.ivecs")
        progress("exported base.fvecs, query.fvecs, groundtruth.ivecs to \(directory)")
    }

    /// Searches `queries` split into `threads` contiguous parts, each on its own OS thread, and returns every
    /// query's ids in order, the wall time from the first start to the last end, and the CPU time the process spent
    /// meanwhile (all threads).
    private func measure(threads: Int, queries: [[Float]], _ search: @escaping Searcher) throws
        -> ([[UInt64]], Double, Double)
    {
        let parts = (0..<threads).map { part in
            Array(queries[part * queries.count / threads..<(part + 1) * queries.count / threads])
        }
        let cpuBefore = ProcessMemory.cpuSeconds()
        let (results, seconds) = try onThreads(threads) { part in try search(parts[part]) }
        return (results.flatMap { $0 }, seconds, ProcessMemory.cpuSeconds() - cpuBefore)
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("vectors: \(line)\n".utf8))
    }
}

/// A comma-separated list of integers as one option value, for example `--threads 1,2`.
struct IntList: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
        values = parsed.compactMap { $0 }
    }

    var description: String { values.map(String.init).joined(separator: ",") }
}

/// `value` with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
