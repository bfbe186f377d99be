import Dispatch
import Foundation

extension ProjectionSet {
    /// Batches at least this long are applied on two threads; below it, waking a second thread costs more than it
    /// saves.
    public static let parallelApplyCountMin = 256

    /// Whether long batches are applied on two threads by default: with three cores or more.
    ///
    /// A catch-up decodes the next batch on a thread of its own while it applies the current one, so two apply lanes
    /// make three busy threads. On two cores they were slower than one lane: on a million-event log, in interleaved
    /// runs, the full replay took a median 3.63 s with one lane against 4.28 s with two, and documents, queue and
    /// metrics 1.59 s against 1.88 s (the lanes also contend for the reference counts of the events they share).
    public static let parallelApplyByDefault = ProcessInfo.processInfo.activeProcessorCount >= 3

    /// Applies `events`, which must come in log order, to every projection; positions at or below `appliedPosition`
    /// are ignored, as `apply(_:)` does.
    ///
    /// With `parallel`, long batches (replay, catch-up after a burst) are applied on two threads: the projections are
    /// independent values and each still sees every event in order, so the result is exactly that of applying them
    /// one by one; only the wall time shrinks, where cores are free for it (see `parallelApplyByDefault`).
    public mutating func apply(contentsOf events: [ProjectedEvent], parallel: Bool = parallelApplyByDefault) {
        guard let first = events.firstIndex(where: { $0.position > appliedPosition }) else { return }
        let batch = events[first...]
        // By index: iterating the events themselves would copy (retain and release) every one of them.
        var ordered = true
        var previous = appliedPosition
        for index in batch.indices {
            guard batch[index].position > previous else {
                ordered = false
                break
            }
            previous = batch[index].position
        }
        guard parallel, ordered, batch.count >= Self.parallelApplyCountMin else {
            // Through the buffer: an event is then passed by its address, where an array's subscript copied each
            // one (a few hundred bytes, and a retain and a release of each of its strings).
            batch.withUnsafeBufferPointer { events in
                for index in events.indices { apply(events[index]) }
            }
            return
        }
        let lanes = Lanes(moving: &self)
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            if lane == 0 {
                lanes.applyFirstLane(batch)
            } else {
                lanes.applySecondLane(batch)
            }
        }
        lanes.moveBack(into: &self)
        appliedPosition = batch.last!.position
    }
}

/// The projections of a set, moved out of it so that two threads can each apply events to some of them.
///
/// `@unchecked Sendable` is sound: the first lane touches only `documents` and `metrics`, the second only `queue`,
/// `vectors` and `keys`, or `metrics` instead of the first lane when `metricsInSecondLane` (disjoint stored
/// properties of a class, so no two threads ever access one; the selection fields are immutable), and
/// `concurrentPerform` returns only after both lanes finished, which orders their writes before `moveBack`.
private final class Lanes: @unchecked Sendable {
    let selection: ProjectionSelection
    /// Whether `metrics` is applied by the second lane rather than the first.
    let metricsInSecondLane: Bool
    var documents = DocumentsProjection()
    var queue = QueueProjection()
    var vectors = VectorsProjection()
    var metrics = MetricsProjection()
    var keys = KeysProjection()

    /// Takes the projections out of `set` (swapping empty ones in), so that each is uniquely referenced here and
    /// applying events mutates it in place instead of copying it.
    init(moving set: inout ProjectionSet) {
        selection = set.selection
        metricsInSecondLane = !set.selection.contains(.vectors)
        swap(&documents, &set.documents)
        swap(&queue, &set.queue)
        swap(&vectors, &set.vectors)
        swap(&metrics, &set.metrics)
        swap(&keys, &set.keys)
    }

    func moveBack(into set: inout ProjectionSet) {
        swap(&documents, &set.documents)
        swap(&queue, &set.queue)
        swap(&vectors, &set.vectors)
        swap(&metrics, &set.metrics)
        swap(&keys, &set.keys)
    }

    // The lanes are balanced by measured cost per event: documents with metrics, against queue, vectors and keys;
    // without the vectors (the heaviest), metrics moves to the second lane.

    func applyFirstLane(_ events: ArraySlice<ProjectedEvent>) {
        let documents = selection.contains(.documents)
        let metrics = selection.contains(.metrics) && !metricsInSecondLane
        for index in events.indices {
            if documents { self.documents.apply(events[index]) }
            if metrics { self.metrics.apply(events[index]) }
        }
    }

    func applySecondLane(_ events: ArraySlice<ProjectedEvent>) {
        let queue = selection.contains(.queue)
        let vectors = selection.contains(.vectors)
        let metrics = selection.contains(.metrics) && metricsInSecondLane
        let keys = selection.contains(.keys)
        for index in events.indices {
            if queue { self.queue.apply(events[index]) }
            if vectors { self.vectors.apply(events[index]) }
            if metrics { self.metrics.apply(events[index]) }
            if keys { self.keys.apply(events[index]) }
        }
    }
}
