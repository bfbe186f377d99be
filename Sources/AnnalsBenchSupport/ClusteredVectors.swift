import Foundation

/// Synthetic embeddings with structure: unit vectors scattered around a few random centres, as texts about a
/// handful of topics would be. Uniform random vectors in high dimension are all nearly orthogonal, which makes every
/// neighbour as good as another and flatters approximate indexes; clusters give neighbours that matter.
///
/// Deterministic: the same seed and shape give the same vectors in every run. The generator and the Gaussian draw are
/// defined here, not taken from the platform's random source; only `log` and `cos` come from the C library, whose
/// last-bit rounding could differ on another platform.
public struct ClusteredVectors: Sendable {
    /// The number of values in every vector.
    public let dimension: Int
    /// The cluster centres, unit vectors, one after another.
    private let centres: [Float]
    /// How far points lie from their centre: the expected length of the offset added to a unit centre before the
    /// point is normalised. 1 puts a point at about 45° from its centre.
    public let spread: Float
    private let seed: UInt64

    /// Chooses `clusters` centres from `seed`.
    public init(dimension: Int, clusters: Int, spread: Float, seed: UInt64) {
        precondition(dimension > 0 && clusters > 0, "ClusteredVectors needs a positive dimension and cluster count")
        self.dimension = dimension
        self.spread = spread
        self.seed = seed
        var generator = SplitMix64(state: seed)
        var centres = (0..<clusters * dimension).map { _ in generator.nextGaussian() }
        Self.normalize(&centres, dimension: dimension)
        self.centres = centres
    }

    /// The number of centres.
    public var clusters: Int { centres.count / dimension }

    /// `count` points drawn from stream `stream`: each picks a centre at random, adds a Gaussian offset, and is
    /// scaled to length 1. Different streams give different points around the same centres (the benchmark draws
    /// base vectors from stream 0 and queries from stream 1, so queries are new points, not copies of base ones).
    public func sample(count: Int, stream: UInt64) -> VectorSet {
        var generator = SplitMix64(state: seed ^ (0xA076_1D64_78BD_642F &* (stream &+ 1)))
        let clusters = clusters
        let dimension = dimension
        // Each of the d components gets spread / √d, so the offset's length is about `spread` whatever d is.
        let scale = spread / Float(dimension).squareRoot()
        var values = [Float](repeating: 0, count: count * dimension)
        for point in 0..<count {
            let centre = Int(generator.next() % UInt64(clusters))
            for index in 0..<dimension {
                values[point * dimension + index] =
                    centres[centre * dimension + index] + scale * generator.nextGaussian()
            }
        }
        Self.normalize(&values, dimension: dimension)
        // Sound by construction: count × dimension values.
        return try! VectorSet(dimension: dimension, values: values)
    }

    private static func normalize(_ values: inout [Float], dimension: Int) {
        for start in stride(from: 0, to: values.count, by: dimension) {
            var sum: Float = 0
            for index in start..<start + dimension { sum += values[index] * values[index] }
            let scale = sum > 0 ? 1 / sum.squareRoot() : 0
            for index in start..<start + dimension { values[index] *= scale }
        }
    }
}

/// A fast, seedable generator (SplitMix64), so runs are repeatable.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The state; the next value is a function of it alone.
    public var state: UInt64

    /// A generator that yields the same sequence for the same state.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal value (Box–Muller on two uniform draws; the second value of the pair is dropped, which
    /// keeps the generator free of hidden state).
    public mutating func nextGaussian() -> Float {
        // 53 random bits give a uniform value in (0, 1]: never 0, so the logarithm is finite.
        let u1 = Double((next() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(next() >> 11) / 9_007_199_254_740_992
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
