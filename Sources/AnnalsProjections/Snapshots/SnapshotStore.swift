public import AnnalsVector
import Crypto
import Dispatch

/// Snapshot files of the projections in one directory (`DATA/snapshots`), one file per projection and position,
/// named `NAME-POSITION.snap`.
///
/// A file is a fixed header followed by the projection's canonical snapshot bytes (the payload), little-endian:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `ANNALSNP` |
/// | 8 | 2 | file format version (1) |
/// | 10 | 2 | length N of the projection's name |
/// | 12 | 4 | projection version |
/// | 16 | 8 | log position the state reflects |
/// | 24 | 8 | payload length P |
/// | 32 | 32 | SHA-256 of the payload (the state digest) |
/// | 64 | N | the projection's name, UTF-8 |
/// | 64 + N | P | the payload |
///
/// Files are written to a temporary name, fsynced, renamed into place, and the directory is fsynced, so a crash
/// leaves either the whole file or none. Loading maps each file and checks the size and SHA-256 recorded in
/// `checkpoint.written`, the magic, the versions, the position, the name, and that the header's state digest is the
/// one the checkpoint recorded (the file's SHA-256 covers the header, so the payload is hashed once, not twice). A
/// decoded state is used only once its file's digest has matched.
///
/// A checkpoint may list a file of an earlier position: a projection whose state did not change since the previous
/// checkpoint keeps that checkpoint's file (`write(_:reusing:)`) rather than writing the same bytes again. Equal
/// state digests (SHA-256 of the canonical payload) are the proof that the state is the same; a file of a later
/// position than the checkpoint's is refused.
public struct SnapshotStore: Sendable {
    /// The file name extension of snapshot files.
    public static let fileExtension = "snap"
    /// The largest snapshot file `load` reads (64 GiB): a bound on what a damaged header or a stray file can make it
    /// allocate.
    public static let fileBytesMax = 1 << 36
    static let magic: [UInt8] = Array("ANNALSNP".utf8)
    static let formatVersion: UInt16 = 1
    static let headerBytes = 64

    /// The directory holding the files.
    public let directory: String
    /// Where restored vectors are kept (see `VectorArena.Backing`).
    public let vectorBacking: VectorArena.Backing
    /// The live vectors from which a restored space gets a graph (not part of snapshots).
    public let vectorGraphThreshold: Int

    /// A store over `directory`, which is created if missing (its parent must exist); restored vectors go to
    /// `vectorBacking`, and restored spaces of `vectorGraphThreshold` live vectors get a graph.
    ///
    /// - Throws: `ProjectionError` with code `.storage` when the directory cannot be created.
    public init(
        directory: String, vectorBacking: VectorArena.Backing = .memory,
        vectorGraphThreshold: Int = VectorsProjection.exactThresholdDefault
    ) throws(ProjectionError) {
        self.directory = directory
        self.vectorBacking = vectorBacking
        self.vectorGraphThreshold = vectorGraphThreshold
        try FileIO.makeDirectory(directory)
    }

    /// The lowercase hex SHA-256 of `bytes`: the form of every digest in `SnapshotFile`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { SHA256Hex.of(bytes) }

    /// The file name of `projection`'s snapshot at `position`: `NAME-POSITION.snap`.
    public static func fileName(projection: String, position: UInt64) -> String {
        "\(projection)-\(position).\(fileExtension)"
    }

    /// Every projection's canonical snapshot bytes at `set.appliedPosition`. CPU only: call it under the engine's
    /// read lock (`engine.read { SnapshotStore.encode($0) }`) and write the result after releasing it.
    public static func encode(_ set: ProjectionSet) -> [EncodedSnapshot] {
        set.snapshots().map { snapshot in
            EncodedSnapshot(
                projection: snapshot.name, version: snapshot.version, position: set.appliedPosition,
                payload: snapshot.payload)
        }
    }

