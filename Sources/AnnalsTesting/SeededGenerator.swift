/// A deterministic random number generator (SplitMix64), so that random test scenarios reproduce from their seed.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// A generator that yields the same sequence for the same seed.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random vector of length 1 with `dimension` components, drawn from `generator`.
public func randomUnitVector(_ dimension: Int, _ generator: inout SeededGenerator) -> [Float] {
    let raw = (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
    let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return raw.map { $0 / norm }
}
