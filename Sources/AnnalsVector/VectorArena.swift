import CAnnalsKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Vectors of one dimension in numbered slots, kept outside the Swift heap: in anonymous memory, or in a file whose
/// pages the kernel writes back and reclaims.
///
/// The arena is what lets the vectors projection hold millions of vectors without needing memory for them: with
/// `.file` backing, appends go to an unlinked temporary file with `pwrite` (into the page cache, never into the
/// process's own pages), and a search reads them through a read-only shared mapping, whose clean pages the kernel
/// can drop under pressure and read back later. Nothing of the file outlives the process: it is unlinked as soon as
/// it is created, so a crash leaves no garbage. The arena is a cache, not storage; snapshots are what persist.
///
/// Slots are append-only: a slot's vector never changes once written, so a reader holding a `Prefix` can read the
/// first `count` slots while the owner appends after them. Storage is a list of fixed-size segments, each mapped once
/// and never moved, so growing never invalidates a pointer a reader holds.
///
/// `@unchecked Sendable` is sound under the contract every owner keeps (the vectors projection, under the engine's
/// lock): `append` runs with exclusive access; reads of slots below a count obtained before run concurrently only with
/// other reads and with appends, which write other bytes; `segments` is read by concurrent readers only as a copy
/// taken under exclusive or shared access (`prefix(_:)`).
public final class VectorArena: @unchecked Sendable {
    /// Where the vectors live.
    public enum Backing: Sendable, Hashable {
        /// Anonymous memory (replays, tests, tools).
        case memory
        /// An unlinked temporary file created in this directory (the service: `DATA/tmp`).
        case file(directory: String)
    }

    /// The size a segment aims at: a power of two of vectors, of at most 64 MiB (at least one vector). A power of
    /// two, so that a slot's segment is a shift away (graphs read vectors in place, `SlotGraph`).
    public static let segmentBytesTarget = 64 << 20

    /// The number of values in every vector.
    public let dimension: Int
    /// Where the vectors live.
    public let backing: Backing
    /// The number of vectors in one segment: a power of two.
    public let slotsPerSegment: Int
    /// The number of slots written.
    public private(set) var count = 0
    private var segments: [Segment] = []
    /// The first bytes of a vector `appendBytes` has not been given whole yet.
    private var partial: [UInt8] = []
    /// Dirty page cache of a file arena is bounded to two windows of this size (see `annals_writeback_window`):
    /// inside a memory-limited container, dirty pages count against the limit until the disk has them.
    public static let writebackWindowBytes = 16 << 20
    /// The file offsets where the current and the previous writeback windows start.
    private var windowStart = 0
    private var previousWindowStart = 0
    /// The file descriptor of the unlinked file, or -1 for memory.
    fileprivate let descriptor: Int32

    fileprivate var vectorBytes: Int { dimension * MemoryLayout<Float>.stride }
    fileprivate var segmentBytes: Int { slotsPerSegment * vectorBytes }
    /// The distance between segments in the file: `segmentBytes` rounded up to 64 KiB, because a mapping's file
    /// offset must be a multiple of the page size (4, 16 or 64 KiB) and vectors of most sizes do not fill a segment
    /// to such a multiple.
    fileprivate var segmentStride: Int {
        (segmentBytes + Self.fileAlignment - 1) / Self.fileAlignment * Self.fileAlignment
    }
    static let fileAlignment = 64 << 10