    /// Encodes and writes every projection of `set`; see `write(_:)-([EncodedSnapshot])`.
    public func write(_ set: ProjectionSet) throws(ProjectionError) -> [SnapshotFile] {
        try write(Self.encode(set))
    }

    /// Writes each snapshot to `NAME-POSITION.snap` (temporary file, fsync, rename, then one fsync of the directory)
    /// and returns the files as `checkpoint.written` should list them.
    ///
    /// A snapshot whose state digest equals that of its projection's file in `previous` (the files of the newest
    /// checkpoint), of the same version, is not written again when that file is still there with its recorded
    /// size: the earlier entry is returned instead. A graceful stop minutes after a checkpoint then rewrites only
    /// what changed, not a vector file of gigabytes.
    ///
    /// - Throws: `ProjectionError` with code `.storage` (the file system refused; `systemCode` has `errno`), or
    ///   `.invalidArgument` for a projection name that is not a plain file name. Files already renamed into place
    ///   stay; they are harmless (no checkpoint names them) and `prune` removes them in time.
    public func write(_ snapshots: [EncodedSnapshot], reusing previous: [SnapshotFile] = []) throws(ProjectionError)
        -> [SnapshotFile]
    {
        try FileIO.makeDirectory(directory)
        var files: [SnapshotFile] = []
        var wrote = false
        for snapshot in snapshots {
            let name = Self.fileName(projection: snapshot.projection, position: snapshot.position)
            try Self.checkPlainName(name)
            // The payload is read twice (its digest goes in the header): once to hash, once to write. Its vectors
            // come from arena prefixes, which appends after them do not change.
            var payloadHasher = SHA256()
            try Self.blocks(snapshot.payload) { payloadHasher.update(bufferPointer: $0) }
            let payloadDigest = payloadHasher.finalize()
            if let earlier = reusable(previous, snapshot, stateDigest: SHA256Hex.hex(payloadDigest)) {
                files.append(earlier)
                continue
            }
            wrote = true
            let payloadCount = snapshot.payload.count
            var header = SnapshotWriter(capacity: Self.headerBytes + snapshot.projection.utf8.count)
            let nameBytes = Array(snapshot.projection.utf8)
            for byte in Self.magic { header.u8(byte) }
            header.u8(UInt8(truncatingIfNeeded: Self.formatVersion))
            header.u8(UInt8(truncatingIfNeeded: Self.formatVersion >> 8))
            header.u8(UInt8(truncatingIfNeeded: nameBytes.count))
            header.u8(UInt8(truncatingIfNeeded: nameBytes.count >> 8))
            header.u32(snapshot.version)
            header.u64(snapshot.position)
            header.u64(UInt64(payloadCount))
            for byte in payloadDigest { header.u8(byte) }
            for byte in nameBytes { header.u8(byte) }
            var fileHasher = SHA256()
            fileHasher.update(data: header.bytes)
            try FileIO.replaceDurably(path(name)) { file throws(ProjectionError) in
                try file.write(header.bytes)
                try Self.blocks(snapshot.payload) { block in
                    fileHasher.update(bufferPointer: block)
                    try file.write(block)
                }
            }
            files.append(
                SnapshotFile(
                    projection: snapshot.projection, version: snapshot.version, file: name,
                    digest: SHA256Hex.hex(fileHasher.finalize()),
                    bytes: UInt64(header.bytes.count + payloadCount),
                    stateDigest: SHA256Hex.hex(payloadDigest)))
        }
        if wrote { try FileIO.syncDirectory(directory) }
        return files
    }

