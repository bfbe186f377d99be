import CAnnalsKernels
import Dispatch
import Foundation
import Synchronization

/// Extends the vectors projection's graphs on a thread of its own, off the engine's apply path.
///
/// Each round takes the work (`VectorsProjection.graphWork()`) under the engine's read lock, then inserts up to
/// `roundSlotsMax` slots per graph with no engine lock held, one graph insertion per hold of that graph's own lock;
/// events keep applying and searches keep answering meanwhile (a search scans exactly the slots a graph has not
/// reached). With nothing to do it sleeps until the engine applies more events (`nudge()`).
///
/// The thread runs at a lower priority (nice + `niceIncrement`): on a busy machine, building graphs waits for
/// appliers, workers and requests, and catches up when they are idle.
///
/// `@unchecked Sendable` is sound: the stored state is a `Mutex`, semaphores and immutable closures.
final class GraphBuilder: @unchecked Sendable {
    /// Slots inserted into one graph before the work is taken again (fresh prefixes, other graphs' turn).
    static let roundSlotsMax = 256
    /// How much lower than the process the builder's thread runs.
    static let niceIncrement = 10

    private struct State {
        var stopping = false
        var started = false
        /// Set by `nudge()`, cleared by the thread before it takes the work: a wake-up is never lost.
        var nudged = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let prepare: @Sendable () -> Void
    private let work: @Sendable () -> [GraphTarget]
    private let inserted = Atomic<Int>(0)

    /// A builder that first runs `prepare` (restoring saved graphs), then takes its work from `work`; both are
    /// called on the builder's thread.
    init(prepare: @escaping @Sendable () -> Void = {}, work: @escaping @Sendable () -> [GraphTarget]) {
        self.prepare = prepare
        self.work = work
    }

    /// The slots inserted into graphs since the builder started.
    var insertedSlots: Int { inserted.load(ordering: .relaxed) }

    /// Starts the thread; a second call does nothing.
    func start() {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopping
        }
        guard first else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "annals-graphs"
        thread.start()
    }

    /// Tells the thread there may be new work.
    func nudge() {
        let signal = state.withLock { state in
            defer { state.nudged = true }
            return !state.nudged
        }
        if signal { wake.signal() }
    }

    /// Stops the thread after the insertion it is making, and waits for it; does nothing when it never started.
    func stop() {
        let running = state.withLock { state in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        guard running else { return }
        wake.signal()
        finished.wait()
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func loop() {
        _ = annals_lower_thread_priority(Int32(Self.niceIncrement))
        if !stopping { prepare() }
        while !stopping {
            state.withLock { $0.nudged = false }
            let items = work()
            if items.isEmpty {
                _ = wake.wait(timeout: .now() + .seconds(1))
                continue
            }
            for item in items {
                // One insertion at a time, so that a stop waits for one insertion at most.
                var done = 0
                while done < Self.roundSlotsMax, !stopping {
                    guard item.extend(limit: 1) == 1 else { break }
                    done += 1
                }
                inserted.add(done, ordering: .relaxed)
                if stopping { break }
            }
        }
        finished.signal()
    }
}