    /// An empty arena.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension` for a dimension outside `1...ExactIndex.dimensionMax`,
    ///   `.storage` when the file cannot be created in the directory.
    public init(dimension: Int, backing: Backing = .memory) throws(VectorError) {
        guard (1...ExactIndex.dimensionMax).contains(dimension) else {
            throw VectorError(.invalidDimension, "dimension \(dimension) is outside 1...\(ExactIndex.dimensionMax)")
        }
        self.dimension = dimension
        self.backing = backing
        let bytes = dimension * MemoryLayout<Float>.stride
        let fitting = max(1, Self.segmentBytesTarget / bytes)
        slotsPerSegment = 1 << (Int.bitWidth - 1 - fitting.leadingZeroBitCount)
        switch backing {
        case .memory:
            descriptor = -1
        case .file(let directory):
            var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
            template += Array("annals-vectors.XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw Self.storageError("cannot create a vector file in \(directory)") }
            // Unlinked at once: the file lives as long as the descriptor and the mappings, and no crash leaves it.
            let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            unlink(path)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            descriptor = fd
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Bytes of vectors held: in memory for `.memory`, in the file (page cache and disk) for `.file`.
    public var storedBytes: Int { count * vectorBytes }

    /// Appends `vector` (exactly `dimension` values, already checked by the caller) and returns its slot.
    ///
    /// - Throws: `VectorError` with code `.dimensionMismatch` for a vector of another length, `.storage` when the
    ///   file cannot grow (disk full) or a segment cannot be mapped; the arena is unchanged then.
    @discardableResult
    public func append(_ vector: UnsafeBufferPointer<Float>) throws(VectorError) -> Int {
        guard vector.count == dimension else {
            throw VectorError(.dimensionMismatch, "a vector of \(vector.count) values, the arena holds \(dimension)")
        }
        let slot = count
        try appendWhole(UnsafeRawBufferPointer(vector))
        return slot
    }

    /// Appends `vector`; see `append(_:)-(UnsafeBufferPointer<Float>)`.
    @discardableResult
    public func append(_ vector: [Float]) throws(VectorError) -> Int {
        var result: Result<Int, VectorError> = .success(0)
        vector.withUnsafeBufferPointer { buffer in
            do throws(VectorError) {
                result = .success(try append(buffer))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// The vector in `slot` (below `count`).
    public func vector(_ slot: Int) -> [Float] {
        precondition(slot >= 0 && slot < count, "slot \(slot) is outside the arena's \(count)")
        return [Float](unsafeUninitializedCapacity: dimension) { buffer, initialised in
            // Sound: the slot is written (below count) and lies inside its mapped segment.
            buffer.baseAddress!.update(from: pointer(slot), count: dimension)
            initialised = dimension
        }
    }

    /// Drops a file arena's pages, and those of segments restored from a mapped file, from the process's page tables
    /// (`MADV_DONTNEED`): they stay in the page cache and are faulted in again, with the same bytes, when next read.
    /// Does nothing for anonymous memory, where it would lose them.
    ///
    /// Sound for files because their segments are mapped read-only and shared, and every write goes through `pwrite`
    /// to the file itself. Safe beside concurrent reads, which fault the pages back in.
    public func releaseMappedPages() {
        for segment in segments where descriptor >= 0 || segment.owner != nil {
            segment.releasePages()
        }
    }

    /// The slot's bytes as a `T` of exactly one vector's size: arenas of a few "floats" also hold fixed-size
    /// records (raw bits, never used as numbers).
    public func load<T: BitwiseCopyable>(_ slot: Int, as type: T.Type) -> T {
        precondition(MemoryLayout<T>.size == vectorBytes, "a record of another size than the arena's slots")
        precondition(slot >= 0 && slot < count, "slot \(slot) is outside the arena's \(count)")
        return UnsafeRawPointer(pointer(slot)).loadUnaligned(as: T.self)
    }

    /// The dot product of `query` (`dimension` values) with the vector in `slot` (below `count`).
    public func score(_ slot: Int, query: UnsafePointer<Float>) -> Float {
        precondition(slot >= 0 && slot < count, "slot \(slot) is outside the arena's \(count)")
        return DotProduct.dot(pointer(slot), query, count: dimension)
    }

    /// Calls `body` for runs of consecutive slots of `slots`, in slot order, with the first slot of the run, a
    /// pointer to its vector (the run's vectors follow it contiguously) and the run's length (at most
    /// `runSlotsMax`).
    public func forEachRun(
        slots: Range<Int>, runSlotsMax: Int,
        _ body: (_ first: Int, _ vectors: UnsafePointer<Float>, _ count: Int) throws -> Void
    ) rethrows {
        precondition(slots.lowerBound >= 0 && slots.upperBound <= count && runSlotsMax > 0, "a run past the end")
        var slot = slots.lowerBound
        while slot < slots.upperBound {
            let inSegment = slotsPerSegment - slot % slotsPerSegment
            let n = min(runSlotsMax, inSegment, slots.upperBound - slot)
            try body(slot, pointer(slot), n)
            slot += n
        }
    }

    /// The vectors scored per kernel call by `forEachScoreBlock`: their scores (4 KiB) stay in the L1 cache.
    public static let scoreBlockCount = 1024

    /// Scores the vectors of `slots` against `query` (`dimension` values) in blocks of at most `scoreBlockCount`,
    /// calling `body` with the first slot of each block and its scores, in slot order.
    public func forEachScoreBlock(
        slots: Range<Int>, query: UnsafePointer<Float>,
        _ body: (_ first: Int, _ scores: UnsafeBufferPointer<Float>) -> Void
    ) {
        let dimension = dimension
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.scoreBlockCount) { scores in
            forEachRun(slots: slots, runSlotsMax: Self.scoreBlockCount) { first, vectors, n in
                // Sound: the run's n vectors are mapped and contiguous; the kernel writes n <= scoreBlockCount scores.
                DotProduct.scores(vectors, count: n, dimension: dimension, query: query, into: scores.baseAddress!)
                body(first, UnsafeBufferPointer(rebasing: scores[0..<n]))
            }
        }
    }

    /// The first `slots` vectors, readable while the owner keeps appending: what a snapshot writes after the
    /// engine's lock is released. Take it with exclusive or shared access to the arena.
    public func prefix(_ slots: Int) -> Prefix {
        precondition(slots >= 0 && slots <= count, "a prefix past the arena's end")
        return Prefix(arena: self, segments: segments, slots: slots)
    }

    /// The first `slots` vectors of an arena, readable while its owner appends after them.
    public struct Prefix: Sendable {
        let arena: VectorArena
        let segments: [Segment]
        /// The number of vectors.
        public let slots: Int

        /// The number of bytes `forEachBlock` gives.
        public var byteCount: Int { slots * arena.vectorBytes }

        /// Calls `body` with the bytes of the vector in `slot` (below `slots`), in place.
        public func withBytes<R>(of slot: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            precondition(slot >= 0 && slot < slots, "slot \(slot) is outside the prefix's \(slots)")
            let perSegment = arena.slotsPerSegment
            // Sound: the slot is below the prefix's count, so its bytes lie inside its mapped segment, which the
            // prefix keeps alive.
            return try body(
                UnsafeRawBufferPointer(
                    start: segments[slot / perSegment].base + (slot % perSegment) * arena.vectorBytes,
                    count: arena.vectorBytes))
        }

        /// The vector in `slot` (below `slots`) as a `T` of the same size, as `VectorArena.load` reads it.
        public func load<T: BitwiseCopyable>(_ slot: Int, as type: T.Type) -> T {
            precondition(MemoryLayout<T>.size == arena.vectorBytes, "a record of another size than the arena's slots")
            return withBytes(of: slot) { $0.loadUnaligned(as: T.self) }
        }

        /// The vectors as bytes (little-endian Float32, slot after slot), in blocks of at most `blockBytes`: read
        /// with `pread` from a file (so that writing a snapshot does not map the file's pages into the process),
        /// straight from memory otherwise.
        ///
        /// - Throws: `VectorError` with code `.storage` when the file cannot be read; what `body` throws.
        public func forEachBlock(blockBytes: Int = 4 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
            let segmentBytes = arena.segmentBytes
            let total = byteCount
            var done = 0
            guard arena.descriptor >= 0 else {
                while done < total {
                    let offset = done % segmentBytes
                    let n = min(blockBytes, segmentBytes - offset, total - done)
                    // Sound: the bytes lie inside a mapped segment, below the prefix, which no append rewrites.
                    try body(UnsafeRawBufferPointer(start: segments[done / segmentBytes].base + offset, count: n))
                    done += n
                }
                return
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(
                byteCount: min(blockBytes, max(total, 1)), alignment: 64)
            defer { buffer.deallocate() }
            while done < total {
                let offset = done % segmentBytes
                let segment = segments[done / segmentBytes]
                guard segment.owner == nil else {
                    // A segment restored from a snapshot file: read through its mapping.
                    let n = min(blockBytes, segmentBytes - offset, total - done)
                    try body(UnsafeRawBufferPointer(start: segment.base + offset, count: n))
                    done += n
                    continue
                }
                let n = min(buffer.count, segmentBytes - offset, total - done)
                let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
                try arena.readFully(block, at: (done / segmentBytes) * arena.segmentStride + offset)
                try body(UnsafeRawBufferPointer(block))
                done += n
            }
        }
    }

    /// Appends vectors given as bytes (little-endian Float32, slot after slot), as `Prefix.forEachBlock` gives
    /// them: restores an arena from a snapshot without going through `[Float]`. Blocks may split a vector; its
    /// bytes are kept until the rest comes (`partialBytes`), and `count` counts whole vectors only. Values are not
    /// checked; the caller checked the bytes' digest.
    ///
    /// - Throws: `VectorError` with code `.storage`.
    public func appendBytes(_ bytes: UnsafeRawBufferPointer) throws(VectorError) {
        var input = bytes
        if !partial.isEmpty {
            let take = min(vectorBytes - partial.count, input.count)
            partial += UnsafeRawBufferPointer(rebasing: input[0..<take])
            input = UnsafeRawBufferPointer(rebasing: input[take...])
            guard partial.count == vectorBytes else { return }
            let whole = partial
            partial = []
            var failure: VectorError?
            whole.withUnsafeBytes { raw in
                do throws(VectorError) { try appendWhole(raw) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        let wholeBytes = input.count - input.count % vectorBytes
        try appendWhole(UnsafeRawBufferPointer(rebasing: input[0..<wholeBytes]))
        partial += UnsafeRawBufferPointer(rebasing: input[wholeBytes...])
    }

    /// The bytes of a vector `appendBytes` has begun but not finished (0 once every vector given is whole).
    public var partialBytes: Int { partial.count }

    private func appendWhole(_ bytes: UnsafeRawBufferPointer) throws(VectorError) {
        var done = 0
        while done < bytes.count {
            let slot = count
            let segment = slot / slotsPerSegment
            if segment == segments.count {
                segments.append(Segment(base: try mapOwnSegment(segment), bytes: segmentBytes))
            } else if segments[segment].owner != nil {
                try materialize(segment)
            }
            let offset = (slot % slotsPerSegment) * vectorBytes
            let n = min(bytes.count - done, segmentBytes - offset)
            let part = UnsafeRawBufferPointer(rebasing: bytes[done..<(done + n)])
            if descriptor >= 0 {
                try writeFully(part, at: segment * segmentStride + offset)
            } else {
                // Sound: the segment is mapped writable and offset + n <= segmentBytes.
                segments[segment].base.advanced(by: offset).copyMemory(from: part.baseAddress!, byteCount: n)
            }
            done += n
            count += n / vectorBytes
        }
    }

    /// An arena of `slots` vectors restored from `bytes` (little-endian Float32, slot after slot, as
    /// `Prefix.forEachBlock` gives them), which lie inside `mapping`: every segment is the mapping's own bytes, used
    /// where they are (no copy, and no memory of the process's own: the kernel reads them from the file when touched
    /// and may drop them again). The first append into the last, partial segment copies it into `backing` first
    /// (`materialize`), so an arena that is only read never copies anything. With `mapping` nil, every byte is
    /// copied at once. Values are not checked; the caller checks the file's digest.
    ///
    /// The mapped bytes must not change while the arena or a copy of its segments lives: snapshot files are written
    /// once and renamed into place; removing one (pruning) is safe, since the mapping keeps the file's data.
    ///
    /// - Throws: `VectorError` with code `.invalidDimension`, `.malformedSnapshot` when `bytes` does not hold
    ///   exactly `slots` vectors, `.storage`.
    public static func restore(
        dimension: Int, slots: Int, backing: Backing, bytes: UnsafeRawBufferPointer, mapping: MappedFile?
    ) throws(VectorError) -> VectorArena {
        let arena = try VectorArena(dimension: dimension, backing: backing)
        guard slots >= 0, bytes.count == slots * arena.vectorBytes else {
            throw VectorError(
                .malformedSnapshot, "\(bytes.count) bytes do not hold \(slots) vectors of \(dimension) values")
        }
        guard let mapping, slots > 0 else {
            try arena.appendWhole(bytes)
            return arena
        }
        precondition(
            bytes.baseAddress! >= mapping.bytes.baseAddress!
                && bytes.baseAddress! + bytes.count <= mapping.bytes.baseAddress! + mapping.bytes.count,
            "restored bytes outside their mapping")
        var done = 0
        while done < bytes.count {
            let n = min(arena.segmentBytes, bytes.count - done)
            // Sound: the bytes lie inside the mapping, which the segment keeps alive, and never change.
            let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + done)
            arena.segments.append(Segment(base: base, bytes: n, owner: mapping))
            done += n
        }
        arena.count = slots
        return arena
    }

    /// The number of leading segments that are another file's mapped bytes (see `restore`).
    public var adoptedSegments: Int { segments.prefix { $0.owner != nil }.count }

    /// A new arena, with `backing`, holding copies of the first `slots` vectors.
    ///
    /// - Throws: `VectorError` with code `.storage`.
    public func copy(slots: Int, backing: Backing) throws(VectorError) -> VectorArena {
        let copy = try VectorArena(dimension: dimension, backing: backing)
        do {
            try prefix(slots).forEachBlock { block in try copy.appendBytes(block) }
        } catch let error as VectorError {
            throw error
        } catch {
            throw VectorError(.storage, "copying an arena: \(error)")
        }
        return copy
    }

    // MARK: Internals

    /// Pointer to the vector in `slot`, which lies inside a mapped segment.
    @inline(__always)
    private func pointer(_ slot: Int) -> UnsafePointer<Float> {
        UnsafePointer(
            segments[slot / slotsPerSegment].base.advanced(by: (slot % slotsPerSegment) * vectorBytes)
                .assumingMemoryBound(to: Float.self))
    }

    /// Maps segment `index` of the arena's own storage (the file grown sparse up to its end, or anonymous memory).
    private func mapOwnSegment(_ index: Int) throws(VectorError) -> UnsafeMutableRawPointer {
        let bytes = segmentBytes
        let base: UnsafeMutableRawPointer?
        if descriptor >= 0 {
            let start = index * segmentStride
            // The file grows sparse, a segment at a time, so that the mapping never reaches past its end. (Segments
            // before it may be holes: those of a restore, which another file's mapping holds.)
            guard ftruncate(descriptor, off_t(start + bytes)) == 0 else {
                throw Self.storageError("cannot grow the vector file")
            }
            base = mmap(nil, bytes, PROT_READ, MAP_SHARED, descriptor, off_t(start))
        } else {
            base = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            if let base, base != MAP_FAILED { annals_advise_huge_pages(base, bytes) }
        }
        guard let base, base != MAP_FAILED else { throw Self.storageError("cannot map \(bytes) bytes of vectors") }
        return base
    }

    /// Replaces the restored (mapped, read-only) segment `index`, the last one, by a segment of the arena's own
    /// holding the same vectors, so that appends can continue in it. Runs with exclusive access, like every append:
    /// readers that took a `Prefix` keep the old segment, whose bytes stay valid.
    private func materialize(_ index: Int) throws(VectorError) {
        let old = segments[index]
        let used = (count - index * slotsPerSegment) * vectorBytes
        let base = try mapOwnSegment(index)
        let fresh = Segment(base: base, bytes: segmentBytes)
        if descriptor >= 0 {
            try writeFully(UnsafeRawBufferPointer(start: old.base, count: used), at: index * segmentStride)
        } else {
            base.copyMemory(from: old.base, byteCount: used)
        }
        segments[index] = fresh
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(VectorError) {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.storageError("cannot write the vector file")
            }
            done += written
        }
        // Appends are sequential in the file (segments follow each other), so windows are too.
        let end = offset + bytes.count
        if end - windowStart >= Self.writebackWindowBytes {
            // Advice only: on failure the bytes are still in the page cache, from where the kernel writes them.
            _ = annals_writeback_window(
                descriptor, Int64(previousWindowStart), Int64(windowStart), Int64(end - windowStart))
            previousWindowStart = windowStart
            windowStart = end
        }
    }

    fileprivate func readFully(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(VectorError) {
        var done = 0
        while done < buffer.count {
            let read = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if read < 0 {
                if errno == EINTR { continue }
                throw Self.storageError("cannot read the vector file")
            }
            guard read > 0 else { throw VectorError(.storage, "the vector file ended early") }
            done += read
        }
    }

    private static func storageError(_ what: String) -> VectorError {
        VectorError(.storage, "\(what): \(String(cString: strerror(errno)))")
    }
}

/// One mapped segment of an arena; unmapped when the last arena (or reader) holding it goes, unless it is part of
/// a larger mapping (`owner`), which then lives as long as the segment.
final class Segment: @unchecked Sendable {
    // Sound: `base` is never reassigned, and the bytes it points to are governed by `VectorArena`'s contract.
    let base: UnsafeMutableRawPointer
    let bytes: Int
    /// The file mapping the bytes belong to, for a segment restored from a snapshot file; nil for the arena's own.
    let owner: MappedFile?

    init(base: UnsafeMutableRawPointer, bytes: Int, owner: MappedFile? = nil) {
        self.base = base
        self.bytes = bytes
        self.owner = owner
    }

    /// `MADV_DONTNEED` on the whole pages inside the segment (a segment of a larger mapping need not start on a
    /// page). Advice only: when the kernel refuses, the pages stay mapped and nothing else changes.
    func releasePages() { Self.releasePages(UnsafeRawPointer(base), bytes) }

    /// `MADV_DONTNEED` on the whole pages inside `count` bytes at `base`.
    static func releasePages(_ base: UnsafeRawPointer, _ count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + count) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, MADV_DONTNEED)
    }

    deinit { if owner == nil { munmap(base, bytes) } }
}

/// A whole file mapped read-only and shared: restored arenas use its bytes in place. Unmapped when the last user
/// goes; the file itself may be removed meanwhile (the mapping keeps its data).
public final class MappedFile: @unchecked Sendable {
    // Sound: the mapping is read-only and never changes after `init`.
    /// The file's bytes.
    public let bytes: UnsafeRawBufferPointer

    /// Maps the first `size` bytes of the open file `descriptor` (which the caller still owns and may close).
    ///
    /// - Throws: `VectorError` with code `.storage` (with `errno`'s text) when the file cannot be mapped.
    public init(descriptor: Int32, size: Int) throws(VectorError) {
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let base = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0)
        guard let base, base != MAP_FAILED else {
            throw VectorError(.storage, "cannot map \(size) bytes of a file: \(String(cString: strerror(errno)))")
        }
        // Read front to back once (the digest, beside the decoders): ask for read-ahead.
        _ = madvise(base, size, MADV_SEQUENTIAL)
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Drops the whole pages inside `range` (byte offsets) from the process's page tables (`MADV_DONTNEED`): they
    /// stay in the page cache and are read in again, unchanged, when next touched. Advice only.
    public func releasePages(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, range.lowerBound >= 0, range.upperBound <= bytes.count else { return }
        Segment.releasePages(UnsafeRawPointer(base) + range.lowerBound, range.count)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
