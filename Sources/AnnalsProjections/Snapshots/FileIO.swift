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

    /// Writes `parts` to a new file at `path`, replacing any, and fsyncs it before closing.
    static func writeDurably(_ path: String, _ parts: [[UInt8]]) throws(ProjectionError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw storageError("cannot create", path) }
        var failure: ProjectionError?
        outer: for part in parts {
            var offset = 0
            while offset < part.count {
                let written = part.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = storageError("cannot write", path)
                    break outer
                }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = storageError("cannot fsync", path) }
        if close(fd) != 0 && failure == nil { failure = storageError("cannot close", path) }
        if let failure {
            unlink(path)
            throw failure
        }
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

    /// The whole file at `path`, refusing files larger than `bytesMax`.
    static func readFile(_ path: String, file: String, bytesMax: Int) throws(ProjectionError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw storageError("cannot open", path, file: file) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw storageError("cannot stat", path, file: file) }
        let size = Int(status.st_size)
        guard size <= bytesMax else {
            throw ProjectionError(
                .malformedSnapshot, "\(path) holds \(size) bytes, more than the \(bytesMax) a snapshot may",
                file: file)
        }
        var failure: ProjectionError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialised in
            var offset = 0
            while offset < size {
                let count = read(fd, buffer.baseAddress! + offset, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = storageError("cannot read", path, file: file)
                    break
                }
                if count == 0 { break }
                offset += count
            }
            initialised = offset
        }
        if let failure { throw failure }
        return bytes
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
