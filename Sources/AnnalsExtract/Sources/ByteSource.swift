import Foundation

/// Random access to a document's bytes, for formats that cannot be read front to back (PDF's cross-reference
/// table sits at the end; a DOCX's central directory too).
///
/// Readers ask for windows of the bytes rather than the whole file, so that memory stays bounded by what they
/// hold at once, not by the size of the document.
///
/// Implementation requirements: `read(offset:count:)` returns exactly `count` bytes when `offset + count <= size`,
/// fewer only at the end; reads of the same range return the same bytes.
public protocol ByteSource: Sendable {
    /// The number of bytes of the document.
    var size: Int { get }

    /// Reads up to `count` bytes at `offset` (fewer at the end of the document).
    ///
    /// - Throws: `ExtractionError` with code `.malformed` when the range starts outside the document; an I/O
    ///   failure surfaces as `.malformed` too, with the system's message.
    func read(offset: Int, count: Int) throws(ExtractionError) -> [UInt8]
}

/// A document held in memory.
public struct MemoryByteSource: ByteSource {
    /// The document's bytes.
    public let bytes: [UInt8]

    /// Creates a source over `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var size: Int { bytes.count }

    public func read(offset: Int, count: Int) throws(ExtractionError) -> [UInt8] {
        guard offset >= 0, offset <= bytes.count, count >= 0 else {
            throw ExtractionError(
                .malformed, "A read at offset \(offset) lies outside the document.", byteOffset: offset)
        }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }
}

/// A document in a file, read with `pread` so that the source can be shared between readers without a position.
///
/// `@unchecked Sendable` is sound: the descriptor is only used through `pread`, which takes an explicit offset and
/// is safe to call from several threads at once, and `size` is immutable.
public final class FileByteSource: ByteSource, @unchecked Sendable {
    public let size: Int
    private let descriptor: Int32

    /// Opens the file at `path` for reading.
    ///
    /// - Throws: `ExtractionError` with code `.malformed` when the file cannot be opened or measured.
    public init(path: String) throws(ExtractionError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ExtractionError(.malformed, "Cannot open \(path): \(String(cString: strerror(errno))).")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw ExtractionError(.malformed, "Cannot measure \(path): \(message).")
        }
        self.descriptor = descriptor
        self.size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    public func read(offset: Int, count: Int) throws(ExtractionError) -> [UInt8] {
        guard offset >= 0, offset <= size, count >= 0 else {
            throw ExtractionError(
                .malformed, "A read at offset \(offset) lies outside the document.", byteOffset: offset)
        }
        let wanted = min(count, size - offset)
        var result = [UInt8](repeating: 0, count: wanted)
        var done = 0
        while done < wanted {
            let got = result.withUnsafeMutableBytes { buffer in
                // Sound: the pointer covers `wanted` bytes and at most `wanted - done` are written from `done` on.
                pread(descriptor, buffer.baseAddress! + done, wanted - done, off_t(offset + done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw ExtractionError(
                    .malformed, "Cannot read the document: \(String(cString: strerror(errno))).", byteOffset: offset)
            }
            if got == 0 { break }
            done += got
        }
        if done < wanted { result.removeLast(wanted - done) }
        return result
    }
}
