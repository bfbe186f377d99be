extension Duration {
    /// The duration in whole microseconds, the unit events carry times and durations in.
    public var wholeMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }

    /// The duration in seconds, as a `Double` (for APIs that take a `TimeInterval`).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
