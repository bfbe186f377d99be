import CAnnalsKernels

/// A growable buffer of plain values behind a raw pointer, owned by exactly one `HNSWGraph`.
///
/// The graph's hot loops read vectors and links through pointers taken once per operation; Swift arrays stored in a
/// class would cost an exclusivity check, a retain and a bounds check on every access. The owner frees the memory
/// (`deallocate()` in its `deinit`), and never lets two graphs share one buffer: `copy()` makes a deep copy.
struct RawArray<Element: BitwiseCopyable> {
    /// The first element; valid for `capacity` elements, of which the first `count` are initialised.
    private(set) var base: UnsafeMutablePointer<Element>
    /// The number of initialised elements.
    private(set) var count: Int
    /// The number of elements the allocation holds.
    private(set) var capacity: Int

    /// Allocations of at least this many bytes are advised to use transparent huge pages.
    static var hugePageBytesMin: Int { 4 << 20 }

    /// An empty buffer with room for `capacity` elements (at least one, so that `base` is always a valid address).
    init(capacity: Int = 0) {
        let capacity = max(capacity, 1)
        base = Self.allocate(capacity)
        count = 0
        self.capacity = capacity
    }

    /// Fresh memory for `capacity` elements. A large buffer (a graph's links over a million nodes) is read at
    /// random: with 4 KiB pages nearly every read of another node's links misses the TLB, so it is advised to use
    /// 2 MiB pages before it is first written.
    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Element> {
        let base = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        let bytes = capacity * MemoryLayout<Element>.stride
        if bytes >= hugePageBytesMin { annals_advise_huge_pages(base, bytes) }
        return base
    }

    /// A buffer holding a copy of the `count` elements at `source` (bytes in the host's layout).
    init(copying source: UnsafeRawPointer, count: Int) {
        self.init(capacity: count)
        // Sound: the allocation above holds `count` elements, and the caller guarantees that `source` addresses
        // `count × stride` readable bytes; BitwiseCopyable values may be copied as bytes.
        UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: count * MemoryLayout<Element>.stride)
        self.count = count
    }

    /// The element at `index`; the caller keeps `index < count`.
    @inline(__always)
    subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }

    /// The bytes held by the allocation.
    var allocatedBytes: Int { capacity * MemoryLayout<Element>.stride }

    /// The initialised elements as raw bytes.
    var initialisedBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count * MemoryLayout<Element>.stride)
    }

    /// Makes room for at least `minimumCapacity` elements, doubling so that appends cost amortised O(1).
    mutating func reserve(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        let newCapacity = max(minimumCapacity, capacity * 2)
        let newBase = Self.allocate(newCapacity)
        // Sound: both allocations hold at least `count` elements and do not overlap.
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends one element.
    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { reserve(count + 1) }
        (base + count).initialize(to: value)
        count += 1
    }

    /// Appends `n` copies of `value`.
    mutating func append(repeating value: Element, count n: Int) {
        reserve(count + n)
        (base + count).initialize(repeating: value, count: n)
        count += n
    }

    /// Appends the `n` elements at `source`.
    mutating func append(from source: UnsafePointer<Element>, count n: Int) {
        reserve(count + n)
        // Sound: room for `n` more elements was reserved; the caller guarantees `source` holds `n` elements and does
        // not point into this buffer (a reserve may have moved it).
        (base + count).initialize(from: source, count: n)
        count += n
    }

    /// Forgets every element, keeping the allocation (the elements are plain values that need no deinitialisation).
    mutating func removeAll() { count = 0 }

    /// Removes and returns the last element; the buffer must not be empty.
    @inline(__always)
    mutating func removeLast() -> Element {
        count -= 1
        return base[count]
    }

    /// Sets the count to `newCount`, growing the allocation if needed; elements past the old count must be
    /// initialised by the caller before they are read.
    mutating func resize(to newCount: Int) {
        reserve(newCount)
        count = newCount
    }

    /// A deep copy with the same count and capacity.
    func copy() -> RawArray {
        var result = RawArray(capacity: capacity)
        result.base.initialize(from: base, count: count)
        result.count = count
        return result
    }

    /// Frees the memory; the buffer must not be used afterwards.
    func deallocate() { base.deallocate() }
}
