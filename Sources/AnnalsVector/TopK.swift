/// The best `k` (id, score) pairs seen so far, kept in a min-heap whose root is the worst of them.
///
/// "Better" means a higher score, or an equal score and a lower id: the id breaks ties so that results never depend
/// on the order in which candidates were offered.
public struct TopK: Sendable {
    /// How many pairs are kept.
    public let k: Int
    private var heap: [(id: UInt64, score: Float)] = []

    /// Creates an empty selection of at most `k` pairs; `k` must be positive.
    public init(k: Int) {
        precondition(k > 0, "TopK needs a positive k")
        self.k = k
        heap.reserveCapacity(k)
    }

    /// Whether a candidate with this score and id would be kept if offered now. Cheap, so the caller can skip the
    /// filter for candidates that would be dropped anyway.
    @inline(__always)
    public func wouldAccept(id: UInt64, score: Float) -> Bool {
        heap.count < k || Self.isBetter(id, score, than: heap[0])
    }

    /// Every score below this is rejected by `wouldAccept`: the worst kept score once `k` pairs are kept, minus
    /// infinity before. A plain comparison with it lets a scan skip most candidates without touching the heap.
    public var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    /// Offers a candidate the caller has checked with `wouldAccept`.
    public mutating func insert(id: UInt64, score: Float) {
        if heap.count < k {
            heap.append((id, score))
            siftUp(heap.count - 1)
        } else {
            heap[0] = (id, score)
            siftDown(0)
        }
    }

    /// The kept pairs, best first.
    public func sorted() -> [(id: UInt64, score: Float)] {
        heap.sorted { Self.isBetter($0.id, $0.score, than: $1) }
    }

    @inline(__always)
    static func isBetter(_ id: UInt64, _ score: Float, than other: (id: UInt64, score: Float)) -> Bool {
        score > other.score || (score == other.score && id < other.id)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            // The root holds the worst pair: a child that is worse than its parent moves up.
            guard Self.isBetter(heap[parent].id, heap[parent].score, than: heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var worst = left
            let right = left + 1
            if right < heap.count, Self.isBetter(heap[left].id, heap[left].score, than: heap[right]) {
                worst = right
            }
            guard Self.isBetter(heap[parent].id, heap[parent].score, than: heap[worst]) else { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
