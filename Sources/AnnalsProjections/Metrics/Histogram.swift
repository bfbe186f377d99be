/// A histogram with fixed buckets, as Prometheus exposes them: cumulative counts per upper bound, a sum and a count.
///
/// Values are kept in integer microseconds so that sums are exact and replay gives the same bytes every time (a
/// floating-point sum would depend on nothing but order here, but integers also make the snapshot canonical for free).
public struct Histogram: Sendable, Hashable {
    /// The upper bounds of the buckets, in microseconds, ascending; an implicit last bucket (`+Inf`) follows.
    public let upperBoundsMicros: [Int64]
    /// The number of observations in each bucket, not cumulative; one more than the bounds (the `+Inf` bucket).
    public private(set) var bucketCounts: [UInt64]
    /// The sum of every observation, in microseconds.
    public private(set) var sumMicros: Int64
    /// The number of observations.
    public private(set) var count: UInt64

    /// An empty histogram with these bucket bounds (microseconds, ascending).
    public init(upperBoundsMicros: [Int64]) {
        precondition(zip(upperBoundsMicros, upperBoundsMicros.dropFirst()).allSatisfy { $0 < $1 }, "bounds ascend")
        self.upperBoundsMicros = upperBoundsMicros
        bucketCounts = [UInt64](repeating: 0, count: upperBoundsMicros.count + 1)
        sumMicros = 0
        count = 0
    }

    /// Adds one observation; negative values count as 0.
    public mutating func observe(micros: Int64) {
        let value = max(0, micros)
        // Few buckets: a linear scan beats a binary search's branches.
        var bucket = 0
        while bucket < upperBoundsMicros.count, value > upperBoundsMicros[bucket] { bucket += 1 }
        bucketCounts[bucket] += 1
        sumMicros &+= value
        count += 1
    }

    /// The upper bounds in seconds, as Prometheus' `le` labels want them.
    public var upperBoundsSeconds: [Double] { upperBoundsMicros.map { Double($0) / 1_000_000 } }

    /// The cumulative count for each bound, then for `+Inf` (equal to `count`).
    public var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return bucketCounts.map { count in
            running += count
            return running
        }
    }

    /// The sum in seconds.
    public var sumSeconds: Double { Double(sumMicros) / 1_000_000 }

    /// Restores a histogram from its parts; nil when they do not fit together.
    init?(upperBoundsMicros: [Int64], bucketCounts: [UInt64], sumMicros: Int64) {
        guard bucketCounts.count == upperBoundsMicros.count + 1 else { return nil }
        self.init(upperBoundsMicros: upperBoundsMicros)
        self.bucketCounts = bucketCounts
        self.sumMicros = sumMicros
        count = bucketCounts.reduce(0, +)
    }
}
