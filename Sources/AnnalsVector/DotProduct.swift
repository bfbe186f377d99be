import CAnnalsKernels

/// The inner loop of every search: dot products over contiguous Float32 storage.
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
}
