import AnnalsTesting
import Foundation
import Testing

@Suite("annals-bench vectors, through the real binary")
struct VectorBenchTests {
    @Test("a small run prints JSON lines; the exact index has recall 1.0; --export writes TEXMEX files")
    func smallRun() throws {
        let dir = TemporaryDirectory()
        let result = try run(
            Binaries.path("annals-bench"),
            [
                "vectors", "--n", "2000", "--dim", "32", "--queries", "50", "--threads", "1,2", "--json",
                "--systems", "annals-exact", "--export", dir.path,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try jsonLines(result.stdout)
        // Single queries and the batched search, each on 1 and 2 threads.
        #expect(rows.count == 4)
        for row in rows {
            #expect(row["system"] as? String == "annals-exact")
            #expect(row["n"] as? Int == 2000)
            #expect(row["dim"] as? Int == 32)
            #expect(row["recall_at_10"] as? Double == 1.0)
            #expect((row["qps"] as? Double ?? 0) > 0)
            #expect((row["memory_bytes"] as? Int ?? 0) >= 2000 * 32 * 4)
            #expect(row.keys.contains("build_seconds") && row.keys.contains("ef_search"))
        }
        #expect(
            Set(rows.map { "\($0["mode"] ?? "")-\($0["threads"] ?? "")" }) == [
                "single-1", "single-2", "batch-1", "batch-2",
            ])
        let sizes = try ["base.fvecs", "query.fvecs", "groundtruth.ivecs"].map {
            try FileManager.default.attributesOfItem(atPath: dir.child($0))[.size] as? Int
        }
        #expect(sizes == [2000 * (4 + 32 * 4), 50 * (4 + 32 * 4), 50 * (4 + 10 * 4)])

        // The exported files read back as real embeddings give the same data: exact recall is 1.0 again.
        let again = try run(
            Binaries.path("annals-bench"),
            [
                "vectors", "--vectors", dir.child("base.fvecs"), "--query-vectors", dir.child("query.fvecs"),
                "--threads", "1", "--json", "--systems", "annals-exact",
            ])
        #expect(again.status == 0, "\(again.stderr)")
        let reread = try jsonLines(again.stdout)
        #expect(reread.first?["n"] as? Int == 2000)
        #expect(reread.allSatisfy { $0["recall_at_10"] as? Double == 1.0 })
    }

    @Test("the HNSW rows: one per ef, recall close to exact on easy data")
    func hnswRows() throws {
        let result = try run(
            Binaries.path("annals-bench"),
            [
                "vectors", "--n", "2000", "--dim", "32", "--queries", "50", "--threads", "1", "--json",
                "--systems", "annals-hnsw,annals-hnsw-int8", "--ef-search", "16,128",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try jsonLines(result.stdout)
        #expect(Set(rows.compactMap { $0["system"] as? String }) == ["annals-hnsw", "annals-hnsw-int8"])
        #expect(Set(rows.compactMap { $0["ef_search"] as? Int }) == [16, 128])
        for row in rows where row["ef_search"] as? Int == 128 {
            #expect((row["recall_at_10"] as? Double ?? 0) >= 0.9, "\(row)")
        }
    }
}
