import CAnnalsKernels

/// Per-dimension int8 codes of the stored vectors, used by `.int8` graph searches.
///
/// A value `x` of dimension `d` is stored as `round(x / scale[d] × 127)`, clamped to `-127...127`, where `scale[d]`
/// is the largest magnitude of that dimension among the vectors present when the index first held
/// `trainingCount` nodes (a later value beyond it is clamped). The scales are then fixed, so the codes depend only on
/// the order of additions: deterministic.
///
/// A query `q` is scored against codes without undoing the per-dimension scales: it is first weighted,
/// `w[d] = q[d] × scale[d]`, then quantised with one scale of its own. The integer dot product of the two code
/// vectors is then proportional to the approximation `Σ q[d] × x[d]`, and only the order of scores matters inside a
/// search. Codes stay in -127...127, which keeps every product at most 127² in magnitude.
enum Int8Quantization {
    /// The number of nodes whose vectors set the scales.
    static let trainingCount = 1_024

    /// The scales learnt from `count` vectors of `dimension` values at `vectors`.
    static func scales(vectors: UnsafePointer<Float>, count: Int, dimension: Int) -> [Float] {
        var scales = [Float](repeating: 0, count: dimension)
        for node in 0..<count {
            let vector = vectors + node * dimension
            for d in 0..<dimension { scales[d] = max(scales[d], abs(vector[d])) }
        }
        // A dimension that is zero everywhere gets scale 1: its codes are 0 whatever the scale.
        return scales.map { $0 > 0 ? $0 : 1 }
    }

    /// Writes the codes of the `dimension` values at `vector` to `codes`.
    @inline(__always)
    static func encode(
        _ vector: UnsafePointer<Float>, scales: UnsafePointer<Float>, dimension: Int,
        into codes: UnsafeMutablePointer<Int8>
    ) {
        for d in 0..<dimension {
            let scaled = (vector[d] / scales[d] * 127).rounded()
            codes[d] = Int8(min(max(scaled, -127), 127))
        }
    }

    /// Writes the codes of the weighted query (see the type's comment) to `codes`.
    static func encodeQuery(
        _ query: UnsafePointer<Float>, scales: UnsafePointer<Float>, dimension: Int,
        into codes: UnsafeMutablePointer<Int8>
    ) {
        var largest: Float = 0
        for d in 0..<dimension { largest = max(largest, abs(query[d] * scales[d])) }
        guard largest > 0 else {
            codes.update(repeating: 0, count: dimension)
            return
        }
        for d in 0..<dimension {
            let scaled = (query[d] * scales[d] / largest * 127).rounded()
            codes[d] = Int8(min(max(scaled, -127), 127))
        }
    }

    /// The dot product of the `count` codes at `a` and at `b`, by `annals_dot_i8` (exact integer arithmetic in the
    /// widest SIMD the CPU offers). The caller guarantees both pointers address `count` codes; `count` is at most
    /// `ExactIndex.dimensionMax`, so the sum (at most 16,384 × 127²) fits in an Int32.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, count: Int) -> Int32 {
        annals_dot_i8(a, b, count)
    }
}
