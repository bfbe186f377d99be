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
/// leaves either the whole file or none. Loading checks everything before decoding: the size and SHA-256 recorded in
/// `checkpoint.written`, the magic, the versions, the position, the name, and the payload's SHA-256.
public struct SnapshotStore: Sendable {
    /// The file name extension of snapshot files.
    public static let fileExtension = "snap"
    /// The largest snapshot file `load` reads (64 GiB): a bound on what a damaged header or a stray file can make it
    /// allocate.
    public static let fileBytesMax = 1 << 36
    static let magic: [UInt8] = Array("ANNALSNP".utf8)
    static let formatVersion: UInt16 = 1
    static let headerBytes = 64
    static let temporarySuffix = ".tmp"

    /// The directory holding the files.
    public let directory: String
    /// Where restored vectors are kept (see `VectorArena.Backing`).
    public let vectorBacking: VectorArena.Backing

    /// A store over `directory`, which is created if missing (its parent must exist); restored vectors go to
    /// `vectorBacking`.
    ///
    /// - Throws: `ProjectionError` with code `.storage` when the directory cannot be created.
    public init(directory: String, vectorBacking: VectorArena.Backing = .memory) throws(ProjectionError) {
        self.directory = directory
        self.vectorBacking = vectorBacking
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
    /// - Throws: `ProjectionError` with code `.storage` (the file system refused; `systemCode` has `errno`), or
    ///   `.invalidArgument` for a projection name that is not a plain file name. Files already renamed into place
    ///   stay; they are harmless (no checkpoint names them) and `prune` removes them in time.
    public func write(_ snapshots: [EncodedSnapshot]) throws(ProjectionError) -> [SnapshotFile] {
        try FileIO.makeDirectory(directory)
        var files: [SnapshotFile] = []
        for snapshot in snapshots {
            let name = Self.fileName(projection: snapshot.projection, position: snapshot.position)
            try Self.checkPlainName(name)
            // The payload is read twice (its digest goes in the header): once to hash, once to write. Its vectors
            // come from arena prefixes, which appends after them do not change.
            var payloadHasher = SHA256()
            try Self.blocks(snapshot.payload) { payloadHasher.update(bufferPointer: $0) }
            let payloadDigest = payloadHasher.finalize()
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
            let path = self.path(name)
            let temporary = path + Self.temporarySuffix
            let file = try FileIO.DurableWriter(temporary)
            do {
                try file.write(header.bytes)
                try Self.blocks(snapshot.payload) { block in
                    fileHasher.update(bufferPointer: block)
                    try file.write(block)
                }
                try file.finish()
            } catch {
                file.abandon()
                throw error
            }
            try FileIO.renameFile(temporary, path)
            files.append(
                SnapshotFile(
                    projection: snapshot.projection, version: snapshot.version, file: name,
                    digest: SHA256Hex.hex(fileHasher.finalize()),
                    bytes: UInt64(header.bytes.count + payloadCount),
                    stateDigest: SHA256Hex.hex(payloadDigest)))
        }
        try FileIO.syncDirectory(directory)
        return files
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
    /// Entries for projections this build does not have are ignored.
    ///
    /// - Throws: `ProjectionError`, naming the file: `.missingSnapshot` (no entry for a projection, or no such file),
    ///   `.versionMismatch` (written by another version of the projection's logic, or another file format),
    ///   `.digestMismatch` (size, file SHA-256 or payload SHA-256 differs from what was recorded),
    ///   `.malformedSnapshot` (bad magic, inconsistent header, or a payload that does not decode),
    ///   `.positionMismatch` (the file holds another position or projection), `.invalidArgument` (a file name with
    ///   a path in it), `.storage`. Recovery reports it and falls back to an older checkpoint or to position 0.
    public func load(position: UInt64, expected: [SnapshotFile]) throws(ProjectionError) -> ProjectionSet {
        func payload(_ name: String, version: UInt32) throws(ProjectionError) -> [UInt8] {
            guard let entry = expected.first(where: { $0.projection == name }) else {
                throw ProjectionError(.missingSnapshot, "the checkpoint at \(position) lists no snapshot of \(name)")
            }
            return try readPayload(entry, projection: name, version: version, position: position)
        }
        let documents = try DocumentsProjection(
            snapshot: payload(DocumentsProjection.name, version: DocumentsProjection.version))
        let queue = try QueueProjection(snapshot: payload(QueueProjection.name, version: QueueProjection.version))
        guard let vectorsEntry = expected.first(where: { $0.projection == VectorsProjection.name }) else {
            throw ProjectionError(
                .missingSnapshot, "the checkpoint at \(position) lists no snapshot of \(VectorsProjection.name)")
        }
        let vectors = try loadVectors(vectorsEntry, position: position)
        let metrics = try MetricsProjection(
            snapshot: payload(MetricsProjection.name, version: MetricsProjection.version))
        let keys = try KeysProjection(snapshot: payload(KeysProjection.name, version: KeysProjection.version))
        return ProjectionSet(
            documents: documents, queue: queue, vectors: vectors, metrics: metrics, keys: keys,
            appliedPosition: position)
    }

    /// The positions that have at least one snapshot file, newest first.
    public func positions() throws(ProjectionError) -> [UInt64] {
        Set(try FileIO.list(directory).compactMap { Self.parse($0)?.position }).sorted(by: >)
    }

    /// Removes the snapshot files of every position but the newest `keep`, and leftover temporary files; returns the
    /// names removed.
    ///
    /// - Throws: `ProjectionError` with code `.invalidArgument` when `keep < 1` (that would remove the checkpoint
    ///   recovery needs), `.storage`.
    @discardableResult
    public func prune(keep: Int) throws(ProjectionError) -> [String] {
        guard keep >= 1 else { throw ProjectionError(.invalidArgument, "prune must keep at least 1 position") }
        let names = try FileIO.list(directory)
        let kept = Set(Set(names.compactMap { Self.parse($0)?.position }).sorted(by: >).prefix(keep))
        var removed: [String] = []
        for name in names.sorted() {
            let stale: Bool
            if name.hasSuffix(".\(Self.fileExtension)\(Self.temporarySuffix)") {
                stale = true
            } else if let parsed = Self.parse(name) {
                stale = !kept.contains(parsed.position)
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

    /// Opens a snapshot file and checks its header against the checkpoint's entry; the payload is then read
    /// through the returned stream, which hashes what it reads, and `finish()` checks the digests.
    private func openPayload(
        _ entry: SnapshotFile, projection: String, version: UInt32, position: UInt64
    ) throws(ProjectionError) -> PayloadStream {
        let file = entry.file
        guard entry.version == version else {
            throw ProjectionError(
                .versionMismatch,
                "snapshot \(file): written by \(projection) version \(entry.version); this build has \(version)",
                file: file)
        }
        try Self.checkPlainName(file)
        let reader = try FileIO.Reader(path(file), file: file)
        let stream = PayloadStream(reader: reader, entry: entry)
        guard UInt64(reader.size) == entry.bytes else {
            throw stream.error(.digestMismatch, "\(reader.size) bytes, the checkpoint recorded \(entry.bytes)")
        }
        guard reader.size <= Self.fileBytesMax else {
            throw stream.error(.malformedSnapshot, "\(reader.size) bytes, more than a snapshot may hold")
        }
        // A header that fails a check is reported as a digest mismatch when the file's digest differs too: the file
        // is damaged, whatever the first damaged byte happens to be.
        do throws(ProjectionError) {
            guard reader.size >= Self.headerBytes else {
                throw stream.error(.malformedSnapshot, "shorter than a header")
            }
            let header = try stream.read(Self.headerBytes)
            guard header[0..<8].elementsEqual(Self.magic) else {
                throw stream.error(.malformedSnapshot, "not a snapshot file (bad magic)")
            }
            func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
                header.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            }
            let format = load(8, as: UInt16.self)
            guard format == Self.formatVersion else {
                throw stream.error(.versionMismatch, "file format \(format); this build reads \(Self.formatVersion)")
            }
            let nameLength = Int(load(10, as: UInt16.self))
            let fileVersion = load(12, as: UInt32.self)
            let filePosition = load(16, as: UInt64.self)
            let payloadLength = load(24, as: UInt64.self)
            guard UInt64(reader.size - Self.headerBytes) >= UInt64(nameLength),
                payloadLength == UInt64(reader.size - Self.headerBytes - nameLength)
            else { throw stream.error(.malformedSnapshot, "the header's lengths do not add up to the file's size") }
            let fileProjection = String(decoding: try stream.read(nameLength), as: UTF8.self)
            guard fileProjection == projection, filePosition == position else {
                throw stream.error(
                    .positionMismatch,
                    "holds \(fileProjection) at position \(filePosition), expected \(projection) at \(position)")
            }
            guard fileVersion == version else {
                throw stream.error(
                    .versionMismatch, "written by \(projection) version \(fileVersion); this build has \(version)")
            }
            stream.startPayload(recordedDigest: Array(header[32..<64]), count: Int(payloadLength))
        } catch {
            try stream.finishAfter(error)
        }
        return stream
    }

    /// Reads a whole (small) payload and checks its digests before it is decoded.
    private func readPayload(
        _ entry: SnapshotFile, projection: String, version: UInt32, position: UInt64
    ) throws(ProjectionError) -> [UInt8] {
        let stream = try openPayload(entry, projection: projection, version: version, position: position)
        let payload = try stream.read(stream.payloadLeft)
        try stream.finish()
        return payload
    }

    /// Restores the vectors projection straight from its file: the head is read into memory, the vectors are
    /// copied block by block into arenas of `vectorBacking`, and the digests are checked once everything is read.
    private func loadVectors(_ entry: SnapshotFile, position: UInt64) throws(ProjectionError) -> VectorsProjection {
        let stream = try openPayload(
            entry, projection: VectorsProjection.name, version: VectorsProjection.version, position: position)
        do throws(ProjectionError) {
            guard stream.payloadLeft >= 8 else { throw stream.error(.malformedSnapshot, "the payload is too short") }
            let length = try stream.read(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard length <= UInt64(stream.payloadLeft) else {
                throw stream.error(.malformedSnapshot, "a head of \(length) bytes in a shorter payload")
            }
            let head = try stream.read(Int(length))
            let vectors = try VectorsProjection(head: head, backing: vectorBacking) {
                (count, sink) throws(ProjectionError) in
                guard count <= stream.payloadLeft else {
                    throw stream.error(.malformedSnapshot, "the vectors end early")
                }
                try stream.stream(count, into: sink)
            }
            try stream.finish()
            return vectors
        } catch {
            try stream.finishAfter(error)
        }
    }
}

/// A snapshot file being read: hashes what it reads (the whole file, and the payload apart) and checks both digests
/// at the end.
private final class PayloadStream {
    static let blockBytes = 4 << 20
    let reader: FileIO.Reader
    let entry: SnapshotFile
    fileprivate var fileHasher = SHA256()
    fileprivate var payloadHasher = SHA256()
    private var inPayload = false
    private var recordedPayloadDigest: [UInt8] = []
    /// The payload bytes not read yet.
    private(set) var payloadLeft = 0
    private var read = 0

    init(reader: FileIO.Reader, entry: SnapshotFile) {
        self.reader = reader
        self.entry = entry
    }

    func error(_ code: ProjectionError.Code, _ message: String) -> ProjectionError {
        ProjectionError(code, "snapshot \(entry.file): \(message)", file: entry.file)
    }

    func startPayload(recordedDigest: [UInt8], count: Int) {
        inPayload = true
        recordedPayloadDigest = recordedDigest
        payloadLeft = count
    }

    func read(_ count: Int) throws(ProjectionError) -> [UInt8] {
        let bytes = try reader.read(count)
        bytes.withUnsafeBytes { account($0) }
        return bytes
    }

    /// Reads `count` bytes in blocks and hands each to `sink`.
    func stream(
        _ count: Int, into sink: (UnsafeRawBufferPointer) throws(ProjectionError) -> Void
    ) throws(ProjectionError) {
        guard count > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(count, Self.blockBytes), alignment: 64)
        defer { buffer.deallocate() }
        var left = count
        while left > 0 {
            let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(left, buffer.count)])
            try reader.read(into: block)
            let bytes = UnsafeRawBufferPointer(block)
            guard inPayload, block.count >= Self.parallelBlockBytesMin else {
                account(bytes)
                try sink(bytes)
                left -= block.count
                continue
            }
            // Large blocks (the vectors of a restore): the file's digest on one thread, the payload's digest and
            // the sink (the copy into an arena) on the other, so that a restore costs about one pass, not three.
            let failure = withoutActuallyEscaping(sink) { sink in
                // The lanes (and the closure they hold) are released before this closure returns.
                let lanes = Lanes(self, sink, bytes)
                DispatchQueue.concurrentPerform(iterations: 2) { lane in lanes.run(lane) }
                return lanes.failure
            }
            if let failure { throw failure }
            payloadLeft -= block.count
            read += block.count
            left -= block.count
        }
    }

    /// Blocks at least this long are hashed and handed on in parallel.
    static let parallelBlockBytesMin = 1 << 20

    /// The two halves of one block's work.
    ///
    /// `@unchecked Sendable` is sound: lane 0 touches only `fileHasher`, lane 1 only `payloadHasher`, the sink and
    /// `failure`; both only read `bytes`; `concurrentPerform` returns only after both finished.
    private final class Lanes: @unchecked Sendable {
        let stream: PayloadStream
        let sink: (UnsafeRawBufferPointer) throws(ProjectionError) -> Void
        let bytes: UnsafeRawBufferPointer
        var failure: ProjectionError?

        init(
            _ stream: PayloadStream, _ sink: @escaping (UnsafeRawBufferPointer) throws(ProjectionError) -> Void,
            _ bytes: UnsafeRawBufferPointer
        ) {
            self.stream = stream
            self.sink = sink
            self.bytes = bytes
        }

        func run(_ lane: Int) {
            if lane == 0 {
                stream.fileHasher.update(bufferPointer: bytes)
            } else {
                stream.payloadHasher.update(bufferPointer: bytes)
                do throws(ProjectionError) { try sink(bytes) } catch { failure = error }
            }
        }
    }

    private func account(_ bytes: UnsafeRawBufferPointer) {
        fileHasher.update(bufferPointer: bytes)
        if inPayload {
            payloadHasher.update(bufferPointer: bytes)
            payloadLeft -= bytes.count
        }
        read += bytes.count
    }

    /// Checks that the whole file was read and that both digests are the recorded ones.
    func finish() throws(ProjectionError) {
        let fileDigest = SHA256Hex.hex(fileHasher.finalize())
        guard fileDigest == entry.digest else {
            throw error(.digestMismatch, "SHA-256 \(fileDigest), the checkpoint recorded \(entry.digest)")
        }
        guard payloadLeft == 0 else { throw error(.malformedSnapshot, "\(payloadLeft) bytes after the state") }
        let payloadHash = Array(payloadHasher.finalize())
        let payloadDigest = SHA256Hex.hex(payloadHash)
        guard payloadHash == recordedPayloadDigest, payloadDigest == entry.stateDigest else {
            throw error(.digestMismatch, "the payload's SHA-256 is \(payloadDigest), recorded \(entry.stateDigest)")
        }
    }

    /// After `failure` while reading: reads the rest of the file and throws a digest mismatch when the file is
    /// damaged (its digest differs from the recorded one), else `failure`.
    func finishAfter(_ failure: ProjectionError) throws(ProjectionError) -> Never {
        inPayload = false
        do throws(ProjectionError) {
            let left = reader.size - read
            if left > 0 { try stream(left) { _ throws(ProjectionError) in } }
        } catch {
            throw failure
        }
        let fileDigest = SHA256Hex.hex(fileHasher.finalize())
        if fileDigest != entry.digest {
            throw error(.digestMismatch, "SHA-256 \(fileDigest), the checkpoint recorded \(entry.digest)")
        }
        throw failure
    }
}
