import AnnalsVector
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The vector graphs saved in a directory (the service: `DATA/graphs`), one file per space, so that a restart
/// restores graphs instead of building them again (a graph costs about a millisecond of one core per vector to
/// build, and a few milliseconds per ten thousand vectors to restore).
///
/// Graph files are a cache, not state: nothing in the log names them, a file that is missing, damaged or built on
/// other vectors is skipped (the builder builds that graph), and deleting the directory loses nothing but time.
/// Each file is replaced whole (a temporary file, fsync, rename).
public final class GraphFiles: Sendable {
    /// The directory.
    public let directory: String
    /// The slots each file holds, as last written or read by this process: a graph that did not grow is not
    /// written again.
    private let known = Mutex<[String: Int]>([:])

    /// The graph files in `directory`, created if missing (its parent must exist).
    ///
    /// - Throws: `ProjectionError` with code `.storage` when the directory cannot be created.
    public init(directory: String) throws(ProjectionError) {
        self.directory = directory
        try FileIO.makeDirectory(directory)
    }

    /// Writes the graphs of `targets` that grew since their file was last written or read; returns how many files
    /// were written and their bytes.
    ///
    /// - Throws: `ProjectionError` with code `.storage` when a file cannot be written (the files written before it
    ///   stay; a half-written one is removed).
    @discardableResult
    public func save(_ targets: [GraphTarget]) throws(ProjectionError) -> (files: Int, bytes: Int) {
        var files = 0
        var bytes = 0
        for target in targets {
            let name = target.fileName
            let slots = target.graph.count
            guard slots > 0, known.withLock({ $0[name] }) != slots, let encoded = target.encoded() else { continue }
            try FileIO.replaceDurably(directory + "/" + name) { file throws(ProjectionError) in
                try file.write(encoded)
            }
            known.withLock { $0[name] = slots }
            files += 1
            bytes += encoded.count
        }
        if files > 0 { try FileIO.syncDirectory(directory) }
        return (files, bytes)
    }

    /// Restores each target's (empty) graph from its file; returns the graphs restored, the slots they hold, and
    /// why the other files present were skipped.
    public func restore(_ targets: [GraphTarget]) -> (graphs: Int, slots: Int, skipped: [String]) {
        var graphs = 0
        var slots = 0
        var skipped: [String] = []
        for target in targets where target.graph.count == 0 {
            let name = target.fileName
            let path = directory + "/" + name
            do throws(ProjectionError) {
                guard let bytes = try Self.read(path, file: name) else { continue }
                let restored = try target.restore(from: bytes)
                known.withLock { $0[name] = restored }
                graphs += 1
                slots += restored
            } catch {
                skipped.append("\(name): \(error.message)")
            }
        }
        return (graphs, slots, skipped)
    }

    /// The whole file, or nil when there is none.
    private static func read(_ path: String, file: String) throws(ProjectionError) -> [UInt8]? {
        guard access(path, F_OK) == 0 else { return nil }
        let opened = try FileIO.OpenFile(path, file: file)
        var bytes = [UInt8](repeating: 0, count: opened.size)
        var done = 0
        while done < opened.size {
            let count = bytes.withUnsafeMutableBytes { raw in
                pread(opened.fd, raw.baseAddress! + done, opened.size - done, off_t(done))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileIO.storageError("cannot read", path, file: file) }
            done += count
        }
        return bytes
    }
}
