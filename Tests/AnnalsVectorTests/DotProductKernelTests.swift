import AnnalsTesting
import Testing

@testable import AnnalsVector

@Suite("Dot-product kernels", .serialized)
struct DotProductKernelTests {
    /// Every kernel this CPU can run, capped in turn, gives the portable kernel's scores bit for bit: single and
    /// batched, for dimensions that exercise each step (32-wide, 16-wide, 8-wide, scalar tail) and vector and query
    /// counts that are not multiples of the kernels' tiles.
    @Test("every kernel gives the portable kernel's bits")
    func kernelsAgree() {
        var rng = SeededGenerator(seed: 11)
        defer { DotProduct.capKernel(at: nil) }
        for dimension in [1, 3, 8, 9, 16, 17, 24, 31, 32, 33, 47, 48, 56, 63, 64, 100, 384, 385, 1_000] {
            let count = 13
            let queryCount = 7
            // Values of mixed signs and magnitudes, so that the order of additions shows in the last bits.
            let vectors = (0..<count * dimension).map { _ in Float.random(in: -1...1, using: &rng) * 1e3 }
            let queries = (0..<queryCount * dimension).map { _ in Float.random(in: -1...1, using: &rng) }
            var reference = [Float](repeating: 0, count: queryCount * count)
            vectors.withUnsafeBufferPointer { v in
                queries.withUnsafeBufferPointer { q in
                    for query in 0..<queryCount {
                        for vector in 0..<count {
                            reference[query * count + vector] = DotProduct.portableDot(
                                v.baseAddress! + vector * dimension, q.baseAddress! + query * dimension,
                                count: dimension)
                        }
                    }
                }
            }
            for level in [2, 1, 0] {
                DotProduct.capKernel(at: level)
                var single = [Float](repeating: .nan, count: queryCount * count)
                var batch = [Float](repeating: .nan, count: queryCount * count)
                vectors.withUnsafeBufferPointer { v in
                    queries.withUnsafeBufferPointer { q in
                        single.withUnsafeMutableBufferPointer { out in
                            for query in 0..<queryCount {
                                DotProduct.scores(
                                    v.baseAddress!, count: count, dimension: dimension,
                                    query: q.baseAddress! + query * dimension,
                                    into: out.baseAddress! + query * count)
                            }
                        }
                        batch.withUnsafeMutableBufferPointer { out in
                            DotProduct.batchScores(
                                v.baseAddress!, count: count, dimension: dimension, queries: q.baseAddress!,
                                queryCount: queryCount, into: out.baseAddress!)
                        }
                    }
                }
                // Counted rather than compared whole, so that a failure names the kernel and dimension briefly.
                let kernel = DotProduct.kernel
                let singleDiffer = zip(single, reference).filter { $0.bitPattern != $1.bitPattern }.count
                let batchDiffer = zip(batch, reference).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(singleDiffer == 0, "\(kernel), dimension \(dimension): single scores differ")
                #expect(batchDiffer == 0, "\(kernel), dimension \(dimension): batched scores differ")
            }
        }
    }

    @Test("the kernel names what the CPU offers, and a cap lowers it")
    func kernelName() {
        defer { DotProduct.capKernel(at: nil) }
        #expect(["portable", "avx2", "avx512"].contains(ExactIndex.kernel))
        DotProduct.capKernel(at: 0)
        #expect(ExactIndex.kernel == "portable")
    }
}

@Suite("One-pair kernel")
struct PairKernelTests {
    @Test("the C pair kernel gives the portable kernel's bits, for every length up to 200")
    func pairMatchesPortable() {
        var generator = SeededGenerator(seed: 99)
        for count in 1...200 {
            let a = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            let (fast, portable) = a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    (
                        DotProduct.dot(x.baseAddress!, y.baseAddress!, count: count),
                        DotProduct.portableDot(x.baseAddress!, y.baseAddress!, count: count)
                    )
                }
            }
            #expect(fast.bitPattern == portable.bitPattern, "count \(count)")
        }
    }
}
