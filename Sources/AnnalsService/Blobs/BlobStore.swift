import CAnnalsKernels
import Crypto
public import Foundation

/// Uploaded bytes, content-addressed by SHA-256, outside the log in `DATA/blobs/`.
///
/// A blob is written to a temporary file, fsynced, renamed into place and its directory fsynced, all before the
/// `upload.received` event that names it is appended: an acknowledged upload never points at a missing blob.
public struct BlobStore: Sendable {
    /// The root directory (`DATA/blobs`).
    public let root: String

    public init(root: String) throws {
        self.root = root
        for folder in [root, root + "/tmp"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    /// The path of the blob with key `key` (its SHA-256 in hex).
    public func path(of key: String) -> String {
        let start = key.startIndex
        let first = key[start..<key.index(start, offsetBy: 2)]
        return "\(root)/\(first)/\(key)"
    }

    /// True when the blob is stored.
    public func contains(_ key: String) -> Bool { FileManager.default.fileExists(atPath: path(of: key)) }

    /// Starts writing a new blob.
    public func writer() throws -> BlobWriter {
        try BlobWriter(store: self)
    }

    /// The whole blob; for small files and tests. Workers stream with `FileHandle`.
    public func read(_ key: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path(of: key)) else {
            throw ServiceError(.internal, "blob \(key) is missing")
        }
        return data
    }

    /// The folder of temporary files: uploads being received, and inflated copies of gzip-wrapped documents that
    /// need random access. On the blobs' file system, so that a finished upload is renamed into place.
    public var temporaryDirectory: String { root + "/tmp" }

    /// Removes temporary files left by uploads and extractions that a crash interrupted (never acknowledged, or
    /// made again by the next attempt).
    public func removeTemporaryFiles() {
        let folder = temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}

/// One blob being written: bytes go to a temporary file while their SHA-256 and size are computed.
///
/// Not thread-safe: one upload writes it.
public final class BlobWriter {
    private let store: BlobStore
    private let temporaryPath: String
    private var descriptor: Int32
    private var hasher = SHA256()
    /// Bytes written so far.
    public private(set) var size = 0
    /// The end of the last window handed to writeback (see `annals_writeback_window`).
    private var windowStart = 0
    private var previousWindowStart = 0
    private var finished = false
    /// Dirty page cache is bounded to two windows of this size: a 1 GiB upload inside a memory-limited container
    /// would otherwise dirty 1 GiB of cache before its final fsync, which the limit counts and cannot reclaim.
    static let writebackWindowBytes = 8 << 20

    init(store: BlobStore) throws {
        self.store = store
        temporaryPath = store.root + "/tmp/" + UUID().uuidString
        // Read-write: the upload checks the end of the file (`tail`) before keeping it.
        descriptor = open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        if descriptor < 0 { throw BlobWriter.ioError("creating a temporary blob", errno) }
    }

    deinit {
        if !finished {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Appends `bytes`.
    ///
    /// - Throws: `ServiceError` `.storageFull` when the disk is full, `.internal` otherwise.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw BlobWriter.ioError("writing a blob", errno)
            }
            offset += written
        }
        size += bytes.count
        if size - windowStart >= Self.writebackWindowBytes {
            // Advice only: on failure the bytes are still written, and `finish` still fsyncs them.
            _ = annals_writeback_window(
                descriptor, Int64(previousWindowStart), Int64(windowStart), Int64(size - windowStart))
            previousWindowStart = windowStart
            windowStart = size
        }
    }

    /// The last `count` bytes written (fewer when the blob is shorter).
    ///
    /// - Throws: `ServiceError` `.internal` when the temporary file cannot be read.
    public func tail(_ count: Int) throws -> [UInt8] {
        let wanted = min(count, size)
        var bytes = [UInt8](repeating: 0, count: wanted)
        var done = 0
        while done < wanted {
            let got = bytes.withUnsafeMutableBytes { buffer in
                // Sound: at most `wanted - done` bytes are written from offset `done` of a `wanted`-byte buffer.
                pread(descriptor, buffer.baseAddress! + done, wanted - done, off_t(size - wanted + done))
            }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { throw BlobWriter.ioError("reading back a blob", got < 0 ? errno : EIO) }
            done += got
        }
        return bytes
    }

    /// Makes the blob durable and puts it in place; returns its key (SHA-256 hex) and size.
    ///
    /// An identical blob already stored is kept, and this copy dropped.
    public func finish() throws -> (key: String, size: Int) {
        precondition(!finished, "a blob is finished once")
        finished = true
        defer { close(descriptor) }
        if fsync(descriptor) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw BlobWriter.ioError("syncing a blob", code)
        }
        let key = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let destination = store.path(of: key)
        let folder = (destination as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                // A new fan-out folder is durable only once the root that names it is synced.
                try BlobWriter.syncDirectory(store.root)
            } catch {
                unlink(temporaryPath)
                throw ServiceError(.internal, "cannot create \(folder): \(error)")
            }
        }
        if FileManager.default.fileExists(atPath: destination) {
            unlink(temporaryPath)
            return (key, size)
        }
        if rename(temporaryPath, destination) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw BlobWriter.ioError("placing a blob", code)
        }
        // The rename is durable only once the directory is synced.
        try BlobWriter.syncDirectory(folder)
        return (key, size)
    }

    static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 { throw ioError("opening \(path) to sync it", errno) }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 { throw ioError("syncing \(path)", errno) }
    }

    static func ioError(_ what: String, _ code: Int32) -> ServiceError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT || code == EFBIG {
            return ServiceError(.storageFull, "\(what) failed: no space left (\(text))")
        }
        return ServiceError(.internal, "\(what) failed: \(text)")
    }
}
