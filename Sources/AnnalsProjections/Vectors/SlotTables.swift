/// A growable column of fixed-size values in pages of `pageCount`: appending never copies what is there (an array
/// doubles, briefly holding both copies, and keeps up to half its capacity unused), so a column of n values takes
/// n values of memory plus at most one page.
struct PagedColumn<Element: FixedWidthInteger & Sendable>: Sendable {
    static var pageCount: Int { 1 << 16 }
    private var pages: [[Element]] = []
    private(set) var count = 0

    init() {}

    subscript(index: Int) -> Element {
        get { pages[index >> 16][index & 0xFFFF] }
        set { pages[index >> 16][index & 0xFFFF] = newValue }
    }

    mutating func append(_ value: Element) {
        if count & 0xFFFF == 0 {
            var page: [Element] = []
            page.reserveCapacity(Self.pageCount)
            pages.append(page)
        }
        pages[pages.count - 1].append(value)
        count += 1
    }

    /// Writes the values, without a count, as `SnapshotWriter.integers` does.
    func write(to writer: inout SnapshotWriter) {
        for page in pages { writer.integers(page) }
    }

    /// Reads `count` values written by `write(to:)`, a page at a time.
    static func read(_ count: Int, from reader: inout SnapshotReader) throws(ProjectionError) -> PagedColumn {
        var column = PagedColumn()
        var left = count
        while left > 0 {
            let page: [Element] = try reader.integers(min(left, pageCount))
            column.pages.append(page)
            column.count += page.count
            left -= page.count
        }
        return column
    }

    /// Calls `body` with every value, in order.
    func forEach(_ body: (Element) throws -> Void) rethrows {
        for page in pages { for value in page { try body(value) } }
    }
}

/// A document's chunks as runs of consecutive slots of one space: chunks are written a batch at a time, so a
/// document of a million chunks is a few thousand runs (12 bytes each), not a million references.
struct SlotRuns: Sendable, Sequence {
    struct Run: Sendable, Hashable {
        var space: UInt32
        var first: UInt32
        var count: UInt32
    }

    private(set) var runs: [Run] = []
    /// The number of slots in all runs.
    private(set) var count = 0

    init() {}

    init(runs: [Run]) {
        self.runs = runs
        count = runs.reduce(0) { $0 + Int($1.count) }
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ ref: VectorsProjection.SlotRef) {
        if let last = runs.last, last.space == ref.space, last.first + last.count == ref.slot, last.count < .max {
            runs[runs.count - 1].count += 1
        } else {
            runs.append(Run(space: ref.space, first: ref.slot, count: 1))
        }
        count += 1
    }

    /// The spaces the runs are in.
    var spaces: Set<UInt32> { Set(runs.map(\.space)) }

    /// Renumbers the runs in `space` through `renumbered` (old slot to new); every slot of a run must survive
    /// (compaction removes dead slots only, and no run holds one), so a run stays consecutive.
    mutating func renumber(space: UInt32, _ renumbered: [UInt32]) {
        for index in runs.indices where runs[index].space == space {
            runs[index].first = renumbered[Int(runs[index].first)]
        }
    }

    func makeIterator() -> Iterator { Iterator(runs: runs) }

    struct Iterator: IteratorProtocol {
        let runs: [Run]
        var run = 0
        var offset: UInt32 = 0

        mutating func next() -> VectorsProjection.SlotRef? {
            while run < runs.count {
                if offset < runs[run].count {
                    defer { offset += 1 }
                    return VectorsProjection.SlotRef(space: runs[run].space, slot: runs[run].first + offset)
                }
                run += 1
                offset = 0
            }
            return nil
        }
    }
}
