import AnnalsBenchSupport
import Foundation
import Testing

@Suite("Pacer")
struct PacerTests {
    @Test("every sleeper wakes at or after its deadline, whatever order the deadlines come in")
    func neverEarly() async throws {
        let pacer = Pacer()
        defer { pacer.stop() }
        let clock = ContinuousClock()
        // 32 sleepers, 10 sleeps each, deadlines spread over 0–20 ms ahead and out of order, so that new earliest
        // deadlines keep arriving while the pacer waits for a later one.
        // Each sleeper counts its sleeps, and those it woke from before their deadline.
        let (woken, early) = await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<32 {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    var early = 0
                    for _ in 0..<10 {
                        let deadline = clock.now + .microseconds(Int.random(in: 0...20_000, using: &generator))
                        await pacer.sleep(until: deadline)
                        if clock.now < deadline { early += 1 }
                    }
                    return (10, early)
                }
            }
            var totals = (0, 0)
            for await (woken, early) in group { totals = (totals.0 + woken, totals.1 + early) }
            return totals
        }
        #expect(early == 0)
        #expect(woken == 32 * 10)
    }

    @Test("a deadline already past wakes at once, and a stopped pacer still wakes those asleep")
    func pastAndStop() async {
        let pacer = Pacer()
        let clock = ContinuousClock()
        await pacer.sleep(until: clock.now - .seconds(1))
        let deadline = clock.now + .milliseconds(20)
        async let sleeping: Void = pacer.sleep(until: deadline)
        pacer.stop()
        await sleeping
        #expect(clock.now >= deadline)
    }
}