    /// The entry of `previous` that `snapshot` may keep instead of a new file: same projection, version and state
    /// digest, of an earlier position, and the file still in place with its recorded size. Its bytes are checked
    /// against the recorded digest when a recovery loads it, as every snapshot's are.
    private func reusable(_ previous: [SnapshotFile], _ snapshot: EncodedSnapshot, stateDigest: String) -> SnapshotFile?
    {
        guard
            let earlier = previous.first(where: {
                $0.projection == snapshot.projection && $0.version == snapshot.version && $0.stateDigest == stateDigest
            }),
            let parsed = Self.parse(earlier.file), parsed.projection == snapshot.projection,
            parsed.position <= snapshot.position,
            let file = try? FileIO.OpenFile(path(earlier.file), file: earlier.file), UInt64(file.size) == earlier.bytes
        else { return nil }
        return earlier
    }

    /// Calls `body` with `payload`'s blocks; errors other than `ProjectionError` (an arena's file) become `.storage`.
    private static func blocks(
        _ payload: SnapshotPayload, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws(ProjectionError) {
        do {
            try payload.forEachBlock(body)
        } catch let error as ProjectionError {
            throw error
        } catch {
            throw ProjectionError(.storage, "writing a snapshot: \(error)")
        }
    }

    /// Reads, checks and decodes every projection's snapshot at `position`, as a checkpoint listed them.
    ///
    /// Entries for projections this build does not have are ignored. The files are mapped, not read: each file's
    /// SHA-256 is computed over the mapping while the projections decode (the vectors projection on one thread, the
    /// others beside it), and a restored vector arena keeps using the mapped file's pages (see
    /// `VectorArena.restore`). Nothing decoded is used unless its file's digest matches.
    ///
    /// - Throws: `ProjectionError`, naming the file: `.missingSnapshot` (no entry for a projection, or no such file),
    ///   `.versionMismatch` (written by another version of the projection's logic, or another file format),
    ///   `.digestMismatch` (size or SHA-256 differs from what was recorded, or the header's state digest from the
    ///   checkpoint's), `.malformedSnapshot` (bad magic, inconsistent header, or a payload that does not decode),
    ///   `.positionMismatch` (the file holds a later position or another projection), `.invalidArgument` (a file name with
    ///   a path in it), `.storage`. Of several failures, the first in `ProjectionSet.projectionNames` order. Recovery
    ///   reports it and falls back to an older checkpoint or to position 0.
    public func load(position: UInt64, expected: [SnapshotFile]) throws(ProjectionError) -> ProjectionSet {
        let work = LoadWork(store: self, position: position, expected: expected)
        // Four pieces on the machine's threads: the vectors file's digest and its decoding (apart, because the file
        // is mostly vectors, whose digest is most of the work), then the documents, then the three small ones.
        DispatchQueue.concurrentPerform(iterations: 4) { piece in work.run(piece) }
        return try work.result()
    }

    /// The positions that have at least one snapshot file, newest first.
    public func positions() throws(ProjectionError) -> [UInt64] {
        Set(try FileIO.list(directory).compactMap { Self.parse($0)?.position }).sorted(by: >)
    }

    /// Removes the snapshot files of every position but the newest `keep`, except the files named in `referenced`
    /// (those the kept checkpoints list, which may be of older positions: see `write(_:reusing:)`), and leftover
    /// temporary files; returns the names removed.
    ///
    /// - Throws: `ProjectionError` with code `.invalidArgument` when `keep < 1` (that would remove the checkpoint
    ///   recovery needs), `.storage`.
    @discardableResult
    public func prune(keep: Int, referenced: Set<String> = []) throws(ProjectionError) -> [String] {
        guard keep >= 1 else { throw ProjectionError(.invalidArgument, "prune must keep at least 1 position") }
        let names = try FileIO.list(directory)
        let kept = Set(Set(names.compactMap { Self.parse($0)?.position }).sorted(by: >).prefix(keep))
        var removed: [String] = []
        for name in names.sorted() {
            let stale: Bool
            if name.hasSuffix(".\(Self.fileExtension)\(FileIO.temporarySuffix)") {
                stale = true
            } else if let parsed = Self.parse(name) {
                stale = !kept.contains(parsed.position) && !referenced.contains(name)
            } else {
                stale = false
            }
            guard stale else { continue }
            try FileIO.removeFile(path(name))
            removed.append(name)
        }
        if !removed.isEmpty { try FileIO.syncDirectory(directory) }
        return removed
    }

    // MARK: Internals

    private func path(_ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The projection and position in a snapshot file name, or nil for any other name.
    static func parse(_ name: String) -> (projection: String, position: UInt64)? {
        let suffix = ".\(fileExtension)"
        guard name.hasSuffix(suffix), let dash = name.lastIndex(of: "-") else { return nil }
        let projection = String(name[..<dash])
        let digits = name[name.index(after: dash)..<name.index(name.endIndex, offsetBy: -suffix.count)]
        guard !projection.isEmpty, let position = UInt64(digits) else { return nil }
        return (projection, position)
    }

    private static func checkPlainName(_ name: String) throws(ProjectionError) {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw ProjectionError(.invalidArgument, "\(name) is not a plain file name", file: name)
        }
    }

    /// Opens and maps a snapshot file and checks its header against the checkpoint's entry. Errors found in the
    /// header are kept in the result rather than thrown: a damaged file is reported as a digest mismatch, whatever
    /// its first damaged byte, so the digest is computed first (`MappedSnapshot.checkDigest`).
    fileprivate func open(
        _ entry: SnapshotFile, projection: String, version: UInt32, position: UInt64
    ) throws(ProjectionError) -> MappedSnapshot {
        let file = entry.file
        guard entry.version == version else {
            throw ProjectionError(
                .versionMismatch,
                "snapshot \(file): written by \(projection) version \(entry.version); this build has \(version)",
                file: file)
        }
        try Self.checkPlainName(file)
        let reader = try FileIO.OpenFile(path(file), file: file)
        func error(_ code: ProjectionError.Code, _ message: String) -> ProjectionError {
            ProjectionError(code, "snapshot \(file): \(message)", file: file)
        }
        guard UInt64(reader.size) == entry.bytes else {
            throw error(.digestMismatch, "\(reader.size) bytes, the checkpoint recorded \(entry.bytes)")
        }
        guard reader.size <= Self.fileBytesMax else {
            throw error(.malformedSnapshot, "\(reader.size) bytes, more than a snapshot may hold")
        }
        let mapping: MappedFile
        do throws(VectorError) {
            mapping = try MappedFile(descriptor: reader.fd, size: reader.size)
        } catch {
            throw ProjectionError(.storage, "snapshot \(file): \(error.message)", file: file)
        }
        var snapshot = MappedSnapshot(
            entry: entry, mapping: mapping, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        let bytes = mapping.bytes
        guard bytes.count >= Self.headerBytes else {
            snapshot.headerError = error(.malformedSnapshot, "shorter than a header")
            return snapshot
        }
        guard bytes[0..<8].elementsEqual(Self.magic) else {
            snapshot.headerError = error(.malformedSnapshot, "not a snapshot file (bad magic)")
            return snapshot
        }
        func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let format = load(8, as: UInt16.self)
        guard format == Self.formatVersion else {
            snapshot.headerError = error(
                .versionMismatch, "file format \(format); this build reads \(Self.formatVersion)")
            return snapshot
        }
        let nameLength = Int(load(10, as: UInt16.self))
        let fileVersion = load(12, as: UInt32.self)
        let filePosition = load(16, as: UInt64.self)
        let payloadLength = load(24, as: UInt64.self)
        guard bytes.count - Self.headerBytes >= nameLength,
            payloadLength == UInt64(bytes.count - Self.headerBytes - nameLength)
        else {
            snapshot.headerError = error(.malformedSnapshot, "the header's lengths do not add up to the file's size")
            return snapshot
        }
        let nameEnd = Self.headerBytes + nameLength
        let fileProjection = String(decoding: bytes[Self.headerBytes..<nameEnd], as: UTF8.self)
        // An earlier position is a file kept by a later checkpoint (its state digest, checked below, proves the
        // state unchanged); a later one cannot belong to this checkpoint.
        guard fileProjection == projection, filePosition <= position else {
            snapshot.headerError = error(
                .positionMismatch,
                "holds \(fileProjection) at position \(filePosition), expected \(projection) at or before \(position)")
            return snapshot
        }
        guard fileVersion == version else {
            snapshot.headerError = error(
                .versionMismatch, "written by \(projection) version \(fileVersion); this build has \(version)")
            return snapshot
        }
        // The payload's SHA-256 was recorded twice, in the header and in the checkpoint: the file's digest vouches
        // for the header's, so the payload need not be hashed again; the two records must agree.
        let payloadDigest = SHA256Hex.hex(bytes[32..<64])
        guard payloadDigest == entry.stateDigest else {
            snapshot.headerError = error(
                .digestMismatch, "the header's state digest is \(payloadDigest), recorded \(entry.stateDigest)")
            return snapshot
        }
        snapshot.payload = UnsafeRawBufferPointer(rebasing: bytes[nameEnd...])
        return snapshot
    }
}

/// A mapped snapshot file whose header was read.
private struct MappedSnapshot {
    let entry: SnapshotFile
    let mapping: MappedFile
    /// The payload's bytes, inside the mapping (empty when `headerError` is set).
    var payload: UnsafeRawBufferPointer
    /// What the header check found wrong, reported only if the file's digest matches.
    var headerError: ProjectionError?

    /// Computes the file's SHA-256 over the mapping and compares it with the recorded one; nil when they agree.
    ///
    /// The pages hashed are let go behind the hash (they stay in the page cache, and a search faults them back in),
    /// so that restoring a large state does not leave all of it in the process's resident set.
    func checkDigest() -> ProjectionError? {
        var hasher = SHA256()
        let bytes = mapping.bytes
        let block = 8 << 20
        var offset = 0
        while offset < bytes.count {
            let n = min(block, bytes.count - offset)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            if n == block { mapping.releasePages(offset..<(offset + n)) }
            offset += n
        }
        let digest = SHA256Hex.hex(hasher.finalize())
        guard digest == entry.digest else {
            return ProjectionError(
                .digestMismatch, "snapshot \(entry.file): SHA-256 \(digest), the checkpoint recorded \(entry.digest)",
                file: entry.file)
        }
        return nil
    }

    func malformed(_ message: String) -> ProjectionError {
        ProjectionError(.malformedSnapshot, "snapshot \(entry.file): \(message)", file: entry.file)
    }
}

/// The pieces of one `SnapshotStore.load`, run on several threads.
///
/// `@unchecked Sendable` is sound: each piece writes only its own stored properties (piece 0 `vectorsDigest`,
/// piece 1 `documents`, piece 2 `vectors`, piece 3 `queue`, `metrics`, `keys`), the shared inputs are
/// read-only, and `concurrentPerform` returns only after every piece finished, which orders their writes before
/// `result()`.
private final class LoadWork: @unchecked Sendable {
    let store: SnapshotStore
    let position: UInt64
    let expected: [SnapshotFile]
    var vectorsDigest: ProjectionError?
    var vectors: Result<VectorsProjection, ProjectionError>?
    var documents: Result<DocumentsProjection, ProjectionError>?
    var queue: Result<QueueProjection, ProjectionError>?
    var metrics: Result<MetricsProjection, ProjectionError>?
    var keys: Result<KeysProjection, ProjectionError>?
    /// Opened before the pieces start, so that the digest and the decoding can run apart.
    private let vectorsOpened: Result<MappedSnapshot, ProjectionError>

    init(store: SnapshotStore, position: UInt64, expected: [SnapshotFile]) {
        self.store = store
        self.position = position
        self.expected = expected
        vectorsOpened = Result { () throws(ProjectionError) in
            try store.open(
                Self.entry(VectorsProjection.name, expected, position), projection: VectorsProjection.name,
                version: VectorsProjection.version, position: position)
        }
    }

    static func entry(_ name: String, _ expected: [SnapshotFile], _ position: UInt64) throws(ProjectionError)
        -> SnapshotFile
    {
        guard let entry = expected.first(where: { $0.projection == name }) else {
            throw ProjectionError(.missingSnapshot, "the checkpoint at \(position) lists no snapshot of \(name)")
        }
        return entry
    }

    func run(_ piece: Int) {
        // The longest pieces first (the vectors' digest, the catalogue), so that the shorter ones fill in.
        switch piece {
        case 0:
            if case .success(let snapshot) = vectorsOpened { vectorsDigest = snapshot.checkDigest() }
        case 1:
            documents = small(DocumentsProjection.name, DocumentsProjection.version) { bytes throws(ProjectionError) in
                try DocumentsProjection(snapshot: bytes)
            }
        case 2:
            vectors = Result { () throws(ProjectionError) in try decodeVectors() }
        default:
            queue = small(QueueProjection.name, QueueProjection.version) { bytes throws(ProjectionError) in
                try QueueProjection(snapshot: bytes)
            }
            metrics = small(MetricsProjection.name, MetricsProjection.version) { bytes throws(ProjectionError) in
                try MetricsProjection(snapshot: bytes)
            }
            keys = small(KeysProjection.name, KeysProjection.version) { bytes throws(ProjectionError) in
                try KeysProjection(snapshot: bytes)
            }
        }
    }

    /// The set, or the first failure in `ProjectionSet.projectionNames` order.
    func result() throws(ProjectionError) -> ProjectionSet {
        // The decoding already failed with an opening or header error; a digest mismatch comes before either.
        if let failure = vectorsDigest { vectors = .failure(failure) }
        let documents = try self.documents!.get()
        let queue = try self.queue!.get()
        let vectors = try self.vectors!.get()
        return ProjectionSet(
            documents: documents, queue: queue, vectors: vectors, metrics: try metrics!.get(), keys: try keys!.get(),
            appliedPosition: position)
    }

    /// A small projection: its file checked whole, then its payload copied out and decoded.
    private func small<P>(
        _ name: String, _ version: UInt32, _ decode: ([UInt8]) throws(ProjectionError) -> P
    ) -> Result<P, ProjectionError> {
        Result { () throws(ProjectionError) in
            let snapshot = try store.open(
                Self.entry(name, expected, position), projection: name, version: version, position: position)
            if let failure = snapshot.checkDigest() { throw failure }
            if let failure = snapshot.headerError { throw failure }
            return try decode(Array(snapshot.payload))
        }
    }

    /// The vectors projection, its arenas using the mapped file (the digest is checked beside it, in piece 0).
    private func decodeVectors() throws(ProjectionError) -> VectorsProjection {
        let snapshot = try vectorsOpened.get()
        if let failure = snapshot.headerError { throw failure }
        let payload = snapshot.payload
        guard payload.count >= 8 else { throw snapshot.malformed("the payload is too short") }
        let length = UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(payload.count - 8) else {
            throw snapshot.malformed("a head of \(length) bytes in a shorter payload")
        }
        var offset = 8 + Int(length)
        let backing = store.vectorBacking
        let vectors = try VectorsProjection(
            head: Array(payload[8..<offset]), backing: backing, exactThreshold: store.vectorGraphThreshold
        ) {
            (dimension: Int, slots: Int) throws(ProjectionError) in
            let count = slots * dimension * MemoryLayout<Float>.stride
            guard count <= payload.count - offset else { throw snapshot.malformed("the vectors end early") }
            let arena = try VectorsProjection.restoredArena(
                dimension: dimension, slots: slots, backing: backing,
                bytes: UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + count)]), mapping: snapshot.mapping)
            offset += count
            return arena
        }
        guard offset == payload.count else {
            throw snapshot.malformed("\(payload.count - offset) bytes after the state")
        }
        return vectors
    }
}
