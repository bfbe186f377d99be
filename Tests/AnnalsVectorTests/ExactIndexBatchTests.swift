import AnnalsTesting
import AnnalsVector
import Testing

@Suite("Exact index, batched search")
struct ExactIndexBatchTests {
    /// Every answer of the batched search, compared with single searches: same ids, same scores, bit for bit.
    func expectSameAsSingle(
        _ index: ExactIndex, _ queries: [[Float]], k: Int, filter: ((UInt64) -> Bool)? = nil
    ) throws {
        let batched = try index.search(queries: queries, k: k, filter: filter)
        #expect(batched.count == queries.count)
        for (query, answer) in zip(queries, batched) {
            let single = try index.search(query: query, k: k, filter: filter)
            #expect(answer.map(\.id) == single.map(\.id))
            #expect(answer.map(\.score) == single.map(\.score))
        }
    }

    @Test(
        "answers equal one-at-a-time searches, across block boundaries",
        arguments: [(dimension: 7, count: 300), (dimension: 384, count: 1_000), (dimension: 33, count: 2_500)])
    func sameAsSingle(dimension: Int, count: Int) throws {
        var rng = SeededGenerator(seed: UInt64(dimension * count))
        var index = try ExactIndex(dimension: dimension)
        index.reserveCapacity(count)
        for id in 0..<count { try index.add(id: UInt64(id) * 5 + 2, vector: randomUnitVector(dimension, &rng)) }
        // More vectors than one block holds at dimension 384 (256 KiB is 170 of them) and at 33 (1,985), so the
        // scan crosses blocks; 37 queries is not a multiple of anything the kernel might group by.
        let queries = (0..<37).map { _ in randomUnitVector(dimension, &rng) }
        try expectSameAsSingle(index, queries, k: 10)
        try expectSameAsSingle(index, queries, k: 1)
        try expectSameAsSingle(index, Array(queries.prefix(3)), k: count + 5)
        try expectSameAsSingle(index, queries, k: 10) { $0 % 3 == 0 }
    }

    @Test("ties break by id as in single searches, and removals are seen")
    func tiesAndRemovals() throws {
        var index = try ExactIndex(dimension: 3)
        for id in UInt64(1)...40 { try index.add(id: id, vector: id % 2 == 0 ? [0, 1, 0] : [1, 0, 0]) }
        index.remove(id: 2)
        let answers = try index.search(queries: [[0, 1, 0], [1, 0, 0]], k: 3)
        #expect(answers.map { $0.map(\.id) } == [[4, 6, 8], [1, 3, 5]])
        try expectSameAsSingle(index, [[0, 1, 0], [1, 1, 0], [0.5, -1, 2]], k: 7)
    }

    @Test("edge cases: no queries, zero queries, k ≤ 0, an empty index, a bad query")
    func edges() throws {
        var index = try ExactIndex(dimension: 2)
        #expect(try index.search(queries: [[1, 0]], k: 3).map(\.count) == [0])
        try index.add(id: 1, vector: [1, 0])
        try index.add(id: 2, vector: [0, 1])
        #expect(try index.search(queries: [], k: 3).isEmpty)
        #expect(try index.search(queries: [[1, 0], [0, 0], [0, 1]], k: 1).map { $0.map(\.id) } == [[1], [], [2]])
        #expect(try index.search(queries: [[1, 0]], k: 0).map(\.count) == [0])
        do {
            _ = try index.search(queries: [[1, 0], [1, 0, 0]], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .dimensionMismatch) }
        do {
            _ = try index.search(queries: [[.nan, 0]], k: 1)
            Issue.record("expected a throw")
        } catch { #expect(error.code == .nonFiniteValue) }
    }

    @Test("memoryBytes counts the vectors and grows with them")
    func memory() throws {
        var index = try ExactIndex(dimension: 64)
        let empty = index.memoryBytes
        index.reserveCapacity(1_000)
        var rng = SeededGenerator(seed: 5)
        for id in UInt64(0)..<1_000 { try index.add(id: id, vector: randomUnitVector(64, &rng)) }
        #expect(index.memoryBytes >= 1_000 * (64 * 4 + 8) + empty)
        // Reserved once, so no doubling slack: under twice the payload.
        #expect(index.memoryBytes < 2 * 1_000 * (64 * 4 + 8 + 16))
    }
}
