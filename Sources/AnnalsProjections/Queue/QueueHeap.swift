/// A binary min-heap of queue entries ordered by (time, position), with lazy deletion: entries are never removed
/// from the middle; the owner checks an entry against the job it names and skips (or pops) stale ones.
///
/// Lazy deletion keeps every event O(log n) without a handle per job; the owner pops stale entries off the top after
/// each event, so the top is always live, and rebuilds the heap when stale entries outnumber live ones.
struct QueueHeap {
    /// One job's place in line.
    struct Entry: Sendable {
        /// The time the order is by (when the job is available, or when it was enqueued).
        var time: Int64
        /// The log position of the event that made the entry, breaking ties in log order (positions are unique).
        var position: UInt64
        /// The job's slot in the queue's storage.
        var slot: Int32

        @inline(__always)
        static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            a.time < b.time || (a.time == b.time && a.position < b.position)
        }
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var top: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Entry.precedes(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popTop() {
        guard !entries.isEmpty else { return }
        let last = entries.removeLast()
        guard !entries.isEmpty else { return }
        entries[0] = last
        siftDown(0)
    }

    /// Replaces the contents with `entries`, in O(n).
    mutating func rebuild(_ newEntries: [Entry]) {
        entries = newEntries
        guard entries.count > 1 else { return }
        for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    /// Visits entries in ascending order until `body` returns false, without modifying the heap.
    ///
    /// A best-first walk of the heap tree with a small frontier heap: visiting the first m entries costs
    /// O(m log m), independent of the heap's size.
    func visitInOrder(_ body: (Entry) -> Bool) {
        guard !entries.isEmpty else { return }
        var frontier: [Int] = [0]
        while let index = popFrontier(&frontier) {
            guard body(entries[index]) else { return }
            for child in [2 * index + 1, 2 * index + 2] where child < entries.count {
                pushFrontier(&frontier, child)
            }
        }
    }

    /// Visits every entry whose time is at or before `time`, in no particular order: a walk that stops at each
    /// subtree whose root is later, so it costs O(number visited).
    func visit(atOrBefore time: Int64, _ body: (Entry) -> Void) {
        guard !entries.isEmpty else { return }
        var stack: [Int] = [0]
        while let index = stack.popLast() {
            guard entries[index].time <= time else { continue }
            body(entries[index])
            let left = 2 * index + 1
            if left < entries.count { stack.append(left) }
            if left + 1 < entries.count { stack.append(left + 1) }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var first = left
            if left + 1 < entries.count, Entry.precedes(entries[left + 1], entries[left]) { first = left + 1 }
            guard Entry.precedes(entries[first], entries[parent]) else { return }
            entries.swapAt(parent, first)
            parent = first
        }
    }

    // The frontier is itself a min-heap of indexes into `entries`.

    private func pushFrontier(_ frontier: inout [Int], _ index: Int) {
        frontier.append(index)
        var child = frontier.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Entry.precedes(entries[frontier[child]], entries[frontier[parent]]) else { break }
            frontier.swapAt(child, parent)
            child = parent
        }
    }

    private func popFrontier(_ frontier: inout [Int]) -> Int? {
        guard let first = frontier.first else { return nil }
        let last = frontier.removeLast()
        if !frontier.isEmpty {
            frontier[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < frontier.count else { break }
                var next = left
                if left + 1 < frontier.count, Entry.precedes(entries[frontier[left + 1]], entries[frontier[left]]) {
                    next = left + 1
                }
                guard Entry.precedes(entries[frontier[next]], entries[frontier[parent]]) else { break }
                frontier.swapAt(parent, next)
                parent = next
            }
        }
        return first
    }
}
