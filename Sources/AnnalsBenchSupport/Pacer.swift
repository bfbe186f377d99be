import Foundation

/// Wakes open-loop appenders at their scheduled times from one thread (`annals-bench append --rate`).
///
/// `ContinuousClock.sleep(until:)` arms a libdispatch timer for every sleep; at 50,000 appends/s that re-arms the
/// kernel's timer (`timerfd_settime`) for nearly every append and costs the harness more CPU than the log it
/// measures. Here the appenders due are kept in a heap and one thread sleeps until the earliest, then resumes every
/// appender whose time has come. It never resumes one early; one resumed late is charged for it, since latency
/// is measured from the scheduled time.
public final class Pacer: @unchecked Sendable {
    private struct Sleeper {
        let deadline: ContinuousClock.Instant
        let continuation: UnsafeContinuation<Bool, Never>
    }

    private let condition = NSCondition()
    /// A binary min-heap by deadline. Guarded by `condition`, as are `stopping` and `ended`.
    private var heap: [Sleeper] = []
    private var stopping = false
    /// Whether the thread has ended (after `stop`, once the heap was empty).
    private var ended = false

    /// The longest single wait: `NSCondition` waits for a wall-clock date, so a step of the system clock backwards
    /// could otherwise hold every appender for the size of the step.
    static let waitMax: Duration = .milliseconds(10)

    public init() {
        let thread = Thread { [self] in self.run() }
        thread.name = "bench-pacer"
        thread.start()
    }

    /// Suspends until `deadline` has passed. After the pacer's thread has ended (see `stop`), the clock's own sleep
    /// takes over, which a cancellation ends early.
    public func sleep(until deadline: ContinuousClock.Instant) async {
        let paced = await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
            condition.lock()
            if ended {
                condition.unlock()
                continuation.resume(returning: false)
                return
            }
            push(Sleeper(deadline: deadline, continuation: continuation))
            // Only a new earliest deadline changes how long the thread sleeps.
            if heap[0].deadline == deadline { condition.signal() }
            condition.unlock()
        }
        if !paced { try? await ContinuousClock().sleep(until: deadline) }
    }

    /// Ends the thread once every sleeper has been resumed.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var due: [UnsafeContinuation<Bool, Never>] = []
        condition.lock()
        while true {
            let now = ContinuousClock.now
            while let first = heap.first, first.deadline <= now { due.append(pop().continuation) }
            if !due.isEmpty {
                condition.unlock()
                for continuation in due { continuation.resume(returning: true) }
                due.removeAll(keepingCapacity: true)
                condition.lock()
                continue
            }
            if let first = heap.first {
                // NSCondition waits for a wall-clock date: it is made from the time left just before the wait.
                let left = min(now.duration(to: first.deadline), Self.waitMax)
                let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            } else if stopping {
                ended = true
                break
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    private func push(_ sleeper: Sleeper) {
        heap.append(sleeper)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func pop() -> Sleeper {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
