/// When a failed attempt is retried: exponential backoff with "equal jitter".
///
/// The delay for attempt n is `min(max, base · 2^(n-1))`, of which half is fixed and half random, so retries of
/// many documents that failed together spread out instead of arriving together. The random draw happens here, in
/// the worker; the chosen time is carried in the `job.failed` event, so projections stay deterministic.
public struct Backoff: Sendable {
    /// The first delay.
    public var base: Duration
    /// The longest delay.
    public var maximum: Duration

    public init(base: Duration, maximum: Duration) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay after failed attempt `attempt` (from 1), with `unit` a random draw in 0...1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(maximum, base * (1 << exponent))
        return full / 2 + full / 2 * min(max(unit, 0), 1)
    }

    /// The delay in microseconds, drawing the jitter from the system's generator.
    public func delayMicros(afterAttempt attempt: Int) -> Int64 {
        var generator = SystemRandomNumberGenerator()
        let delay = self.delay(afterAttempt: attempt, unit: Double.random(in: 0...1, using: &generator))
        return delay.wholeMicroseconds
    }
}
