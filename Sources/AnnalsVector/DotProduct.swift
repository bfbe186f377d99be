import CAnnalsKernels

/// The inner loop of every search: dot products over contiguous Float32 storage.
///
/// `dot` (one pair, for graph searches and single scores) and `scores` / `batchScores` (whole blocks, for exact
/// scans) run C kernels compiled for AVX-512, AVX2 and baseline, chosen when the program starts. Every kernel adds
/// in the order of `portableDot`, the Swift definition, without fused multiply-adds, so a score has the same bits
/// whichever kernel computed it; the tests compare them with `portableDot`.
enum DotProduct {
    /// The dot product of the `count` floats at `a` and at `b`.
    ///
    /// Computed by `annals_dot_f32` (in `CAnnalsKernels`), which uses the widest SIMD the CPU offers (AVX-512, AVX2
    /// or SSE2, chosen when the program starts) while adding in one fixed order: 32 independent partial sums, so the
    /// CPU can overlap the additions, then 16-, 8-value and scalar tails. The order depends only on `count` and never
    /// on the CPU variant, so a vector gets the same score wherever it is stored and on whichever machine, which
    /// keeps searches and graph construction deterministic across snapshots, removals and hosts.
    ///
    /// The caller guarantees that both pointers address at least `count` initialised floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        annals_dot_f32(a, b, count)
    }

    /// The dot product of the `count` floats at `a` and at `b`.
    ///
    /// Two 16-lane accumulators give the CPU independent additions to overlap (a single accumulator would make each
    /// addition wait for the previous one); 8-lane and scalar tails finish dimensions that are not a multiple of 32.
    /// The order of additions depends only on `count`, so a vector gets the same score wherever it is stored, which
    /// keeps searches deterministic across snapshots and removals.
    ///
    /// The caller guarantees that both pointers address at least `count` initialised floats; the loads are unaligned
    /// loads of whole SIMD vectors that stay inside that range (each loop checks that `i + width <= count`).
    @inline(__always)
    static func portableDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            sum0 += load16(a + i) * load16(b + i)
            sum1 += load16(a + i + 16) * load16(b + i + 16)
            i += 32
        }
        if i + 16 <= count {
            sum0 += load16(a + i) * load16(b + i)
            i += 16
        }
        var sum8 = SIMD8<Float>()
        if i + 8 <= count {
            sum8 = load8(a + i) * load8(b + i)
            i += 8
        }
        var total = (sum0 + sum1).sum() + sum8.sum()
        while i < count {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    @inline(__always)
    private static func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// `scores[v]` = the dot product of `query` with vector `v` of the `count` vectors stored one after another at
    /// `vectors`, each `dimension` floats.
    ///
    /// The caller guarantees that `vectors` addresses `count × dimension` floats, `query` `dimension` floats and
    /// `scores` room for `count`.
    static func scores(
        _ vectors: UnsafePointer<Float>, count: Int, dimension: Int, query: UnsafePointer<Float>,
        into scores: UnsafeMutablePointer<Float>
    ) {
        if annals_kernels_scores(vectors, count, dimension, query, scores) != 0 { return }
        for v in 0..<count { scores[v] = dot(vectors + v * dimension, query, count: dimension) }
    }

    /// `scores[q × count + v]` = the dot product of query `q` with vector `v`, for `queryCount` queries stored one
    /// after another at `queries`.
    ///
    /// The caller guarantees that `vectors` addresses `count × dimension` floats, `queries` `queryCount ×
    /// dimension` floats and `scores` room for `queryCount × count`.
    static func batchScores(
        _ vectors: UnsafePointer<Float>, count: Int, dimension: Int, queries: UnsafePointer<Float>,
        queryCount: Int, into scores: UnsafeMutablePointer<Float>
    ) {
        if annals_kernels_scores_batch(vectors, count, dimension, queries, queryCount, scores) != 0 { return }
        for q in 0..<queryCount {
            for v in 0..<count {
                scores[q * count + v] = dot(vectors + v * dimension, queries + q * dimension, count: dimension)
            }
        }
    }

    /// The kernel in use: `portable` (this file's), `avx2` or `avx512`. For benchmark reports.
    static var kernel: String {
        switch annals_kernels_level() {
        case 2: "avx512"
        case 1: "avx2"
        default: "portable"
        }
    }

    /// Caps the kernel at `level` (0 portable, 1 AVX2, 2 AVX-512), or lifts the cap with nil: for tests that compare
    /// the kernels, and for measuring one against another. Every level gives the same scores.
    static func capKernel(at level: Int?) {
        annals_kernels_force_level(Int32(level ?? -1))
    }
}
