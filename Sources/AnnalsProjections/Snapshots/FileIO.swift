#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX file operations snapshots need, with errors as `ProjectionError` carrying `errno`.
///
/// POSIX rather than Foundation because durability needs `fsync` on the file and on its directory, and the errors
/// must keep their `errno` for the operator.
enum FileIO {
    static func storageError(_ what: String, _ path: String, file: String? = nil) -> ProjectionError {
        let code = errno
        let reason = String(cString: strerror(code))
        if code == ENOENT {
            return ProjectionError(.missingSnapshot, "\(what) \(path): \(reason)", file: file, systemCode: code)
        }
        return ProjectionError(.storage, "\(what) \(path): \(reason)", file: file, systemCode: code)
    }

    /// Creates `path` as a directory unless it exists.
    static func makeDirectory(_ path: String) throws(ProjectionError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw storageError("cannot create directory", path) }
    }

    /// A new file written front to back, fsynced before it is closed; removed when abandoned.
    final class DurableWriter {
        let path: String
        private var fd: Int32

        /// Creates (or truncates) `path`.
        init(_ path: String) throws(ProjectionError) {
            self.path = path
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw storageError("cannot create", path) }
        }

        deinit { if fd >= 0 { close(fd) } }

        func write(_ bytes: [UInt8]) throws(ProjectionError) {
            var failure: ProjectionError?
            bytes.withUnsafeBytes { raw in
                do throws(ProjectionError) { try write(raw) } catch { failure = error }
            }
            if let failure { throw failure }
        }

        func write(_ raw: UnsafeRawBufferPointer) throws(ProjectionError) {
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw storageError("cannot write", path)
                }
                offset += written
            }
        }

        /// fsyncs and closes the file.
        func finish() throws(ProjectionError) {
            if fsync(fd) != 0 { throw storageError("cannot fsync", path) }
            let result = close(fd)
            fd = -1
            if result != 0 { throw storageError("cannot close", path) }
        }

        /// Closes and removes the file, after a failure.
        func abandon() {
            if fd >= 0 { close(fd) }
            fd = -1
            unlink(path)
        }
    }

    /// The suffix of the temporary file `replaceDurably` writes before renaming it into place.
    static let temporarySuffix = ".tmp"

    /// Writes the file at `path` so that a crash leaves the old file or the whole new one: `body` writes a
    /// temporary file beside it (`path` + `temporarySuffix`), which is fsynced and renamed into place; on an error
    /// the temporary file is removed. The caller fsyncs the directory once its renames are done.
    static func replaceDurably(
        _ path: String, _ body: (DurableWriter) throws(ProjectionError) -> Void
    ) throws(ProjectionError) {
        let temporary = path + temporarySuffix
        let file = try DurableWriter(temporary)
        do {
            try body(file)
            try file.finish()
        } catch {
            file.abandon()
            throw error
        }
        try renameFile(temporary, path)
    }

    /// A file opened for reading (to be mapped), with its size; closed when released.
    final class OpenFile {
        let path: String
        let file: String
        /// The file's size when it was opened.
        let size: Int
        let fd: Int32

        init(_ path: String, file: String) throws(ProjectionError) {
            self.path = path
            self.file = file
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw storageError("cannot open", path, file: file) }
            var status = stat()
            guard fstat(fd, &status) == 0 else {
                close(fd)
                throw storageError("cannot stat", path, file: file)
            }
            size = Int(status.st_size)
        }

        deinit { close(fd) }
    }

    /// fsyncs a directory, so that renames and removals inside it survive a crash.
    static func syncDirectory(_ path: String) throws(ProjectionError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw storageError("cannot open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw storageError("cannot fsync directory", path) }
    }

    static func renameFile(_ from: String, _ to: String) throws(ProjectionError) {
        guard rename(from, to) == 0 else { throw storageError("cannot rename \(from) to", to) }
    }

    static func removeFile(_ path: String) throws(ProjectionError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw storageError("cannot remove", path) }
    }

    /// The names of the entries of a directory; empty when it does not exist.
    static func list(_ path: String) throws(ProjectionError) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw storageError("cannot list", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
